package diagnose

import (
	"bytes"
	"testing"

	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/internal/testkit/e2eprom"
	"github.com/burnrate/burnrate/internal/testkit/recording"
	"github.com/burnrate/burnrate/slo"
	"time"
)

// TestReplayNativeForm: on the recordings that hold native histograms
// (kube-apiserver v1.37.2), the kube-apiserver spec with latency.form
// native, its rules backfilled, leads diagnose to the same conclusion as
// the classic form: the same SLI and term burning, the same first culprit.
func TestReplayNativeForm(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a real Prometheus replaying the lab recordings; make check runs it")
	}
	all, err := recording.Recordings(recording.RecordingsDir())
	if err != nil {
		t.Fatal(err)
	}
	var recs []recording.Recording
	for _, r := range all {
		if r.Native() {
			recs = append(recs, r)
		}
	}
	if len(recs) == 0 {
		t.Fatal("no recording holds native histograms")
	}
	y := bytes.Replace(slo.DefaultYAML(), []byte("\n  partitionLabel: scope\n"), []byte("\n  partitionLabel: scope\n  form: native\n"), 1)
	s, err := slo.Parse(slo.DefaultName, y)
	if err != nil || s.Latency.Form != slo.FormNative {
		t.Fatalf("native spec: %v (form %q)", err, s.Latency.Form)
	}
	env, err := e2eprom.StartRecordingsSpec(recs, s, slomodel.ProfileOptimized)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	for _, rec := range recs {
		t.Run(rec.Version+"/"+rec.Name, func(t *testing.T) {
			want, ok := wantFor(rec)
			if !ok {
				t.Fatalf("no expected diagnosis for %s", rec.Name)
			}
			r := diagnoseSpec(t, env.URL, s, rec.Cluster, 5*time.Minute, e2eEnd)
			reportText(t, r)
			if n := r.Failed(); n > 0 {
				t.Errorf("%d steps failed", n)
			}
			burns := r.SLIFactor >= burning
			switch {
			case want.sli == "" && burns:
				t.Errorf("SLI %s burns %.3gx over 5m, want no SLI burning", r.SLI, r.SLIFactor)
			case want.sli != "" && (!burns || r.SLI != want.sli || r.Term != want.term):
				t.Errorf("SLI %q burns %.3gx, term %q; want SLI %q burning, term %q", r.SLI, r.SLIFactor, r.Term, want.sli, want.term)
			}
			if want.first == "" {
				if len(r.Culprits) > 0 {
					t.Errorf("culprits %v, want none", r.Culprits)
				}
			} else if len(r.Culprits) == 0 {
				t.Errorf("no culprit, want %s %v first", want.first, want.labels)
			} else if c := r.Culprits[0]; c.Step != want.first || !hasLabels(c.Labels, want.labels) {
				t.Errorf("first culprit %s %v, want %s with %v", c.Step, c.Labels, want.first, want.labels)
			}
		})
	}
}
