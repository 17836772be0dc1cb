package testgen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/promtest"
	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// TestRawSLIHealth evaluates the SLI-health alert of a raw SLO whose two
// queries read different metrics (errors from a job's failure counter,
// the total from its run counter), the case the alert is for: the
// generated tests cannot write such inputs (slomodel.New refuses the
// spec for tests), so this test writes them. The alert fires for an errors query
// with events and no total series, and for errors exceeding the total by
// more than the tolerance; it stays silent when the queries agree, within
// the tolerance, and when the errors query has no series (an SLO with no
// failures looks the same).
func TestRawSLIHealth(t *testing.T) {
	s, err := slo.Parse("jobs.yaml", []byte(`name: jobs
service: jobs
clusterLabel: cluster
period: 30d
slos:
  - name: runs
    objective: 0.99
    raw:
      errors: 'sum by (cluster) (rate(job_failures_total{job="etl"}[{{.window}}]))'
      total: 'sum by (cluster) (rate(job_runs_total{job="etl"}[{{.window}}]))'
alert:
  name: JobsErrorBudgetBurn
  summary: s
  description: d
  windows:
    - {long: 1h, short: 5m, factor: 14.4, severity: critical, for: 2m}
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.SLOs[0].Kind != slo.KindRaw {
		t.Fatalf("kind %q, want raw from the raw queries", s.SLOs[0].Kind)
	}
	if _, err := slomodel.New(s, slomodel.ProfileOptimized); err == nil || !strings.Contains(err.Error(), "both queries to read the same metric") {
		t.Fatalf("slomodel.New of queries on two metrics: %v, want a refusal naming the metrics", err)
	}
	m, err := slomodel.Unchecked(s, slomodel.ProfileOptimized)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := rulegen.RuleGroups(m)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data, err := encode.RuleFile(groups, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "jobs.rules.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, g := range groups {
		order = append(order, g.Name)
	}
	firing := func(problem string) []promtest.ExpAlert {
		ls, as := m.HealthAlert(0, problem, slo.Threshold{})
		ls["cluster"] = "c1"
		return []promtest.ExpAlert{{ExpLabels: ls, ExpAnnotations: as}}
	}
	none := []promtest.ExpAlert{}
	failures := func(perMin string) promtest.InputSeries {
		return promtest.InputSeries{Series: `job_failures_total{cluster="c1", job="etl"}`, Values: "0+" + perMin + "x30"}
	}
	runs := func(perMin string) promtest.InputSeries {
		return promtest.InputSeries{Series: `job_runs_total{cluster="c1", job="etl"}`, Values: "0+" + perMin + "x30"}
	}
	for _, tc := range []struct {
		name string
		in   []promtest.InputSeries
		want []promtest.ExpAlert
	}{
		{"the queries agree", []promtest.InputSeries{failures("1"), runs("100")}, none},
		{"errors but no total series", []promtest.InputSeries{failures("1"), {Series: `job_runs_total{cluster="c1", job="other"}`, Values: "0+100x30"}}, firing(slomodel.ProblemNoTotal)},
		{"errors 1.5 times the total", []promtest.InputSeries{failures("150"), runs("100")}, firing(slomodel.ProblemErrorsExceedTotal)},
		{"errors 1.05 times the total, within the tolerance", []promtest.InputSeries{failures("105"), runs("100")}, none},
		{"no errors series: cannot be told from no failures", []promtest.InputSeries{runs("100")}, none},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &promtest.File{RuleFiles: []string{"jobs.rules.yaml"}, EvaluationInterval: model.Duration(time.Minute), GroupEvalOrder: order,
				Tests: []promtest.Group{{Name: tc.name, Interval: model.Duration(time.Minute), InputSeries: tc.in,
					AlertRuleTests: []promtest.AlertTest{
						{EvalTime: model.Duration(5 * time.Minute), Alertname: m.HealthAlertName(), ExpAlerts: none},
						{EvalTime: model.Duration(20 * time.Minute), Alertname: m.HealthAlertName(), ExpAlerts: tc.want},
					}}}}
			failuresAreErrors(t, runTest(t, filepath.Join(dir, "health.test.yaml"), f, ""))
		})
	}
}
