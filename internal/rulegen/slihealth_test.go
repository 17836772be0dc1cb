package rulegen

import (
	"slices"
	"testing"

	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// TestHealthChecks lists the SLI-health checks of an SLO of every kind:
// every kind that reads a histogram checks that it is there while requests
// flow, and that its threshold buckets are; a latency SLO does so by the
// request counter when the spec has one, with or without a selector of
// its own, and only by the service's histogram without a counter.
func TestHealthChecks(t *testing.T) {
	const head = `name: shop
service: shop
selector: 'job="shop"'
clusterLabel: cluster
period: 30d
objective: 0.99
latency: {metric: http_request_duration_seconds}
alert:
  name: ShopBurn
  summary: s
  description: d
  windows:
    - {long: 1h, short: 5m, factor: 14.4, severity: critical, for: 2m}
`
	const counter = "requests: {metric: http_requests_total, errors: 'code=~\"5..\"'}\n"
	tests := []struct {
		name, spec string
		want       []string // problems, in order
	}{
		{"errors", counter + "slos:\n  - {name: a, kind: errors, selector: 'handler=\"/a\"'}\n",
			[]string{slomodel.ProblemNoRequests}},
		{"errors-and-latency", counter + "slos:\n  - {name: a, kind: errors-and-latency, selector: 'handler=\"/a\"', latency: [{seconds: 1}]}\n",
			[]string{slomodel.ProblemNoRequests, slomodel.ProblemNoHistogram, slomodel.ProblemCountDiverges, slomodel.ProblemBucketMissing}},
		{"latency with a counter", counter + "slos:\n  - {name: a, kind: latency, latency: [{seconds: 1}]}\n",
			[]string{slomodel.ProblemNoHistogram, slomodel.ProblemBucketMissing}},
		{"latency with a counter and a selector", counter + "slos:\n  - {name: a, kind: latency, selector: 'handler=\"/a\"', latency: [{seconds: 1}]}\n",
			[]string{slomodel.ProblemNoHistogram, slomodel.ProblemBucketMissing}},
		{"latency with a selector, no counter", "slos:\n  - {name: a, kind: latency, selector: 'handler=\"/a\"', latency: [{seconds: 1}]}\n",
			[]string{slomodel.ProblemNoHistogram, slomodel.ProblemBucketMissing}},
		{"latency alone", "slos:\n  - {name: a, kind: latency, latency: [{seconds: 1}]}\n",
			[]string{slomodel.ProblemBucketMissing}},
		{"raw", "slos:\n  - name: a\n    raw: {errors: 'sum(rate(x_total{code=\"500\"}[{{.window}}]))', total: 'sum(rate(x_total[{{.window}}]))'}\n",
			[]string{slomodel.ProblemNoTotal, slomodel.ProblemErrorsExceedTotal}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := slo.Parse("shop.yaml", []byte(head+tc.spec))
			if err != nil {
				t.Fatal(err)
			}
			m, err := slomodel.New(s, slomodel.ProfileOptimized)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range HealthChecks(m, 0) {
				if c.SLO != 0 || c.Expr == nil {
					t.Errorf("check %+v", c)
				}
				got = append(got, c.Problem)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems %v, want %v", got, tc.want)
			}
			// The rules alert on each check.
			groups, err := RuleGroups(m)
			if err != nil {
				t.Fatal(err)
			}
			var alerts []string
			for _, g := range groups {
				for _, r := range g.Rules {
					if r.Alert == m.HealthAlertName() {
						alerts = append(alerts, r.Labels["problem"])
					}
				}
			}
			if !slices.Equal(alerts, tc.want) {
				t.Errorf("SLI-health alerts on %v, want %v", alerts, tc.want)
			}
		})
	}
}
