package testgen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// TestLatencyHistogramGone: a latency SLO whose histogram is gone while
// requests flow in the spec's counter gets an SLI-health test group that
// expects the no-histogram alert, with and without a selector of its own
// (which no SLO's counter series match: the tests write its requests to
// the counter), and the group passes against the generated rules.
func TestLatencyHistogramGone(t *testing.T) {
	for _, own := range []string{"", `, selector: 'handler="/slow"'`} {
		s, err := slo.Parse("shop.yaml", []byte(`name: shop
service: shop
selector: 'job="shop"'
clusterLabel: cluster
period: 30d
objective: 0.99
requests: {metric: http_requests_total, errors: 'code=~"5.."'}
latency: {metric: http_request_duration_seconds}
slos:
  - {name: availability, kind: errors, selector: 'handler="/"'}
  - {name: latency, kind: latency`+own+`, latency: [{seconds: 0.3}]}
alert:
  name: ShopBurn
  summary: s
  description: d
  windows:
    - {long: 1h, short: 5m, factor: 14.4, severity: critical, for: 2m}
`))
		if err != nil {
			t.Fatal(err)
		}
		m, err := slomodel.New(s, slomodel.ProfileOptimized)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		rf, err := rulegen.RuleGroups(m)
		if err != nil {
			t.Fatal(err)
		}
		data, err := encode.RuleFile(rf, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "shop.rules.yaml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		tests, err := Tests(m, "shop.rules.yaml")
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, tf := range tests {
			if !strings.HasSuffix(tf.Name, ".sli-health.test.yaml") {
				continue
			}
			for _, g := range tf.File.Tests {
				if !strings.Contains(g.Name, "latency: requests flow but the latency histogram has no series") {
					continue
				}
				for _, a := range g.AlertRuleTests[len(g.AlertRuleTests)-1].ExpAlerts {
					if a.ExpLabels["slo"] == "latency" && a.ExpLabels["problem"] == slomodel.ProblemNoHistogram {
						found = true
					}
				}
			}
			failuresAreErrors(t, runTest(t, filepath.Join(dir, tf.Name), tf.File, ""))
		}
		if !found {
			t.Errorf("selector %q: no SLI-health group expects the latency SLO's no-histogram alert", own)
		}
	}
}
