package runbook

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/burnrate/burnrate/internal/slomodel"
)

// build is what the table's queries are built from: the model, the range
// they read and the SLIs' selectors merged where they can be.
type build struct {
	*slomodel.Model
	w time.Duration
	// reqs and lats select every SLI's requests in the counter and the
	// histogram: one selector when the SLIs differ in one matcher only.
	reqs, lats []pql.Sel
	// table is the table the queries come from (the probe walks it).
	table []section
}

func newBuild(m *slomodel.Model, w time.Duration, tbl []section) *build {
	return &build{Model: m, w: w, reqs: mergeSels(m.RequestSels()), lats: mergeSels(m.LatencySels()), table: tbl}
}

// by is the cluster label followed by ls.
func (b *build) by(ls ...string) []string { return append([]string{b.ClusterLabel}, ls...) }

func (b *build) rate(metric string, ms pql.Sel) parser.Expr {
	return pql.Call("rate", pql.Range(pql.Vec(metric, ms), b.w))
}

func (b *build) increase(metric string, ms pql.Sel) parser.Expr {
	return pql.Call("increase", pql.Range(pql.Vec(metric, ms), b.w))
}

// sliRate is the rate of metric over the requests of every SLI: one
// selector when the SLIs' selectors differ in one matcher only, else one
// rate per SLI joined with or.
func (b *build) sliRate(metric string, sels []pql.Sel, extra ...*labels.Matcher) parser.Expr {
	var e parser.Expr
	for _, s := range sels {
		e = or(e, b.rate(metric, s.And(extra...)))
	}
	return e
}

// probe counts the apiserver's series of every metric a step names as its
// Probe.
func (b *build) probe() parser.Expr {
	return &parser.AggregateExpr{
		Op:       parser.COUNT,
		Expr:     &parser.VectorSelector{LabelMatchers: b.probeMatchers()},
		Grouping: []string{labels.MetricName},
	}
}

// probeMetrics lists the steps' Probe metrics in page order, each once.
func (b *build) probeMetrics() []string {
	var names []string
	for _, sec := range b.table {
		for _, st := range sec.Steps {
			if st.Probe == nil {
				continue
			}
			for _, n := range st.Probe(b) {
				if !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
		}
	}
	return names
}

func (b *build) probeMatchers() pql.Sel {
	var alts []string
	for _, n := range b.probeMetrics() {
		alts = append(alts, regexp.QuoteMeta(n))
	}
	return append(pql.Sel{pql.Re(labels.MetricName, strings.Join(alts, "|"))}, b.Service...)
}

// burnRates is every SLI's recorded burn rate per window of the alert's
// pairs, as a factor of the budget, with the window as a label.
func (b *build) burnRates() parser.Expr {
	var e parser.Expr
	for _, win := range b.Spec.Windows() {
		e = or(e, labelSet(pql.Bin(parser.DIV, pql.Vec(b.BurnRateRecord(win), nil), pql.Num(b.Budget)), "window", win.String()))
	}
	return e
}

// terms is the burn rate as a sum of terms, from the recorded base-window
// rates.
func (b *build) terms() parser.Expr {
	over := func(metric string) parser.Expr {
		return pql.Call("sum_over_time", pql.Range(pql.Vec(metric, nil), b.w))
	}
	errTerm := pql.Bin(parser.DIV, pql.Bin(parser.DIV, over(b.ErrorsRecord), over(b.EventsRecord)), pql.Num(b.Budget))
	slowTerm := pql.Bin(parser.DIV, &parser.BinaryExpr{
		Op: parser.DIV, LHS: over(b.SlowRecord), RHS: over(b.EventsRecord),
		VectorMatching: &parser.VectorMatching{Card: parser.CardManyToOne, On: true, MatchingLabels: []string{b.ClusterLabel, b.SLILabel}},
	}, pql.Num(b.Budget))
	return pql.Bin(parser.LOR, labelSet(errTerm, "term", "errors"), labelSet(slowTerm, "term", "slow"))
}

// lat builds the latency terms over the page's range, in the histogram's
// form (latency.form).
func (b *build) lat(w time.Duration) slomodel.LatencyTerms {
	return slomodel.LatencyTerms{Model: b.Model, Window: w}
}

// histP99 is the 99th percentile of histogram metric over the page's range
// by labels by, read from its classic buckets or, with a native form, from
// its native series where it has one and from its classic buckets where it
// has none: a scrape config that turns native histograms on does so for
// every histogram of a target, but kube-apiserver 1.37 exposes a native
// form of some histograms only (the SLI's and etcd's, not the webhooks' or
// API Priority and Fairness': lab/recordings/v1.37.2), and Prometheus
// keeps the classic buckets of a histogram without one.
func (b *build) histP99(metric string, ms pql.Sel, by ...string) parser.Expr {
	classic := p99(pql.SumBy(b.by(append(by, "le")...), b.rate(metric+"_bucket", ms)))
	if b.Native {
		return pql.Bin(parser.LOR, p99(pql.SumBy(b.by(by...), b.rate(metric, ms))), classic)
	}
	return classic
}

// histSum is the rate of histogram metric's sum of observations (seconds
// per second), per series, in the form histP99 reads.
func (b *build) histSum(metric string, ms pql.Sel) parser.Expr {
	classic := b.rate(metric+"_sum", ms)
	if b.Native {
		return pql.Bin(parser.LOR, pql.Call("histogram_sum", b.rate(metric, ms)), classic)
	}
	return classic
}

// histProbe is the series of histogram metric that Step 0 counts: its
// _count; in a native form its native series, or its _count, which the
// step reads instead where the apiserver exposes no native form (histP99,
// histSum).
func histProbe(metric string) func(*build) []string {
	return func(b *build) []string {
		if b.Native {
			return []string{metric, metric + "_count"}
		}
		return []string{metric + "_count"}
	}
}

// sliHistogram is the SLI histogram's series that Step 0 counts: its
// _count, or its native series (the SLI has no classic fallback).
func sliHistogram(b *build) []string {
	if b.Native {
		return []string{b.Histogram}
	}
	return []string{b.Count}
}

// paren wraps e in parentheses unless it is wrapped already.
func paren(e parser.Expr) parser.Expr {
	if _, ok := e.(*parser.ParenExpr); ok {
		return e
	}
	return pql.Paren(e)
}

// slow is the rate of slow requests, each at its SLI's threshold.
func (b *build) slow() parser.Expr {
	part := b.Latency.PartitionLabel
	by := b.by("verb")
	if part != "" {
		by = append(by, part)
	}
	by = append(by, "group", "resource")
	var e parser.Expr
	for i, s := range b.SLOs {
		for _, t := range s.Latency {
			ms := b.SLIs[i].Latency
			if len(t.Partition) > 0 {
				ms = ms.And(pql.OneOf(part, t.Partition))
			}
			e = or(e, paren(b.lat(b.w).Slow(ms, t, by)))
		}
	}
	return sortDesc(gt0(pql.Paren(e)))
}

// or is e or r; r alone when e is nil.
func or(e, r parser.Expr) parser.Expr {
	if e == nil {
		return r
	}
	return pql.Bin(parser.LOR, e, r)
}

// unavailableAPIServices is every APIService unavailable at some time in
// the range: max_over_time, so that one flapping between available and
// not (recordings/v1.34.2/aggregated-flap) is found whatever its state at
// the end.
func (b *build) unavailableAPIServices() parser.Expr {
	return pql.Bin(parser.EQLC, &parser.AggregateExpr{
		Op: parser.MAX, Expr: pql.Call("max_over_time", pql.Range(pql.Vec("aggregator_unavailable_apiservice", b.Service), b.w)), Grouping: b.by("name"),
	}, pql.Num(1))
}

func gt0(e parser.Expr) parser.Expr { return pql.Bin(parser.GTR, e, pql.Num(0)) }

func p99(e parser.Expr) parser.Expr { return pql.Call("histogram_quantile", pql.Num(0.99), e) }

func sortDesc(e parser.Expr) parser.Expr { return pql.Call("sort_desc", e) }

// labelSet is label_replace(e, name, value, "", ""): it sets label name to
// value on every series.
func labelSet(e parser.Expr, name, value string) parser.Expr {
	str := func(s string) parser.Expr { return &parser.StringLiteral{Val: s} }
	return pql.Call("label_replace", e, str(name), str(value), str(""), str(""))
}

// mergeSels turns per-SLI selectors that differ in one regexp or equality
// matcher on the same label (the verb) into one selector with the
// alternatives joined; otherwise it returns them unchanged.
func mergeSels(ss []pql.Sel) []pql.Sel {
	if len(ss) < 2 {
		return ss
	}
	in := func(s pql.Sel, m *labels.Matcher) bool {
		return slices.ContainsFunc(s, func(x *labels.Matcher) bool { return x.String() == m.String() })
	}
	var name string
	var alts []string
	for _, s := range ss {
		var diff []*labels.Matcher
		for _, m := range s {
			common := true
			for _, o := range ss {
				if !in(o, m) {
					common = false
				}
			}
			if !common {
				diff = append(diff, m)
			}
		}
		if len(diff) != 1 || (name != "" && diff[0].Name != name) {
			return ss
		}
		m := diff[0]
		name = m.Name
		switch m.Type {
		case labels.MatchEqual:
			alts = append(alts, regexp.QuoteMeta(m.Value))
		case labels.MatchRegexp:
			alts = append(alts, m.Value)
		default:
			return ss
		}
	}
	var merged pql.Sel
	for _, m := range ss[0] {
		if m.Name == name {
			merged = append(merged, pql.Re(name, strings.Join(alts, "|")))
		} else {
			merged = append(merged, m)
		}
	}
	return []pql.Sel{merged}
}

// windowString prints a window the way the page and the queries do.
func windowString(w time.Duration) string { return model.Duration(w).String() }
