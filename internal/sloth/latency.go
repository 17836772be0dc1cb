package sloth

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/series"
	"github.com/burnrate/burnrate/slo"
)

// latencySLI is a Sloth events SLI that burnrate's latency kind renders
// the same: the events of one classic histogram slower than one of its
// bucket bounds, over all its events,
//
//	error_query: sum(rate(H_count{M}[w])) - sum(rate(H_bucket{M,le="L"}[w]))
//	total_query: sum(rate(H_count{M}[w]))
//
// with the same matchers M in all three selectors, le a literal equality
// matcher that spells a bucket bound as a client writes it, the same
// function (rate, or increase: the ratio is the same) and the same sum,
// by nothing or by the cluster label, and parentheses anywhere. Any other
// shape stays kind raw.
type latencySLI struct {
	metric    string            // the histogram's base name, H
	matchers  []*labels.Matcher // M, in the order of the total query
	seconds   float64           // L
	byCluster bool              // summed by the cluster label, not by nothing
}

// term is one sum(fn(metric{matchers}[window])) of a query.
type term struct {
	fn        string
	metric    string
	matchers  []*labels.Matcher // without __name__
	byCluster bool
}

// asLatency reads errs and total, Sloth queries with their {{.window}}
// written slo.WindowPlaceholder, as a latency SLI. When they are not one
// it returns why, for a hint, or "" when they do not even subtract a
// bucket (an ordinary counter ratio, which is no latency SLI).
func asLatency(errs, total, clusterLabel string) (*latencySLI, string) {
	// The windows must be the placeholder, not a fixed range: read each
	// query at two windows and require both to follow.
	var got [2]*latencySLI
	for i, w := range []time.Duration{5 * time.Minute, 7 * time.Minute} {
		l, why := latencyAt(errs, total, clusterLabel, w)
		if l == nil {
			return nil, why
		}
		got[i] = l
	}
	return got[0], ""
}

func latencyAt(errs, total, clusterLabel string, w time.Duration) (*latencySLI, string) {
	p := parser.NewParser(parser.Options{})
	ee, err := p.ParseExpr(slo.WithWindow(errs, slo.Duration(w)))
	if err != nil {
		return nil, ""
	}
	te, err := p.ParseExpr(slo.WithWindow(total, slo.Duration(w)))
	if err != nil {
		return nil, ""
	}
	sub, ok := unparen(ee).(*parser.BinaryExpr)
	if !ok || sub.Op != parser.SUB {
		return nil, ""
	}
	count, cwhy := termOf(sub.LHS, clusterLabel, w)
	bucket, bwhy := termOf(sub.RHS, clusterLabel, w)
	if bucket == nil || !strings.HasSuffix(bucket.metric, "_bucket") {
		// A hint only for what reads a histogram at all.
		if strings.Contains(sub.String(), "_bucket") {
			return nil, "the subtracted term is not " + orElse(bwhy, "a sum of the rate of a _bucket series")
		}
		return nil, ""
	}
	// From here on the query subtracts a bucket: say why it is no latency SLI.
	switch {
	case count == nil:
		return nil, "the error query's first term is not " + orElse(cwhy, "a sum of the rate of a _count series")
	case sub.VectorMatching != nil && (sub.VectorMatching.On || len(sub.VectorMatching.MatchingLabels) > 0 || sub.VectorMatching.Card != parser.CardOneToOne):
		return nil, "the subtraction has vector matching modifiers"
	case sub.ReturnBool:
		return nil, "the subtraction is a comparison"
	}
	base := strings.TrimSuffix(bucket.metric, "_bucket")
	if count.metric != base+"_count" {
		return nil, fmt.Sprintf("the error query subtracts %s from %s, not from %s_count, the same histogram's count", bucket.metric, count.metric, base)
	}
	tot, twhy := termOf(te, clusterLabel, w)
	if tot == nil {
		return nil, "the total query is not " + orElse(twhy, "a sum of the rate of "+base+"_count")
	}
	if tot.metric != count.metric {
		return nil, fmt.Sprintf("the total query reads %s, not %s, the count the error query subtracts from", tot.metric, count.metric)
	}
	if count.fn != bucket.fn || count.fn != tot.fn {
		return nil, "the three terms do not all use the same function (rate, or increase)"
	}
	if count.byCluster != bucket.byCluster || count.byCluster != tot.byCluster {
		return nil, fmt.Sprintf("the three sums are not all by the same labels (nothing, or %s)", clusterLabel)
	}
	var le *labels.Matcher
	var rest []*labels.Matcher
	for _, m := range bucket.matchers {
		if m.Name == "le" {
			if le != nil {
				return nil, "the bucket has two le matchers"
			}
			le = m
			continue
		}
		rest = append(rest, m)
	}
	if le == nil || le.Type != labels.MatchEqual {
		return nil, `the bucket is not chosen by a literal le="…" matcher`
	}
	seconds, err := strconv.ParseFloat(le.Value, 64)
	if err != nil || seconds <= 0 || math.IsInf(seconds, 0) || math.IsNaN(seconds) {
		return nil, fmt.Sprintf("le=%q is not a positive, finite bucket bound", le.Value)
	}
	// burnrate selects the bucket with pql.Le: the bound as clients write
	// it, and for a whole bound also as Prometheus 3 normalises it ("1"
	// and "1.0"), which no classic histogram exposes both of. Another
	// spelling of the bound ("0.50") would select another series.
	if le.Value != series.Le(seconds) && le.Value != series.LeFloat(seconds) {
		return nil, fmt.Sprintf("le=%q is not spelled as the bucket's label (%q)", le.Value, series.Le(seconds))
	}
	for _, t := range []*term{count, tot} {
		if slices.ContainsFunc(t.matchers, func(m *labels.Matcher) bool { return m.Name == "le" }) {
			return nil, "a _count selector has an le matcher"
		}
	}
	if !sameMatchers(count.matchers, rest) || !sameMatchers(count.matchers, tot.matchers) {
		return nil, "the three selectors do not have the same matchers (other than le on the bucket)"
	}
	return &latencySLI{metric: base, matchers: tot.matchers, seconds: seconds, byCluster: count.byCluster}, ""
}

// termOf reads e as sum(fn(metric{…}[w])) or sum by (clusterLabel) (…),
// fn rate or increase, without offset or @; when it is not one, it says
// what part is not, or "".
func termOf(e parser.Expr, clusterLabel string, w time.Duration) (*term, string) {
	agg, ok := unparen(e).(*parser.AggregateExpr)
	if !ok || agg.Op != parser.SUM || agg.Param != nil {
		return nil, ""
	}
	t := &term{}
	switch {
	case agg.Without:
		return nil, "a sum without labels"
	case len(agg.Grouping) == 0:
	case !slices.ContainsFunc(agg.Grouping, func(l string) bool { return l != clusterLabel }):
		t.byCluster = true
	default:
		return nil, "a sum by labels other than " + clusterLabel
	}
	call, ok := unparen(agg.Expr).(*parser.Call)
	if !ok || (call.Func.Name != "rate" && call.Func.Name != "increase") || len(call.Args) != 1 {
		return nil, ""
	}
	t.fn = call.Func.Name
	ms, ok := unparen(call.Args[0]).(*parser.MatrixSelector)
	if !ok {
		return nil, ""
	}
	vs, ok := ms.VectorSelector.(*parser.VectorSelector)
	if !ok {
		return nil, ""
	}
	if ms.Range != w {
		return nil, "a rate over the window {{.window}}"
	}
	if vs.OriginalOffset != 0 || vs.Timestamp != nil || vs.StartOrEnd != 0 {
		return nil, "a rate without offset or @"
	}
	for _, m := range vs.LabelMatchers {
		if m.Name != labels.MetricName {
			t.matchers = append(t.matchers, m)
			continue
		}
		if m.Type != labels.MatchEqual || t.metric != "" {
			return nil, ""
		}
		t.metric = m.Value
	}
	if t.metric == "" {
		return nil, ""
	}
	return t, ""
}

// sameMatchers says whether a and b hold the same matchers, in any order.
func sameMatchers(a, b []*labels.Matcher) bool {
	set := func(ms []*labels.Matcher) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.String())
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(set(a), set(b))
}

func unparen(e parser.Expr) parser.Expr {
	for {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// orElse is s, or def when s is empty.
func orElse(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// latency makes the SLOs whose SLI is a latency SLI SLOs of kind latency.
// A burnrate spec reads one histogram (latency.metric), selected by the
// spec's selector plus each SLO's own: the first latency SLI's histogram
// is the spec's, the matchers every latency SLI shares are the spec's
// selector, and the rest each SLO's.
func (c *converter) latency(out *outSpec) {
	var lat []int // indices of out.SLOs and c.slis
	for i, s := range c.slis {
		if s.latency != nil {
			lat = append(lat, i)
		}
	}
	if len(lat) == 0 || len(c.errs) > 0 {
		return
	}
	first := c.slis[lat[0]]
	common := slices.Clone(first.latency.matchers)
	for _, i := range lat[1:] {
		s := c.slis[i]
		if s.latency.metric != first.latency.metric {
			c.fail(s.node, "slos[%d].sli.events: a latency SLI of histogram %s, while slos[%d]'s is of %s; a burnrate spec reads one latency histogram, so put the SLOs of each histogram in a Sloth file of their own", s.sloth, s.latency.metric, first.sloth, first.latency.metric)
			continue
		}
		common = slices.DeleteFunc(common, func(m *labels.Matcher) bool { return !hasMatcher(s.latency.matchers, m) })
	}
	if len(c.errs) > 0 {
		return
	}
	if len(common) == 0 {
		c.fail(first.node, "slos[%d].sli.events: the latency queries of histogram %s share no label matcher, and a burnrate spec selects its histogram with at least one (its selector); add the matcher that picks this service's series, e.g. job=\"%s\", to every query that reads %s_count or %s_bucket", first.sloth, first.latency.metric, out.Service, first.latency.metric, first.latency.metric)
		return
	}
	out.Selector = joinMatchers(common)
	out.Latency = &outLatency{Metric: first.latency.metric}
	for _, i := range lat {
		s := c.slis[i]
		o := &out.SLOs[i]
		o.Kind = string(slo.KindLatency)
		o.Selector = joinMatchers(slices.DeleteFunc(slices.Clone(s.latency.matchers), func(m *labels.Matcher) bool { return hasMatcher(common, m) }))
		o.Latency = []outThreshold{{Seconds: s.latency.seconds}}
		o.Raw = nil
		if !s.latency.byCluster {
			c.warn(s.node, "slos[%d].sli.events: converted to kind latency (threshold %ss), which burnrate sums by %s: where the histogram's series carry several values of %s, burnrate alerts per %s, Sloth on their sum; the same alerts where they carry one or none (one Prometheus per cluster)", s.sloth, strconv.FormatFloat(s.latency.seconds, 'f', -1, 64), c.opts.ClusterLabel, c.opts.ClusterLabel, c.opts.ClusterLabel)
		}
	}
}

func hasMatcher(ms []*labels.Matcher, m *labels.Matcher) bool {
	return slices.ContainsFunc(ms, func(o *labels.Matcher) bool { return o.String() == m.String() })
}

func joinMatchers(ms []*labels.Matcher) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.String())
	}
	return strings.Join(out, ",")
}
