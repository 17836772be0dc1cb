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
	// Broken SLI inputs (TestE2EServiceHealth).
	{Name: "histogram-gone", NoHistogram: true},
	{Name: "bucket-dropped", NoBucket: 0.3},
	{Name: "histogram-doubled", HistogramScale: 2},
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
			r := diagnoseSpec(t, env.URL, s, tc.cluster, time.Hour, env.End)
			text := reportText(t, r)
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

// TestE2EServiceHealth: diagnose reports the SLOs' broken inputs as
// findings of their own, from the checks the SLI-health alert fires on:
// the latency histogram gone while requests flow (kind latency, whose
// alert said nothing before), its threshold bucket dropped, and, for an
// errors-and-latency SLO over the same series, a histogram counting twice
// the counter's requests. Healthy inputs give no finding, and the report
// says so.
func TestE2EServiceHealth(t *testing.T) {
	env := sharedService(t)
	checkout := checkoutSpec(t)
	// The same series read by one errors-and-latency SLO.
	combined, err := slo.Parse("combined.yaml", []byte(`name: combined
service: combined
selector: 'job="checkout"'
clusterLabel: cluster
period: 30d
requests: {metric: http_requests_total, errors: 'code=~"5.."'}
latency: {metric: http_request_duration_seconds}
slos:
  - {name: requests, kind: errors-and-latency, selector: 'handler!="/healthz"', objective: 0.99, latency: [{seconds: 0.3}]}
alert:
  name: CombinedBurn
  summary: s
  description: d
  windows:
    - {long: 1h, short: 5m, factor: 14.4, severity: critical, for: 2m}
`))
	if err != nil {
		t.Fatal(err)
	}
	type finding struct{ slo, problem string }
	tests := []struct {
		spec    *slo.Spec
		cluster string
		want    []finding
	}{
		{checkout, "healthy", nil},
		{checkout, "histogram-gone", []finding{{"latency", "no-histogram"}}},
		{checkout, "bucket-dropped", []finding{{"latency", "bucket-missing"}}},
		{checkout, "histogram-doubled", nil}, // kind latency reads the histogram alone
		{combined, "healthy", nil},
		{combined, "histogram-gone", []finding{{"requests", "no-histogram"}}},
		{combined, "bucket-dropped", []finding{{"requests", "bucket-missing"}}},
		{combined, "histogram-doubled", []finding{{"requests", "count-diverges"}}},
	}
	for _, tc := range tests {
		t.Run(tc.spec.Name+"/"+tc.cluster, func(t *testing.T) {
			c, err := NewClient(Config{URL: env.URL, QueryTimeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			p, err := NewPlan(tc.spec, time.Hour, tc.cluster)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Diagnose(context.Background(), c, p, Options{Time: env.End})
			if err != nil {
				t.Fatal(err)
			}
			text := reportText(t, r)
			if len(r.HealthErrors) > 0 {
				t.Fatalf("health checks failed: %+v", r.HealthErrors)
			}
			var got []finding
			for _, f := range r.Health {
				got = append(got, finding{f.SLO, f.Problem})
				if f.Labels["cluster"] != tc.cluster || f.Summary == "" || f.Query == "" {
					t.Errorf("finding %+v: want the cluster's label, a summary and the query", f)
				}
				if f.Problem == "bucket-missing" && f.Threshold != 0.3 {
					t.Errorf("bucket-missing at %vs, want 0.3", f.Threshold)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings %v, want %v", got, tc.want)
			}
			if len(tc.want) == 0 && !strings.Contains(text.String(), "every SLO's inputs are there") {
				t.Error("the report does not say the inputs are there")
			}
			if len(tc.want) > 0 && !strings.Contains(text.String(), "SLI-health problem(s), listed below") {
				t.Error("the report's verdict does not warn of the broken inputs")
			}
			var page bytes.Buffer
			if err := WriteHTML(context.Background(), &page, c, p, r, HTMLOptions{}); err != nil {
				t.Fatal(err)
			}
			if shown := strings.Contains(page.String(), "SLI health: broken inputs"); shown != (len(tc.want) > 0) {
				t.Errorf("the HTML page shows broken inputs: %v, want %v", shown, len(tc.want) > 0)
			}
		})
	}
}
