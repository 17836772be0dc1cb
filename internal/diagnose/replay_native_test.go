package diagnose

import (
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
	recs := recording.NativeOnly(all)
	if len(recs) == 0 {
		t.Fatal("no recording holds native histograms")
	}
	s := slo.Default()
	s.Latency.Form = slo.FormNative
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
			checkConclusion(t, r, want)
		})
	}
}
