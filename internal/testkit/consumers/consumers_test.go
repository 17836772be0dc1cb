package consumers

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/mixingroups"
	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/slo"
)

// root is the repository's top directory, where make rules writes.
const root = "../../.."

// committed reads a file that make rules writes and commits.
func committed(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatalf("%v (run make rules)", err)
	}
	return data
}

// render renders the embedded spec with a preset ("" for none) for a
// profile in a format, as generate does.
func render(t *testing.T, preset, profile, format string, env encode.Envelope) ([]byte, []rulefmt.RuleGroup) {
	t.Helper()
	groups := groupsOf(t, preset, profile)
	data, err := encode.Encode(format, groups, "Generated for a test.", env)
	if err != nil {
		t.Fatal(err)
	}
	return data, groups
}

// groupsOf renders the embedded spec's groups with a preset for a profile.
func groupsOf(t *testing.T, preset, profile string) []rulefmt.RuleGroup {
	t.Helper()
	s := slo.Default()
	if preset != "" {
		p, ok := slo.LookupPreset(preset)
		if !ok {
			t.Fatalf("no preset %s", preset)
		}
		p.Apply(s)
	}
	groups, err := rulegen.Rules(s, profile)
	if err != nil {
		t.Fatal(err)
	}
	return groups
}

// mixinStandIn is the stand-in for a distribution's own rendering of the
// kubernetes-mixin: the mixin's four SLO groups as the kubernetes-mixin
// profile reproduces them with the distribution's preset, and one group of
// the mixin that burnrate does not replace, which must survive a swap.
func mixinStandIn(t *testing.T, preset string) []rulefmt.RuleGroup {
	t.Helper()
	s := slo.Default()
	p, _ := slo.LookupPreset(preset)
	p.Apply(s)
	groups, err := mixingroups.Mixin(s)
	if err != nil {
		t.Fatal(err)
	}
	return append(groups, otherMixinGroup)
}

// otherMixinGroup stands for the mixin's groups that burnrate leaves alone
// (kubernetes-apps and the like).
var otherMixinGroup = rulefmt.RuleGroup{Name: "kubernetes-apps", Rules: []rulefmt.Rule{{
	Alert: "KubePodCrashLooping", Expr: `max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}[5m]) >= 1`,
	For: model.Duration(15 * 60e9), Labels: map[string]string{"severity": "warning"},
}}}

// decodeStrict decodes YAML or JSON into v as the Kubernetes API server does
// with strict field validation: through JSON, unknown and duplicate fields
// refused (sigs.k8s.io/yaml.UnmarshalStrict).
func decodeStrict(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(data, v); err != nil {
		t.Fatalf("strict decode into %T: %v", v, err)
	}
}

// operatorValidateRule is the prometheus-operator's ValidateRule
// (pkg/operator/rules.go at v0.85.0, the only version of the operator's main
// module the Go module proxy serves): partial_response_strategy removed,
// empty durations dropped, the spec marshalled with sigs.k8s.io/yaml, the
// size limit (half of corev1.MaxSecretSize, MaxConfigMapDataSize) checked,
// and the result loaded with rulefmt.Parse. The package itself cannot be
// imported: v0.85.0 calls rulefmt.Parse(content, false), and the
// prometheus v0.316.0 this module builds with has
// Parse(content, ignoreUnknownFields, nameValidationScheme, parser, logger).
// The call below is the same check with that signature.
func operatorValidateRule(spec monitoringv1.PrometheusRuleSpec) []error {
	spec = *spec.DeepCopy()
	for i := range spec.Groups {
		spec.Groups[i].PartialResponseStrategy = ""
		if spec.Groups[i].Interval != nil && *spec.Groups[i].Interval == "" {
			spec.Groups[i].Interval = nil
		}
		for j := range spec.Groups[i].Rules {
			if ptr.Deref(spec.Groups[i].Rules[j].For, "") == "" {
				spec.Groups[i].Rules[j].For = nil
			}
		}
	}
	content, err := yaml.Marshal(spec)
	if err != nil {
		return []error{err}
	}
	if limit := int(float64(corev1.MaxSecretSize) * 0.5); len(content) > limit {
		return []error{fmt.Errorf("the rendered rules are %d bytes, above the operator's limit of %d", len(content), limit)}
	}
	_, errs := rulefmt.Parse(content, false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger())
	return errs
}

// operatorRuleFile is the rule file the operator writes for a
// PrometheusRule (pkg/operator/rules.go, generateRulesConfiguration after
// sanitizePrometheusRulesSpec): for Prometheus the partial response
// strategy is cleared, for the Thanos ruler it is kept; the spec is
// marshalled with sigs.k8s.io/yaml. (The version checks there drop fields
// these rules do not use: limit, query_offset, keep_firing_for, group
// labels.)
func operatorRuleFile(t *testing.T, spec monitoringv1.PrometheusRuleSpec, thanos bool) []byte {
	t.Helper()
	spec = *spec.DeepCopy()
	if !thanos {
		for i := range spec.Groups {
			spec.Groups[i].PartialResponseStrategy = ""
		}
	}
	if errs := operatorValidateRule(spec); len(errs) > 0 {
		t.Fatalf("operator's ValidateRule: %v", errs)
	}
	content, err := yaml.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	return content
}

// loadRules loads a rule file as Prometheus does, unknown fields refused.
func loadRules(t *testing.T, file []byte) *rulefmt.RuleGroups {
	t.Helper()
	rgs, errs := rulefmt.Parse(file, false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger())
	if len(errs) > 0 {
		t.Fatalf("rulefmt: %v", errs)
	}
	return rgs
}

// fromOperator turns operator rule groups into rulefmt groups, keeping what
// the writer checks read: names, records and alerts.
func fromOperator(gs []monitoringv1.RuleGroup) []rulefmt.RuleGroup {
	var out []rulefmt.RuleGroup
	for _, g := range gs {
		rg := rulefmt.RuleGroup{Name: g.Name}
		for _, r := range g.Rules {
			rg.Rules = append(rg.Rules, rulefmt.Rule{Record: r.Record, Alert: r.Alert, Expr: r.Expr.String()})
		}
		out = append(out, rg)
	}
	return out
}

// checkOneWriter fails unless every record and alert of groups comes from
// one source, and KubeAPIErrorBudgetBurn from burnrate's alone. classify
// names each group's source.
func checkOneWriter(t *testing.T, groups []rulefmt.RuleGroup, classify func(rulefmt.RuleGroup) string) {
	t.Helper()
	if msg := writerProblems(groups, classify); msg != "" {
		t.Error(msg)
	}
}

// writerProblems says which names several sources write, and whether
// burnrate's alert is the only definition of KubeAPIErrorBudgetBurn; ""
// when all is well.
func writerProblems(groups []rulefmt.RuleGroup, classify func(rulefmt.RuleGroup) string) string {
	sources := map[string][]rulefmt.RuleGroup{}
	names := map[string]int{}
	var b strings.Builder
	for _, g := range groups {
		sources[classify(g)] = append(sources[classify(g)], g)
		names[g.Name]++
	}
	for n, c := range names {
		if c > 1 {
			fmt.Fprintf(&b, "group %s appears %d times\n", n, c)
		}
	}
	writers := mixingroups.Writers(sources)
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range writers {
			if !yield(k) {
				return
			}
		}
	}) {
		if len(writers[name]) > 1 {
			fmt.Fprintf(&b, "%s is written by %v\n", name, writers[name])
		}
	}
	if w := writers["KubeAPIErrorBudgetBurn"]; !slices.Equal(w, []string{"burnrate"}) {
		fmt.Fprintf(&b, "KubeAPIErrorBudgetBurn is defined by %v, want burnrate's alone\n", w)
	}
	return b.String()
}

// byContent classifies a group as burnrate's when it equals one of ours.
func byContent(ours []rulefmt.RuleGroup) func(rulefmt.RuleGroup) string {
	return func(g rulefmt.RuleGroup) string {
		for _, o := range ours {
			if o.Name == g.Name && len(o.Rules) == len(g.Rules) && sameRules(o, g) {
				return "burnrate"
			}
		}
		return "mixin"
	}
}

// sameRules compares records, alerts and expressions (after parsing, as the
// expressions went through different encoders).
func sameRules(a, b rulefmt.RuleGroup) bool {
	for i := range a.Rules {
		ra, rb := a.Rules[i], b.Rules[i]
		if ra.Record != rb.Record || ra.Alert != rb.Alert || normalize(ra.Expr) != normalize(rb.Expr) {
			return false
		}
	}
	return true
}

func normalize(expr string) string {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return "unparsable: " + expr
	}
	return e.String()
}

// strictErr is decodeStrict's error.
func strictErr(data []byte, v any) error { return yaml.UnmarshalStrict(data, v) }

// parseRulesErr is loadRules' error.
func parseRulesErr(file []byte) error {
	if _, errs := rulefmt.Parse(file, false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger()); len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}
