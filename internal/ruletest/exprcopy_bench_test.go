package ruletest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/promtest"
)

// generatedQueries returns the queries the engine parses when the generated
// test files run: every rule's expression as the rule manager hands it over
// (printed from the parsed rule) and every promql_expr_test expression.
func generatedQueries(tb testing.TB) []string {
	tb.Helper()
	p := newParser()
	var out []string
	for _, gp := range generatedProfiles {
		rgs, errs := rulefmt.ParseFile(filepath.Join(gp.dir, generatedRules), false, model.UTF8Validation, p, promslog.NewNopLogger())
		if len(errs) > 0 {
			tb.Fatalf("%s: %v", gp.dir, errs)
		}
		for _, g := range rgs.Groups {
			for _, r := range g.Rules {
				e, err := p.ParseExpr(r.Expr)
				if err != nil {
					tb.Fatalf("%s: %v", r.Expr, err)
				}
				out = append(out, e.String())
			}
		}
		tests, err := filepath.Glob(filepath.Join(gp.dir, "*.test.yaml"))
		if err != nil {
			tb.Fatal(err)
		}
		for _, f := range tests {
			content, err := os.ReadFile(f)
			if err != nil {
				tb.Fatal(err)
			}
			tf, err := promtest.Decode(content)
			if err != nil {
				tb.Fatalf("%s: %v", f, err)
			}
			for _, g := range tf.Tests {
				for _, et := range g.PromQLExprTests {
					out = append(out, et.Expr)
				}
			}
		}
	}
	if len(out) == 0 {
		tb.Fatal("no queries found in the generated files")
	}
	return out
}

// BenchmarkExprCopy compares, per query of the generated files, what a cache
// hit of exprCache costs (copyExpr of the cached tree) with parsing the
// query again (what every query costs without the cache).
//
//	go test ./ruletest -run '^$' -bench BenchmarkExprCopy -benchtime 2s
func BenchmarkExprCopy(b *testing.B) {
	queries := generatedQueries(b)
	p := newParser()
	parsed := make([]parser.Expr, len(queries))
	for i, q := range queries {
		e, err := p.ParseExpr(q)
		if err != nil {
			b.Fatalf("%s: %v", q, err)
		}
		parsed[i] = e
	}
	ways := []struct {
		name string
		run  func(i int) (parser.Expr, bool)
	}{
		{"copy", func(i int) (parser.Expr, bool) { return copyExpr(parsed[i]) }},
		{"re-parse", func(i int) (parser.Expr, bool) {
			e, err := p.ParseExpr(queries[i])
			return e, err == nil
		}},
	}
	for _, w := range ways {
		b.Run(w.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				for i := range queries {
					if _, ok := w.run(i); !ok {
						b.Fatalf("%s: failed on %s", w.name, queries[i])
					}
				}
				n += len(queries)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/query")
			b.ReportMetric(float64(len(queries)), "queries")
		})
	}
}
