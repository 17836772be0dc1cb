package encode

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

func TestRuleFile(t *testing.T) {
	tests := []struct {
		name   string
		groups []rulefmt.RuleGroup
		want   string // the output, or the start of the error
		err    bool
	}{
		{
			name: "header, interval, record",
			groups: []rulefmt.RuleGroup{{Name: "g", Interval: model.Duration(60e9), Rules: []rulefmt.Rule{
				{Record: "a:b:rate5m", Expr: "sum(rate(x[5m]))", Labels: map[string]string{"verb": "read"}},
			}}},
			want: "# Generated.\n# Regenerate with: x\ngroups:\n  - name: g\n    interval: 1m\n    rules:\n      - record: a:b:rate5m\n        expr: sum(rate(x[5m]))\n        labels:\n          verb: read\n",
		},
		{
			name:   "an expression Prometheus would not load",
			groups: []rulefmt.RuleGroup{{Name: "g", Rules: []rulefmt.Rule{{Record: "a", Expr: "sum("}}}},
			want:   "generated rule file does not load in Prometheus",
			err:    true,
		},
		{
			name:   "two groups of one name",
			groups: []rulefmt.RuleGroup{{Name: "g", Rules: []rulefmt.Rule{{Record: "a", Expr: "1"}}}, {Name: "g", Rules: []rulefmt.Rule{{Record: "b", Expr: "1"}}}},
			want:   "generated rule file does not load in Prometheus",
			err:    true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := RuleFile(tc.groups, "Generated.\nRegenerate with: x")
			if tc.err {
				if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
					t.Fatalf("error %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want {
				t.Errorf("got\n%s\nwant\n%s", out, tc.want)
			}
		})
	}
}

// TestParseRulesAgrees: parseRules accepts and refuses the rule files that
// rulefmt.Parse, the loader Prometheus uses, accepts and refuses, including
// a bad template in an alert after a good alert with the same annotation
// name (only repeated texts are skipped), and every rule file committed in
// rules/ and examples/rules/.
func TestParseRulesAgrees(t *testing.T) {
	alert := func(name, expr, summary string) string {
		return "      - alert: " + name + "\n        expr: " + expr + "\n        labels:\n          severity: page\n        annotations:\n          summary: " + summary + "\n"
	}
	group := func(name string, rules ...string) string {
		return "  - name: " + name + "\n    rules:\n" + strings.Join(rules, "")
	}
	files := map[string]string{
		"good":                     "groups:\n" + group("g", alert("A", "up == 0", "'{{ $labels.job }} down'"), alert("B", "up == 0", "'{{ $labels.job }} down'")),
		"bad template after good":  "groups:\n" + group("g", alert("A", "up == 0", "'{{ $labels.job }} down'"), alert("B", "up == 0", "'{{ $labels.job  down'")),
		"bad template in a second": "groups:\n" + group("g", alert("A", "up == 0", "ok")) + group("h", alert("A", "up == 0", "'{{ end }}'")),
		"bad expression":           "groups:\n" + group("g", alert("A", "up ==", "ok")),
		"repeated group":           "groups:\n" + group("g", alert("A", "up == 0", "ok")) + group("g", alert("B", "up == 0", "ok")),
		"empty group name":         "groups:\n" + group("''", alert("A", "up == 0", "ok")),
		"unknown field":            "groups:\n  - name: g\n    evaluation: 1m\n    rules: []\n",
		"record and alert":         "groups:\n  - name: g\n    rules:\n      - record: a\n        alert: b\n        expr: up\n",
		"record with for":          "groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n        for: 1m\n",
		"annotations on a record":  "groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n        annotations:\n          x: y\n",
		"bad label name on alert":  "groups:\n  - name: g\n    rules:\n      - alert: a\n        expr: up\n        labels:\n          __name__: y\n",
		"empty":                    "",
	}
	for _, dir := range []string{"../../rules", "../../examples/rules"} {
		paths, _ := filepath.Glob(filepath.Join(dir, "*.rules.yaml"))
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			files[p] = string(b)
		}
	}
	if len(files) < 14 {
		t.Fatalf("found %d files, want the committed rule files too", len(files))
	}
	for name, file := range files {
		_, errs := rulefmt.Parse([]byte(file), false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger())
		err := parseRules([]byte(file))
		if (err == nil) != (len(errs) == 0) {
			t.Errorf("%s: parseRules: %v; rulefmt.Parse: %v", name, err, errs)
		}
		// The table's files are good or bad by their names.
		if good := name == "good" || name == "empty" || strings.Contains(name, "/"); good != (len(errs) == 0) {
			t.Errorf("%s: rulefmt.Parse: %v; the table says good=%v", name, errs, good)
		}
	}
}
