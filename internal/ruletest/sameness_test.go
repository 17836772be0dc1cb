package ruletest

// Proof of sameness: the unit tests burnrate generates beside its rule files
// give the same verdict, test group by test group, under `promtool test
// rules` and under this package; they catch deliberately broken copies of the
// rule files (mutants), again with the same verdicts under both; and the
// kubernetes-mixin's own rule tests give a known outcome against the
// kubernetes-mixin profile.

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/burnrate/burnrate/internal/testkit/reference"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// generatedProfiles are the outputs of `make rules`: per profile, the
// directory holding the rule file and its generated test files.
var generatedProfiles = []struct{ name, dir string }{
	{name: "optimized", dir: "../../rules"},
	{name: "kubernetes-mixin", dir: "../../rules/kubernetes-mixin"},
}

const (
	generatedRules   = "kube-apiserver.rules.yaml"
	recordsTestFile  = "kube-apiserver.records.test.yaml"
	burnRateGroup    = "kube-apiserver-burnrate.rules"
	alertName        = "KubeAPIErrorBudgetBurn"
	mixinProfileName = "kubernetes-mixin"
)

// pairTestFile is the generated test file of window pair long/short.
func pairTestFile(long, short string) string {
	return fmt.Sprintf("kube-apiserver.%s-%s.test.yaml", long, short)
}

// groupVerdict is the outcome of one test group.
type groupVerdict struct {
	file, group string
	failed      bool
}

// promtoolGroups runs `promtool test rules` once on files (absolute paths)
// and returns the verdict of every test group, in order. It reads them from
// promtool's JUnit report: the text output says SUCCESS or FAILED per file,
// but names the test group only for failed alert_rule_tests (the
// "    name: <group>," line), not for failed promql_expr_tests or rule
// evaluation errors. The per-file verdicts and the exit code of the text
// output are checked against the JUnit report.
func promtoolGroups(t *testing.T, files ...string) []groupVerdict {
	t.Helper()
	junit := filepath.Join(t.TempDir(), "promtool-junit.xml")
	stdout, code := promtool(t, append([]string{"--junit=" + junit}, files...)...)
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatalf("promtool wrote no JUnit report: %v\nstdout:\n%s", err, stdout)
	}
	var report struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name     string   `xml:"name,attr"`
				Failures []string `xml:"failure"`
				Error    string   `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &report); err != nil {
		t.Fatalf("promtool's JUnit report: %v\n%s", err, data)
	}
	if len(report.Suites) != len(files) {
		t.Fatalf("promtool's JUnit report has %d test files, want %d:\n%s", len(report.Suites), len(files), data)
	}
	fileVerdicts := promtoolVerdicts(stdout)
	var out []groupVerdict
	anyFailed := false
	for i, s := range report.Suites {
		if s.Name != files[i] {
			t.Fatalf("promtool's JUnit report names test file %d %s, want %s", i, s.Name, files[i])
		}
		fileFailed := false
		for _, c := range s.Cases {
			if c.Error != "" {
				t.Fatalf("promtool could not run %s: %s", s.Name, c.Error)
			}
			failed := len(c.Failures) > 0
			fileFailed = fileFailed || failed
			out = append(out, groupVerdict{file: s.Name, group: c.Name, failed: failed})
		}
		if passed, ok := fileVerdicts[s.Name]; !ok || passed == fileFailed {
			t.Fatalf("%s: promtool printed SUCCESS = %v (found: %v), its JUnit report says failed = %v\nstdout:\n%s", s.Name, passed, ok, fileFailed, stdout)
		}
		anyFailed = anyFailed || fileFailed
	}
	if want := map[bool]int{false: 0, true: 1}[anyFailed]; code != want {
		t.Fatalf("promtool exit code %d, want %d", code, want)
	}
	return out
}

// burnrateGroups runs files under RunFiles, as `burnrate test` does, and
// returns the verdict of every selected test group in order.
func burnrateGroups(ctx context.Context, run *regexp.Regexp, files ...string) ([]groupVerdict, error) {
	report, err := RunFiles(ctx, files, Options{Run: run})
	if err != nil {
		return nil, err
	}
	var out []groupVerdict
	for _, f := range report.Files {
		for _, g := range f.Groups {
			out = append(out, groupVerdict{file: f.File, group: g.Name, failed: g.Failed()})
		}
	}
	return out, nil
}

// verdictLines renders verdicts one per line, file paths relative to root.
func verdictLines(vs []groupVerdict, root string) []string {
	lines := make([]string, len(vs))
	for i, v := range vs {
		status := "ok  "
		if v.failed {
			status = "FAIL"
		}
		lines[i] = fmt.Sprintf("%s %s: %s", status, relPath(root, v.file), v.group)
	}
	return lines
}

// failing lists the failed test groups as "file: group", file relative to root.
func failing(vs []groupVerdict, root string) []string {
	var out []string
	for _, v := range vs {
		if v.failed {
			out = append(out, relPath(root, v.file)+": "+v.group)
		}
	}
	return out
}

func relPath(root, path string) string {
	if rel, err := filepath.Rel(root, path); err == nil {
		return rel
	}
	return path
}

// checkSameVerdicts fails the test unless promtool and burnrate test ran the
// same test groups in the same order and agree on each.
func checkSameVerdicts(t *testing.T, root string, promtool, ours []groupVerdict) {
	t.Helper()
	if len(promtool) == 0 {
		t.Fatal("promtool ran no test group")
	}
	if diff := cmp.Diff(verdictLines(promtool, root), verdictLines(ours, root)); diff != "" {
		t.Errorf("verdicts differ (-promtool +burnrate test):\n%s", diff)
	}
}

// skipShort skips, in -short mode, a test that runs promtool (as the
// promtool helper would, but before any work starts).
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("comparing with promtool is skipped in -short mode")
	}
}

// generatedTestFiles returns the absolute paths of the test files generated
// beside the rule file in dir (*.test.yaml): at least the records file and
// one per window pair.
func generatedTestFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		if files[i], err = filepath.Abs(f); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.ContainsFunc(files, func(f string) bool { return filepath.Base(f) == recordsTestFile }) || len(files) < 2 {
		t.Fatalf("%s: want %s and a test file per window pair, found %q", dir, recordsTestFile, files)
	}
	return files
}

// TestSamenessGeneratedTests runs every generated test file of both
// profiles under promtool and under burnrate test: every test group passes
// under both.
func TestSamenessGeneratedTests(t *testing.T) {
	skipShort(t)
	t.Parallel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, p := range generatedProfiles {
		files = append(files, generatedTestFiles(t, p.dir)...)
	}
	// promtool uses one core; burnrate test runs on the others meanwhile
	// (and stops when the test ends early).
	type result struct {
		verdicts []groupVerdict
		err      error
	}
	done := make(chan result, 1)
	go func() {
		vs, err := burnrateGroups(t.Context(), nil, files...)
		done <- result{vs, err}
	}()
	pt := promtoolGroups(t, files...)
	res := <-done
	if res.err != nil {
		t.Fatalf("burnrate test: %v", res.err)
	}
	ours := res.verdicts
	checkSameVerdicts(t, root, pt, ours)
	if f := failing(pt, root); len(f) > 0 {
		t.Errorf("generated test groups failing under promtool:\n%s", strings.Join(f, "\n"))
	}
	if f := failing(ours, root); len(f) > 0 {
		t.Errorf("generated test groups failing under burnrate test:\n%s", strings.Join(f, "\n"))
	}
	for _, f := range files {
		if !slices.ContainsFunc(pt, func(v groupVerdict) bool { return v.file == f }) {
			t.Errorf("%s: no test groups", relPath(root, f))
		}
	}
}

// loadRuleFile parses a rule file with Prometheus' own loader.
func loadRuleFile(t *testing.T, path string) *rulefmt.RuleGroups {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rgs, errs := rulefmt.Parse(data, false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger())
	if len(errs) > 0 {
		t.Fatalf("%s: %v", path, errs[0])
	}
	return rgs
}

// writeRuleFile writes rgs as YAML to path and checks that Prometheus still
// loads it.
func writeRuleFile(t *testing.T, path string, rgs *rulefmt.RuleGroups) {
	t.Helper()
	data, err := yaml.Marshal(rgs)
	if err != nil {
		t.Fatal(err)
	}
	if _, errs := rulefmt.Parse(data, false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger()); len(errs) > 0 {
		t.Fatalf("the mutated rule file does not load: %v\n%s", errs[0], data)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyTestFile copies the test file src into dir, with rule_files replaced
// by the single entry ruleFile, and returns the copy's path. Only the
// rule_files node of the YAML document changes.
func copyTestFile(t *testing.T, src, dir, ruleFile string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		t.Fatalf("%s: not a YAML mapping", src)
	}
	top := doc.Content[0]
	found := false
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "rule_files" {
			top.Content[i+1] = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{
				{Kind: yaml.ScalarNode, Tag: "!!str", Value: ruleFile},
			}}
			found = true
		}
	}
	if !found {
		t.Fatalf("%s: no rule_files", src)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// Mutations of a parsed rule file. Each fails the test when it finds nothing
// to change, so that a change in the generated rules cannot turn a mutant
// into the original unnoticed.

// alertRule returns the alerting rule of window pair long/short.
func alertRule(t *testing.T, rgs *rulefmt.RuleGroups, long, short string) *rulefmt.Rule {
	t.Helper()
	var found []*rulefmt.Rule
	for gi := range rgs.Groups {
		for ri := range rgs.Groups[gi].Rules {
			r := &rgs.Groups[gi].Rules[ri]
			if r.Alert == alertName && r.Labels["long"] == long && r.Labels["short"] == short {
				found = append(found, r)
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s alert with long=%s, short=%s, found %d", alertName, long, short, len(found))
	}
	return found[0]
}

// groupRules returns the rules of the named rule group.
func groupRules(t *testing.T, rgs *rulefmt.RuleGroups, name string) []*rulefmt.Rule {
	t.Helper()
	for gi := range rgs.Groups {
		if g := &rgs.Groups[gi]; g.Name == name {
			rules := make([]*rulefmt.Rule, len(g.Rules))
			for ri := range g.Rules {
				rules[ri] = &g.Rules[ri]
			}
			return rules
		}
	}
	t.Fatalf("no rule group %s", name)
	return nil
}

// rewriteExprs parses the expression of each rule, calls edit on every node
// of its syntax tree and, where edit reports a change, writes the changed
// tree back. At least one node must change.
func rewriteExprs(t *testing.T, rules []*rulefmt.Rule, edit func(parser.Node) bool) {
	t.Helper()
	p := parser.NewParser(parser.Options{})
	changed := 0
	for _, r := range rules {
		expr, err := p.ParseExpr(r.Expr)
		if err != nil {
			t.Fatalf("%s%s: %v", r.Record, r.Alert, err)
		}
		n := 0
		parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
			if edit(node) {
				n++
			}
			return nil
		})
		if n > 0 {
			r.Expr = expr.String()
			changed += n
		}
	}
	if changed == 0 {
		t.Fatal("the mutation matched nothing in the rule file")
	}
}

// renameMetrics renames the vector selectors named in names.
func renameMetrics(names map[string]string) func(parser.Node) bool {
	return func(node parser.Node) bool {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return false
		}
		to, ok := names[vs.Name]
		if !ok {
			return false
		}
		vs.Name = to
		for i, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName {
				vs.LabelMatchers[i] = labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, to)
			}
		}
		return true
	}
}

// replaceNumber replaces every number literal from by to.
func replaceNumber(from, to float64) func(parser.Node) bool {
	return func(node parser.Node) bool {
		if n, ok := node.(*parser.NumberLiteral); ok && n.Val == from {
			n.Val = to
			return true
		}
		return false
	}
}

// replaceOp replaces the binary operator from by to.
func replaceOp(from, to parser.ItemType) func(parser.Node) bool {
	return func(node parser.Node) bool {
		if b, ok := node.(*parser.BinaryExpr); ok && b.Op == from {
			b.Op = to
			return true
		}
		return false
	}
}

// replaceMatcher replaces the label matcher name=~from (or name=from) by
// the same kind of matcher with value to.
func replaceMatcher(name, from, to string) func(parser.Node) bool {
	return func(node parser.Node) bool {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return false
		}
		changed := false
		for i, m := range vs.LabelMatchers {
			if m.Name == name && m.Value == from {
				vs.LabelMatchers[i] = labels.MustNewMatcher(m.Type, name, to)
				changed = true
			}
		}
		return changed
	}
}

// dropMatcher removes every label matcher on name.
func dropMatcher(name string) func(parser.Node) bool {
	return func(node parser.Node) bool {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return false
		}
		n := len(vs.LabelMatchers)
		vs.LabelMatchers = slices.DeleteFunc(vs.LabelMatchers, func(m *labels.Matcher) bool { return m.Name == name })
		return len(vs.LabelMatchers) != n
	}
}

// matchOn replaces the on(...) labels of every `and` by on(names...).
func matchOn(names ...string) func(parser.Node) bool {
	return func(node parser.Node) bool {
		b, ok := node.(*parser.BinaryExpr)
		if !ok || b.Op != parser.LAND || b.VectorMatching == nil || !b.VectorMatching.On || slices.Equal(b.VectorMatching.MatchingLabels, names) {
			return false
		}
		b.VectorMatching.MatchingLabels = names
		return true
	}
}

// replaceRange replaces the range from of every range selector by to.
func replaceRange(from, to time.Duration) func(parser.Node) bool {
	return func(node parser.Node) bool {
		if m, ok := node.(*parser.MatrixSelector); ok && m.Range == from {
			m.Range = to
			return true
		}
		return false
	}
}

// recordsNamed returns the recording rules named name.
func recordsNamed(t *testing.T, rgs *rulefmt.RuleGroups, name string) []*rulefmt.Rule {
	t.Helper()
	var out []*rulefmt.Rule
	for gi := range rgs.Groups {
		for ri := range rgs.Groups[gi].Rules {
			if r := &rgs.Groups[gi].Rules[ri]; r.Record == name {
				out = append(out, r)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no recording rule %s", name)
	}
	return out
}

// mutant is a deliberately broken copy of the generated rule files.
type mutant struct {
	name string
	// files are the generated test files run against the mutant, by base
	// name; the same in both profiles.
	files []string
	// edit breaks the parsed rule file of a profile; it reports false when
	// the mutation does not apply to that profile.
	edit func(t *testing.T, profile string, rgs *rulefmt.RuleGroups) bool
	// survives, per profile, says why no generated test in files can catch
	// the mutant. The test then checks that none does, so that closing the
	// gap is noticed; without an entry at least one test group must fail.
	survives map[string]string
}

var mutants = []mutant{
	{
		name:  "unchanged",
		files: []string{recordsTestFile},
		edit:  func(*testing.T, string, *rulefmt.RuleGroups) bool { return true },
		survives: map[string]string{
			"optimized":        "control: the rule file only round-trips through rulefmt and YAML",
			"kubernetes-mixin": "control: the rule file only round-trips through rulefmt and YAML",
		},
	},
	{
		name:  "factor 14.4 lowered to 7.2 in the 1h/5m alert",
		files: []string{pairTestFile("1h", "5m")},
		edit: func(t *testing.T, _ string, rgs *rulefmt.RuleGroups) bool {
			rewriteExprs(t, []*rulefmt.Rule{alertRule(t, rgs, "1h", "5m")}, replaceNumber(14.4, 7.2))
			return true
		},
	},
	{
		name:  "and made or in the 6h/30m alert",
		files: []string{pairTestFile("6h", "30m")},
		edit: func(t *testing.T, _ string, rgs *rulefmt.RuleGroups) bool {
			rewriteExprs(t, []*rulefmt.Rule{alertRule(t, rgs, "6h", "30m")}, replaceOp(parser.LAND, parser.LOR))
			return true
		},
	},
	{
		name:  "long and short windows swapped in the 1h/5m alert",
		files: []string{pairTestFile("1h", "5m")},
		edit: func(t *testing.T, _ string, rgs *rulefmt.RuleGroups) bool {
			rewriteExprs(t, []*rulefmt.Rule{alertRule(t, rgs, "1h", "5m")}, renameMetrics(map[string]string{
				"apiserver_request:burnrate1h": "apiserver_request:burnrate5m",
				"apiserver_request:burnrate5m": "apiserver_request:burnrate1h",
			}))
			return true
		},
		survives: map[string]string{
			"optimized": "an equivalent mutant: both windows are compared with the same threshold and joined by `and`, " +
				"so swapping the operands changes only which side's value the alert carries, which no test sees",
			"kubernetes-mixin": "an equivalent mutant: both windows are compared with the same threshold and joined by `and`, " +
				"so swapping the operands changes only which side's value the alert carries, which no test sees",
		},
	},
	{
		name:  "the 1h/5m alert reads the short window twice",
		files: []string{pairTestFile("1h", "5m")},
		edit: func(t *testing.T, _ string, rgs *rulefmt.RuleGroups) bool {
			rewriteExprs(t, []*rulefmt.Rule{alertRule(t, rgs, "1h", "5m")}, renameMetrics(map[string]string{
				"apiserver_request:burnrate1h": "apiserver_request:burnrate5m",
			}))
			return true
		},
	},
	{
		name:  "severity critical made warning on the 6h/30m alert",
		files: []string{pairTestFile("6h", "30m")},
		edit: func(t *testing.T, _ string, rgs *rulefmt.RuleGroups) bool {
			r := alertRule(t, rgs, "6h", "30m")
			if r.Labels["severity"] != "critical" {
				t.Fatalf("6h/30m alert: severity %q, want critical", r.Labels["severity"])
			}
			r.Labels["severity"] = "warning"
			return true
		},
	},
	{
		name:  "for dropped from the 6h/30m alert",
		files: []string{pairTestFile("6h", "30m")},
		edit: func(t *testing.T, _ string, rgs *rulefmt.RuleGroups) bool {
			r := alertRule(t, rgs, "6h", "30m")
			if r.For == 0 {
				t.Fatal("6h/30m alert: no for to drop")
			}
			r.For = 0
			return true
		},
	},
	{
		name:  `errors matcher code=~"5.." made "4.." in the burn-rate records`,
		files: []string{recordsTestFile},
		edit: func(t *testing.T, _ string, rgs *rulefmt.RuleGroups) bool {
			rewriteExprs(t, groupRules(t, rgs, burnRateGroup), replaceMatcher("code", "5..", "4.."))
			return true
		},
	},
	{
		name:  "namespace scope threshold le 5 made 10 in the burn-rate records",
		files: []string{recordsTestFile},
		edit: func(t *testing.T, _ string, rgs *rulefmt.RuleGroups) bool {
			rewriteExprs(t, groupRules(t, rgs, burnRateGroup), replaceMatcher("le", `5(\.0)?`, `10(\.0)?`))
			return true
		},
	},
	{
		name:  "streaming subresources no longer excluded from the burn-rate records",
		files: []string{recordsTestFile},
		edit: func(t *testing.T, _ string, rgs *rulefmt.RuleGroups) bool {
			rewriteExprs(t, groupRules(t, rgs, burnRateGroup), dropMatcher("subresource"))
			return true
		},
	},
	{
		name:  "the 30m burn rate reads a 45m range",
		files: []string{recordsTestFile, pairTestFile("6h", "30m")},
		edit: func(t *testing.T, _ string, rgs *rulefmt.RuleGroups) bool {
			rewriteExprs(t, recordsNamed(t, rgs, "apiserver_request:burnrate30m"), replaceRange(30*time.Minute, 45*time.Minute))
			return true
		},
	},
	{
		name:  "the 1h/5m alert joins the windows on cluster only, not per SLI",
		files: []string{pairTestFile("1h", "5m")},
		edit: func(t *testing.T, profile string, rgs *rulefmt.RuleGroups) bool {
			if profile == mixinProfileName {
				return false // the mixin sums the SLIs per cluster before comparing
			}
			rewriteExprs(t, []*rulefmt.Rule{alertRule(t, rgs, "1h", "5m")}, matchOn("cluster"))
			return true
		},
	},
	{
		name:  "the availability records count the wrong bad events",
		files: []string{recordsTestFile},
		edit: func(t *testing.T, profile string, rgs *rulefmt.RuleGroups) bool {
			availability := recordsNamed(t, rgs, "apiserver_request:availability30d")
			if profile == mixinProfileName {
				// 4xx responses counted as errors instead of 5xx.
				rewriteExprs(t, availability, replaceMatcher("code", "5..", "4.."))
				return true
			}
			// Every request counts as bad: the availability records read
			// the period's sum of all events where they read bad events'
			// (they read the staged 30-day sums, not the base records).
			rewriteExprs(t, availability, renameMetrics(map[string]string{
				"cluster_verb:apiserver_request_sli_bad_events:rate5m_sum30d": "cluster_verb:apiserver_request_sli_events:rate5m_sum30d",
			}))
			return true
		},
	},
}

// TestSamenessMutants breaks copies of the generated rule files of both
// profiles and runs the relevant generated test files against them under
// promtool and under burnrate test: both runners fail the same test groups,
// and at least one fails unless the mutant is known to survive.
func TestSamenessMutants(t *testing.T) {
	skipShort(t)
	for _, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var files []string
			profiles := map[string]string{} // test file copy -> profile
			for _, p := range generatedProfiles {
				rgs := loadRuleFile(t, filepath.Join(p.dir, generatedRules))
				if !m.edit(t, p.name, rgs) {
					continue
				}
				ruleFile := filepath.Join(dir, p.name, generatedRules)
				writeRuleFile(t, ruleFile, rgs)
				for _, f := range m.files {
					c := copyTestFile(t, filepath.Join(p.dir, f), filepath.Join(dir, p.name), ruleFile)
					files = append(files, c)
					profiles[c] = p.name
				}
			}
			pt := promtoolGroups(t, files...)
			ours, err := burnrateGroups(t.Context(), nil, files...)
			if err != nil {
				t.Fatalf("burnrate test: %v", err)
			}
			checkSameVerdicts(t, dir, pt, ours)
			for _, p := range generatedProfiles {
				var verdicts []groupVerdict
				for _, v := range pt {
					if profiles[v.file] == p.name {
						verdicts = append(verdicts, v)
					}
				}
				if len(verdicts) == 0 {
					continue
				}
				caught := failing(verdicts, dir)
				switch why := m.survives[p.name]; {
				case why == "" && len(caught) == 0:
					t.Errorf("%s: no generated test catches the mutant", p.name)
				case why != "" && len(caught) > 0:
					t.Errorf("%s: the mutant was expected to survive (%s), but these test groups catch it:\n%s", p.name, why, strings.Join(caught, "\n"))
				case why != "":
					t.Logf("%s: survives, as expected: %s", p.name, why)
				default:
					t.Logf("%s: caught by %d of %d test groups:\n%s", p.name, len(caught), len(verdicts), strings.Join(caught, "\n"))
				}
			}
		})
	}
}

// upstreamTests are the kubernetes-mixin's own rule tests, run against the
// kubernetes-mixin profile's rule file.
var upstreamTests = []struct {
	file string
	// groups is the number of test groups in the file.
	groups int
	// failing are the test groups that fail under both runners; why
	// explains the outcome.
	failing []string
	why     string
	// rejected are test groups that burnrate test refuses as bad input
	// (with an error containing rejectedErr) and promtool runs; they are
	// compared on promtool's verdict alone, and the rest of the file under
	// both runners.
	rejected    []string
	rejectedErr string
}{
	{
		file:        "apiserver-availability-test.aa38e2b.yaml",
		groups:      2,
		rejected:    []string{"calculate apiserver request total increase 30d rate"},
		rejectedErr: "eval_time 10m is after the end of the input series (their last step is at 9m)",
		why: "both groups pass under promtool; burnrate test rejects the 30d group as bad input, " +
			"since it evaluates at 10m input series that end at 9m (one of its documented input checks)",
	},
	{
		file:   "apiserver-burnrate-test.42fe91f.yaml",
		groups: 4,
		failing: []string{
			"write burn rate on the base window",
			"read burn rate on the base window",
			"long window burn rate is request weighted",
			"long window burn rate matches base window at a steady rate",
		},
		why: "the test targets kubernetes-mixin PR #1283's records: the base-window groups expect " +
			"cluster_verb:apiserver_request_sli_bad_events:rate5m and cluster_verb:apiserver_request_sli_events:rate5m, " +
			"which the aa38e2b-based profile does not record (its apiserver_request:burnrate5m assertions pass); " +
			"the long-window groups feed those 5m records as input and expect burnrate1d/3d computed from them, " +
			"while the profile computes every window from the raw counters, so it records nothing",
	},
	{
		file:   "apiserver-slos-test.313d70c.yaml",
		groups: 7,
		why: "every group passes: the tests feed the apiserver_request:burnrate* records directly and expect " +
			"the aa38e2b alert (sum by cluster, thresholds, for, labels, annotations), which the profile reproduces",
	},
}

// TestSamenessUpstreamMixinTests runs the kubernetes-mixin's rule tests, read
// from ../shared/reference beside the repository, against the generated
// kubernetes-mixin profile under promtool and under burnrate test.
func TestSamenessUpstreamMixinTests(t *testing.T) {
	skipShort(t)
	t.Parallel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ruleFile := filepath.Join(root, "rules", "kubernetes-mixin", generatedRules)
	if _, err := os.Stat(ruleFile); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := make([]string, len(upstreamTests))
	for i, u := range upstreamTests {
		files[i] = copyTestFile(t, reference.File(t, u.file), dir, ruleFile)
	}
	pt := promtoolGroups(t, files...)
	for i, u := range upstreamTests {
		t.Run(u.file, func(t *testing.T) {
			var verdicts []groupVerdict
			for _, v := range pt {
				if v.file == files[i] {
					verdicts = append(verdicts, v)
				}
			}
			if len(verdicts) != u.groups {
				t.Errorf("promtool ran %d test groups, want %d", len(verdicts), u.groups)
			}
			var got []string
			for _, v := range verdicts {
				if v.failed {
					got = append(got, v.group)
				}
			}
			if diff := cmp.Diff(u.failing, got); diff != "" {
				t.Errorf("test groups failing under promtool (-want +got):\n%s\nexpected because %s", diff, u.why)
			}
			var run *regexp.Regexp
			if len(u.rejected) > 0 {
				_, err := burnrateGroups(t.Context(), nil, files[i])
				if err == nil || !strings.Contains(err.Error(), u.rejectedErr) {
					t.Fatalf("burnrate test: got error %v, want one containing %q", err, u.rejectedErr)
				}
				for _, g := range u.rejected {
					if !slices.ContainsFunc(verdicts, func(v groupVerdict) bool { return v.group == g }) {
						t.Errorf("promtool ran no test group %q", g)
					}
					if !strings.Contains(err.Error(), fmt.Sprintf("test group %q", g)) {
						t.Errorf("burnrate test's error does not name test group %q: %v", g, err)
					}
				}
				var rest []string
				verdicts = slices.DeleteFunc(verdicts, func(v groupVerdict) bool {
					if slices.Contains(u.rejected, v.group) {
						return true
					}
					rest = append(rest, regexp.QuoteMeta(v.group))
					return false
				})
				if len(rest) == 0 {
					return
				}
				run = regexp.MustCompile("^(?:" + strings.Join(rest, "|") + ")$")
			}
			ours, err := burnrateGroups(t.Context(), run, files[i])
			if err != nil {
				t.Fatalf("burnrate test: %v", err)
			}
			checkSameVerdicts(t, dir, verdicts, ours)
		})
	}
}
