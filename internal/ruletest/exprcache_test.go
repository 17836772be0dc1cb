package ruletest

import (
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
)

// copyTestExprs cover every node type the parser produces and every field
// of a node that holds a pointer or a slice.
var copyTestExprs = []string{
	`up`,
	`{__name__="up", job="api"}`,
	`sum by (job, instance) (rate(http_requests_total{job=~"api|web", code!~"5.."}[5m] offset 1m))`,
	`sum without (instance) (x)`,
	`topk(3, x)`,
	`count_values("value", x)`,
	`quantile(0.9, x)`,
	`a / on (job) group_left (instance, pod) b`,
	`a + ignoring (x) group_right b`,
	`a > bool 1`,
	`(a or b) unless c and on () d`,
	`-x`,
	`-(1 + 2) * 3`,
	`x @ 100`,
	`x @ start()`,
	`x @ end() offset -5m`,
	`rate(x[5m] @ 100 offset 1m)`,
	`max_over_time(rate(x[5m])[1h:5m])`,
	`max_over_time(x[1h:] @ end() offset 1m)`,
	`min_over_time(x[1h:1m] @ 1000)`,
	`rate(x[5m + 1m])`,
	`x offset (1m * 2)`,
	`x[step()]`,
	`max_over_time(x[1h:step()])`,
	`max_over_time(x[1h:5m] offset (2 * 1m))`,
	`time()`,
	`vector(1)`,
	`"a string"`,
	`label_replace(x, "a", "$1", "b", "(.*)")`,
	`histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))`,
	`sort_desc(sum(x))`,
	`a + fill(0) b`,
	`a + fill_left(1) fill_right(2) b`,
	`rate(x[5m] anchored)`,
	`rate(x[5m] smoothed)`,
}

func TestCopyExprIsDeepAndEqual(t *testing.T) {
	p := parser.NewParser(promqltest.TestParserOpts)
	parsed := 0
	for _, qs := range copyTestExprs {
		e, err := p.ParseExpr(qs)
		if err != nil {
			t.Logf("%s: does not parse, skipped: %v", qs, err)
			continue
		}
		parsed++
		c, ok := copyExpr(e)
		if !ok {
			t.Errorf("%s: copyExpr failed", qs)
			continue
		}
		if !reflect.DeepEqual(e, c) {
			t.Errorf("%s: copy differs from the original", qs)
		}
		if c.String() != e.String() {
			t.Errorf("%s: copy prints as %s, original as %s", qs, c, e)
		}
		if shared := sharedMemory(e, c); len(shared) > 0 {
			t.Errorf("%s: copy shares memory with the original: %v", qs, shared)
		}

		// What the engine does to a tree must leave the original alone.
		snapshot, _ := copyExpr(e)
		start := time.Unix(1000, 0)
		if _, err := promql.PreprocessExpr(c, start, start.Add(time.Hour), time.Minute); err != nil {
			t.Errorf("%s: PreprocessExpr: %v", qs, err)
		}
		if !reflect.DeepEqual(e, snapshot) {
			t.Errorf("%s: preprocessing the copy changed the original", qs)
		}
	}
	if parsed < len(copyTestExprs)-4 {
		t.Errorf("only %d of %d expressions parse", parsed, len(copyTestExprs))
	}
}

func TestExprCache(t *testing.T) {
	c := newExprCache(newParser())
	const qs = `sum by (job) (rate(x{a=~"b.*"}[5m]))`
	first, err := c.ParseExpr(qs)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.ParseExpr(qs)
	if err != nil {
		t.Fatal(err)
	}
	if first == second || !reflect.DeepEqual(first, second) {
		t.Errorf("second parse: want an equal, distinct tree")
	}
	if shared := sharedMemory(first, second); len(shared) > 0 {
		t.Errorf("two parses share memory: %v", shared)
	}
	if _, err := c.ParseExpr(`sum(`); err == nil {
		t.Error("want a parse error")
	}
	if _, err := c.ParseExpr(`sum(`); err == nil {
		t.Error("want the parse error again")
	}
	if len(c.exprs) != 1 {
		t.Errorf("cached %d expressions, want 1", len(c.exprs))
	}
}

// sharedMemory lists the types of the mutable memory that a and b both
// reach: pointed-to values and slice arrays. Label matchers and function
// definitions are immutable and may be shared.
func sharedMemory(a, b any) []string {
	seen := map[uintptr]string{}
	collectMemory(reflect.ValueOf(a), seen)
	other := map[uintptr]string{}
	collectMemory(reflect.ValueOf(b), other)
	var shared []string
	for addr, typ := range other {
		if _, ok := seen[addr]; ok {
			shared = append(shared, typ)
		}
	}
	return shared
}

var (
	matcherType  = reflect.TypeFor[*labels.Matcher]()
	functionType = reflect.TypeFor[*parser.Function]()
)

func collectMemory(v reflect.Value, seen map[uintptr]string) {
	switch v.Kind() {
	case reflect.Interface:
		if !v.IsNil() {
			collectMemory(v.Elem(), seen)
		}
	case reflect.Pointer:
		if v.IsNil() || v.Type() == matcherType || v.Type() == functionType {
			return
		}
		if _, ok := seen[v.Pointer()]; ok {
			return
		}
		seen[v.Pointer()] = v.Type().String()
		collectMemory(v.Elem(), seen)
	case reflect.Slice:
		if v.Cap() > 0 {
			seen[v.Pointer()] = v.Type().String()
		}
		for i := range v.Len() {
			collectMemory(v.Index(i), seen)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			collectMemory(v.Field(i), seen)
		}
	}
}

// TestCopyExprRefuses covers what the parser never produces: copyExpr must
// refuse it (so the cache parses again) rather than share or drop it.
func TestCopyExprRefuses(t *testing.T) {
	p := newParser()
	withSeries, err := p.ParseExpr(`sum(rate(x[5m]))`)
	if err != nil {
		t.Fatal(err)
	}
	parser.Inspect(withSeries, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			vs.Series = []storage.Series{storage.MockSeries([]int64{0}, []int64{0}, []float64{1}, []string{"__name__", "x"})}
		}
		return nil
	})
	tests := []struct {
		name string
		expr parser.Expr
		ok   bool
	}{
		{"parsed tree", mustParse(t, p, `sum(rate(x[5m]))`), true},
		{"nil", nil, true},
		{"selector with series attached by evaluation", withSeries, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := copyExpr(tt.expr)
			if ok != tt.ok {
				t.Fatalf("copyExpr ok = %v, want %v", ok, tt.ok)
			}
			if ok && !reflect.DeepEqual(c, tt.expr) {
				t.Errorf("copy differs from the original")
			}
		})
	}
}

func mustParse(t *testing.T, p parser.Parser, qs string) parser.Expr {
	t.Helper()
	e, err := p.ParseExpr(qs)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
