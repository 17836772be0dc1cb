package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/text"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	corev1 "k8s.io/api/core/v1"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// specs are the embedded spec and every example.
func specs(t *testing.T) map[string]*slo.Spec {
	t.Helper()
	out := map[string]*slo.Spec{"embedded": slo.Default()}
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example specs: %v", err)
	}
	for _, f := range files {
		s, err := slo.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = s
	}
	return out
}

// strict decodes a dashboard's JSON with the SDK's strict decoder, which
// refuses a field its types do not have, a value of the wrong type and a
// missing required field, and then with its plain decoder for the
// contents, which must marshal back to the same bytes.
//
// The SDK's strict decoders (v0.0.22, dashboard/types_gen.go and the
// plugins' dataquery types) end in `return errs` with errs a nil
// cog.BuildErrors, which as an error is not nil. So
// Dashboard.UnmarshalJSONStrict fails every decode with an empty message,
// and the decoders of a dashboard's panels and of a panel's queries take
// the empty error of a panel or query that decoded well for a failure and
// leave it out: a strictly decoded dashboard has no panels, and a panel no
// queries. Real errors still come through as a non-empty BuildErrors. So
// here an empty BuildErrors is success, and the contents come from the
// plain decoder.
func strict(data []byte) (dashboard.Dashboard, error) {
	plugins.RegisterDefaultPlugins()
	var d dashboard.Dashboard
	if err := nilIfEmpty(d.UnmarshalJSONStrict(data)); err != nil {
		return d, err
	}
	d = dashboard.Dashboard{}
	if err := json.Unmarshal(data, &d); err != nil {
		return d, err
	}
	again, err := JSON(d)
	if err != nil {
		return d, err
	}
	if !bytes.Equal(again, data) {
		return d, fmt.Errorf("the decoded dashboard marshals to other JSON:\n%s", again)
	}
	return d, nil
}

// nilIfEmpty is err, or nil for an empty cog.BuildErrors.
func nilIfEmpty(err error) error {
	if be, ok := err.(cog.BuildErrors); ok && len(be) == 0 {
		return nil
	}
	return err
}

func decodeStrict(t *testing.T, data []byte) dashboard.Dashboard {
	t.Helper()
	d, err := strict(data)
	if err != nil {
		t.Fatalf("strict decode: %v", err)
	}
	return d
}

// TestStrictRefuses checks that the strict decode, with the workaround
// above, still refuses what it should.
func TestStrictRefuses(t *testing.T) {
	boards, err := Build(mustModel(t, slo.Default()))
	if err != nil {
		t.Fatal(err)
	}
	data, err := JSON(boards[0].Dashboard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strict(data); err != nil {
		t.Fatalf("the dashboard itself: %v", err)
	}
	for _, tc := range []struct{ name, old, new string }{
		{"unknown top-level field", `"uid":`, `"bogus": 1, "uid":`},
		{"unknown panel field", `"type": "timeseries",`, `"type": "timeseries", "bogus": 1,`},
		{"wrong type", `"editable": true`, `"editable": "yes"`},
	} {
		bad := strings.Replace(string(data), tc.old, tc.new, 1)
		if bad == string(data) {
			t.Fatalf("%s: %q is not in the dashboard", tc.name, tc.old)
		}
		if _, err := strict([]byte(bad)); err == nil {
			t.Errorf("%s: decoded without error", tc.name)
		}
	}
}

// Target is one panel query of a dashboard.
type Target struct {
	Panel string
	Expr  string
}

// targets lists every Prometheus query of dashboard d's panels.
func targets(t *testing.T, d dashboard.Dashboard) []Target {
	t.Helper()
	var out []Target
	add := func(p *dashboard.Panel) {
		title := ""
		if p.Title != nil {
			title = *p.Title
		}
		for _, q := range p.Targets {
			pq, ok := q.(*prometheus.Dataquery)
			if !ok {
				t.Errorf("panel %q: query of type %T, not Prometheus'", title, q)
				continue
			}
			out = append(out, Target{title, pq.Expr})
		}
	}
	for _, p := range d.Panels {
		if p.Panel != nil {
			add(p.Panel)
		}
		if p.RowPanel != nil {
			for i := range p.RowPanel.Panels {
				add(&p.RowPanel.Panels[i])
			}
		}
	}
	return out
}

// substitute replaces the dashboards' variables by values Grafana could
// give them.
func substitute(expr, cluster, window string) string {
	return strings.NewReplacer("$"+ClusterVar, cluster, "$"+WindowVar, window).Replace(expr)
}

// TestDashboards builds the dashboards of every committed spec and checks
// that each decodes strictly into the SDK's dashboard type, and that each
// panel query, its variables substituted, parses with the Prometheus
// parser and reads only series the spec's rules record, ALERTS, or series
// the runbook reads.
func TestDashboards(t *testing.T) {
	for name, s := range specs(t) {
		t.Run(name, func(t *testing.T) {
			boards, err := Build(mustModel(t, s))
			if err != nil {
				t.Fatal(err)
			}
			allowed := readable(t, s)
			for _, b := range boards {
				data, err := JSON(b.Dashboard)
				if err != nil {
					t.Fatal(err)
				}
				d := decodeStrict(t, data)
				for _, v := range d.Templating.List {
					if v.Type == "query" && v.Query != nil && v.Query.String != nil {
						rec := strings.TrimSuffix(strings.TrimPrefix(*v.Query.String, "label_values("), ", "+s.ClusterLabel+")")
						if !allowed[rec] {
							t.Errorf("%s dashboard: variable %s reads %s, which the rules do not record", b.Kind, v.Name, rec)
						}
					}
				}
				ts := targets(t, d)
				if len(ts) == 0 {
					t.Fatalf("%s dashboard has no query", b.Kind)
				}
				for _, tg := range ts {
					for _, w := range s.Windows() {
						for _, cluster := range []string{".*", "prod"} {
							q := substitute(tg.Expr, cluster, w.String())
							expr, err := parser.NewParser(parser.Options{}).ParseExpr(q)
							if err != nil {
								t.Fatalf("%s dashboard, panel %q: %q does not parse: %v", b.Kind, tg.Panel, q, err)
							}
							for _, m := range metrics(expr) {
								if !allowed[m] {
									t.Errorf("%s dashboard, panel %q reads %s, which neither the rules record nor the runbook reads", b.Kind, tg.Panel, m)
								}
							}
						}
					}
				}
			}
		})
	}
}

// readable lists the series a dashboard of spec s may read: those its
// rules record, ALERTS, and the metrics the runbook's queries read.
func readable(t *testing.T, s *slo.Spec) map[string]bool {
	t.Helper()
	out := map[string]bool{"ALERTS": true}
	groups, err := rulegen.Rules(s, slomodel.ProfileOptimized)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				out[r.Record] = true
			}
		}
	}
	rb, err := runbook.New(mustModel(t, s))
	if err != nil {
		t.Fatal(err)
	}
	qs, err := rb.Queries(rb.Window)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		expr, err := parser.NewParser(parser.Options{}).ParseExpr(q.PromQL)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range metrics(expr) {
			out[m] = true
		}
	}
	return out
}

// metrics lists the metric names expr's selectors read; a selector with a
// name pattern reads {__name__=~pattern}.
func metrics(expr parser.Expr) []string {
	var out []string
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if v, ok := n.(*parser.VectorSelector); ok {
			name := v.Name
			for _, m := range v.LabelMatchers {
				if m.Name == labels.MetricName {
					switch m.Type {
					case labels.MatchEqual:
						name = m.Value
					case labels.MatchRegexp:
						name = "{__name__=~" + m.Value + "}"
					}
				}
			}
			if name == "" {
				name = "{no metric name}"
			}
			out = append(out, name)
		}
		return nil
	})
	slices.Sort(out)
	return slices.Compact(out)
}

// TestRunbookLinksBack checks that each section of a runbook whose spec
// names a Grafana links to the drill-down dashboard's text panel that opens
// the section's row, and that the panel links to the section.
func TestRunbookLinksBack(t *testing.T) {
	s, err := slo.Load("../../examples/checkout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Dashboards.GrafanaURL == "" {
		t.Fatal("examples/checkout.yaml names no Grafana")
	}
	rb, err := runbook.New(mustModel(t, s))
	if err != nil {
		t.Fatal(err)
	}
	page, err := rb.Page()
	if err != nil {
		t.Fatal(err)
	}
	boards, err := Build(mustModel(t, s))
	if err != nil {
		t.Fatal(err)
	}
	data, err := JSON(boards[1].Dashboard)
	if err != nil {
		t.Fatal(err)
	}
	d := decodeStrict(t, data)
	if d.Uid == nil || boards[1].Kind != KindDrilldown {
		t.Fatal("no drill-down dashboard")
	}
	panels := map[string]*dashboard.Panel{}
	for _, p := range d.Panels {
		if p.Panel != nil && p.Panel.Id != nil {
			panels[fmt.Sprint(*p.Panel.Id)] = p.Panel
		}
	}
	for _, sec := range rb.Sections() {
		u := rb.DashboardURL(sec)
		prefix := s.Dashboards.GrafanaURL + "/d/" + *d.Uid + "/"
		_, id, ok := strings.Cut(u, "?viewPanel=")
		if !strings.HasPrefix(u, prefix) || !ok {
			t.Errorf("section %q links to %q, not to a panel of %s", sec.Heading, u, prefix)
			continue
		}
		if !strings.Contains(string(page.Markdown), "### "+sec.Heading+"\n\n[Dashboard: this step's panels]("+u+")") {
			t.Errorf("the page's section %q does not link to %s", sec.Heading, u)
		}
		p := panels[id]
		if p == nil || p.Type != "text" {
			t.Errorf("section %q links to panel %s, which is not a text panel of the dashboard", sec.Heading, id)
			continue
		}
		opts, _ := p.Options.(*text.Options)
		if opts == nil {
			t.Fatalf("panel %s: options %T", id, p.Options)
		}
		content := opts.Content
		if want := rb.RunbookURL() + "#" + sec.Anchor; !strings.Contains(content, "("+want+")") {
			t.Errorf("panel %s of section %q does not link to %s: %q", id, sec.Heading, want, content)
		}
	}
}

// TestConfigMap checks the kube-prometheus-stack packaging: one ConfigMap
// that Kubernetes' own types decode strictly, with the sidecar's label and
// each dashboard's JSON as it is written on its own; and the refusal of
// one past the API server's size limit.
func TestConfigMap(t *testing.T) {
	s := slo.Default()
	plain, err := Files(mustModel(t, s), PlainJSON, "note")
	if err != nil {
		t.Fatal(err)
	}
	cms, err := Files(mustModel(t, s), ConfigMap, "Generated by burnrate\nRegenerate with: x")
	if err != nil {
		t.Fatal(err)
	}
	if len(cms) != 1 || cms[0].Name != "kube-apiserver.dashboards.configmap.yaml" {
		t.Fatalf("files %v, want one ConfigMap", cms)
	}
	if !strings.HasPrefix(string(cms[0].Data), "# Generated by burnrate\n# Regenerate with: x\n") {
		t.Errorf("no header:\n%.200s", cms[0].Data)
	}
	var cm corev1.ConfigMap
	if err := sigsyaml.UnmarshalStrict(cms[0].Data, &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Kind != "ConfigMap" || cm.APIVersion != "v1" || cm.Labels[SidecarLabel] != SidecarValue || cm.Name != "burnrate-kube-apiserver-dashboards" {
		t.Errorf("ConfigMap %s/%s %s labels %v", cm.APIVersion, cm.Kind, cm.Name, cm.Labels)
	}
	if len(cm.Data) != len(plain) {
		t.Errorf("%d dashboards in the ConfigMap, want %d", len(cm.Data), len(plain))
	}
	for _, f := range plain {
		if cm.Data[f.Name] != string(f.Data) {
			t.Errorf("the ConfigMap's %s is not the dashboard's JSON", f.Name)
		}
		decodeStrict(t, []byte(cm.Data[f.Name]))
	}
	big := []File{{Name: "a.json", Data: bytes.Repeat([]byte("x"), corev1.MaxSecretSize)}}
	if _, err := configMap(s, big, ""); err == nil || !strings.Contains(err.Error(), "more than the API server's limit") {
		t.Errorf("a ConfigMap over 1 MiB: err %v", err)
	}
}
