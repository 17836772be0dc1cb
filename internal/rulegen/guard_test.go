package rulegen

import (
	"os"
	"strings"
	"testing"

	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// TestGuardTerms: with alert.minRequests each pair's alert ends with the
// guard, whose count of the short window's requests reads the base-window
// events record directly over the base window, sums its samples over a
// short window shorter than the first stage, and reads the stage record
// over a staged one; without it no alert compares with >=.
func TestGuardTerms(t *testing.T) {
	data, err := os.ReadFile("../../examples/orders.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		min  string
		want map[string]string // short window: the guard's last line
	}{
		{"", nil},
		{"100", map[string]string{
			"5m":  `cluster_service_slo:slo_sli_events:rate5m{service="orders",slo="availability"} * 300 >= 100`,
			"30m": `sum_over_time(cluster_service_slo:slo_sli_events:rate5m{service="orders",slo="availability"}[30m]) * 60 >= 100`,
			"2h":  `cluster_service_slo:slo_sli_events:rate5m_sum2h{service="orders",slo="availability"} * 60 >= 100`,
		}},
	} {
		text := string(data)
		if tc.min != "" {
			text = strings.Replace(text, "  windows:\n", "  minRequests: "+tc.min+"\n  windows:\n", 1)
		}
		s, err := slo.Parse("orders.yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		groups, err := Rules(s, slomodel.ProfileOptimized)
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		for _, g := range groups {
			for _, r := range g.Rules {
				if r.Alert != s.Alert.Name {
					continue
				}
				seen++
				// The guard's text without the layout's line breaks.
				flat := strings.Join(strings.Fields(r.Expr), " ")
				want, guarded := tc.want[r.Labels["short"]]
				switch {
				case !guarded && strings.Contains(flat, ">="):
					t.Errorf("minRequests %q: the %s/%s alert compares with >=:\n%s", tc.min, r.Labels["long"], r.Labels["short"], r.Expr)
				case guarded && !strings.HasSuffix(flat, "and on (cluster, service, slo) "+want):
					t.Errorf("minRequests %q: the %s/%s alert does not end with the guard %s:\n%s", tc.min, r.Labels["long"], r.Labels["short"], want, r.Expr)
				}
			}
		}
		if seen != len(s.Alert.Windows) {
			t.Errorf("%d alerts, want %d", seen, len(s.Alert.Windows))
		}
	}
}
