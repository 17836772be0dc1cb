package rulegen

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/burnrate/burnrate/internal/testkit/reference"
	"github.com/burnrate/burnrate/internal/testkit/synth"
	"github.com/burnrate/burnrate/slo"
)

// equivalenceCluster is synthetic traffic that exercises every term of the
// SLO rules: two clusters, several apiservers, resources, verbs, scopes and
// both spellings of le; 5xx errors and slow requests that drift over time,
// an outage of one apiserver, slow namespace LISTs, a restart with counter
// resets, and a cluster that has no 5xx series at all.
func equivalenceCluster() synth.Cluster {
	return synth.Cluster{
		Clusters:       []string{"c1", "c2"},
		Instances:      2,
		Resources:      2,
		ScrapeInterval: time.Minute,
		Duration:       4 * time.Hour,
		LeFormat:       synth.LeMixed,
		Seed:           7,
		ErrorRatio:     0.004,
		SlowRatio:      0.004,
		Faults: []synth.Fault{
			{Kind: synth.FaultErrors, Match: synth.Selector{Clusters: []string{"c1"}, Instances: []string{"10.0.0.1:6443"}}, From: 90 * time.Minute, To: 150 * time.Minute, Ratio: 0.5},
			{Kind: synth.FaultSlow, Match: synth.Selector{Clusters: []string{"c1"}, Verbs: []string{"LIST"}, Scopes: []string{"namespace"}}, From: 150 * time.Minute, To: 210 * time.Minute, Ratio: 0.6},
			{Kind: synth.FaultCounterReset, Match: synth.Selector{Instances: []string{"10.0.0.2:6443"}}, From: 2 * time.Hour},
		},
		Omissions: []synth.Omission{
			{Match: synth.Selector{Clusters: []string{"c2"}}, Metrics: []string{synth.MetricRequestTotal}, Codes: []string{"5xx"}},
		},
	}
}

// TestMixinEvaluatesLikeReference evaluates the mixin profile and the
// mixin's own rendering on the same synthetic series and compares every
// recorded sample and every alert, with its state, at every step.
func TestMixinEvaluatesLikeReference(t *testing.T) {
	mine := filepath.Join(t.TempDir(), "mixin.rules.yaml")
	if err := os.WriteFile(mine, renderMixin(t, slo.Default()), 0o644); err != nil {
		t.Fatal(err)
	}
	reference := reference.File(t, "apiserver-slo-rules.aa38e2b.yaml")
	c := equivalenceCluster()
	opts := synth.EvalOptions{Interval: time.Minute}
	if testing.Short() {
		// make test's budget: the same series and faults, evaluated every
		// 5 minutes (a fifth of the steps); without -short, every minute.
		opts.Interval = 5 * time.Minute
	}
	ctx := context.Background()
	// The two evaluations are independent: run them side by side.
	var want, got *synth.Trace
	var werr, gerr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		want, werr = synth.Evaluate(ctx, reference, c, opts)
	}()
	got, gerr = synth.Evaluate(ctx, mine, c, opts)
	<-done
	if werr != nil {
		t.Fatalf("evaluating the reference: %v", werr)
	}
	if gerr != nil {
		t.Fatalf("evaluating the mixin profile: %v", gerr)
	}
	if len(got.Steps) != len(want.Steps) {
		t.Fatalf("%d steps, the reference has %d", len(got.Steps), len(want.Steps))
	}
	var records, alerts, firing int
	seen := map[string]bool{}
	for i := range want.Steps {
		if d := cmp.Diff(want.Steps[i], got.Steps[i], cmpopts.EquateNaNs()); d != "" {
			t.Fatalf("step %d (%s) differs (-reference +generated):\n%s", i, want.Steps[i].Time.Format(time.TimeOnly), d)
		}
		records += len(want.Steps[i].Records)
		alerts += len(want.Steps[i].Alerts)
		for _, a := range want.Steps[i].Alerts {
			if a.State == "firing" {
				firing++
				seen[a.Labels] = true
			}
		}
		for k := range want.Steps[i].Records {
			seen[k] = true
		}
	}
	// The comparison must have had something to compare: burn rates of both
	// SLIs in both clusters, and alerts that fired.
	for _, k := range []string{
		`apiserver_request:burnrate1h{cluster="c1", verb="read"}`,
		`apiserver_request:burnrate1h{cluster="c1", verb="write"}`,
		`apiserver_request:burnrate6h{cluster="c1", verb="read"}`,
		`apiserver_request:availability30d{cluster="c1", verb="all"}`,
	} {
		if !seen[k] {
			t.Errorf("no step recorded %s", k)
		}
	}
	if firing == 0 {
		t.Error("no alert fired in the scenario; the comparison proves little")
	}
	t.Logf("%d steps, %d recorded samples, %d alert states (%d firing) compared; %d load samples",
		len(want.Steps), records, alerts, firing, want.Stats.Load.Samples)
}
