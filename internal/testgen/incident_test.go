package testgen

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/incident"
	"github.com/burnrate/burnrate/internal/promtest"
	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/ruletest"
	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// writeIncidentFiles writes the optimized rule file and the incident test
// file of spec s into a temporary directory and returns the test file.
func writeIncidentFiles(t *testing.T, s *slo.Spec) (string, *promtest.File) {
	t.Helper()
	dir := t.TempDir()
	rf, err := rulegen.Rules(s, slomodel.ProfileOptimized)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := encode.RuleFile(rf, "test")
	if err != nil {
		t.Fatal(err)
	}
	tf, err := IncidentTests(mustModel(t, s, slomodel.ProfileOptimized), s.Name+".rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data, err := tf.File.Marshal("test")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, tf.Name)
	if err := os.WriteFile(filepath.Join(dir, s.Name+".rules.yaml"), rules, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, tf.File
}

// TestIncidentTestsPass runs the incident test file with the in-process
// runner, for the embedded spec and for one with other names.
func TestIncidentTestsPass(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: replays every incident scenario through the rules; make check runs it (make rule-tests runs the committed incident tests)")
	}
	tests := []struct {
		name string
		edit func(*slo.Spec)
	}{
		{"embedded spec", nil},
		{"other selector, cluster label and SLI label", func(s *slo.Spec) {
			s.Selector, s.ClusterLabel, s.SLILabel = `job="apiserver",namespace="default"`, "k8s_cluster", "sli"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path, _ := writeIncidentFiles(t, specWith(tc.edit))
			report, err := ruletest.RunFiles(context.Background(), []string{path}, ruletest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range report.Files {
				for _, w := range f.Warnings {
					t.Errorf("warning: %s", w)
				}
				if len(f.Groups) != 6 {
					t.Errorf("%d test groups, want one per scenario (6)", len(f.Groups))
				}
				for _, g := range f.Groups {
					for _, fail := range g.Failures {
						t.Errorf("%s", fail)
					}
				}
			}
		})
	}
}

// TestRunbookQueriesAreProven: every promql block of the runbook parses and
// appears in a scenario assertion, as written or with its range replaced by
// the window the scenario reads.
func TestRunbookQueriesAreProven(t *testing.T) {
	s := slo.Default()
	page, err := runbook.Render(mustModel(t, s, slomodel.ProfileOptimized))
	if err != nil {
		t.Fatal(err)
	}
	tf, err := IncidentTests(mustModel(t, s, slomodel.ProfileOptimized), "kube-apiserver.rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := parser.NewParser(parser.Options{})
	// Every subexpression of every assertion, printed.
	asserted := map[string]bool{}
	windows := map[time.Duration]bool{}
	for _, g := range tf.File.Tests {
		for _, et := range g.PromQLExprTests {
			e, err := p.ParseExpr(et.Expr)
			if err != nil {
				t.Fatalf("assertion does not parse: %v\n%s", err, et.Expr)
			}
			parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
				if x, ok := n.(parser.Expr); ok {
					asserted[x.String()] = true
				}
				if m, ok := n.(*parser.MatrixSelector); ok {
					windows[m.Range] = true
				}
				return nil
			})
		}
	}
	blocks := promqlBlock.FindAllStringSubmatch(string(page.Markdown), -1)
	if len(blocks) == 0 {
		t.Fatal("no promql blocks")
	}
	for i, b := range blocks {
		if _, err := p.ParseExpr(b[1]); err != nil {
			t.Errorf("block %d does not parse: %v\n%s", i, err, b[1])
			continue
		}
		found := false
		for w := range windows {
			e, _ := p.ParseExpr(b[1])
			parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
				if m, ok := n.(*parser.MatrixSelector); ok && m.Range == page.Window {
					m.Range = w
				}
				return nil
			})
			if asserted[e.String()] {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("block %d (step %s) is in no scenario assertion:\n%s", i, page.Queries[i].Step, b[1])
		}
	}
}

// TestIncidentAssertions: every scenario asserts the alert, the terms, its
// culprits first and its quiet steps empty; every step is asserted by some
// scenario.
func TestIncidentAssertions(t *testing.T) {
	_, f := writeIncidentFiles(t, slo.Default())
	scs, err := incident.Library(incident.Env{ClusterLabel: "cluster", Cluster: incidentCluster, APIServer: map[string]string{"job": "kube-apiserver"}})
	if err != nil {
		t.Fatal(err)
	}
	covered := map[runbook.Step]bool{runbook.StepProbe: true}
	for i, sc := range scs {
		g := f.Tests[i]
		if len(g.AlertRuleTests) != 2 || len(g.AlertRuleTests[1].ExpAlerts) != len(sc.Fires) {
			t.Errorf("%s: want a quiet alert test and one expecting %d alerts", sc.Name, len(sc.Fires))
		}
		// probe, SLI, terms sum, one per culprit (SLI counted already) and
		// quiet step, plus the finders on the healthy cluster.
		finders := 0
		for _, st := range runbook.Steps {
			if st == runbook.StepProbe {
				continue
			}
			if _, ok := sc.Culprits[st]; ok {
				covered[st] = true
			}
		}
		for _, st := range sc.Quiet {
			covered[st] = true
		}
		page, _ := runbook.Render(mustModel(t, slo.Default(), slomodel.ProfileOptimized))
		for _, q := range page.Queries {
			if q.Finder {
				finders++
			}
		}
		want := 3 + len(sc.Culprits) - 1 + len(sc.Quiet) + finders
		if len(g.PromQLExprTests) != want {
			t.Errorf("%s: %d promql assertions, want %d", sc.Name, len(g.PromQLExprTests), want)
		}
	}
	for _, st := range runbook.Steps {
		if !covered[st] {
			t.Errorf("no scenario names a culprit for step %s or expects it to find nothing", st)
		}
	}
}

// TestPromtoolValues: the input series notation expands, as promtool
// expands it, to the scenario's samples, and counters never decrease.
func TestPromtoolValues(t *testing.T) {
	scs, err := incident.Library(incident.Env{ClusterLabel: "cluster", Cluster: "c", APIServer: map[string]string{"job": "kube-apiserver"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scs {
		for _, s := range sc.Series {
			text := "x " + promtoolValues(&sc, s)
			_, vals, err := parser.NewParser(parser.Options{}).ParseSeriesDesc(text)
			if err != nil {
				t.Fatalf("%s: %s: %v", sc.Name, s.Key(), err)
			}
			want := sc.Samples(s)
			if len(vals) != len(want) {
				t.Fatalf("%s: %s: %d samples, want %d", sc.Name, s.Key(), len(vals), len(want))
			}
			prev := math.Inf(-1)
			for k, v := range vals {
				if v.Omitted != math.IsNaN(want[k]) || (!v.Omitted && math.Abs(v.Value-want[k]) > 1e-6*math.Max(1, want[k])) {
					t.Fatalf("%s: %s: sample %d is %v (omitted %v), want %v", sc.Name, s.Key(), k, v.Value, v.Omitted, want[k])
				}
				if s.Counts() && !v.Omitted {
					if v.Value < prev {
						t.Fatalf("%s: %s: the counter drops at sample %d (%v after %v)", sc.Name, s.Key(), k, v.Value, prev)
					}
					prev = v.Value
				}
			}
		}
	}
}
