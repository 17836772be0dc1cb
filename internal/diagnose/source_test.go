package diagnose

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/slo"
)

func TestPairWindows(t *testing.T) {
	s := slo.Default()
	for _, tc := range []struct {
		w    time.Duration
		want []string
	}{
		{5 * time.Minute, []string{"5m", "1h"}},
		{time.Hour, []string{"5m", "1h"}},
		{6 * time.Hour, []string{"30m", "6h", "3d"}},
		{3 * 24 * time.Hour, []string{"6h", "3d"}},
	} {
		var got []string
		for _, d := range pairWindows(s, tc.w) {
			got = append(got, d.String())
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("pairWindows(%s) = %v, want %v", tc.w, got, tc.want)
		}
	}
}

// TestWithSource: only the steps sli and terms change, they read what the
// source says, over the plan's window and cluster; the records' plan is
// the plan itself.
func TestWithSource(t *testing.T) {
	p, err := NewPlan(slo.Default(), 5*time.Minute, "prod")
	if err != nil {
		t.Fatal(err)
	}
	if q, err := p.withSource(runbook.SourceRecords); err != nil || q != p {
		t.Fatalf("records: %v, %v", q, err)
	}
	for _, src := range []runbook.Source{runbook.SourceMixin, runbook.SourceRaw} {
		t.Run(src.String(), func(t *testing.T) {
			q, err := p.withSource(src)
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range q.Steps {
				old := p.Steps[i]
				switch st.Step {
				case runbook.StepSLI, runbook.StepTerms:
					if st.Query == old.Query {
						t.Errorf("step %s unchanged", st.Step)
					}
					if !strings.Contains(st.Query, `cluster="prod"`) {
						t.Errorf("step %s reads every cluster: %s", st.Step, st.Query)
					}
					if st.Step == runbook.StepTerms || src == runbook.SourceRaw {
						if !slices.Contains(st.Metrics, "apiserver_request_total") || slices.ContainsFunc(st.Metrics, func(m string) bool { return strings.Contains(m, ":") }) {
							t.Errorf("step %s reads %v, want raw series", st.Step, st.Metrics)
						}
						if strings.Contains(st.Query, "[1h]") != (st.Step == runbook.StepSLI) {
							t.Errorf("step %s: the 1h window of the 1h/5m pair: %s", st.Step, st.Query)
						}
					} else if !slices.Contains(st.Metrics, "apiserver_request:burnrate1h") || !slices.Contains(st.Metrics, "apiserver_request:burnrate5m") || slices.Contains(st.Metrics, "apiserver_request:burnrate6h") {
						t.Errorf("step %s reads %v, want the mixin's burn rates of the pair", st.Step, st.Metrics)
					}
				default:
					if st.Query != old.Query {
						t.Errorf("step %s changed", st.Step)
					}
				}
			}
		})
	}
}
