package ruletest

import (
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
// copyExpr (exprcopy.go) copies every node, slice and pointer by reflection,
// so it follows the parser's node types through Prometheus upgrades. It
// shares only what nothing ever mutates and the parser itself shares
// between trees, the *parser.Function entries of calls and the compiled
// *labels.Matcher values of selectors. A string that does not parse is not
// cached; it is parsed again each time, with the wrapped parser's partial
// tree and error. A tree holding something copyExpr refuses (which the
// parser does not produce) is not cached either.
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
		if e, ok := copyExpr(cached); ok {
			return e, nil
		}
	}
	e, err := c.Parser.ParseExpr(input)
	if err != nil {
		return e, err
	}
	if pristine, ok := copyExpr(e); ok {
		c.mu.Lock()
		c.exprs[input] = pristine
		c.mu.Unlock()
	}
	return e, nil
}
