package diagnose

// End-to-end tests of diagnose on a service's runbook: a real Prometheus
// v0.316.0 holds synthetic incidents of an HTTP service shaped like
// examples/checkout.yaml and the series its rules record (e2eprom.StartService);
// diagnose walks the checkout runbook's steps against it.

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/testkit/e2eprom"
	"github.com/burnrate/burnrate/slo"
)

// serviceFaults are the incidents, one cluster each.
var serviceFaults = []e2eprom.HTTPFault{
	{Name: "healthy"},
	{Name: "checkout-fails", Handler: "/checkout", ErrorShare: 0.5},
	{Name: "instance-fails", Instance: "10.0.0.2:8080", ErrorShare: 0.3},
	{Name: "search-slow", Handler: "/search", Slow: true},
}

var (
	serviceOnce   sync.Once
	serviceServer *e2eprom.Server
	serviceErr    error
)

func checkoutSpec(tb testing.TB) *slo.Spec {
	tb.Helper()
	s, err := slo.Load("../../examples/checkout.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// sharedService starts the package's service server on first use; TestMain
// stops it.
func sharedService(tb testing.TB) *e2eprom.Server {
	tb.Helper()
	if testing.Short() {
		tb.Skip("slow: real Prometheus; make check runs it")
	}
	serviceOnce.Do(func() {
		serviceServer, serviceErr = e2eprom.StartService(checkoutSpec(tb), serviceFaults)
	})
	if serviceErr != nil {
		tb.Fatalf("e2e Prometheus: %v", serviceErr)
	}
	return serviceServer
}

// TestE2EServiceDiagnose: for each incident, the SLO and the term that
// burn, the label value the drill-down by its label ranks first, the
// culprits diagnose names first, and those it must not name (a label
// whose values fail alike).
func TestE2EServiceDiagnose(t *testing.T) {
	env := sharedService(t)
	s := checkoutSpec(t)
	tests := []struct {
		cluster   string
		sli, term string
		// first is what the drill-down steps must rank first.
		first map[runbook.Step]map[string]string
		// culprit is the first culprit; notCulprits are steps that must
		// not be named.
		culprit     runbook.Step
		notCulprits []runbook.Step
	}{
		{
			cluster: "checkout-fails", sli: "availability", term: "errors",
			first: map[runbook.Step]map[string]string{
				runbook.ErrorsBy("handler"): {"cluster": "checkout-fails", "slo": "availability", "handler": "/checkout"},
				runbook.ErrorsBy("code"):    {"cluster": "checkout-fails", "slo": "availability", "code": "500"},
			},
			culprit:     runbook.ErrorsBy("handler"),
			notCulprits: []runbook.Step{runbook.ErrorsBy("instance"), runbook.StepSlow},
		},
		{
			cluster: "instance-fails", sli: "availability", term: "errors",
			first: map[runbook.Step]map[string]string{
				runbook.ErrorsBy("instance"): {"cluster": "instance-fails", "slo": "availability", "instance": "10.0.0.2:8080"},
			},
			culprit:     runbook.ErrorsBy("code"), // 500 alone, in the spec's label order before instance
			notCulprits: []runbook.Step{runbook.ErrorsBy("handler"), runbook.ErrorsBy("method")},
		},
		{
			cluster: "search-slow", sli: "latency", term: "slow",
			first: map[runbook.Step]map[string]string{
				runbook.SlowBy("handler"): {"cluster": "search-slow", "slo": "latency", "handler": "/search"},
			},
			culprit:     runbook.SlowBy("handler"),
			notCulprits: []runbook.Step{runbook.SlowBy("instance"), runbook.SlowBy("code"), runbook.StepErrors}, // the histogram has no code label
		},
		{cluster: "healthy"},
	}
	for _, tc := range tests {
		t.Run(tc.cluster, func(t *testing.T) {
			c, err := NewClient(Config{URL: env.URL, QueryTimeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			p, err := NewPlan(s, time.Hour, tc.cluster)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Diagnose(context.Background(), c, p, Options{Time: env.End})
			if err != nil {
				t.Fatal(err)
			}
			var text bytes.Buffer
			if err := r.WriteText(&text, "cluster"); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if t.Failed() || testing.Verbose() {
					t.Logf("report:\n%s", text.String())
				}
			}()
			for _, st := range r.Steps {
				if st.Status == StatusFailed || st.Status == StatusSkipped {
					t.Errorf("step %s: %s %s", st.Step, st.Status, st.Reason)
				}
			}
			if strings.Contains(text.String(), "APIService") {
				t.Error("the report speaks of the kube-apiserver")
			}
			if tc.sli == "" {
				if r.SLIFactor >= burning || len(r.Culprits) > 0 {
					t.Errorf("healthy: SLI %q burns %v, culprits %v", r.SLI, r.SLIFactor, r.Culprits)
				}
				return
			}
			if r.SLI != tc.sli || r.Term != tc.term || r.SLIFactor < burning {
				t.Errorf("SLI %q term %q factor %v, want %q %q burning", r.SLI, r.Term, r.SLIFactor, tc.sli, tc.term)
			}
			for st, want := range tc.first {
				res := r.Step(st)
				if res == nil || len(res.Rows) == 0 {
					t.Errorf("step %s found nothing, want %v first", st, want)
					continue
				}
				if got := res.Rows[0].Labels; !maps.Equal(got, want) {
					t.Errorf("step %s ranks %v first, want %v", st, got, want)
				}
			}
			if len(r.Culprits) == 0 {
				t.Fatal("no culprits")
			}
			if c := r.Culprits[0]; c.Step != tc.culprit || c.Section.Fix == "" || !strings.Contains(c.Section.URL, "https://runbooks.example.com/checkout/checkouterrorbudgetburn#step-") {
				t.Errorf("first culprit %s %v (section %+v), want %s with its section's fix and link", c.Step, c.Labels, c.Section, tc.culprit)
			}
			for _, st := range tc.notCulprits {
				if slices.ContainsFunc(r.Culprits, func(c Culprit) bool { return c.Step == st }) {
					t.Errorf("step %s named a culprit", st)
				}
			}
			// The failing or slow requests are named too, after where they
			// concentrate.
			request := runbook.StepErrors
			if tc.term == "slow" {
				request = runbook.StepSlow
			}
			if !slices.ContainsFunc(r.Culprits, func(c Culprit) bool { return c.Step == request }) {
				t.Errorf("the %s requests are not a culprit", request)
			}
		})
	}
}
