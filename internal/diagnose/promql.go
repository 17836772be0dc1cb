package diagnose

import (
	"regexp"
	"strings"
	"time"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// The probes of diagnose and lint are built as syntax trees with
// internal/pql, like the rules, and printed with String, so label values
// are always quoted and escaped.

// seriesCount is `count by (by) (last_over_time(vs[window]))`: how many of
// the series vs selects have a sample in the window before the query time,
// per value of the by labels (in total when there are none).
func seriesCount(vs *parser.VectorSelector, window time.Duration, by ...string) *parser.AggregateExpr {
	return &parser.AggregateExpr{
		Op:       parser.COUNT,
		Grouping: by,
		Expr:     pql.Call("last_over_time", pql.Range(vs, window)),
	}
}

// namesSelector is `{__name__=~"a|b|…"}`: the series of any of the metrics
// names (matched literally), further restricted by ms.
func namesSelector(names []string, ms ...*labels.Matcher) *parser.VectorSelector {
	alts := make([]string, len(names))
	for i, n := range names {
		alts[i] = regexp.QuoteMeta(n)
	}
	all := make([]*labels.Matcher, 0, len(ms)+1)
	all = append(all, labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, strings.Join(alts, "|")))
	return &parser.VectorSelector{LabelMatchers: append(all, ms...)}
}

// countOf is `count(e)`.
func countOf(e parser.Expr) *parser.AggregateExpr {
	return &parser.AggregateExpr{Op: parser.COUNT, Expr: e}
}
