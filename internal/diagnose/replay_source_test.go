package diagnose

// Replays of the lab's recordings without burnrate's records: with the
// kubernetes-mixin's rules backfilled instead (a cluster migrating to
// burnrate), and with no rules at all (rules evaluated by a Thanos or
// Mimir ruler, or none). diagnose must say where it read the burn, and
// name the same first culprit as with burnrate's rules.

import (
	"bytes"
	"maps"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/internal/testkit/e2eprom"
	"github.com/burnrate/burnrate/internal/testkit/recording"
)

// sourceServers are the recordings' servers with other rules than
// burnrate's, by profile ("" for none); TestMain stops them.
var (
	sourceMu      sync.Mutex
	sourceServers = map[string]*e2eprom.Server{}
)

func sourceServer(tb testing.TB, profile string) *e2eprom.Server {
	tb.Helper()
	sourceMu.Lock()
	defer sourceMu.Unlock()
	if s, ok := sourceServers[profile]; ok {
		return s
	}
	recs, err := recording.Recordings(recording.RecordingsDir())
	if err == nil && len(recs) == 0 {
		err = os.ErrNotExist
	}
	start := time.Now()
	var s *e2eprom.Server
	if err == nil {
		s, err = e2eprom.StartRecordingsWith(recs, profile)
	}
	if err != nil {
		tb.Fatalf("recordings' Prometheus with rules %q: %v", profile, err)
	}
	tb.Logf("recordings' server with rules %q set up in %s", profile, time.Since(start).Round(time.Millisecond))
	sourceServers[profile] = s
	return s
}

func stopSourceServers() {
	for _, s := range sourceServers {
		s.Stop()
	}
}

func TestReplayWithoutBurnrateRules(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two Prometheus servers")
	}
	ours, recs := replayServer(t)
	for _, tc := range []struct {
		name, profile string
		want          runbook.Source
	}{
		{"mixin rules", slomodel.ProfileMixin, runbook.SourceMixin},
		{"no rules", "", runbook.SourceRaw},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := sourceServer(t, tc.profile)
			for _, rec := range recs {
				t.Run(rec.Version+"/"+rec.Name, func(t *testing.T) {
					want := diagnoseScenario(t, ours, rec.Cluster, 5*time.Minute)
					r := diagnoseScenario(t, env, rec.Cluster, 5*time.Minute)
					text := reportText(t, r)
					if want.Source != runbook.SourceRecords.String() {
						t.Errorf("with burnrate's rules: %q, want %q", want.Source, runbook.SourceRecords)
					}
					if line := "\nB" + tc.want.String()[1:] + ".\n"; r.Source != tc.want.String() || !bytes.Contains(text.Bytes(), []byte(line)) {
						t.Errorf("source %q, want %q, said in the report", r.Source, tc.want)
					}
					if n := r.Failed(); n > 0 {
						t.Errorf("%d steps failed", n)
					}
					w, _ := wantFor(rec)
					checkBurn(t, r, w)
					switch {
					case len(want.Culprits) == 0:
						if len(r.Culprits) > 0 {
							t.Errorf("culprits %v; with burnrate's rules none", r.Culprits)
						}
					case len(r.Culprits) == 0:
						t.Errorf("no culprit; with burnrate's rules %s %v first", want.Culprits[0].Step, want.Culprits[0].Labels)
					case r.Culprits[0].Step != want.Culprits[0].Step || !maps.Equal(r.Culprits[0].Labels, want.Culprits[0].Labels):
						t.Errorf("first culprit %s %v; with burnrate's rules %s %v", r.Culprits[0].Step, r.Culprits[0].Labels, want.Culprits[0].Step, want.Culprits[0].Labels)
					}
				})
			}
		})
	}
}
