package diagnose

// diagnose at the moment the critical alert fires on a long recording of a
// real fault (lab/recordings/long), over the firing pair's long window:
// the windows of an hour hold made-up healthy history before the
// recording (recording.StitchHistory), so the long window reads what a
// Prometheus that had run all along would.

import (
	"testing"
	"time"

	"github.com/burnrate/burnrate/internal/testkit/e2eprom"
	"github.com/burnrate/burnrate/internal/testkit/recording"
	"github.com/burnrate/burnrate/slo"
)

// longFiresAfter is when burnrate's 1h/5m write alert fires after the
// start of webhook-500-long's fault, as TestLongFaultFiring measures it.
const longFiresAfter = 16 * time.Minute

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
		// firesAfter is when burnrate's 1h/5m alert fires after the fault's
		// start (TestLongFaultFiring in internal/testkit/recording).
		firesAfter time.Duration
	}{
		{"webhook-500-long", "webhook-500", longFiresAfter},
	} {
		t.Run(tc.name, func(t *testing.T) {
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
			// Two hours: the 1h window and the 5m records it sums.
			st, err := recording.StitchHistory(*rec, ss, 2*time.Hour, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			env, err := e2eprom.StartSeries(tc.name, st, rec.Fault.Add(tc.firesAfter))
			if err != nil {
				t.Fatal(err)
			}
			defer env.Stop()
			t.Logf("server set up in %s", time.Since(start).Round(time.Millisecond))
			r := diagnoseSpec(t, env.URL, slo.Default(), tc.name, time.Hour, env.End)
			reportText(t, r)
			want := replayWants[tc.like]
			if n := r.Failed(); n > 0 {
				t.Errorf("%d steps failed", n)
			}
			// Not 14.4x: e2eprom backfills the records one dependency level
			// at a time, each level in a file of its own whose evaluation
			// times fall at another offset in the minute, so the burn
			// records there lag the raw series by up to a minute a level.
			t.Logf("SLI %q burns %.3gx over 1h, term %q", r.SLI, r.SLIFactor, r.Term)
			if r.SLIFactor < burning || r.SLI != want.sli || r.Term != want.term {
				t.Errorf("SLI %q burns %.3gx over 1h, term %q; want SLI %q burning, term %q", r.SLI, r.SLIFactor, r.Term, want.sli, want.term)
			}
			if len(r.Culprits) == 0 {
				t.Fatalf("no culprit, want %s %v first", want.first, want.labels)
			}
			if c := r.Culprits[0]; c.Step != want.first || !hasLabels(c.Labels, want.labels) {
				t.Errorf("first culprit %s %v, want %s with %v", c.Step, c.Labels, want.first, want.labels)
			}
		})
	}
}
