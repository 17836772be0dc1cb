package diagnose

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/slo"
)

// Section is a section of the runbook page.
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
	// Metrics lists the metric names the query reads.
	Metrics []string
}

// Plan is the runbook's drill-down queries for one window and cluster.
type Plan struct {
	Spec    *slo.Spec
	Window  time.Duration
	Cluster string
	Steps   []PlannedStep
	// sections by step number.
	sections map[int]Section
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
	page, err := runbook.Render(s)
	if err != nil {
		return nil, err
	}
	if window == 0 {
		window = page.Window
	}
	if !slices.Contains(Windows(s), window) {
		var ws []string
		for _, w := range Windows(s) {
			ws = append(ws, model.Duration(w).String())
		}
		return nil, fmt.Errorf("window %s is not one of the alert's windows (%s)", model.Duration(window), strings.Join(ws, ", "))
	}
	secs, byQuery := sections(page.Markdown, runbookURL(s))
	p := &Plan{Spec: s, Window: window, Cluster: cluster, sections: secs}
	var cm *labels.Matcher
	if cluster != "" {
		cm = labels.MustNewMatcher(labels.MatchEqual, s.ClusterLabel, cluster)
	}
	prs := parser.NewParser(parser.Options{})
	for _, q := range page.Queries {
		expr, err := prs.ParseExpr(q.PromQL)
		if err != nil {
			return nil, fmt.Errorf("runbook step %s: %w", q.Step, err)
		}
		metrics := rewrite(expr, page.Window, window, cm)
		p.Steps = append(p.Steps, PlannedStep{
			Step: q.Step, Query: expr.String(), Finder: q.Finder, Section: byQuery[q.PromQL], Metrics: metrics,
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

func runbookURL(s *slo.Spec) string {
	if s.Runbook.URLPattern == "" || !strings.Contains(s.Runbook.URLPattern, "%s") {
		return s.Runbook.URLPattern
	}
	return fmt.Sprintf(s.Runbook.URLPattern, strings.ToLower(s.Alert.Name))
}

var stepHeading = regexp.MustCompile(`^### Step (\d+): (.*)$`)

// sections reads the page's "### Step N" sections: their titles, anchors and
// Fix paragraphs, and which section each promql block is in.
func sections(md []byte, url string) (map[int]Section, map[string]Section) {
	secs := map[int]Section{}
	blockIn := map[string]int{}
	cur := -1
	sc := bufio.NewScanner(bytes.NewReader(md))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var block []string
	inBlock := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case inBlock && line == "```":
			inBlock = false
			blockIn[strings.Join(block, "\n")] = cur
		case inBlock:
			block = append(block, line)
		case line == "```promql":
			inBlock, block = true, nil
		case strings.HasPrefix(line, "## "):
			cur = -1
		case stepHeading.MatchString(line):
			m := stepHeading.FindStringSubmatch(line)
			n, _ := strconv.Atoi(m[1])
			title := "Step " + m[1] + ": " + m[2]
			s := Section{Number: n, Title: title}
			if url != "" {
				s.URL = url + "#" + anchor(title)
			}
			secs[n] = s
			cur = n
		case cur >= 0 && strings.HasPrefix(line, "**Fix:**"):
			s := secs[cur]
			s.Fix = strings.TrimSpace(strings.TrimPrefix(line, "**Fix:**"))
			secs[cur] = s
		}
	}
	byQuery := map[string]Section{}
	for q, n := range blockIn {
		byQuery[q] = secs[n]
	}
	// A section's Fix is filled in after its blocks are seen.
	for q, s := range byQuery {
		byQuery[q] = secs[s.Number]
	}
	return secs, byQuery
}

// anchor is GitHub's heading anchor: lower case, punctuation dropped,
// spaces to dashes.
func anchor(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}
