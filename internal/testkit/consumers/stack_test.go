package consumers

import (
	"maps"
	"slices"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/mixingroups"
)

// stackValues is the part of kube-prometheus-stack's values the file sets.
type stackValues struct {
	DefaultRules struct {
		Rules map[string]bool `json:"rules"`
	} `json:"defaultRules"`
	AdditionalPrometheusRulesMap map[string]struct {
		AdditionalLabels map[string]string        `json:"additionalLabels"`
		Groups           []monitoringv1.RuleGroup `json:"groups"`
	} `json:"additionalPrometheusRulesMap"`
}

// renderStack is what kube-prometheus-stack renders from values, as far as
// these rules go (no helm binary or chart source here; this follows the
// chart's templates): each templates/prometheus/rules-1.14/<group>.yaml is
// rendered only if defaultRules.rules.<switch> is true (values.yaml sets
// each to true), and templates/prometheus/additionalPrometheusRules.yaml
// writes each additionalPrometheusRulesMap entry's groups verbatim as a
// PrometheusRule's spec.groups. mixin stands for the chart's own copies of
// the mixin's groups.
func renderStack(v stackValues, mixin []rulefmt.RuleGroup) []rulefmt.RuleGroup {
	var out []rulefmt.RuleGroup
	for _, g := range mixin {
		i := slices.IndexFunc(mixingroups.Groups, func(m mixingroups.Group) bool { return m.Name == g.Name })
		if i >= 0 {
			if on, set := v.DefaultRules.Rules[mixingroups.Groups[i].StackSwitch]; set && !on {
				continue
			}
		}
		out = append(out, g)
	}
	for _, k := range slices.Sorted(maps.Keys(v.AdditionalPrometheusRulesMap)) {
		out = append(out, fromOperator(v.AdditionalPrometheusRulesMap[k].Groups)...)
	}
	return out
}

// TestKubePrometheusStackValues decodes the committed values file strictly,
// each additionalPrometheusRulesMap entry's groups into the operator's rule
// group type (which is what the chart makes of them) and through the
// operator's validation, and renders the chart's rules from it: every
// recorded series and KubeAPIErrorBudgetBurn have one writer, and the
// chart's other groups stay. Without the defaultRules switches the check
// fails.
func TestKubePrometheusStackValues(t *testing.T) {
	data := committed(t, "rules/kube-prometheus-stack/kube-apiserver.kube-prometheus-stack.values.yaml")
	var v stackValues
	decodeStrict(t, data, &v)
	var switches []string
	for _, g := range mixingroups.Groups {
		switches = append(switches, g.StackSwitch)
	}
	if got := slices.Sorted(maps.Keys(v.DefaultRules.Rules)); !slices.Equal(got, slices.Sorted(slices.Values(switches))) {
		t.Errorf("defaultRules.rules sets %v, want the four switches %v", got, switches)
	}
	for k, on := range v.DefaultRules.Rules {
		if on {
			t.Errorf("defaultRules.rules.%s is true", k)
		}
	}
	entry, ok := v.AdditionalPrometheusRulesMap["burnrate-kube-apiserver"]
	if !ok || len(v.AdditionalPrometheusRulesMap) != 1 {
		t.Fatalf("additionalPrometheusRulesMap has %v, want burnrate-kube-apiserver alone", slices.Sorted(maps.Keys(v.AdditionalPrometheusRulesMap)))
	}
	for k := range entry.AdditionalLabels {
		if slices.Contains(encode.ChartLabels, k) {
			t.Errorf("additionalLabels sets %s, which the chart sets itself (a duplicate key in the rendered object)", k)
		}
	}
	if errs := operatorValidateRule(monitoringv1.PrometheusRuleSpec{Groups: entry.Groups}); len(errs) > 0 {
		t.Fatalf("the operator's ValidateRule: %v", errs)
	}
	ours := fromOperator(entry.Groups)
	mixin := mixinStandIn(t, "kube-prometheus-stack")
	rendered := renderStack(v, mixin)
	checkOneWriter(t, rendered, byContent(ours))
	if !slices.ContainsFunc(rendered, func(g rulefmt.RuleGroup) bool { return g.Name == otherMixinGroup.Name }) {
		t.Errorf("the chart's %s group is gone", otherMixinGroup.Name)
	}

	var unswitched stackValues
	unswitched.AdditionalPrometheusRulesMap = v.AdditionalPrometheusRulesMap
	if writerProblems(renderStack(unswitched, mixin), byContent(ours)) == "" {
		t.Error("with the mixin's groups switched on, the check found nothing wrong")
	}
}
