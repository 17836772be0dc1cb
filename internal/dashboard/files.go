package dashboard

import (
	"bytes"
	"cmp"
	"fmt"

	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"

	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// File is one dashboard file, named relative to the output directory.
type File struct {
	Name string
	Data []byte
}

// Packaging is how the dashboards are handed to Grafana.
type Packaging int

const (
	// PlainJSON writes each dashboard as <name>.<kind>.dashboard.json, for
	// Grafana's import, its file provisioning or its HTTP API.
	PlainJSON Packaging = iota
	// ConfigMap writes both in one ConfigMap,
	// <name>.dashboards.configmap.yaml, labelled grafana_dashboard: "1",
	// the label kube-prometheus-stack's Grafana sidecar loads dashboards
	// from (its grafana.sidecar.dashboards.label default).
	ConfigMap
)

// SidecarLabel is the label, and its value, that kube-prometheus-stack's
// Grafana sidecar watches ConfigMaps for.
const SidecarLabel, SidecarValue = "grafana_dashboard", "1"

// Files renders the dashboards of model m (of the optimized profile),
// packaged as p; header is the generated-file note a ConfigMap starts with
// (JSON has no comments: a dashboard's description says where it comes
// from).
func Files(m *slomodel.Model, p Packaging, header string) ([]File, error) {
	s := m.Spec
	boards, err := Build(m)
	if err != nil {
		return nil, err
	}
	var out []File
	for _, b := range boards {
		data, err := JSON(b.Dashboard)
		if err != nil {
			return nil, err
		}
		out = append(out, File{Name: s.Name + "." + b.Kind + ".dashboard.json", Data: data})
	}
	if p == PlainJSON {
		return out, nil
	}
	cm, err := configMap(s, out, header)
	if err != nil {
		return nil, err
	}
	return []File{cm}, nil
}

// configMap wraps the dashboard files in one ConfigMap, refusing one
// whose data exceeds the API server's limit (corev1.MaxSecretSize, 1 MiB,
// which ValidateConfigMap in kubernetes pkg/apis/core/validation applies to
// a ConfigMap's data).
func configMap(s *slo.Spec, files []File, header string) (File, error) {
	size := 0
	for _, f := range files {
		size += len(f.Name) + len(f.Data)
	}
	if size > corev1.MaxSecretSize {
		return File{}, fmt.Errorf("the dashboards' ConfigMap would hold %d bytes, more than the API server's limit of %d; generate them with --format rules and load the JSON files instead", size, corev1.MaxSecretSize)
	}
	str := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }
	mapping := func(kv ...*yaml.Node) *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Content: kv} }
	meta := mapping(str("name"), str(cmp.Or(s.Output.Name, "burnrate-"+s.Name)+"-dashboards"))
	if s.Output.Namespace != "" {
		meta.Content = append(meta.Content, str("namespace"), str(s.Output.Namespace))
	}
	label := str(SidecarValue)
	label.Style = yaml.DoubleQuotedStyle
	meta.Content = append(meta.Content, str("labels"), mapping(str(SidecarLabel), label))
	data := mapping()
	for _, f := range files {
		v := str(string(f.Data))
		v.Style = yaml.LiteralStyle
		data.Content = append(data.Content, str(f.Name), v)
	}
	doc := mapping(str("apiVersion"), str("v1"), str("kind"), str("ConfigMap"), str("metadata"), meta, str("data"), data)
	var b bytes.Buffer
	for _, line := range bytes.Split([]byte(header), []byte("\n")) {
		b.WriteString("# " + string(line) + "\n")
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return File{}, err
	}
	if err := enc.Close(); err != nil {
		return File{}, err
	}
	return File{Name: s.Name + ".dashboards.configmap.yaml", Data: b.Bytes()}, nil
}
