package testgen

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/incident"
	"github.com/burnrate/burnrate/internal/promtest"
	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// TestSelectedInputs: an input series stays when a selector of a rule or
// of an assertion matches it, by name and every other matcher.
func TestSelectedInputs(t *testing.T) {
	inputs := []string{
		`a{code="200", job="x"}`,
		`a{code="500", job="x"}`,
		`a{code="500", job="y"}`,
		`b{job="x"}`,
		`c_count{job="x"}`,
		`c_sum{job="x"}`,
	}
	tests := []struct {
		name  string
		rules []string
		exprs []string
		want  []string
	}{
		{"nothing read", nil, nil, nil},
		{"rule matchers", []string{`sum(rate(a{code=~"5..",job="x"}[5m]))`}, nil, []string{`a{code="500", job="x"}`}},
		{"assertion by name regexp", nil, []string{`count by (__name__) ({__name__=~"b|c_count"})`}, []string{`b{job="x"}`, `c_count{job="x"}`}},
		{"both, input order kept", []string{`a{job="y"}`}, []string{`topk(1, b) > bool 0`, `c_sum`},
			[]string{`a{code="500", job="y"}`, `b{job="x"}`, `c_sum{job="x"}`}},
		{"negative matcher", []string{`a{code!="200"}`}, nil, []string{`a{code="500", job="x"}`, `a{code="500", job="y"}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := &promtest.Group{}
			for _, in := range inputs {
				g.InputSeries = append(g.InputSeries, promtest.InputSeries{Series: in, Values: "0+1x3"})
			}
			for _, e := range tc.exprs {
				g.PromQLExprTests = append(g.PromQLExprTests, promtest.ExprTest{Expr: e})
			}
			rg := rulefmt.RuleGroup{Name: "g"}
			for _, e := range tc.rules {
				rg.Rules = append(rg.Rules, rulefmt.Rule{Record: "r", Expr: e})
			}
			if err := selectedInputs(g, []rulefmt.RuleGroup{rg}); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, in := range g.InputSeries {
				got = append(got, in.Series)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("kept (-want +got):\n%s", diff)
			}
		})
	}
	g := &promtest.Group{PromQLExprTests: []promtest.ExprTest{{Expr: "sum(("}}}
	if err := selectedInputs(g, nil); err == nil {
		t.Error("an assertion that does not parse: no error")
	}
}

// TestIncidentAssertionsCanFail replays every scenario with its fault
// phase replaced by the healthy one, through the same rules, assertions
// and input selection as the generated file: the alert expected at the end
// must fail, and so must some of the culprits (not all: some rankings hold
// on the healthy cluster too, and ties among identical instances rank
// arbitrarily, so the count is not compared with a replay of every series).
func TestIncidentAssertionsCanFail(t *testing.T) {
	s := slo.Default()
	rb, err := runbook.New(mustModel(t, s, slomodel.ProfileOptimized))
	if err != nil {
		t.Fatal(err)
	}
	d := &drill{rb}
	rf, err := rulegen.Rules(s, slomodel.ProfileOptimized)
	if err != nil {
		t.Fatal(err)
	}
	env, err := incidentEnv(s)
	if err != nil {
		t.Fatal(err)
	}
	scs, err := incident.Library(env)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rules, err := encode.RuleFile(rf, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), rules, 0o644); err != nil {
		t.Fatal(err)
	}
	f := &promtest.File{RuleFiles: []string{"rules.yaml"}, EvaluationInterval: model.Duration(incidentEvalInterval)}
	for _, g := range rf {
		f.GroupEvalOrder = append(f.GroupEvalOrder, g.Name)
	}
	for i := range scs {
		sc := scs[i]
		sc.Series = slices.Clone(sc.Series)
		for j, ser := range sc.Series {
			vs := slices.Clone(ser.Values)
			for p := 1; p < len(vs); p++ {
				vs[p] = vs[0]
			}
			sc.Series[j].Values = vs
		}
		g, err := d.incidentGroup(&sc)
		if err != nil {
			t.Fatal(err)
		}
		if err := selectedInputs(&g, rf); err != nil {
			t.Fatal(err)
		}
		f.Tests = append(f.Tests, g)
	}
	report := runTest(t, filepath.Join(dir, "healthy.test.yaml"), f, "test")
	for i, g := range report.Files[0].Groups {
		sc := scs[i]
		alert, culprits := false, 0
		for _, fl := range g.Failures {
			if fl.Alertname != "" && fl.EvalTime == sc.Duration() {
				alert = true
			}
			if strings.HasPrefix(fl.Expr, "topk(") {
				culprits++
			}
		}
		if !alert || culprits == 0 {
			t.Errorf("%s without its fault: end alert assertion failed %v, %d culprit assertions failed; want the alert and some culprits to fail", sc.Name, alert, culprits)
		}
		t.Logf("%s without its fault: %d of %d culprit assertions fail", sc.Name, culprits, len(sc.Culprits))
	}
}
