package ruletest

import (
	"slices"
	"sync"

	"github.com/prometheus/prometheus/promql/parser"
)

// exprCache is the parser.Parser of a test group's query engine. The rule
// manager hands every rule's query to the engine as a string at every
// evaluation step, and the engine parses it again each time; with the same
// few dozen rules evaluated at hundreds of steps, parsing (and compiling the
// regular expressions of the label matchers) is a large share of the work.
// exprCache parses each distinct string once and then returns deep copies of
// that first result.
//
// Why this cannot change an outcome: ParseExpr is a pure function of its
// input for a given parser.Options (the wrapped parser is the one promtool
// uses, with no state), so the first parse of a string is equal to every
// later parse of it. The engine mutates the tree it gets (PreprocessExpr
// wraps step-invariant parts, offsets and @ timestamps are resolved,
// selectors get their series attached), so each query gets its own copy
// that shares no mutable memory with the cached tree or with other copies:
// cloneExpr copies every node, slice and pointer. It shares only what
// nothing ever mutates and the parser itself shares between trees, the
// *parser.Function entries of calls and the compiled *labels.Matcher values
// of selectors. A string that does not parse is not cached; it is parsed
// again each time, with the wrapped parser's partial tree and error. A tree
// in a shape cloneExpr does not know (which the parser does not produce)
// is not cached either.
type exprCache struct {
	parser.Parser

	mu    sync.Mutex
	exprs map[string]parser.Expr // pristine: never handed out
}

func newExprCache(p parser.Parser) *exprCache {
	return &exprCache{Parser: p, exprs: map[string]parser.Expr{}}
}

// ParseExpr implements parser.Parser.
func (c *exprCache) ParseExpr(input string) (parser.Expr, error) {
	c.mu.Lock()
	cached, ok := c.exprs[input]
	c.mu.Unlock()
	if ok {
		if e, ok := cloneExpr(cached); ok {
			return e, nil
		}
	}
	e, err := c.Parser.ParseExpr(input)
	if err != nil {
		return e, err
	}
	if pristine, ok := cloneExpr(e); ok {
		c.mu.Lock()
		c.exprs[input] = pristine
		c.mu.Unlock()
	}
	return e, nil
}

// cloneExpr returns a deep copy of e, or false if e holds a node type or
// state the parser does not produce.
func cloneExpr(e parser.Expr) (parser.Expr, bool) {
	if e == nil {
		return nil, true
	}
	ok := true
	// sub clones a child expression; a failure anywhere fails the whole copy.
	sub := func(x parser.Expr) parser.Expr {
		c, cok := cloneExpr(x)
		ok = ok && cok
		return c
	}
	dur := func(d *parser.DurationExpr) *parser.DurationExpr {
		if d == nil {
			return nil
		}
		c := *d
		c.LHS, c.RHS = sub(d.LHS), sub(d.RHS)
		return &c
	}
	switch n := e.(type) {
	case *parser.AggregateExpr:
		if n == nil {
			return e, true
		}
		c := *n
		c.Expr, c.Param = sub(n.Expr), sub(n.Param)
		c.Grouping = slices.Clone(n.Grouping)
		return &c, ok
	case *parser.BinaryExpr:
		if n == nil {
			return e, true
		}
		c := *n
		c.LHS, c.RHS = sub(n.LHS), sub(n.RHS)
		if n.VectorMatching != nil {
			vm := *n.VectorMatching
			vm.MatchingLabels = slices.Clone(vm.MatchingLabels)
			vm.Include = slices.Clone(vm.Include)
			vm.FillValues.LHS = clonePtr(vm.FillValues.LHS)
			vm.FillValues.RHS = clonePtr(vm.FillValues.RHS)
			c.VectorMatching = &vm
		}
		return &c, ok
	case *parser.DurationExpr:
		if n == nil {
			return e, true
		}
		return dur(n), ok
	case *parser.Call:
		if n == nil {
			return e, true
		}
		c := *n
		if n.Args != nil {
			c.Args = make(parser.Expressions, len(n.Args))
			for i, a := range n.Args {
				c.Args[i] = sub(a)
			}
		}
		return &c, ok
	case *parser.MatrixSelector:
		if n == nil {
			return e, true
		}
		c := *n
		c.VectorSelector = sub(n.VectorSelector)
		c.RangeExpr = dur(n.RangeExpr)
		return &c, ok
	case *parser.SubqueryExpr:
		if n == nil {
			return e, true
		}
		c := *n
		c.Expr = sub(n.Expr)
		c.RangeExpr = dur(n.RangeExpr)
		c.OriginalOffsetExpr = dur(n.OriginalOffsetExpr)
		c.StepExpr = dur(n.StepExpr)
		c.Timestamp = clonePtr(n.Timestamp)
		return &c, ok
	case *parser.NumberLiteral:
		if n == nil {
			return e, true
		}
		c := *n
		return &c, true
	case *parser.ParenExpr:
		if n == nil {
			return e, true
		}
		c := *n
		c.Expr = sub(n.Expr)
		return &c, ok
	case *parser.StringLiteral:
		if n == nil {
			return e, true
		}
		c := *n
		return &c, true
	case *parser.UnaryExpr:
		if n == nil {
			return e, true
		}
		c := *n
		c.Expr = sub(n.Expr)
		return &c, ok
	case *parser.StepInvariantExpr:
		if n == nil {
			return e, true
		}
		c := *n
		c.Expr = sub(n.Expr)
		return &c, ok
	case *parser.VectorSelector:
		if n == nil {
			return e, true
		}
		if n.UnexpandedSeriesSet != nil || n.Series != nil {
			return nil, false // evaluation state: never in a parser's result
		}
		c := *n
		c.OriginalOffsetExpr = dur(n.OriginalOffsetExpr)
		c.Timestamp = clonePtr(n.Timestamp)
		c.LabelMatchers = slices.Clone(n.LabelMatchers)
		return &c, ok
	default:
		return nil, false
	}
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
