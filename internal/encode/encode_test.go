package encode

import (
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
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
