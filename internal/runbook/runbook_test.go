package runbook

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

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
	page, err := renderSpec(slo.Default())
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
	if len(blocks) != len(page.Queries) || len(page.Queries) != len(Steps) {
		t.Fatalf("%d promql blocks, %d queries, %d steps; want one of each per step", len(blocks), len(page.Queries), len(Steps))
	}
	for i, q := range page.Queries {
		if q.Step != Steps[i] || blocks[i][1] != q.PromQL {
			t.Errorf("block %d is not the query of step %s", i, Steps[i])
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

// TestSections: the page's "### Step N" headings are the table's sections,
// numbered from 0 in table order, each with the anchor of its heading, its
// steps' blocks and its fix.
func TestSections(t *testing.T) {
	r, err := newSpec(slo.Default())
	if err != nil {
		t.Fatal(err)
	}
	page, err := r.Page()
	if err != nil {
		t.Fatal(err)
	}
	md := string(page.Markdown)
	secs := r.Sections()
	heads := regexp.MustCompile(`(?m)^### (.*)$`).FindAllStringSubmatch(md, -1)
	if len(heads) != len(secs) || len(secs) != len(table) {
		t.Fatalf("%d headings, %d sections, %d table entries", len(heads), len(secs), len(table))
	}
	var steps []Step
	for i, sec := range secs {
		if sec.Number != i || heads[i][1] != sec.Heading || sec.Heading != fmt.Sprintf("Step %d: %s", i, table[i].Title) {
			t.Errorf("section %d: number %d, heading %q; the page has %q", i, sec.Number, sec.Heading, heads[i][1])
		}
		if sec.Anchor != anchor(sec.Heading) {
			t.Errorf("section %d: anchor %q", i, sec.Anchor)
		}
		// The section's text runs to the next heading.
		body := md[strings.Index(md, "### "+sec.Heading):]
		if next := strings.Index(body[4:], "\n#"); next >= 0 {
			body = body[:next+4]
		}
		for _, st := range sec.Steps {
			got, ok := r.SectionOf(st)
			if !ok || got.Number != i {
				t.Errorf("step %s: SectionOf = %d, %v; want %d", st, got.Number, ok, i)
			}
			q := page.Queries[slices.Index(Steps, st)]
			if !strings.Contains(body, "```promql\n"+q.PromQL+"\n```") {
				t.Errorf("step %s: its block is not in section %d", st, i)
			}
		}
		if (sec.Fix != "") != strings.Contains(body, "\n**Fix:** "+sec.Fix+"\n") {
			t.Errorf("section %d: fix %q is not the page's", i, sec.Fix)
		}
		steps = append(steps, sec.Steps...)
	}
	if !slices.Equal(steps, Steps) {
		t.Errorf("sections hold %v, want %v", steps, Steps)
	}
	for _, n := range []int{5, 6, 7, 8, 9, 10, 11} {
		if secs[n].Fix == "" {
			t.Errorf("section %d (%q) has no fix", n, secs[n].Heading)
		}
	}
	if _, ok := r.SectionOf("nope"); ok {
		t.Error("SectionOf finds an unknown step")
	}
}

// TestTable: step ids are unique, every step has a query, and every route
// leads to a known step that its bullet names.
func TestTable(t *testing.T) {
	r, err := newSpec(slo.Default())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[Step]bool{}
	for _, sec := range table {
		if len(sec.Steps) == 0 {
			t.Errorf("section %q has no step", sec.Title)
		}
		for _, st := range sec.Steps {
			if seen[st.ID] || st.ID == "" || st.Query == nil {
				t.Errorf("step %q: empty, twice or without a query", st.ID)
			}
			seen[st.ID] = true
			if st.Culprit == CulpritRequests && len(st.Routes) == 0 {
				t.Errorf("step %s names requests but routes nowhere", st.ID)
			}
		}
	}
	for _, sec := range r.sections {
		for _, st := range sec.Steps {
			for _, rt := range st.Routes {
				to, ok := r.SectionOf(rt.To)
				if !ok {
					t.Errorf("step %s routes to unknown step %s", st.ID, rt.To)
					continue
				}
				if want := fmt.Sprintf("Step %d", to.Number); !strings.Contains(rt.Detail, want) {
					t.Errorf("step %s: the bullet of the route to %s does not say %q: %s", st.ID, rt.To, want, rt.Detail)
				}
			}
		}
	}
}

// TestRoute: the first route that matches wins; one without a match is the
// fallback.
func TestRoute(t *testing.T) {
	found := func(steps ...Step) func(Step) []map[string]string {
		return func(st Step) []map[string]string {
			switch {
			case !slices.Contains(steps, st):
				return nil
			case st == StepAPIServices:
				return []map[string]string{{"name": "v3.projectcalico.org"}}
			}
			return []map[string]string{{"flow_schema": "x"}}
		}
	}
	apis, none := found(StepAPIServices), found()
	tests := []struct {
		step Step
		row  map[string]string
		rows func(Step) []map[string]string
		want Step
	}{
		{StepErrors, map[string]string{"code": "503", "group": "projectcalico.org", "verb": "LIST"}, apis, StepAPIServices},
		{StepErrors, map[string]string{"code": "504", "group": "projectcalico.org", "verb": "LIST"}, apis, StepAPIServices},
		{StepErrors, map[string]string{"code": "503", "group": "metrics.k8s.io", "verb": "GET"}, apis, StepInstanceErrors},
		// The OpenAPI document and discovery of an aggregated group (recordings/v1.34.2/aggregated-hang).
		{StepErrors, map[string]string{"code": "503", "subresource": "openapi/v3/", "verb": "GET"}, apis, StepAPIServices},
		{StepErrors, map[string]string{"code": "503", "subresource": "/apis/projectcalico.org/v3", "verb": "GET"}, apis, StepAPIServices},
		{StepErrors, map[string]string{"code": "503", "subresource": "openapi/v3/", "verb": "GET"}, none, StepInstanceErrors},
		{StepErrors, map[string]string{"code": "500", "verb": "PUT"}, apis, StepWebhookErrors},
		{StepErrors, map[string]string{"code": "504", "verb": "LIST"}, apis, StepTerminations},
		{StepErrors, map[string]string{"code": "500", "verb": "GET"}, apis, StepInstanceErrors},
		{StepSlow, map[string]string{"verb": "LIST", "scope": "cluster", "resource": "pods"}, apis, StepListFetched},
		{StepSlow, map[string]string{"verb": "LIST", "scope": "cluster", "resource": "pods"}, found(StepAPFRejections), StepListFetched},
		{StepSlow, map[string]string{"verb": "PUT", "scope": "resource", "resource": "leases"}, apis, StepEtcdLatency},
		{StepSlow, map[string]string{"verb": "PUT", "scope": "resource", "resource": "leases"}, found(StepAPFRejections), StepAPFRejections},
		{StepSlow, map[string]string{"verb": "GET"}, apis, StepAPIServices},
		{StepSlow, map[string]string{"verb": "GET"}, none, ""},
		{StepEtcdLatency, map[string]string{"operation": "get"}, apis, ""},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %v", tc.step, tc.row), func(t *testing.T) {
			got, ok := tc.step.Route(tc.row, tc.rows)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("Route = %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
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
		{"no latency selector", func(s *slo.Spec) { s.Latency.Selector = "" },
			[]string{"): 1s.\n\nTime spent in admission webhooks"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page, err := renderSpec(specWith(tc.edit))
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
		{"no SLO counts slow requests", func(s *slo.Spec) {
			s.Latency = slo.Latency{}
			for i := range s.SLOs {
				s.SLOs[i].Kind, s.SLOs[i].Latency = slo.KindErrors, nil
			}
		}, `slos: no SLO counts slow requests, and a spec without service gets the kube-apiserver's runbook, which follows slow requests as well as failed ones; give an SLO latency thresholds (kind errors-and-latency, as in the embedded spec), or add the line "service: kube-apiserver" for a runbook built from these SLOs`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderSpec(specWith(tc.edit))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestSnippetErrors: a snippet that names an unknown step fails.
func TestSnippetErrors(t *testing.T) {
	for _, text := range []string{`{{step "nope"}}`, `{{link "nope"}}`, `{{num "nope"}}`, `{{.NoSuchField}}`} {
		if _, err := snippet(table, text, &pageData{}); err == nil {
			t.Errorf("snippet %s: no error", text)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	for in, want := range map[string]string{"30s": "1m", "8m38s": "9m", "2h": "2h", "3h51m": "3h 51m", "50h": "2d 2h", "720h": "30d"} {
		d, _ := time.ParseDuration(in)
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%s) = %s, want %s", in, got, want)
		}
	}
	if got := splitCamel("KubeAPIErrorBudgetBurn"); got != "Kube API Error Budget Burn" {
		t.Errorf("splitCamel = %q", got)
	}
}

func TestAnchor(t *testing.T) {
	for in, want := range map[string]string{
		"Step 6: Is an aggregated API down?":               "step-6-is-an-aggregated-api-down",
		"Step 9: Expensive LISTs or a broken watch cache?": "step-9-expensive-lists-or-a-broken-watch-cache",
		"Step 1: Which SLI burns, and how fast?":           "step-1-which-sli-burns-and-how-fast",
		"snake_case and dashes-kept":                       "snake_case-and-dashes-kept",
	} {
		if got := anchor(in); got != want {
			t.Errorf("anchor(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStepFlags: the flags diagnose reads come from the table; an unknown
// step has none and is never a culprit.
func TestStepFlags(t *testing.T) {
	tests := []struct {
		step                          Step
		known, finder, adds, eventual bool
		culprit                       Culprit
	}{
		{StepProbe, true, false, false, false, CulpritNever},
		{StepTerms, true, false, true, false, CulpritNever},
		{StepErrors, true, false, true, false, CulpritRequests},
		{StepInstanceLatency, true, false, false, false, CulpritWhenStandsOut},
		{StepAPIServices, true, true, false, false, CulpritWhenRouted},
		{StepWatchCache, true, true, true, true, CulpritWhenRouted},
		{StepEtcdLatency, true, false, false, false, CulpritWhenRouted},
		{StepEtcdTime, true, false, true, false, CulpritWhenRouted},
		{"nope", false, false, false, false, CulpritNever},
	}
	for _, tc := range tests {
		t.Run(string(tc.step), func(t *testing.T) {
			st := tc.step
			if st.Known() != tc.known || st.Finder() != tc.finder || st.Adds() != tc.adds || st.Eventual() != tc.eventual || st.Culprit() != tc.culprit {
				t.Errorf("known %v finder %v adds %v eventual %v culprit %v; want %v %v %v %v %v",
					st.Known(), st.Finder(), st.Adds(), st.Eventual(), st.Culprit(), tc.known, tc.finder, tc.adds, tc.eventual, tc.culprit)
			}
		})
	}
}
