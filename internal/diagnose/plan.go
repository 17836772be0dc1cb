package diagnose

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// Section is a numbered section of the runbook page's Diagnosis, as the
// report shows it.
type Section struct {
	// Number is the step number of the heading "Step N: ...".
	Number int `json:"number"`
	// Title is the heading without its hashes, e.g. "Step 6: Is an
	// aggregated API down?".
	Title string `json:"title"`
	// URL is the runbook page's address with the section's anchor.
	URL string `json:"url,omitempty"`
	// Fix is the section's "Fix:" paragraph, if it has one.
	Fix string `json:"fix,omitempty"`
}

// PlannedStep is one drill-down query, ready to run.
type PlannedStep struct {
	Step    runbook.Step
	Query   string
	Finder  bool
	Section Section
	// Entry is what the runbook's table says of the step.
	Entry runbook.Entry
	// Metrics lists the metric names the query reads.
	Metrics []string
	// expr is the query, parsed (nil: every metric of Metrics is needed).
	expr parser.Expr
}

// Plan is the runbook's drill-down queries for one window and cluster.
type Plan struct {
	Spec    *slo.Spec
	Window  time.Duration
	Cluster string
	Steps   []PlannedStep
	// runbook is the runbook the steps come from; url its page's address.
	runbook *runbook.Runbook
	url     string
	// model is the spec read for the optimized profile: the SLI-health
	// checks come from it.
	model *slomodel.Model
}

// Windows lists the windows of the spec's alert pairs, long and short.
func Windows(s *slo.Spec) []time.Duration {
	var out []time.Duration
	for _, w := range s.Windows() {
		out = append(out, time.Duration(w))
	}
	return out
}

// NewPlan renders the runbook of spec s and rewrites its queries to read
// window (one of the spec's alert windows; 0 means the runbook's own) and,
// when cluster is not empty, only that cluster's series.
func NewPlan(s *slo.Spec, window time.Duration, cluster string) (*Plan, error) {
	m, err := slomodel.New(s, slomodel.ProfileOptimized)
	if err != nil {
		return nil, err
	}
	rb, err := runbook.New(m)
	if err != nil {
		return nil, err
	}
	queries, err := rb.Queries(rb.Window)
	if err != nil {
		return nil, err
	}
	if window == 0 {
		window = rb.Window
	}
	if !slices.Contains(Windows(s), window) {
		var ws []string
		for _, w := range Windows(s) {
			ws = append(ws, model.Duration(w).String())
		}
		return nil, fmt.Errorf("window %s is not one of the alert's windows (%s)", model.Duration(window), strings.Join(ws, ", "))
	}
	p := &Plan{Spec: s, Window: window, Cluster: cluster, runbook: rb, url: rb.RunbookURL(), model: m}
	var cm *labels.Matcher
	if cluster != "" {
		cm = labels.MustNewMatcher(labels.MatchEqual, s.ClusterLabel, cluster)
	}
	prs := parser.NewParser(parser.Options{})
	for _, q := range queries {
		expr, err := prs.ParseExpr(q.PromQL)
		if err != nil {
			return nil, fmt.Errorf("runbook step %s: %w", q.Step, err)
		}
		metrics := rewrite(expr, rb.Window, window, cm)
		p.Steps = append(p.Steps, PlannedStep{
			Step: q.Step, Query: expr.String(), Finder: q.Finder, Section: p.section(q.Step), Entry: rb.Entry(q.Step), Metrics: metrics, expr: expr,
		})
	}
	return p, nil
}

// rewrite sets every range of length from to to, adds matcher cm (if not
// nil) to every selector, and returns the metric names read.
func rewrite(expr parser.Expr, from, to time.Duration, cm *labels.Matcher) []string {
	var names []string
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.MatrixSelector:
			if n.Range == from {
				n.Range = to
			}
		case *parser.VectorSelector:
			if cm != nil && !slices.ContainsFunc(n.LabelMatchers, func(m *labels.Matcher) bool { return m.Name == cm.Name }) {
				n.LabelMatchers = append(n.LabelMatchers, cm)
			}
			for _, m := range n.LabelMatchers {
				if m.Name != labels.MetricName {
					continue
				}
				if m.Type == labels.MatchEqual {
					names = append(names, m.Value)
				}
			}
		}
		return nil
	})
	slices.Sort(names)
	return slices.Compact(names)
}

// missingMetrics lists the metrics of expr that have no series (present)
// as far as they keep expr from returning anything: an `or` misses only
// when both its sides do, and the right side of `unless` never keeps the
// left from returning. So a query that reads another version's or
// source's metric as an alternative (Step 9's watch-cache series, which
// kube-apiserver 1.37 hides: lab/recordings/v1.37.2) still runs on the
// one there is.
func missingMetrics(expr parser.Expr, present map[string]bool) []string {
	switch n := expr.(type) {
	case *parser.BinaryExpr:
		l, r := missingMetrics(n.LHS, present), missingMetrics(n.RHS, present)
		switch n.Op {
		case parser.LOR:
			if len(l) == 0 || len(r) == 0 {
				return nil
			}
		case parser.LUNLESS:
			return l
		}
		return append(l, r...)
	case *parser.VectorSelector:
		var out []string
		for _, m := range n.LabelMatchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual && !present[m.Value] {
				out = append(out, m.Value)
			}
		}
		return out
	}
	var out []string
	for _, c := range parser.Children(expr) {
		if e, ok := c.(parser.Expr); ok {
			out = append(out, missingMetrics(e, present)...)
		}
	}
	return out
}

// entry is what the plan's runbook says of step st.
func (p *Plan) entry(st runbook.Step) runbook.Entry { return p.runbook.Entry(st) }

// section is the report's view of the runbook section that holds step st:
// its heading, its address on the runbook page and its fix.
func (p *Plan) section(st runbook.Step) Section {
	sec, ok := p.runbook.SectionOf(st)
	if !ok {
		return Section{}
	}
	out := Section{Number: sec.Number, Title: sec.Heading, Fix: sec.Fix}
	if p.url != "" {
		out.URL = p.url + "#" + sec.Anchor
	}
	return out
}
