package slomodel

import (
	"math"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/burnrate/burnrate/slo"
)

// LatencyTerms builds the latency terms of the optimized profile's rules,
// the SLI-health checks and the runbook's queries from the histogram in its
// form (latency.form):
// classic, from the _count and _bucket{le} series; native and nhcb, from
// the one native-histogram series per label set.
//
// Native histograms, as Prometheus v0.316.0 evaluates them:
//
//   - rate() of a native histogram series is a native histogram of
//     per-second increases (promql/functions.go, histogramRate), and sum
//     by (…) of native histograms is a native histogram, bucket by bucket
//     at the coarsest schema among them (promql/engine.go,
//     evaluator.aggregation, FloatHistogram.KahanAdd; custom buckets of
//     different bounds are reconciled to the bounds they share, with an
//     info annotation).
//   - histogram_count(h) is h's count of observations
//     (promql/functions.go, funcHistogramCount): the rate of requests.
//   - histogram_fraction(lower, upper, h) is the share of h's
//     observations between lower and upper (promql/quantile.go,
//     HistogramFraction, called by funcHistogramFraction). With upper
//     +Inf it counts every bucket from the one holding lower up, so
//     histogram_count(h) * histogram_fraction(t, +Inf, h) is the rate of
//     requests slower than t. It is exact when t is a bucket bound: the
//     buckets below t count whole and none above it is cut. When t falls
//     inside a bucket, HistogramFraction interpolates: linearly in a custom
//     bucket (nhcb), so a threshold between two of the histogram's bounds
//     is an estimate; exponentially (on the log scale) in an exponential
//     bucket (native), whose bounds are 2^(k·2^-schema): 1 s is a bound of
//     every standard schema, 0.25 s and 0.5 s of every schema from 0 up,
//     but 5 s and 30 s of none, so such a threshold is always estimated.
//     (A bucket holding t but no observations interpolates to nothing:
//     the estimate is exact when no request took about t.)
//   - HistogramFraction returns NaN when h counts no observation (an idle
//     service), and 0 × NaN is NaN. A NaN in a base-window record would
//     make every sum over a window holding it NaN, for up to the SLO
//     period; the slow term therefore keeps only values >= 0 (NaN compares
//     false) and falls back to histogram_count(h), which is 0 there.
type LatencyTerms struct {
	*Model
	// Window is the range of every rate.
	Window time.Duration
}

// rate is `rate(metric{ms}[window])`.
func (h LatencyTerms) rate(metric string, ms pql.Sel) parser.Expr {
	return pql.Call("rate", pql.Range(pql.Vec(metric, ms), h.Window))
}

// summed is the native histogram's rate summed by labels by.
func (h LatencyTerms) summed(ms pql.Sel, by []string) parser.Expr {
	return pql.SumBy(by, h.rate(h.Histogram, ms))
}

// Requests is the rate of the histogram's observations of ms, by labels by.
func (h LatencyTerms) Requests(ms pql.Sel, by []string) parser.Expr {
	if h.Native {
		return pql.Call("histogram_count", h.summed(ms, by))
	}
	return pql.SumBy(by, h.rate(h.Count, ms))
}

// Slow is the rate of observations of ms above threshold t, by labels by.
func (h LatencyTerms) Slow(ms pql.Sel, t slo.Threshold, by []string) parser.Expr {
	if !h.Native {
		return pql.Bin(parser.SUB, h.Requests(ms, by), pql.SumBy(by, h.rate(h.Bucket, ms.And(pql.Le(t.Seconds)))))
	}
	frac := pql.Call("histogram_fraction", pql.Num(t.Seconds), pql.Num(math.Inf(1)), h.summed(ms, by))
	slow := pql.Bin(parser.MUL, h.Requests(ms, by), frac)
	nonNaN := pql.Bin(parser.GTE, slow, pql.Num(0))
	return pql.Paren(pql.Bin(parser.LOR, nonNaN, h.Requests(ms, by)))
}

// Present has a series per labels by where the histogram has series of ms.
func (h LatencyTerms) Present(ms pql.Sel, by []string) parser.Expr {
	if h.Native {
		return pql.SumBy(by, pql.Vec(h.Histogram, ms))
	}
	return pql.SumBy(by, pql.Vec(h.Count, ms))
}

// Quantile is the q-quantile of the native histogram's observations of
// ms over window, by labels by.
func (h LatencyTerms) Quantile(q float64, ms pql.Sel, by []string) parser.Expr {
	return pql.Call("histogram_quantile", pql.Num(q), h.summed(ms, by))
}
