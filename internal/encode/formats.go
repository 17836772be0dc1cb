package encode

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/rulefmt"
	"gopkg.in/yaml.v3"

	"github.com/burnrate/burnrate/slo"
)

// The output formats of burnrate generate --format. Scripts rely on these
// names.
const (
	// FormatRules is a Prometheus rule file (promtool check rules, Thanos
	// ruler --rule-file with a partial_response_strategy per group).
	FormatRules = "rules"
	// FormatPrometheusRule is a prometheus-operator PrometheusRule object
	// (monitoring.coreos.com/v1).
	FormatPrometheusRule = "prometheusrule"
	// FormatJSON is {"groups": [...]} for jsonnet: a mixin's prometheusRules
	// or kube-prometheus' spec.groups.
	FormatJSON = "json"
	// FormatKubePrometheusStack is a Helm values file for
	// kube-prometheus-stack: the mixin's groups switched off and these
	// groups under additionalPrometheusRulesMap.
	FormatKubePrometheusStack = "kube-prometheus-stack"
	// FormatMimir is a Mimir or Cortex ruler namespace file (mimirtool rules
	// load|sync|diff).
	FormatMimir = "mimir"
)

// Formats lists the formats, the default first.
var Formats = []string{FormatRules, FormatPrometheusRule, FormatJSON, FormatKubePrometheusStack, FormatMimir}

// FileName is the file a format writes for a spec called name.
func FileName(format, name string) string {
	switch format {
	case FormatPrometheusRule:
		return name + ".prometheusrule.yaml"
	case FormatJSON:
		return name + ".rules.json"
	case FormatKubePrometheusStack:
		return name + ".kube-prometheus-stack.values.yaml"
	case FormatMimir:
		return name + ".mimir.yaml"
	}
	return name + ".rules.yaml"
}

// Envelope is what a format wraps the rule groups in.
type Envelope struct {
	// Name is the PrometheusRule's metadata.name, or the
	// additionalPrometheusRulesMap key of the kube-prometheus-stack values.
	Name string
	// Namespace is the PrometheusRule's metadata.namespace (left out when
	// empty) or the Mimir namespace (required there).
	Namespace string
	// Labels and Annotations go on the PrometheusRule; Labels also become
	// additionalLabels in the kube-prometheus-stack values.
	Labels, Annotations map[string]string
	// PartialResponseStrategy is the Thanos per-group field; only the rules
	// and prometheusrule formats take it.
	PartialResponseStrategy string
	// StackSwitches are kube-prometheus-stack's defaultRules.rules keys the
	// values file sets to false, because these groups replace what they
	// render.
	StackSwitches []string
}

// EnvelopeOf is the envelope of format for spec s: its output section with
// the defaults filled in (name burnrate-<spec name>; for mimir, namespace
// the spec's name) and the Thanos strategy only where the format carries
// it. StackSwitches are left to the caller.
func EnvelopeOf(format string, s *slo.Spec) Envelope {
	o := s.Output
	env := Envelope{
		Name:        cmp.Or(o.Name, "burnrate-"+s.Name),
		Namespace:   o.Namespace,
		Labels:      o.Labels,
		Annotations: o.Annotations,
	}
	if format == FormatMimir && env.Namespace == "" {
		env.Namespace = s.Name
	}
	if format == FormatRules || format == FormatPrometheusRule {
		env.PartialResponseStrategy = o.PartialResponseStrategy
	}
	return env
}

// Encode renders groups in format under header (as comments where the
// format has them, else as its first field) and checks the result: the
// groups it carries are loaded with rulefmt, as Prometheus, the
// prometheus-operator (pkg/operator/rules.go, ValidateRule) and Thanos
// (pkg/rules/manager.go, after removing partial_response_strategy) do.
func Encode(format string, groups []rulefmt.RuleGroup, header string, env Envelope) ([]byte, error) {
	if env.PartialResponseStrategy != "" && format != FormatRules && format != FormatPrometheusRule {
		return nil, fmt.Errorf("a partial response strategy is a Thanos ruler field; only --format %s and %s carry it, not %s", FormatRules, FormatPrometheusRule, format)
	}
	if format == FormatRules && env.PartialResponseStrategy == "" {
		return RuleFile(groups, header)
	}
	gs, err := groupNodes(groups, env.PartialResponseStrategy)
	if err != nil {
		return nil, fmt.Errorf("encode rule groups: %w", err)
	}
	var out []byte
	switch format {
	case FormatRules:
		out, err = yamlNode(header, mapping("groups", gs))
	case FormatPrometheusRule:
		meta := mapping("name", str(env.Name))
		if env.Namespace != "" {
			meta.Content = append(meta.Content, str("namespace"), str(env.Namespace))
		}
		if len(env.Labels) > 0 {
			meta.Content = append(meta.Content, str("labels"), stringMap(env.Labels))
		}
		if len(env.Annotations) > 0 {
			meta.Content = append(meta.Content, str("annotations"), stringMap(env.Annotations))
		}
		out, err = yamlNode(header, mapping(
			"apiVersion", str("monitoring.coreos.com/v1"),
			"kind", str("PrometheusRule"),
			"metadata", meta,
			"spec", mapping("groups", gs),
		))
	case FormatJSON:
		out, err = jsonNode(mapping("//", str(strings.TrimRight(header, "\n")), "groups", gs))
	case FormatKubePrometheusStack:
		switches := mapping()
		for _, s := range env.StackSwitches {
			switches.Content = append(switches.Content, str(s), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "false"})
		}
		rule := mapping()
		if extra := withoutChartLabels(env.Labels); len(extra) > 0 {
			rule.Content = append(rule.Content, str("additionalLabels"), stringMap(extra))
		}
		rule.Content = append(rule.Content, str("groups"), gs)
		out, err = yamlNode(header, mapping(
			"defaultRules", mapping("rules", switches),
			"additionalPrometheusRulesMap", mapping(env.Name, rule),
		))
	case FormatMimir:
		if env.Namespace == "" {
			return nil, fmt.Errorf("a Mimir rule file needs a namespace")
		}
		out, err = yamlNode(header, mapping("namespace", str(env.Namespace), "groups", gs))
	default:
		return nil, fmt.Errorf("unknown format %q; choose one of %s", format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", format, err)
	}
	if err := checkGroups(format, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ChartLabels are the labels kube-prometheus-stack puts on every object it
// renders (templates/_helpers.tpl, "kube-prometheus-stack.labels", and the
// app label of templates/prometheus/additionalPrometheusRules.yaml); the
// same key again in additionalLabels would be a duplicate mapping key in the
// rendered object, so the values file leaves them out: the chart sets
// release to the real release name itself.
var ChartLabels = []string{"app", "app.kubernetes.io/managed-by", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/part-of", "chart", "release", "heritage"}

func withoutChartLabels(l map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range l {
		if !slices.Contains(ChartLabels, k) {
			out[k] = v
		}
	}
	return out
}

// groupNodes is the YAML of the groups as rulefmt writes them, with a
// partial_response_strategy after each group's name when strategy is set.
func groupNodes(groups []rulefmt.RuleGroup, strategy string) (*yaml.Node, error) {
	// Through text at a two-space indent, not yaml.Node.Encode: that emits
	// at a four-space indent, where yaml.v3 writes a wrong indentation
	// indicator for a block scalar whose first line is indented, as
	// Prettify's binary expressions are, and cannot read its own output.
	text, err := YAML("", rulefmt.RuleGroups{Groups: groups})
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, err
	}
	seq := valueOf(&doc, "groups")
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("rule groups did not encode as a list")
	}
	if strategy != "" {
		for _, g := range seq.Content {
			g.Content = slices.Insert(g.Content, 2, str("partial_response_strategy"), str(strategy))
		}
	}
	return seq, nil
}

// checkGroups takes the groups back out of a rendered file and loads them
// with rulefmt, with unknown fields refused.
func checkGroups(format string, out []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(out, &doc); err != nil {
		return fmt.Errorf("generated %s file does not parse as YAML: %w", format, err)
	}
	var gs *yaml.Node
	switch format {
	case FormatPrometheusRule:
		gs = valueOf(valueOf(&doc, "spec"), "groups")
	case FormatKubePrometheusStack:
		for _, v := range mappingValues(valueOf(&doc, "additionalPrometheusRulesMap")) {
			gs = valueOf(v, "groups")
		}
	default:
		gs = valueOf(&doc, "groups")
	}
	if gs == nil {
		return fmt.Errorf("generated %s file has no groups", format)
	}
	for _, g := range gs.Content {
		g.Content = withoutKey(g.Content, "partial_response_strategy")
	}
	plain, err := YAML("", mapping("groups", gs)) // two-space indent: see groupNodes
	if err != nil {
		return err
	}
	return parseRules(plain)
}

func withoutKey(kv []*yaml.Node, key string) []*yaml.Node {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i].Value == key {
			return slices.Delete(slices.Clone(kv), i, i+2)
		}
	}
	return kv
}

// valueOf is the value of key in a mapping (or a document holding one).
func valueOf(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func mappingValues(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var vs []*yaml.Node
	for i := 1; i < len(n.Content); i += 2 {
		vs = append(vs, n.Content[i])
	}
	return vs
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// mapping builds a mapping node from key, value pairs (string, *yaml.Node).
func mapping(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Content = append(m.Content, str(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return m
}

// stringMap is a mapping of strings with sorted keys.
func stringMap(m map[string]string) *yaml.Node {
	n := mapping()
	for _, k := range slices.Sorted(maps.Keys(m)) {
		n.Content = append(n.Content, str(k), str(m[k]))
	}
	return n
}

// yamlNode writes a node as YAML under header, like YAML.
func yamlNode(header string, n *yaml.Node) ([]byte, error) { return YAML(header, n) }

// jsonNode writes a node as indented JSON, keys in the node's order.
func jsonNode(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	if err := writeJSON(&b, n); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		return writeJSON(b, n.Content[0])
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := jsonScalar(b, n.Content[i].Value); err != nil {
				return err
			}
			b.WriteByte(':')
			if err := writeJSON(b, n.Content[i+1]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, c); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return err
		}
		return jsonScalar(b, v)
	default:
		return fmt.Errorf("cannot write YAML node kind %v as JSON", n.Kind)
	}
	return nil
}

// jsonScalar writes v as JSON without escaping <, > and & (expressions are
// full of them, and the file is no HTML).
func jsonScalar(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}
