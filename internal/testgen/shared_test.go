package testgen

import (
	"strings"
	"testing"

	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// sharedSpec has SLOs that read the same series: two latency thresholds on
// one histogram with different objectives, as OpenSLO and Pyrra specs often
// have (internal/openslo/testdata/v1-checkout.yaml), and an errors SLO on
// the counter of the same requests.
const sharedSpec = `name: shop
service: shop
selector: 'job="shop"'
clusterLabel: cluster
period: 30d
requests: {metric: http_requests_total, errors: 'code=~"5.."'}
latency: {metric: http_request_duration_seconds}
slos:
  - {name: availability, kind: errors, objective: 0.999}
  - {name: fast, kind: latency, objective: 0.99, latency: [{seconds: 0.3}]}
  - {name: slow, kind: latency, objective: 0.999, latency: [{seconds: 1}]}
alert:
  name: ShopErrorBudgetBurn
  summary: s
  description: d
  windows:
    - {long: 1h, short: 5m, factor: 14.4, severity: critical, for: 2m}
    - {long: 6h, short: 30m, factor: 6, severity: critical, for: 15m}
`

// TestSharedSeries: SLOs that read one histogram are given one request
// count where they burn together, so each reads the share of slow requests
// the test gives it. Before, each wrote the histogram's count with its own
// traffic and the last one won: "every SLI at 0.6x the threshold" read the
// fast SLI at more than its threshold and it fired. A latency SLO beside
// an errors-and-latency SLO of the same selector is predicted in the
// records test of slow requests without 5xx series too (before, the
// latency SLO's record was there and unexpected).
func TestSharedSeries(t *testing.T) {
	combined := strings.Replace(sharedSpec, "  - {name: slow, kind: latency,", "  - {name: slow, kind: errors-and-latency,", 1)
	combined = strings.Replace(combined, "  - {name: availability, kind: errors, objective: 0.999}\n", "", 1)
	for _, tc := range []struct{ name, spec string }{
		{"two latency SLOs and an errors SLO", sharedSpec},
		{"a latency SLO and an errors-and-latency SLO", combined},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := slo.Parse("spec.yaml", []byte(tc.spec))
			if err != nil {
				t.Fatal(err)
			}
			m, err := slomodel.New(s, slomodel.ProfileOptimized)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, p := range generateInto(t, t.TempDir(), m) {
				if testing.Short() && !strings.HasSuffix(p, ".1h-5m.test.yaml") && !strings.HasSuffix(p, ".records.test.yaml") {
					continue // -short: the fastest pair and the records
				}
				report := runFiles(t, p)
				failuresAreErrors(t, report)
				for _, fr := range report.Files {
					for _, g := range fr.Groups {
						found = found || strings.HasPrefix(g.Name, "every SLI at 0.6x")
					}
				}
			}
			if !found {
				t.Error(`no group "every SLI at 0.6x the threshold": the SLOs sharing the histogram were left out of it`)
			}
		})
	}
}
