package generator

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/incident"
	"github.com/burnrate/burnrate/slo"
)

var promqlBlock = regexp.MustCompile("(?s)```promql\n(.*?)\n```")

// specWith returns the embedded spec changed by edit.
func specWith(edit func(*slo.Spec)) *slo.Spec {
	s := slo.Default()
	if edit != nil {
		edit(s)
	}
	return s
}

func TestRunbookPage(t *testing.T) {
	page, err := Runbook(slo.Default())
	if err != nil {
		t.Fatal(err)
	}
	md := string(page.Markdown)
	if page.Path != "kubernetes/KubeAPIErrorBudgetBurn.md" {
		t.Errorf("path %q", page.Path)
	}
	if !strings.HasPrefix(md, "---\ntitle: Kube API Error Budget Burn\nweight: 20\n---\n") {
		t.Errorf("front matter:\n%.80s", md)
	}
	// The page's sections in order, as the prometheus-operator runbooks have them.
	last := -1
	for _, h := range []string{"\n# KubeAPIErrorBudgetBurn\n", "\n## Meaning\n", "\n## Impact\n", "\n## Diagnosis\n", "\n## Mitigation\n"} {
		i := strings.Index(md, h)
		if i <= last {
			t.Errorf("heading %q missing or out of order", strings.TrimSpace(h))
		}
		last = i
	}
	// Numbers rendered from the spec: thresholds, budget spent before
	// firing, time to exhaustion, detection times.
	for _, want := range []string{
		"| 1h / 5m | critical | 14.4 | 14.4% | 2m | 2% | 2d 2h | 11m | never | never |",
		"| 3d / 6h | warning | 1 | 1% | 3h | 10% | 30d | 3h 43m | 10h 12m | 1d 15h |",
		"Each reads the last `1h`",
		"`read` (`verb=~\"LIST|GET\"`): 1s for scope resource or none; 5s for scope namespace; 30s for scope cluster.",
		"`write` (`verb=~\"POST|PUT|PATCH|DELETE|APPLY|DELETECOLLECTION\"`): 1s.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	blocks := promqlBlock.FindAllStringSubmatch(md, -1)
	if len(blocks) != len(page.Queries) || len(page.Queries) != len(incident.Steps) {
		t.Fatalf("%d promql blocks, %d queries, %d steps; want one of each per step", len(blocks), len(page.Queries), len(incident.Steps))
	}
	for i, q := range page.Queries {
		if q.Step != incident.Steps[i] || blocks[i][1] != q.PromQL {
			t.Errorf("block %d is not the query of step %s", i, incident.Steps[i])
		}
	}
	// Every anchor the decision tree links to exists.
	for _, m := range regexp.MustCompile(`\]\(#([a-z0-9-]+)\)`).FindAllStringSubmatch(md, -1) {
		if !strings.Contains(md, "\n### "+headingFor(m[1], md)) {
			t.Errorf("link #%s has no heading", m[1])
		}
	}
}

// headingFor finds the heading whose anchor is a, or "" (no match).
func headingFor(a, md string) string {
	for _, l := range strings.Split(md, "\n") {
		if h, ok := strings.CutPrefix(l, "### "); ok && anchor(h) == a {
			return h
		}
	}
	return "\x00"
}

// anchor is the id a Markdown renderer gives a heading.
func anchor(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// TestRunbookFromSpec: selectors, labels and numbers come from the spec;
// values that need escaping stay valid PromQL.
func TestRunbookFromSpec(t *testing.T) {
	tests := []struct {
		name string
		edit func(*slo.Spec)
		want []string
	}{
		{"selector and cluster label", func(s *slo.Spec) {
			s.Selector = `job="apiserver",namespace="default"`
			s.ClusterLabel = "k8s_cluster"
		}, []string{`rate(etcd_request_duration_seconds_bucket{job="apiserver",namespace="default"}[1h])`, "sum by (k8s_cluster, instance)", "Add `k8s_cluster=\"<cluster>\"`"}},
		{"a value that needs quoting", func(s *slo.Spec) { s.Selector = `job="kube \"api\" server"` },
			[]string{`aggregator_unavailable_apiservice{job="kube \"api\" server"}`}},
		{"objective and windows", func(s *slo.Spec) {
			s.Objective = 0.999
			s.Alert.Windows = []slo.Window{{Long: slo.Duration(2 * 3600e9), Short: slo.Duration(600e9), Factor: 10, Severity: "page", For: slo.Duration(300e9)}}
		}, []string{"99.9% good requests", "| 2h / 10m | page | 10 | 1% | 5m | 2.78% | 3d | 6m | never | never |", "apiserver_request:burnrate2h / 0.001", "Each reads the last `2h`", "[2h]"}},
		{"no latency selector everywhere", func(s *slo.Spec) { s.Fixes.LatencySelectorEverywhere = false },
			[]string{"are never slow, but their errors count"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page, err := Runbook(specWith(tc.edit))
			if err != nil {
				t.Fatal(err)
			}
			md := string(page.Markdown)
			for _, w := range tc.want {
				if !strings.Contains(md, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			p := parser.NewParser(parser.Options{})
			for _, q := range page.Queries {
				if _, err := p.ParseExpr(q.PromQL); err != nil {
					t.Errorf("step %s does not parse: %v", q.Step, err)
				}
			}
		})
	}
}

func TestRunbookRejectsBadSpec(t *testing.T) {
	tests := []struct {
		name string
		edit func(*slo.Spec)
		want string
	}{
		{"metric name in the selector", func(s *slo.Spec) { s.Selector = `__name__="up",job="x"` }, `selector: the matcher __name__="up" would give every drill-down metric of the runbook a second name`},
		{"le in the latency selector", func(s *slo.Spec) { s.Latency.Selector = `le="1"` }, `latency.selector: the matcher le="1" would drop histogram buckets`},
		{"cluster label used by a step", func(s *slo.Spec) { s.ClusterLabel = "instance" }, `clusterLabel: "instance" is a label the runbook's drill-down queries group by or set`},
		{"SLI label set by a step", func(s *slo.Spec) { s.SLILabel = "term" }, `sliLabel: "term" is a label the runbook's drill-down queries group by or set`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Runbook(specWith(tc.edit))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestIncidentFits(t *testing.T) {
	tests := []struct {
		name string
		edit func(*slo.Spec)
		want string // "" fits
	}{
		{"embedded spec", nil, ""},
		{"other selector, cluster and SLI label", func(s *slo.Spec) {
			s.Selector, s.ClusterLabel, s.SLILabel = `job="apiserver"`, "k8s_cluster", "sli"
		}, ""},
		{"other objective", func(s *slo.Spec) { s.Objective = 0.999 }, "objective differs"},
		{"other windows", func(s *slo.Spec) { s.Alert.Windows = s.Alert.Windows[:1] }, "alert.windows differs"},
		{"a fix off", func(s *slo.Spec) { s.Fixes.AbsentAsZero = false }, "fixes differs"},
		{"cluster label the scenarios set", func(s *slo.Spec) { s.ClusterLabel = "host" }, `clusterLabel "host" is a label the scenarios set themselves`},
		{"selector on a label the scenarios set", func(s *slo.Spec) { s.Selector = `job="kube-apiserver",method="GET"` }, `selector sets "method", a label the scenarios set themselves`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := IncidentFits(specWith(tc.edit))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrIncidentsDoNotFit) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want ErrIncidentsDoNotFit saying %q", err, tc.want)
			}
		})
	}
}

func TestHumanDuration(t *testing.T) {
	for in, want := range map[string]string{"30s": "1m", "8m38s": "9m", "2h": "2h", "3h51m": "3h 51m", "50h": "2d 2h", "720h": "30d"} {
		d, _ := parseDur(in)
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%s) = %s, want %s", in, got, want)
		}
	}
	if got := splitCamel("KubeAPIErrorBudgetBurn"); got != "Kube API Error Budget Burn" {
		t.Errorf("splitCamel = %q", got)
	}
}

func parseDur(s string) (d time.Duration, err error) { return time.ParseDuration(s) }
