package encode

import (
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
)

func TestEncode(t *testing.T) {
	groups := []rulefmt.RuleGroup{{Name: "g", Interval: model.Duration(60e9), Rules: []rulefmt.Rule{
		{Record: "a:b:rate5m", Expr: "sum(rate(x[5m]))", Labels: map[string]string{"verb": "read"}},
		{Alert: "A", Expr: "a:b:rate5m > 1", For: model.Duration(120e9), Annotations: map[string]string{"summary": "{{ $labels.cluster }} burns"}},
	}}}
	const rules = `    rules:
      - record: a:b:rate5m
        expr: sum(rate(x[5m]))
        labels:
          verb: read
      - alert: A
        expr: a:b:rate5m > 1
        for: 2m
        annotations:
          summary: '{{ $labels.cluster }} burns'
`
	indent := func(s, by string) string {
		var b strings.Builder
		for l := range strings.SplitSeq(strings.TrimSuffix(s, "\n"), "\n") {
			b.WriteString(by + l + "\n")
		}
		return b.String()
	}
	tests := []struct {
		name, format string
		env          Envelope
		want         string // the output, or the start of the error
		err          bool
	}{
		{
			name: "rules", format: FormatRules,
			want: "# H\ngroups:\n  - name: g\n    interval: 1m\n" + rules,
		},
		{
			name: "rules for Thanos", format: FormatRules, env: Envelope{PartialResponseStrategy: "warn"},
			want: "# H\ngroups:\n  - name: g\n    partial_response_strategy: warn\n    interval: 1m\n" + rules,
		},
		{
			name: "PrometheusRule with every field", format: FormatPrometheusRule,
			env:  Envelope{Name: "n", Namespace: "monitoring", Labels: map[string]string{"role": "alert-rules", "prometheus": "k8s"}, Annotations: map[string]string{"a": "b"}},
			want: "# H\napiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: n\n  namespace: monitoring\n  labels:\n    prometheus: k8s\n    role: alert-rules\n  annotations:\n    a: b\nspec:\n  groups:\n    - name: g\n      interval: 1m\n" + indent(rules, "  "),
		},
		{
			name: "PrometheusRule without namespace", format: FormatPrometheusRule, env: Envelope{Name: "n"},
			want: "# H\napiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: n\nspec:\n  groups:\n    - name: g\n      interval: 1m\n" + indent(rules, "  "),
		},
		{
			name: "kube-prometheus-stack values: switches, labels the chart sets left out", format: FormatKubePrometheusStack,
			env:  Envelope{Name: "burnrate-x", Labels: map[string]string{"release": "r", "team": "sre"}, StackSwitches: []string{"kubeApiserverBurnrate", "kubeApiserverSlos"}},
			want: "# H\ndefaultRules:\n  rules:\n    kubeApiserverBurnrate: false\n    kubeApiserverSlos: false\nadditionalPrometheusRulesMap:\n  burnrate-x:\n    additionalLabels:\n      team: sre\n    groups:\n      - name: g\n        interval: 1m\n" + indent(rules, "    "),
		},
		{
			name: "mimir", format: FormatMimir, env: Envelope{Namespace: "kube-apiserver"},
			want: "# H\nnamespace: kube-apiserver\ngroups:\n  - name: g\n    interval: 1m\n" + rules,
		},
		{
			name: "json: the header first, then the groups, fields in rule-file order", format: FormatJSON,
			want: `{
  "//": "H",
  "groups": [
    {
      "name": "g",
      "interval": "1m",
      "rules": [
        {
          "record": "a:b:rate5m",
          "expr": "sum(rate(x[5m]))",
          "labels": {
            "verb": "read"
          }
        },
        {
          "alert": "A",
          "expr": "a:b:rate5m > 1",
          "for": "2m",
          "annotations": {
            "summary": "{{ $labels.cluster }} burns"
          }
        }
      ]
    }
  ]
}
`,
		},
		{name: "mimir without namespace", format: FormatMimir, want: "a Mimir rule file needs a namespace", err: true},
		{name: "a partial response strategy for mimir", format: FormatMimir, env: Envelope{Namespace: "x", PartialResponseStrategy: "warn"}, want: "a partial response strategy is a Thanos ruler field", err: true},
		{name: "a partial response strategy in values", format: FormatKubePrometheusStack, env: Envelope{Name: "x", PartialResponseStrategy: "abort"}, want: "a partial response strategy is a Thanos ruler field", err: true},
		{name: "unknown format", format: "yaml", want: `unknown format "yaml"`, err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Encode(tc.format, groups, "H", tc.env)
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

// TestEncodeChecksEveryFormat: a group Prometheus would not load is refused
// in every format, not only in the plain rule file.
func TestEncodeChecksEveryFormat(t *testing.T) {
	bad := []rulefmt.RuleGroup{{Name: "g", Rules: []rulefmt.Rule{{Record: "a", Expr: "sum("}}}}
	for _, f := range Formats {
		if _, err := Encode(f, bad, "H", Envelope{Name: "n", Namespace: "ns"}); err == nil || !strings.Contains(err.Error(), "does not load in Prometheus") {
			t.Errorf("%s: error %v, want the rulefmt refusal", f, err)
		}
	}
}
