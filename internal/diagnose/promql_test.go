package diagnose

import (
	"testing"
	"time"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// TestProbeQueries pins the text of the probe queries: the text the
// fmt.Sprintf versions printed, except that a count without grouping now
// prints as count(…) instead of count by () (…), and text that parses back
// to the same tree.
func TestProbeQueries(t *testing.T) {
	cluster := labels.MustNewMatcher(labels.MatchEqual, "cluster", `c"1`)
	tests := []struct {
		name string
		expr parser.Expr
		want string
	}{{
		name: "present, all clusters",
		expr: seriesCount(namesSelector([]string{"up", "apiserver_request_total"}), 10*time.Minute, labels.MetricName),
		want: `count by (__name__) (last_over_time({__name__=~"up|apiserver_request_total"}[10m]))`,
	}, {
		name: "present, one cluster, names regexp-quoted",
		expr: seriesCount(namesSelector([]string{"a.b", "c+"}, cluster), time.Hour, labels.MetricName),
		want: `count by (__name__) (last_over_time({__name__=~"a\\.b|c\\+",cluster="c\"1"}[1h]))`,
	}, {
		name: "lint, no grouping",
		expr: seriesCount(pql.Vec("apiserver_request_total", pql.Sel{labels.MustNewMatcher(labels.MatchRegexp, "code", "5.."), cluster}), 2*time.Hour),
		want: `count(last_over_time(apiserver_request_total{cluster="c\"1",code=~"5.."}[2h]))`,
	}, {
		name: "lint, by le",
		expr: seriesCount(pql.Vec("x_bucket", nil), 90*time.Minute, "le"),
		want: `count by (le) (last_over_time(x_bucket[1h30m]))`,
	}, {
		name: "lint, rule comes out empty",
		expr: countOf(pql.Vec("a:b", pql.Sel{cluster})),
		want: `count(a:b{cluster="c\"1"})`,
	}}
	p := parser.NewParser(parser.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.expr.String()
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			back, err := p.ParseExpr(got)
			if err != nil {
				t.Fatalf("%s does not parse: %v", got, err)
			}
			if back.String() != got {
				t.Errorf("parsed back it prints as %s", back)
			}
		})
	}
}
