package importspec

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/slo"
)

// Counter is a query another tool's spec gives for a count of events, read
// down to the one counter it selects: the series selector, without the
// functions and sums around it, which burnrate writes itself for each
// window.
type Counter struct {
	Metric   string
	Matchers []*labels.Matcher // without __name__, as written
	// Rated says the query took the counter's rate or increase (so it
	// counts events even where its spec calls it a gauge).
	Rated bool
}

// ParseCounter reads query q (Sloth's {{.window}} allowed) as a count of
// events over time of one counter: a series selector, its rate or
// increase over any range, or the sum of either without grouping (the
// whole service's events, as the spec's SLI means them).
func ParseCounter(q string) (Counter, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(slo.WithWindow(q, slo.Duration(5*time.Minute)))
	if err != nil {
		return Counter{}, fmt.Errorf("does not parse as PromQL: %v", err)
	}
	shape := "want a counter's series selector, its rate or increase, or sum(...) of either, e.g. sum(rate(http_requests_total{job=\"api\"}[5m]))"
	rated := false
	if a, ok := e.(*parser.AggregateExpr); ok {
		if a.Op != parser.SUM || len(a.Grouping) > 0 || a.Without {
			return Counter{}, fmt.Errorf("%s by or without labels keeps one SLI per label set, and burnrate's SLI is the whole service's; %s", a.Op, shape)
		}
		e = a.Expr
	}
	if p, ok := e.(*parser.ParenExpr); ok {
		e = p.Expr
	}
	if c, ok := e.(*parser.Call); ok {
		if (c.Func.Name != "rate" && c.Func.Name != "increase") || len(c.Args) != 1 {
			return Counter{}, fmt.Errorf("%s(...): %s", c.Func.Name, shape)
		}
		m, ok := c.Args[0].(*parser.MatrixSelector)
		if !ok {
			return Counter{}, fmt.Errorf("%s", shape)
		}
		e, rated = m.VectorSelector, true
	}
	vs, ok := e.(*parser.VectorSelector)
	if !ok || vs.OriginalOffset != 0 || vs.Timestamp != nil || vs.StartOrEnd != 0 {
		return Counter{}, fmt.Errorf("%s", shape)
	}
	c := Counter{Metric: vs.Name, Rated: rated}
	for _, m := range vs.LabelMatchers {
		if m.Name == labels.MetricName {
			if m.Type != labels.MatchEqual {
				return Counter{}, fmt.Errorf("selects metrics by a pattern of names; %s", shape)
			}
			c.Metric = m.Value
			continue
		}
		c.Matchers = append(c.Matchers, m)
	}
	if c.Metric == "" {
		return Counter{}, fmt.Errorf("names no metric; %s", shape)
	}
	return c, nil
}

// Selector prints matchers as written between braces.
func Selector(ms []*labels.Matcher) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, m.String())
	}
	return strings.Join(parts, ", ")
}

// RateQuery is burnrate's raw query for c: the sum of its rate over the
// window placeholder.
func RateQuery(c Counter) string {
	return fmt.Sprintf("sum(rate(%s{%s}[%s]))", c.Metric, Selector(c.Matchers), slo.WindowPlaceholder)
}

// Extra is the matchers of sup that sub lacks, and whether sup has every
// matcher of sub (compared as written: job="a" is not job=~"a").
func Extra(sub, sup []*labels.Matcher) ([]*labels.Matcher, bool) {
	has := func(ms []*labels.Matcher, m *labels.Matcher) bool {
		return slices.ContainsFunc(ms, func(o *labels.Matcher) bool { return o.String() == m.String() })
	}
	var extra []*labels.Matcher
	for _, m := range sup {
		if !has(sub, m) {
			extra = append(extra, m)
		}
	}
	for _, m := range sub {
		if !has(sup, m) {
			return extra, false
		}
	}
	return extra, true
}

// Negate is the matcher that selects exactly the series m does not (a
// missing label counts as the empty value for both).
func Negate(m *labels.Matcher) *labels.Matcher {
	t := map[labels.MatchType]labels.MatchType{
		labels.MatchEqual: labels.MatchNotEqual, labels.MatchNotEqual: labels.MatchEqual,
		labels.MatchRegexp: labels.MatchNotRegexp, labels.MatchNotRegexp: labels.MatchRegexp,
	}[m.Type]
	return labels.MustNewMatcher(t, m.Name, m.Value)
}

// Without is ms without the matchers on label name.
func Without(ms []*labels.Matcher, name string) []*labels.Matcher {
	return slices.DeleteFunc(slices.Clone(ms), func(m *labels.Matcher) bool { return m.Name == name })
}
