package slo

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// PartialResponseStrategies are the values of a group's
// partial_response_strategy that the Thanos ruler takes, as its docs write
// them (Thanos pkg/rules/manager.go, configRuleAdapter.UnmarshalYAML, reads
// the field into storepb.PartialResponseStrategy, WARN or ABORT).
var PartialResponseStrategies = []string{"warn", "abort"}

// validateOutput checks the output envelope with Kubernetes' own validation
// of object names, namespaces, labels and annotations (k8s.io/apimachinery:
// util/validation.IsDNS1123Subdomain and IsDNS1123Label,
// apis/meta/v1/validation.ValidateLabels, api/validation.ValidateAnnotations),
// which the API server applies to a PrometheusRule's metadata.
func (v *validator) output(o Output) {
	if o.Name != "" {
		for _, msg := range validation.IsDNS1123Subdomain(o.Name) {
			v.add(Path{"output", "name"}, fmt.Sprintf("%q is not a Kubernetes object name: %s", o.Name, msg))
		}
	}
	if o.Namespace != "" {
		for _, msg := range validation.IsDNS1123Label(o.Namespace) {
			v.add(Path{"output", "namespace"}, fmt.Sprintf("%q is not a Kubernetes namespace name: %s", o.Namespace, msg))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(o.Labels)) {
		for _, e := range metav1validation.ValidateLabels(map[string]string{k: o.Labels[k]}, field.NewPath("labels")) {
			v.add(Path{"output", "labels", k}, fmt.Sprintf("%q: %s", e.BadValue, e.Detail))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(o.Annotations)) {
		for _, e := range apivalidation.ValidateAnnotations(map[string]string{k: o.Annotations[k]}, field.NewPath("annotations")) {
			v.add(Path{"output", "annotations", k}, fmt.Sprintf("%q: %s", k, e.Detail))
		}
	}
	if s := o.PartialResponseStrategy; s != "" && !slices.Contains(PartialResponseStrategies, s) {
		v.add(Path{"output", "partialResponseStrategy"}, fmt.Sprintf("%q is not a Thanos partial response strategy; write one of %s", s, strings.Join(PartialResponseStrategies, ", ")))
	}
}

// A Preset is what a distribution of the kubernetes-mixin sets differently
// from the mixin's defaults, as spec fields: applying it to a spec gives the
// rules that distribution would render, and the labels its Prometheus
// selects rule objects by.
type Preset struct {
	Name string
	// About says in a line where the values come from.
	About            string
	Selector         string
	ClusterLabel     string
	ShowMultiCluster bool
	// RunbookURLPattern is the distribution's runbook_url, which the
	// kubernetes-mixin profile keeps (alert.runbookURLPattern). The
	// optimized profile's runbook_url (runbook.urlPattern) must name the
	// page burnrate generates, which the distribution's site does not
	// host: a preset clears it (see Apply).
	RunbookURLPattern string
	Output            Output
}

// The prometheus-operator runbooks site, which both distributions link to.
const operatorRunbooks = "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/%s"

// Presets are the distributions users come from. Sources (see
// shared/research/integrations.md for the snapshots):
//   - kube-prometheus: jsonnet/kube-prometheus/components/k8s-control-plane.libsonnet
//     sets kubeApiserverSelector 'job="apiserver"', showMultiCluster and the
//     runbook URL; main.libsonnet gives its PrometheusRules the labels
//     prometheus: k8s and role: alert-rules, in namespace monitoring.
//   - kube-prometheus-stack: its rules are generated from kube-prometheus'
//     manifests (templates/prometheus/rules-1.14/kube-apiserver-slos.yaml
//     says so in its header), with job from kubeApiServer.jobNameOverride
//     or "apiserver" and runbook_url {{ defaultRules.runbookUrl }}/kubernetes/<alert>
//     (default https://runbooks.prometheus-operator.dev/runbooks); its
//     Prometheus selects PrometheusRules by release: <release name>
//     (prometheus.prometheusSpec.ruleSelectorNilUsesHelmValues), so that
//     label is set to the chart's usual release name and is meant to be
//     overridden with generate --label release=<your release>.
var Presets = []Preset{
	{
		Name:              "kube-prometheus",
		About:             `prometheus-operator/kube-prometheus: job="apiserver", cluster label cluster, showMultiCluster, prometheus-operator runbooks, PrometheusRule labels prometheus: k8s and role: alert-rules in namespace monitoring`,
		Selector:          `job="apiserver"`,
		ClusterLabel:      "cluster",
		ShowMultiCluster:  true,
		RunbookURLPattern: operatorRunbooks,
		Output: Output{
			Name:      "burnrate-kube-apiserver",
			Namespace: "monitoring",
			Labels:    map[string]string{"prometheus": "k8s", "role": "alert-rules"},
		},
	},
	{
		Name:              "kube-prometheus-stack",
		About:             `prometheus-community/kube-prometheus-stack: job="apiserver", cluster label cluster, showMultiCluster, prometheus-operator runbooks, PrometheusRule label release: kube-prometheus-stack (set --label release=<your release name>)`,
		Selector:          `job="apiserver"`,
		ClusterLabel:      "cluster",
		ShowMultiCluster:  true,
		RunbookURLPattern: operatorRunbooks,
		Output: Output{
			Name:   "burnrate-kube-apiserver",
			Labels: map[string]string{"release": "kube-prometheus-stack"},
		},
	},
}

// PresetNames lists the presets' names, in order.
func PresetNames() []string {
	var names []string
	for _, p := range Presets {
		names = append(names, p.Name)
	}
	return names
}

// LookupPreset finds a preset by name.
func LookupPreset(name string) (Preset, bool) {
	for _, p := range Presets {
		if p.Name == name {
			return p, true
		}
	}
	return Preset{}, false
}

// Apply sets the preset's fields in s, leaving the rest of the spec alone:
// the selector, cluster label, showMultiCluster, the kubernetes-mixin
// profile's runbook URL pattern, and the output's name, namespace and
// labels (labels are added to those the spec has; the preset's win). It
// clears runbook.urlPattern: the distribution's runbook site has its own
// page for the alert, without the generated page's sections, so the
// optimized profile's alerts carry no runbook_url until the spec names
// where its page is published.
func (p Preset) Apply(s *Spec) {
	s.Selector = p.Selector
	s.ClusterLabel = p.ClusterLabel
	s.ShowMultiCluster = p.ShowMultiCluster
	s.Alert.RunbookURLPattern = p.RunbookURLPattern
	s.Runbook.URLPattern = ""
	if p.Output.Name != "" {
		s.Output.Name = p.Output.Name
	}
	if p.Output.Namespace != "" {
		s.Output.Namespace = p.Output.Namespace
	}
	if len(p.Output.Labels) > 0 {
		if s.Output.Labels == nil {
			s.Output.Labels = map[string]string{}
		}
		maps.Copy(s.Output.Labels, p.Output.Labels)
	}
}

// ValidateOutput checks an output envelope on its own, as Validate checks
// the spec's (for values given on the command line); paths begin with
// output.
func ValidateOutput(o Output) []FieldError {
	var v validator
	v.output(o)
	return v.errs
}

// YAML returns the embedded spec with the preset applied, as a spec file:
// the embedded file's text and comments, with the preset's fields set and
// an output section added.
func (p Preset) YAML() ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(defaultSpec, &doc); err != nil {
		return nil, err
	}
	root := doc.Content[0]
	set := func(m *yaml.Node, key string, v *yaml.Node) {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				v.HeadComment, v.LineComment = m.Content[i+1].HeadComment, m.Content[i+1].LineComment
				m.Content[i+1] = v
				return
			}
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
	}
	scalar := func(tag, v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v} }
	strs := func(m map[string]string) *yaml.Node {
		n := &yaml.Node{Kind: yaml.MappingNode}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			n.Content = append(n.Content, scalar("!!str", k), scalar("!!str", m[k]))
		}
		return n
	}
	set(root, "selector", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p.Selector, Style: yaml.SingleQuotedStyle})
	set(root, "clusterLabel", scalar("!!str", p.ClusterLabel))
	set(root, "showMultiCluster", scalar("!!bool", fmt.Sprint(p.ShowMultiCluster)))
	// child is the mapping under key, added when missing.
	child := func(m *yaml.Node, key string) *yaml.Node {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.MappingNode {
				return m.Content[i+1]
			}
		}
		c := &yaml.Node{Kind: yaml.MappingNode}
		set(m, key, c)
		return c
	}
	set(child(root, "alert"), "runbookURLPattern", scalar("!!str", p.RunbookURLPattern))
	rb := child(root, "runbook")
	set(rb, "urlPattern", scalar("!!str", ""))
	rb.Content[len(rb.Content)-2].HeadComment = "No runbook_url until you publish the generated runbook and write its\naddress here: " + p.Name + "'s runbook site has its own page, without the\ngenerated page's sections."
	out := &yaml.Node{Kind: yaml.MappingNode}
	if p.Output.Name != "" {
		set(out, "name", scalar("!!str", p.Output.Name))
	}
	if p.Output.Namespace != "" {
		set(out, "namespace", scalar("!!str", p.Output.Namespace))
	}
	if len(p.Output.Labels) > 0 {
		set(out, "labels", strs(p.Output.Labels))
	}
	set(root, "output", out)
	root.Content[len(root.Content)-2].HeadComment = "What generate --format prometheusrule, kube-prometheus-stack and mimir\nwrap the rules in (preset " + p.Name + ")."
	var b bytes.Buffer
	b.WriteString("# Preset " + p.Name + ": " + p.About + "\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
