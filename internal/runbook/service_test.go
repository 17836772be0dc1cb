package runbook

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/slo"
)

// exampleSpec loads one of the example services.
func exampleSpec(t *testing.T, name string) *slo.Spec {
	t.Helper()
	s, err := slo.Load("../../examples/" + name + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestServicePage: a spec with a service gets a page of its own: its
// steps follow its SLOs' kinds and its drill-down labels, every query
// parses and groups by what its step says, and nothing of the
// kube-apiserver's decision tree is left.
func TestServicePage(t *testing.T) {
	tests := []struct {
		spec  string
		path  string
		steps []Step
		want  []string // on the page
	}{
		{
			spec: "checkout", path: "checkout/CheckoutErrorBudgetBurn.md",
			steps: []Step{StepProbe, StepSLI, StepTerms, StepErrors, StepSlow,
				"errors-by-handler", "errors-by-method", "errors-by-code", "errors-by-instance",
				"slow-by-handler", "slow-by-method", "slow-by-code", "slow-by-instance"},
			want: []string{
				"| `availability` | errors | 99.9% | 0.1% | it fails (`code=~\"5..\"`) | `http_requests_total{job=\"checkout\",handler!=\"/healthz\"}` |",
				"| `latency` | latency | 99% | 1% | it is slower than 0.3s | `http_request_duration_seconds_count{job=\"checkout\",handler!=\"/healthz\"}` |",
				// The urgency table per budget: 14.4 x 0.1% for availability, 14.4 x 1% for latency.
				"| 1h / 5m | critical | 14.4 | 1.44% | 2m | 2% | 2d 2h | 3m | never | never |",
				"| 1h / 5m | critical | 14.4 | 14.4% | 2m | 2% | 2d 2h | 11m | never | never |",
				"slo:burnrate1h{service=\"checkout\",slo=\"availability\"} / 0.001",
				"- Then see where the failures concentrate: [Step 5](#step-5-where-do-the-failures-concentrate).",
				"`slo:error_budget_remaining30d{service=\"checkout\"}`",
			},
		},
		{
			spec: "report-job", path: "report-job/ReportJobErrorBudgetBurn.md",
			steps: []Step{StepProbe, StepSLI, StepTerms, StepSlow, "slow-by-instance"},
			want:  []string{"**Next:** Step 3.", "### Step 3: Which requests are slow?"},
		},
		{
			spec: "ingress-nginx", path: "shop-ingress/ShopIngressErrorBudgetBurn.md",
			steps: []Step{StepProbe, StepSLI, StepTerms, StepErrors, "errors-by-ingress", "errors-by-path", "errors-by-status", "errors-by-method"},
			// Both SLOs share a budget: one selector for both.
			want: []string{`slo:burnrate1h{service="shop-ingress",slo=~"storefront|api"} / 0.005`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			rb, err := newSpec(exampleSpec(t, tc.spec))
			if err != nil {
				t.Fatal(err)
			}
			page, err := rb.Page()
			if err != nil {
				t.Fatal(err)
			}
			if page.Path != tc.path {
				t.Errorf("path %q, want %q", page.Path, tc.path)
			}
			var got []Step
			for _, q := range page.Queries {
				got = append(got, q.Step)
			}
			if !slices.Equal(got, tc.steps) {
				t.Errorf("steps %v, want %v", got, tc.steps)
			}
			md := string(page.Markdown)
			for _, w := range tc.want {
				if !strings.Contains(md, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, word := range []string{"etcd", "webhook", "apiserver", "APIService", "Priority and Fairness", "verb"} {
				if strings.Contains(strings.ToLower(md), strings.ToLower(word)) {
					t.Errorf("page mentions %q", word)
				}
			}
			blocks := promqlBlock.FindAllStringSubmatch(md, -1)
			if len(blocks) != len(page.Queries) {
				t.Fatalf("%d promql blocks, %d queries", len(blocks), len(page.Queries))
			}
			for i, q := range page.Queries {
				if blocks[i][1] != q.PromQL {
					t.Errorf("block %d is not step %s's query", i, q.Step)
				}
				expr, err := parser.NewParser(parser.Options{}).ParseExpr(q.PromQL)
				if err != nil {
					t.Fatalf("step %s: %v", q.Step, err)
				}
				// A drill-down by label l groups by the cluster and l alone.
				l, ok := strings.CutPrefix(string(q.Step), "errors-by-")
				if !ok {
					l, ok = strings.CutPrefix(string(q.Step), "slow-by-")
				}
				if !ok {
					continue
				}
				parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
					if a, isAgg := n.(*parser.AggregateExpr); isAgg && a.Op == parser.SUM {
						if !slices.Equal(a.Grouping, []string{"cluster", l}) {
							t.Errorf("step %s sums by %v, want [cluster %s]", q.Step, a.Grouping, l)
						}
					}
					return nil
				})
			}
		})
	}
}

// TestServiceEntries: diagnose reads a service's steps from its runbook:
// the requests route to the drill-down by the first label, whose section
// holds every label's drill-down; the kube-apiserver's steps are unknown
// there.
func TestServiceEntries(t *testing.T) {
	rb, err := newSpec(exampleSpec(t, "checkout"))
	if err != nil {
		t.Fatal(err)
	}
	for st, want := range map[Step]Step{StepErrors: ErrorsBy("handler"), StepSlow: SlowBy("handler")} {
		e := rb.Entry(st)
		if e.Culprit() != CulpritRequests || !e.Adds() {
			t.Errorf("%s: culprit %v, adds %v", st, e.Culprit(), e.Adds())
		}
		if to, ok := e.Route(map[string]string{"handler": "/checkout"}, nil); !ok || to != want {
			t.Errorf("%s routes to %s (%v), want %s", st, to, ok, want)
		}
		sec, _ := rb.SectionOf(want)
		if len(sec.Steps) != 4 || sec.Fix == "" {
			t.Errorf("section of %s: %+v", want, sec)
		}
	}
	if e := rb.Entry(ErrorsBy("instance")); e.Culprit() != CulpritDrilldown || !e.Adds() {
		t.Errorf("errors-by-instance: culprit %v, adds %v", e.Culprit(), e.Adds())
	}
	if _, ok := rb.SectionOf(StepEtcdLatency); ok {
		t.Error("a service's runbook has the etcd step")
	}
	// The kube-apiserver's table still answers for its own steps.
	if StepErrors.Culprit() != CulpritRequests || !StepAPIServices.Outside() {
		t.Error("the kube-apiserver table's entries changed")
	}
}

// TestServiceProblems: labels a service's queries set are refused.
func TestServiceProblems(t *testing.T) {
	s := exampleSpec(t, "checkout")
	s.Drilldown = append(s.Drilldown, "window")
	s.SLILabel = "term"
	_, err := renderSpec(s)
	for _, want := range []string{`sliLabel: "term" is a label the runbook's queries set`, `drilldown[4]: "window" is a label the runbook's queries set`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
}

// TestServiceWithoutDrilldown: drilldown: [] leaves the requests' steps
// without routes and the page without drill-down sections.
func TestServiceWithoutDrilldown(t *testing.T) {
	s := exampleSpec(t, "checkout")
	s.Drilldown = []string{}
	page, err := renderSpec(s)
	if err != nil {
		t.Fatal(err)
	}
	var got []Step
	for _, q := range page.Queries {
		got = append(got, q.Step)
	}
	if want := []Step{StepProbe, StepSLI, StepTerms, StepErrors, StepSlow}; !slices.Equal(got, want) {
		t.Errorf("steps %v, want %v", got, want)
	}
	md := string(page.Markdown)
	if !strings.Contains(md, "Failed requests (`code=~\"5..\"`) per second, per SLO. No rows: nothing fails.") || strings.Contains(md, "concentrate") {
		t.Errorf("page:\n%s", md)
	}
}
