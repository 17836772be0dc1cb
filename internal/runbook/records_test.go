package runbook_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// recordRE matches a recorded series' name: a metric name with a colon.
var recordRE = regexp.MustCompile(`\b[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]*[a-zA-Z0-9_]\b`)

// TestPageQuotesRecordedNames renders the rules and the runbook of specs
// whose periods and windows Prometheus prints in weeks (7d as 1w, 28d as
// 4w) and expects every recorded series the page names, in its prose and
// its queries, to be one the rules record: a name spelt differently
// there is a query that returns nothing.
func TestPageQuotesRecordedNames(t *testing.T) {
	load := func(t *testing.T, path string) *slo.Spec {
		s, err := slo.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	week := func(s *slo.Spec) {
		s.Period = slo.Duration(28 * 24 * 3600e9)
		s.Alert.Windows = append(s.Alert.Windows, slo.Window{Long: slo.Duration(7 * 24 * 3600e9), Short: slo.Duration(24 * 3600e9), Factor: 1, Severity: "info"})
	}
	tests := []struct {
		name string
		spec func(t *testing.T) *slo.Spec
		want []string // on the page
	}{
		{"kube-apiserver over 28d with a 7d window", func(t *testing.T) *slo.Spec { s := slo.Default(); week(s); return s },
			[]string{"over 28d", "`apiserver_request:error_budget_remaining28d`", "apiserver_request:burnrate7d"}},
		{"checkout over 28d with a 7d window", func(t *testing.T) *slo.Spec { s := load(t, "../../examples/checkout.yaml"); week(s); return s },
			[]string{"each measured over 28d", "`slo:error_budget_remaining28d{service=\"checkout\"}`", "slo:burnrate7d"}},
		{"payments over 28d", func(t *testing.T) *slo.Spec { return load(t, "../../examples/payments-grpc.yaml") },
			[]string{"each measured over 28d", "`slo:error_budget_remaining28d{service=\"payments\"}`"}},
		{"report-job over 7d", func(t *testing.T) *slo.Spec { return load(t, "../../examples/report-job.yaml") },
			[]string{"each measured over 7d", "`slo:error_budget_remaining7d{service=\"report-job\"}`"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec(t)
			m, err := slomodel.New(s, slomodel.ProfileOptimized)
			if err != nil {
				t.Fatal(err)
			}
			groups, err := rulegen.RuleGroups(m)
			if err != nil {
				t.Fatal(err)
			}
			var recorded []string
			for _, g := range groups {
				for _, r := range g.Rules {
					if r.Record != "" {
						recorded = append(recorded, r.Record)
					}
				}
			}
			page, err := runbook.Render(m)
			if err != nil {
				t.Fatal(err)
			}
			md := string(page.Markdown)
			for _, w := range tc.want {
				if !strings.Contains(md, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, name := range recordRE.FindAllString(md, -1) {
				if !slices.Contains(recorded, name) {
					t.Errorf("the page names %s, which the rules do not record", name)
				}
			}
		})
	}
}
