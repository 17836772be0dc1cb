// Package pql builds PromQL as syntax trees of the Prometheus parser, never
// by gluing strings, so label values are always quoted and escaped, and
// prints them in Prometheus' own layout. Every expression is printed, parsed
// again and prettified before it is written (Format).
package pql

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/series"
)

// Sel is a list of label matchers that selects series of some metric.
type Sel []*labels.Matcher

// Matches says whether a series with labels ls is selected by s.
func (s Sel) Matches(ls map[string]string) bool {
	for _, m := range s {
		if !m.Matches(ls[m.Name]) {
			return false
		}
	}
	return true
}

// and returns a new selector with the matchers of s followed by more.
func (s Sel) And(more ...*labels.Matcher) Sel {
	out := make(Sel, 0, len(s)+len(more))
	return append(append(out, s...), more...)
}

// vec selects metric with the matchers.
func Vec(metric string, ms Sel) *parser.VectorSelector {
	all := make([]*labels.Matcher, 0, len(ms)+1)
	all = append(all, labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, metric))
	all = append(all, ms...)
	return &parser.VectorSelector{Name: metric, LabelMatchers: all}
}

// rng makes a range selector over v.
func Range(v *parser.VectorSelector, d time.Duration) *parser.MatrixSelector {
	return &parser.MatrixSelector{VectorSelector: v, Range: d}
}

func Call(fn string, args ...parser.Expr) *parser.Call {
	return &parser.Call{Func: parser.MustGetFunction(fn), Args: args}
}

func SumBy(by []string, e parser.Expr) *parser.AggregateExpr {
	return &parser.AggregateExpr{Op: parser.SUM, Expr: e, Grouping: by}
}

func Bin(op parser.ItemType, l, r parser.Expr) *parser.BinaryExpr {
	return &parser.BinaryExpr{Op: op, LHS: l, RHS: r}
}

// andOn is `l and on(labels) r`.
func AndOn(l, r parser.Expr, on []string) *parser.BinaryExpr {
	return &parser.BinaryExpr{Op: parser.LAND, LHS: l, RHS: r, VectorMatching: &parser.VectorMatching{
		Card: parser.CardManyToMany, On: true, MatchingLabels: on,
	}}
}

// UnlessOn is `l unless on(labels) r`.
func UnlessOn(l, r parser.Expr, on []string) *parser.BinaryExpr {
	return &parser.BinaryExpr{Op: parser.LUNLESS, LHS: l, RHS: r, VectorMatching: &parser.VectorMatching{
		Card: parser.CardManyToMany, On: true, MatchingLabels: on,
	}}
}

func Paren(e parser.Expr) *parser.ParenExpr { return &parser.ParenExpr{Expr: e} }

func Num(v float64) *parser.NumberLiteral { return &parser.NumberLiteral{Val: v} }

// orZero is `e or vector(0)`.
func OrZero(e parser.Expr) parser.Expr { return Bin(parser.LOR, e, Call("vector", Num(0))) }

// sumOf adds terms left to right.
func SumOf(terms ...parser.Expr) parser.Expr {
	out := terms[0]
	for _, t := range terms[1:] {
		out = Bin(parser.ADD, out, t)
	}
	return out
}

func Eq(name, value string) *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchEqual, name, value)
}

func Re(name, pattern string) *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchRegexp, name, pattern)
}

// oneOf matches any of values: name="v" for one value, name=~"a|b" for more,
// with the values regexp-quoted.
func OneOf(name string, values []string) *labels.Matcher {
	if len(values) == 1 {
		return Eq(name, values[0])
	}
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = regexp.QuoteMeta(v)
	}
	return Re(name, strings.Join(q, "|"))
}

// le matches the histogram bucket with upper bound seconds, in both spellings
// of a whole number: le="1" (Prometheus 2) and le="1.0" (Prometheus 3).
func Le(seconds float64) *labels.Matcher {
	classic, float := series.Le(seconds), series.LeFloat(seconds)
	if classic != float {
		return Re("le", regexp.QuoteMeta(classic)+`(`+regexp.QuoteMeta(strings.TrimPrefix(float, classic))+`)?`)
	}
	return Eq("le", classic)
}

// Format prints e, checks that the text parses back to the same expression,
// and returns it in Prometheus' own multi-line layout (parser.Prettify, as
// promtool's and the expression browser's formatter print it), checked again
// to parse to the same tree.
//
// One change to that layout: the first line never starts with spaces.
// Prettify indents the left operand of a binary expression that it splits,
// and a string whose first line is indented is one gopkg.in/yaml.v3 cannot
// write back at its default indent: it emits a wrong indentation indicator
// (|4- where the text needs |2-) and cannot read its own output. The Thanos
// ruler (pkg/rules/manager.go, Manager.Update) and mimirtool re-marshal rule
// groups with yaml.v3 before Prometheus loads them, so an indented first line
// would break them (internal/testkit/consumers proves both paths).
func Format(e parser.Expr) (string, error) {
	p := parser.NewParser(parser.Options{})
	text := e.String()
	parsed, err := p.ParseExpr(text)
	if err != nil {
		return "", fmt.Errorf("generated PromQL does not parse: %w\n%s", err, text)
	}
	out := strings.TrimLeft(parser.Prettify(parsed), " ")
	again, err := p.ParseExpr(out)
	if err != nil || again.String() != parsed.String() {
		return "", fmt.Errorf("Prettify changed the meaning of generated PromQL (%v):\n%s", err, out)
	}
	return out, nil
}
