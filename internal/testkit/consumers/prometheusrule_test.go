package consumers

import (
	"maps"
	"slices"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// TestPrometheusRule decodes each PrometheusRule strictly into the
// operator's own Go type, runs the operator's rule validation and the rule
// file it writes for Prometheus and for the Thanos ruler through rulefmt,
// and compares that file's groups with the plain rule file's.
func TestPrometheusRule(t *testing.T) {
	type tc struct {
		name      string
		data      []byte
		groups    []rulefmt.RuleGroup // what the plain rule file holds
		wantMeta  map[string]any
		wantLabel map[string]string
		strategy  string
	}
	var tests []tc
	for _, preset := range []string{"kube-prometheus", "kube-prometheus-stack"} {
		p, _ := slo.LookupPreset(preset)
		tests = append(tests, tc{
			name:      "committed " + preset,
			data:      committed(t, "rules/"+preset+"/kube-apiserver.prometheusrule.yaml"),
			groups:    groupsOf(t, preset, slomodel.ProfileOptimized),
			wantMeta:  map[string]any{"name": "burnrate-kube-apiserver", "namespace": p.Output.Namespace},
			wantLabel: p.Output.Labels,
		})
	}
	env := encode.Envelope{Name: "apiserver-slo", Namespace: "ops", Labels: map[string]string{"team": "platform"}, Annotations: map[string]string{"owner": "sre"}, PartialResponseStrategy: "warn"}
	data, groups := render(t, "kube-prometheus", slomodel.ProfileMixin, encode.FormatPrometheusRule, env)
	tests = append(tests, tc{
		name: "mixin profile for the Thanos ruler", data: data, groups: groups,
		wantMeta: map[string]any{"name": "apiserver-slo", "namespace": "ops"}, wantLabel: env.Labels, strategy: "warn",
	})

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var pr monitoringv1.PrometheusRule
			decodeStrict(t, tc.data, &pr)
			if pr.APIVersion != monitoringv1.SchemeGroupVersion.String() || pr.Kind != monitoringv1.PrometheusRuleKind {
				t.Errorf("apiVersion %q kind %q, want %s %s", pr.APIVersion, pr.Kind, monitoringv1.SchemeGroupVersion, monitoringv1.PrometheusRuleKind)
			}
			if pr.Name != tc.wantMeta["name"] || pr.Namespace != tc.wantMeta["namespace"] {
				t.Errorf("metadata name %q namespace %q, want %v", pr.Name, pr.Namespace, tc.wantMeta)
			}
			if !maps.Equal(pr.Labels, tc.wantLabel) {
				t.Errorf("labels %v, want %v", pr.Labels, tc.wantLabel)
			}
			for _, g := range pr.Spec.Groups {
				if g.PartialResponseStrategy != tc.strategy {
					t.Errorf("group %s: partial_response_strategy %q, want %q", g.Name, g.PartialResponseStrategy, tc.strategy)
				}
			}
			if errs := operatorValidateRule(pr.Spec); len(errs) > 0 {
				t.Fatalf("the operator's ValidateRule refuses it: %v", errs)
			}
			for _, thanos := range []bool{false, true} {
				file := operatorRuleFile(t, pr.Spec, thanos)
				var got []rulefmt.RuleGroup
				if thanos {
					got = loadThanos(t, file, tc.strategy)
				} else {
					got = loadRules(t, file).Groups
				}
				if len(got) != len(tc.groups) {
					t.Fatalf("thanos=%v: %d groups in the operator's rule file, want %d", thanos, len(got), len(tc.groups))
				}
				for i, g := range got {
					want := tc.groups[i]
					if g.Name != want.Name || g.Interval != want.Interval || !sameRules(want, g) || len(g.Rules) != len(want.Rules) {
						t.Errorf("thanos=%v: group %d is %s with %d rules, want %s with %d, same records, alerts and expressions", thanos, i, g.Name, len(g.Rules), want.Name, len(want.Rules))
					}
					for j, r := range g.Rules {
						w := want.Rules[j]
						if r.For != w.For || !maps.Equal(r.Labels, w.Labels) || !maps.Equal(r.Annotations, w.Annotations) {
							t.Errorf("thanos=%v: %s rule %d (%s%s): for, labels or annotations differ from the rule file's", thanos, g.Name, j, r.Record, r.Alert)
						}
					}
				}
			}
		})
	}
}

// TestOperatorValidationCanFail: the operator's checks as run above refuse a
// PrometheusRule with two groups of one name and one with an expression
// that does not parse, so their passing means something.
func TestOperatorValidationCanFail(t *testing.T) {
	var pr monitoringv1.PrometheusRule
	decodeStrict(t, committed(t, "rules/kube-prometheus/kube-apiserver.prometheusrule.yaml"), &pr)
	dup := *pr.Spec.DeepCopy()
	dup.Groups = append(dup.Groups, dup.Groups[0])
	bad := *pr.Spec.DeepCopy()
	bad.Groups[0].Rules[0].Expr.StrVal = "sum(rate(x[5m]"
	for name, spec := range map[string]monitoringv1.PrometheusRuleSpec{"duplicate group": dup, "bad expression": bad} {
		if errs := operatorValidateRule(spec); len(errs) == 0 {
			t.Errorf("%s: accepted", name)
		}
	}
	// Strict decoding refuses a field the operator's type does not have.
	extra := append(slices.Clone(committed(t, "rules/kube-prometheus/kube-apiserver.prometheusrule.yaml")), []byte("bogusField: 1\n")...)
	var v monitoringv1.PrometheusRule
	if err := strictErr(extra, &v); err == nil {
		t.Error("a PrometheusRule with an unknown top-level field decoded strictly")
	}
}
