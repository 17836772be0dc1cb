package diagnose

// diagnose at the moment the critical alert fires on a long recording of a
// real fault (lab/recordings/long), over the firing pair's long window:
// the windows of an hour hold made-up healthy history before the
// recording (recording.StitchHistory), so the long window reads what a
// Prometheus that had run all along would.

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/internal/testkit/e2eprom"
	"github.com/burnrate/burnrate/internal/testkit/recording"
	"github.com/burnrate/burnrate/slo"
)

// TestLongFaultDiagnoseAtFiring runs diagnose on each long recording at
// the moment burnrate's first pair fires, over that pair's long window,
// with burnrate's records, with the kubernetes-mixin's instead and with no
// rules (the burn computed from the raw series): each must name the
// cause first, and say where it read the burn.
func TestLongFaultDiagnoseAtFiring(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: real Prometheus holding a long recording with stitched history")
	}
	recs, err := recording.Recordings(recording.LongRecordingsDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, like string
		// window is the long window of a pair of burnrate's that fires, and
		// firesAfter when it fires after the fault's start
		// (TestLongFaultFiring in internal/testkit/recording).
		window, firesAfter time.Duration
		// factor is the pair's burn-rate threshold, as a factor of the
		// budget: diagnose must read at least that burn when it fires.
		factor float64
		// first, when set, is the first culprit's step instead of the short
		// recording's, and section the runbook section it must lead to.
		first   runbook.Step
		section string
	}{
		// No alert fires on healthy-long: diagnose over its last hour, start-up
		// included, as recorded (no stitched history), names nothing.
		{"healthy-long", "healthy", time.Hour, 0, 0, "", ""},
		{"webhook-500-long", "webhook-500", time.Hour, 16 * time.Minute, 14.4, "", ""},
		// No alert fires on aggregated-hang-long (5x): diagnose over 1h at
		// the end of its 30 minutes of fault, as a user who sees the burn
		// on a dashboard would run it.
		{"aggregated-hang-long", "aggregated-hang", time.Hour, 30 * time.Minute, 0, "", ""},
		// A minute into the recovery.
		{"aggregated-hang-quiet-long", "aggregated-hang", time.Hour, 41 * time.Minute, 14.4, "", ""},
		// etcd-slower-long holds none of etcd's histogram (its --keep slo
		// left it out; lab TestKeepsWhatTheRunbookReads): Step 8 is skipped,
		// and the first culprit is the slow requests, which lead to Step 8.
		{"etcd-slower-long", "etcd-slower", time.Hour, 13 * time.Minute, 14.4, runbook.StepSlow, "Step 8: Is etcd slow?"},
		// 8 minutes into the recovery.
		{"etcd-slower-long", "etcd-slower", 6 * time.Hour, 38 * time.Minute, 6, runbook.StepSlow, "Step 8: Is etcd slow?"},
		// 16 minutes into the recovery.
		{"webhook-500-long", "webhook-500", 6 * time.Hour, 46 * time.Minute, 6, "", ""},
	} {
		t.Run(tc.name+"/"+model.Duration(tc.window).String(), func(t *testing.T) {
			var rec *recording.Recording
			for i := range recs {
				if recs[i].Name == tc.name {
					rec = &recs[i]
				}
			}
			if rec == nil {
				t.Fatalf("no long recording %s in %s", tc.name, recording.LongRecordingsDir())
			}
			ss, err := rec.Series()
			if err != nil {
				t.Fatal(err)
			}
			// The window and an hour more for the 5m records it sums; none
			// before the healthy recording, which begins with the apiserver.
			st := ss
			if tc.like != "healthy" {
				if st, err = recording.StitchHistory(*rec, ss, tc.window+time.Hour, time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			for _, src := range []struct {
				name, profile string
				want          runbook.Source
			}{
				{"burnrate rules", slomodel.ProfileOptimized, runbook.SourceRecords},
				{"mixin rules", slomodel.ProfileMixin, runbook.SourceMixin},
				{"no rules", "", runbook.SourceRaw},
			} {
				t.Run(strings.ReplaceAll(src.name, " ", "_"), func(t *testing.T) {
					start := time.Now()
					env, err := e2eprom.StartSeriesWith(tc.name, st, rec.Fault.Add(tc.firesAfter), src.profile)
					if err != nil {
						t.Fatal(err)
					}
					defer env.Stop()
					t.Logf("server set up in %s", time.Since(start).Round(time.Millisecond))
					r := diagnoseSpec(t, env.URL, slo.Default(), tc.name, tc.window, env.End)
					reportText(t, r)
					if r.Source != src.want.String() {
						t.Errorf("source %q, want %q", r.Source, src.want)
					}
					if n := r.Failed(); n > 0 {
						t.Errorf("%d steps failed", n)
					}
					t.Logf("SLI %q burns %.3gx over %s, term %q", r.SLI, r.SLIFactor, model.Duration(tc.window), r.Term)
					want := replayWants[tc.like]
					if tc.first != "" {
						want.first, want.labels = tc.first, nil
						if len(r.Culprits) > 0 && r.Culprits[0].Section.Title != tc.section {
							t.Errorf("first culprit leads to %q, want %q", r.Culprits[0].Section.Title, tc.section)
						}
					}
					checkConclusion(t, r, want)
					if r.SLIFactor < tc.factor {
						t.Errorf("SLI %q burns %.3gx over %s when the alert fires; want at least its threshold, %gx", r.SLI, r.SLIFactor, model.Duration(tc.window), tc.factor)
					}
				})
			}
		})
	}
}
