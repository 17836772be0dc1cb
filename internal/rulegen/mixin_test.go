package rulegen

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/internal/testkit/reference"
	"github.com/burnrate/burnrate/slo"
)

// canonRule is a rule reduced to what Prometheus sees: the expression
// parsed and printed again, so that layout and comments do not count.
type canonRule struct {
	Group, Interval string
	Record, Alert   string
	Expr            string
	For             string
	Labels          map[string]string
	Annotations     map[string]string
}

func canonical(t *testing.T, name string, data []byte) []canonRule {
	t.Helper()
	p := parser.NewParser(parser.Options{})
	rgs, errs := rulefmt.Parse(data, false, model.UTF8Validation, p, promslog.NewNopLogger())
	if len(errs) > 0 {
		t.Fatalf("%s does not load: %v", name, errs)
	}
	var out []canonRule
	for _, g := range rgs.Groups {
		for _, r := range g.Rules {
			e, err := p.ParseExpr(r.Expr)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			out = append(out, canonRule{
				Group: g.Name, Interval: g.Interval.String(),
				Record: r.Record, Alert: r.Alert, Expr: e.String(), For: r.For.String(),
				Labels: r.Labels, Annotations: r.Annotations,
			})
		}
	}
	return out
}

func renderMixin(t *testing.T, s *slo.Spec) []byte {
	t.Helper()
	f, err := Rules(s, slomodel.ProfileMixin)
	if err != nil {
		t.Fatal(err)
	}
	data, err := encode.RuleFile(f, "test")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestMixinEqualsReference compares the mixin profile with the mixin's own
// rendering at aa38e2b, rule by rule: groups, intervals, order, names,
// labels, for, annotations and parsed expressions.
func TestMixinEqualsReference(t *testing.T) {
	want := canonical(t, "reference", reference.Read(t, "apiserver-slo-rules.aa38e2b.yaml"))
	got := canonical(t, "generated", renderMixin(t, slo.Default()))
	if len(got) != len(want) {
		t.Errorf("generated %d rules, the reference has %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if d := cmp.Diff(want[i], got[i]); d != "" {
			t.Errorf("rule %d (%s%s) differs from the reference (-reference +generated):\n%s", i, want[i].Record, want[i].Alert, d)
		}
	}
	t.Logf("compared %d rules", len(want))
}

// TestMixinKnobs changes one knob of the spec and the same knob in the
// reference rendering, edited the way the mixin's templates substitute that
// _config field, and expects the two to agree.
func TestMixinKnobs(t *testing.T) {
	ref := string(reference.Read(t, "apiserver-slo-rules.aa38e2b.yaml"))
	tests := []struct {
		name string
		spec func(*slo.Spec)
		ref  func(string) string
	}{
		{
			name: "kubeApiserverSelector",
			spec: func(s *slo.Spec) { s.Selector = `job="apiserver"` },
			ref:  func(r string) string { return strings.ReplaceAll(r, `job="kube-apiserver"`, `job="apiserver"`) },
		},
		{
			name: "clusterLabel",
			spec: func(s *slo.Spec) { s.ClusterLabel = "k8s_cluster" },
			// The label in by(...) and on(...) changes; record names such as
			// cluster_quantile: and the scope value "cluster" do not.
			ref: func(r string) string {
				return regexp.MustCompile(`(by ?\(|on\()cluster\b`).ReplaceAllString(r, "${1}k8s_cluster")
			},
		},
		{
			name: "showMultiCluster",
			spec: func(s *slo.Spec) { s.ShowMultiCluster = true },
			ref: func(r string) string {
				return strings.ReplaceAll(r, "description: The Kube API server is burning too much error budget.",
					"description: 'The Kube API server is burning too much error budget on cluster {{ $labels.cluster }}.'")
			},
		},
		{
			name: "SLOs.apiserver.target",
			spec: func(s *slo.Spec) { s.Objective = 0.995 },
			ref:  func(r string) string { return strings.ReplaceAll(r, "0.01000", "0.00500") },
		},
		{
			name: "SLOs.apiserver.days",
			spec: func(s *slo.Spec) { s.Period = slo.Duration(28 * 24 * 3600 * 1e9) },
			ref: func(r string) string {
				r = strings.ReplaceAll(r, "30d", "28d")
				return strings.ReplaceAll(r, "* 24 * 30", "* 24 * 28")
			},
		},
		{
			name: "SLOs.apiserver.windows without 3d/6h",
			spec: func(s *slo.Spec) { s.Alert.Windows = s.Alert.Windows[:3] },
			ref:  func(r string) string { return dropRules(r, "apiserver_request:burnrate3d", "burnrate3d)") },
		},
		{
			name: "kubeApiserverReadNamespaceLatency",
			spec: func(s *slo.Spec) { s.SLOs[0].Latency[1].Seconds = 10 },
			ref: func(r string) string {
				return strings.ReplaceAll(r, `scope="namespace",le=~"5(\\.0)?"`, `scope="namespace",le=~"10(\\.0)?"`)
			},
		},
		{
			name: "kubeApiserverWriteLatency",
			spec: func(s *slo.Spec) { s.SLOs[1].Latency[0].Seconds = 2.5 },
			ref: func(r string) string {
				return regexp.MustCompile(`(verb=~"POST\|PUT\|PATCH\|DELETE",(?:subresource!~"proxy\|attach\|log\|exec\|portforward",)?)le=~"1\(\\\\\.0\)\?"`).
					ReplaceAllString(r, `${1}le="2.5"`)
			},
		},
		{
			name: "kubeApiserverReadSelector",
			spec: func(s *slo.Spec) { s.SLOs[0].Selector = `verb=~"LIST|GET|WATCH"` },
			// code_verb:…:increase1h keeps the mixin's fixed verb list.
			ref: func(r string) string { return strings.ReplaceAll(r, `verb=~"LIST|GET"`, `verb=~"LIST|GET|WATCH"`) },
		},
		{
			name: "kubeApiserverNonStreamingSelector",
			spec: func(s *slo.Spec) { s.Latency.Selector = `subresource!~"proxy|log"` },
			ref: func(r string) string {
				return strings.ReplaceAll(r, `subresource!~"proxy|attach|log|exec|portforward"`, `subresource!~"proxy|log"`)
			},
		},
		{
			name: "runbookURLPattern",
			spec: func(s *slo.Spec) { s.Alert.RunbookURLPattern = "https://runbooks.example.com/%s.md" },
			ref: func(r string) string {
				return strings.ReplaceAll(r, "https://github.com/kubernetes-monitoring/kubernetes-mixin/tree/master/runbook.md#alert-name-kubeapierrorbudgetburn",
					"https://runbooks.example.com/kubeapierrorbudgetburn.md")
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := slo.Default()
			tc.spec(s)
			if errs := s.Validate(); len(errs) > 0 {
				t.Fatalf("knob makes an invalid spec: %v", errs)
			}
			edited := tc.ref(ref)
			if edited == ref {
				t.Fatal("the reference edit changed nothing")
			}
			want := canonical(t, "edited reference", []byte(edited))
			got := canonical(t, "generated", renderMixin(t, s))
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("(-edited reference +generated):\n%s", d)
			}
			// The knob must matter: the output differs from the default's.
			if cmp.Equal(got, canonical(t, "default", renderMixin(t, slo.Default()))) {
				t.Error("the knob did not change the output")
			}
		})
	}
}

// dropRules removes from a rendered rule file every rule whose text
// contains one of the markers.
func dropRules(file string, markers ...string) string {
	parts := regexp.MustCompile(`(?m)^  - `).Split(file, -1)
	var b strings.Builder
	b.WriteString(parts[0])
	for _, p := range parts[1:] {
		drop := false
		for _, m := range markers {
			drop = drop || strings.Contains(p, m)
		}
		if !drop {
			b.WriteString("  - " + p)
		}
	}
	return b.String()
}
