package testgen

import (
	"fmt"

	"github.com/burnrate/burnrate/internal/promtest"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// selectedInputs keeps the input series of g that some selector of the
// rules or of g's assertions selects, in their order. A series that no
// selector matches takes part in no rule and no assertion, so leaving it
// out changes no result: the scenarios keep whole histograms for the
// end-to-end tests, the promtool file only what it reads (e.g. _sum
// series whose _count and _bucket series the queries use).
func selectedInputs(g *promtest.Group, rules []rulefmt.RuleGroup) error {
	p := parser.NewParser(parser.Options{})
	var sels [][]*labels.Matcher
	collect := func(expr string) error {
		e, err := p.ParseExpr(expr)
		if err != nil {
			return fmt.Errorf("%w:\n%s", err, expr)
		}
		parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
			if v, ok := n.(*parser.VectorSelector); ok {
				sels = append(sels, v.LabelMatchers)
			}
			return nil
		})
		return nil
	}
	for _, rg := range rules {
		for _, r := range rg.Rules {
			if err := collect(r.Expr); err != nil {
				return err
			}
		}
	}
	for _, et := range g.PromQLExprTests {
		if err := collect(et.Expr); err != nil {
			return err
		}
	}
	kept := g.InputSeries[:0]
	for _, in := range g.InputSeries {
		ls, err := p.ParseMetric(in.Series)
		if err != nil {
			return fmt.Errorf("input series %s: %w", in.Series, err)
		}
		if selected(ls, sels) {
			kept = append(kept, in)
		}
	}
	g.InputSeries = kept
	return nil
}

// selected reports whether some selector of sels matches the series ls.
func selected(ls labels.Labels, sels [][]*labels.Matcher) bool {
	for _, ms := range sels {
		all := true
		for _, m := range ms {
			if !m.Matches(ls.Get(m.Name)) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}
