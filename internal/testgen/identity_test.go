package testgen

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
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

// shopSpec is a spec of one of two services that share every metric, SLO
// name and alert name and differ only in service, selector and objective.
func shopSpec(t *testing.T, name, namespace, availability string) *slo.Spec {
	t.Helper()
	s, err := slo.Parse(name+".yaml", []byte(`name: `+name+`
service: `+name+`
selector: 'job="shop", namespace="`+namespace+`"'
clusterLabel: cluster
period: 30d
requests: {metric: http_requests_total, errors: 'code=~"5.."'}
latency: {metric: http_request_duration_seconds}
slos:
  - {name: availability, kind: errors, objective: `+availability+`}
  - {name: latency, kind: latency, objective: 0.99, latency: [{seconds: 0.3}]}
alert:
  name: ShopErrorBudgetBurn
  summary: A shop is burning its error budget.
  description: '{{ $labels.service }} {{ $labels.slo }} is burning its error budget.'
  windows:
    - {long: 1h, short: 5m, factor: 14.4, severity: critical, for: 2m}
    - {long: 6h, short: 30m, factor: 6, severity: critical, for: 15m}
`))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTwoSpecsOnOneMetric loads the rules of two specs on the same metrics
// into one rule evaluation: shop-a serves 20% 5xx and no slow request,
// shop-b no 5xx and 20% slower than 300 ms. Each service's records carry
// its own identity, and each alert fires for its own traffic only:
// shop-a's availability and shop-b's latency, never shop-b's availability
// (whose threshold, at 0.99, shop-a's errors also exceed) nor shop-a's
// latency. Run in-process and, unless -short, under promtool.
func TestTwoSpecsOnOneMetric(t *testing.T) {
	dir := t.TempDir()
	a, b := shopSpec(t, "shop-a", "a", "0.999"), shopSpec(t, "shop-b", "b", "0.99")
	var files, groups []string
	models := map[string]*slomodel.Model{}
	for _, s := range []*slo.Spec{a, b} {
		rf, err := rulegen.Rules(s, slomodel.ProfileOptimized)
		if err != nil {
			t.Fatal(err)
		}
		data, err := encode.RuleFile(rf, "")
		if err != nil {
			t.Fatal(err)
		}
		name := s.Name + ".rules.yaml"
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
		for _, g := range rf {
			groups = append(groups, g.Name)
		}
		if models[s.Service], err = slomodel.New(s, slomodel.ProfileOptimized); err != nil {
			t.Fatal(err)
		}
	}
	// 1000 requests a minute per service; the values are cumulative.
	const perMin = "0+1000x40"
	in := []promtest.InputSeries{
		{Series: `http_requests_total{cluster="c1", job="shop", namespace="a", code="200"}`, Values: "0+800x40"},
		{Series: `http_requests_total{cluster="c1", job="shop", namespace="a", code="500"}`, Values: "0+200x40"},
		{Series: `http_request_duration_seconds_count{cluster="c1", job="shop", namespace="a"}`, Values: perMin},
		{Series: `http_request_duration_seconds_bucket{cluster="c1", job="shop", namespace="a", le="0.3"}`, Values: perMin},
		{Series: `http_request_duration_seconds_bucket{cluster="c1", job="shop", namespace="a", le="+Inf"}`, Values: perMin},
		{Series: `http_requests_total{cluster="c1", job="shop", namespace="b", code="200"}`, Values: perMin},
		{Series: `http_request_duration_seconds_count{cluster="c1", job="shop", namespace="b"}`, Values: perMin},
		{Series: `http_request_duration_seconds_bucket{cluster="c1", job="shop", namespace="b", le="0.3"}`, Values: "0+800x40"},
		{Series: `http_request_duration_seconds_bucket{cluster="c1", job="shop", namespace="b", le="+Inf"}`, Values: perMin},
	}
	at := model.Duration(30 * time.Minute)
	var exp []promtest.ExpAlert
	for _, f := range []struct{ service, slo string }{{"shop-a", "availability"}, {"shop-b", "latency"}} {
		m := models[f.service]
		for _, w := range m.Alert.Windows {
			ls, as := m.FiringAlert(w, f.slo, "c1")
			exp = append(exp, promtest.ExpAlert{ExpLabels: ls, ExpAnnotations: as})
		}
	}
	if got := exp[0].ExpAnnotations["description"]; got != "shop-a availability is burning its error budget." {
		t.Fatalf("expanded description %q", got)
	}
	burn := func(window string) promtest.ExprTest {
		return promtest.ExprTest{Expr: "round(slo:burnrate" + window + ", 0.0001)", EvalTime: at, ExpSamples: []promtest.ExpSample{
			{Labels: `{cluster="c1", service="shop-a", slo="availability"}`, Value: 0.2},
			{Labels: `{cluster="c1", service="shop-a", slo="latency"}`, Value: 0},
			{Labels: `{cluster="c1", service="shop-b", slo="availability"}`, Value: 0},
			{Labels: `{cluster="c1", service="shop-b", slo="latency"}`, Value: 0.2},
		}}
	}
	f := &promtest.File{RuleFiles: files, EvaluationInterval: model.Duration(time.Minute), GroupEvalOrder: groups, Tests: []promtest.Group{{
		Name: "two services on one metric", Interval: model.Duration(time.Minute), InputSeries: in,
		AlertRuleTests: []promtest.AlertTest{
			{EvalTime: at, Alertname: "ShopErrorBudgetBurn", ExpAlerts: exp},
			{EvalTime: at, Alertname: "ShopErrorBudgetBurnSLIBroken", ExpAlerts: []promtest.ExpAlert{}},
		},
		PromQLExprTests: []promtest.ExprTest{burn("5m"), burn("1h"), burn("6h"), {
			Expr: "round(slo:availability30d, 0.0001)", EvalTime: at, ExpSamples: []promtest.ExpSample{
				{Labels: `{cluster="c1", service="shop-a", slo="availability"}`, Value: 0.8},
				{Labels: `{cluster="c1", service="shop-a", slo="latency"}`, Value: 1},
				{Labels: `{cluster="c1", service="shop-b", slo="availability"}`, Value: 1},
				{Labels: `{cluster="c1", service="shop-b", slo="latency"}`, Value: 0.8},
			},
		}},
	}}}
	path := filepath.Join(dir, "two.test.yaml")
	failuresAreErrors(t, runTest(t, path, f, ""))
	if testing.Short() {
		return
	}
	if out, err := promtoolTest(t, path); err != nil {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
}

// promtoolTest runs `go tool promtool test rules` (the version pinned in
// go.mod) on the files.
func promtoolTest(t *testing.T, files ...string) (string, error) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", append([]string{"tool", "promtool", "test", "rules"}, files...)...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("go tool promtool: %v", err)
	}
	return strings.TrimSpace(out.String()), err
}
