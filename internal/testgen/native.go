package testgen

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/burnrate/burnrate/internal/promtest"
	"github.com/burnrate/burnrate/internal/series"
	"github.com/burnrate/burnrate/slo"
)

// Native histograms in the generated tests (latency.form native or nhcb).
//
// The scenarios are built as classic series (seriesBuilder: per label set a
// _count series and cumulative _bucket series at each threshold and at
// twice it), which the SLI-health predictions read; for a native form each
// label set's _count and _bucket series are written instead as one series
// of native histograms under the histogram's name, in promtool's notation
// ({{schema:… count:… sum:… buckets:[…]}}, expanded with +…x; promql/parser
// generated_parser.y, histogram_series_value, parse.go
// buildHistogramFromMap, Prometheus v0.316.0), with the same counts: per
// phase and label set, the requests within the label set's lowest bucket
// are put into a native bucket below every threshold, and those within
// each higher bucket (or above every bound) into the native bucket just
// above its lower bound. An SLO that reads the label set but whose
// threshold it has no bucket at so finds no slow request in it, as its
// classic rules find none where its bucket is missing, except requests
// above a higher threshold of another SLO on the same series, which are
// slow at every threshold below it too: a window-pair group where that
// makes an SLO burn that the group does not expect is left out
// (tester.spills, tester.consistentInput).
//
// Every threshold is then exact: no bucket that holds observations
// straddles a threshold, so histogram_fraction (promql/quantile.go,
// HistogramFraction) has nothing to interpolate, and the expected values
// stay those of the traffic. With nhcb the custom bounds are the
// thresholds and twice each, as the classic buckets; with native the
// schema is the coarsest from 0 up whose every stretch between two of
// those bounds holds a whole bucket (schema 0 when the thresholds are
// powers of two, whose bounds they are; 1 for the kube-apiserver's 1 s, 5 s
// and 30 s). The tests so pin the rules' arithmetic, not
// HistogramFraction's interpolation inside a bucket, which only real
// traffic near a threshold that is no bound exercises (README,
// latency.form).
//
// A classic scenario may give one label set buckets that no histogram can
// have: SLOs sharing a series each write their threshold's bucket and
// twice it at all requests, so the bucket at twice the lower threshold can
// exceed the one at the higher threshold. The native histogram takes the
// cumulative count at each bound as the least at that bound or above, which
// keeps every threshold's own count unless a lower threshold counts more
// slow requests than a higher one, which no traffic can do: that is
// reported as a conflict (tester.conflicts), which the window-pair tests
// check; the records test, where every SLO burns at its own share, does
// not, so SLOs that share a native series are best listed from the lower
// threshold up (shareOf gives the first eight SLOs falling shares).

// nativeLayout is the bucket layout of a native form's test histograms.
type nativeLayout struct {
	custom bool
	schema int32
	// bounds are the thresholds of every SLO and twice each, ascending:
	// the classic tests' bucket bounds and, with nhcb, the custom values.
	bounds []float64
	// thresholds are the SLOs' thresholds.
	thresholds map[float64]bool
	// bottom is the bucket (index) below the lowest bound; above maps each
	// bound to the bucket just above it, below the next bound.
	bottom int32
	above  map[float64]int32
}

// maxNativeSchema is the finest standard exponential schema.
const maxNativeSchema = 8

// newNativeLayout lays out the buckets of spec s's test histograms, or
// says why it cannot.
func newNativeLayout(s *slo.Spec) (*nativeLayout, error) {
	l := &nativeLayout{custom: s.Latency.Form == slo.FormNHCB, thresholds: map[float64]bool{}}
	for _, o := range s.SLOs {
		if !o.Kind.HasLatency() {
			continue
		}
		for _, t := range o.Latency {
			l.bounds = append(l.bounds, t.Seconds, t.Seconds*2)
			l.thresholds[t.Seconds] = true
		}
	}
	slices.Sort(l.bounds)
	l.bounds = slices.Compact(l.bounds)
	if l.custom {
		// Custom bucket j is (bounds[j-1], bounds[j]]; the last one,
		// len(bounds), holds what is above every bound.
		l.schema = histogram.CustomBucketsSchema
		l.above = map[float64]int32{}
		for j, b := range l.bounds {
			l.above[b] = int32(j + 1)
		}
		return l, nil
	}
	for l.schema = 0; l.schema <= maxNativeSchema; l.schema++ {
		if l.place() {
			return l, nil
		}
	}
	return nil, fmt.Errorf("latency.form %s: the generated tests put each threshold's slow and fast requests into native buckets that no threshold falls inside, and even schema %d has no whole bucket between some two of the bounds %s (the thresholds and twice each); set thresholds further apart", s.Latency.Form, maxNativeSchema, formatBounds(l.bounds))
}

// place finds, at l.schema, a bucket below the lowest bound and one inside
// every stretch between two bounds; false when some stretch holds none.
func (l *nativeLayout) place() bool {
	// The highest bucket whose upper bound is at most the lowest bound.
	k := int32(math.Ceil(math.Log2(l.bounds[0])*math.Exp2(float64(l.schema)))) + 2
	for {
		if _, upper := exponentialBucket(l.schema, k); upper <= l.bounds[0] {
			break
		}
		k--
	}
	l.bottom = k
	l.above = map[float64]int32{}
	for j, b := range l.bounds {
		// The lowest bucket whose lower bound is at least b.
		for {
			if lower, _ := exponentialBucket(l.schema, k); lower >= b {
				break
			}
			k++
		}
		if _, upper := exponentialBucket(l.schema, k); j+1 < len(l.bounds) && upper > l.bounds[j+1] {
			return false
		}
		l.above[b] = k
	}
	return true
}

// exponentialBucket returns the bounds of bucket k of schema as
// Prometheus computes them (model/histogram, getBoundExponential, through
// the bucket iterator).
func exponentialBucket(schema, k int32) (lower, upper float64) {
	h := &histogram.FloatHistogram{Schema: schema, Count: 1, PositiveSpans: []histogram.Span{{Offset: k, Length: 1}}, PositiveBuckets: []float64{1}}
	it := h.PositiveBucketIterator()
	it.Next()
	b := it.At()
	return b.Lower, b.Upper
}

func formatBounds(bs []float64) string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = num64(b)
	}
	return strings.Join(out, ", ")
}

// nativeHist is one label set's native histogram in a scenario: per
// phase, the increase per minute of each bucket (by index).
type nativeHist struct {
	name   string
	labels map[string]string
	counts []map[int32]float64
	// slowAbove holds the label set's bucket bounds that some request is
	// above, in some phase.
	slowAbove []float64
}

// native turns the classic series of b (in their order) into native
// histogram series; conflicts lists label sets whose classic buckets no
// histogram can have.
func (l *nativeLayout) native(metric string, b *seriesBuilder) (out []*nativeHist, conflicts []string) {
	type classic struct {
		labels map[string]string
		count  *series.Series
		bucket map[float64]*series.Series
	}
	byKey := map[string]*classic{}
	var order []string
	for _, key := range b.order {
		s := b.byKey[key]
		if s.Name != metric+"_count" && s.Name != metric+"_bucket" {
			continue
		}
		ls := maps.Clone(s.Labels)
		le := ls["le"]
		delete(ls, "le")
		k := labels.FromMap(ls).String()
		c, ok := byKey[k]
		if !ok {
			c = &classic{labels: ls, bucket: map[float64]*series.Series{}}
			byKey[k] = c
			order = append(order, k)
		}
		if s.Name == metric+"_count" {
			c.count = s
			continue
		}
		bound, err := strconv.ParseFloat(le, 64)
		if err != nil {
			panic(fmt.Sprintf("testgen: bucket %s with le %q", key, le))
		}
		c.bucket[bound] = s
	}
	for _, k := range order {
		c := byKey[k]
		h := &nativeHist{name: metric, labels: c.labels}
		finite := slices.Sorted(maps.Keys(c.bucket))
		finite = slices.DeleteFunc(finite, func(v float64) bool { return math.IsInf(v, 1) })
		for p := range b.phases {
			total := 0.0
			if c.count != nil {
				total = c.count.Values[p]
			} else if inf, ok := c.bucket[math.Inf(1)]; ok {
				total = inf.Values[p]
			}
			// Cumulative counts, each the least at its bound or above.
			cum := make([]float64, len(finite))
			least := total
			for j := len(finite) - 1; j >= 0; j-- {
				v := c.bucket[finite[j]].Values[p]
				if v > least {
					if l.thresholds[finite[j]] {
						conflicts = append(conflicts, fmt.Sprintf("%s%s in phase %d: %s requests within %ss, more than within a higher bound", metric, k, p, num64(v), num64(finite[j])))
					}
					v = least
				}
				cum[j], least = v, v
			}
			// The requests within the lowest bound go below every bound,
			// those above a bound just above it: an SLO whose threshold
			// the label set has no bucket at counts none of them as slow,
			// as its classic rules count none when its bucket is missing.
			// A label set with no bucket but +Inf (streaming requests)
			// has them all above every bound: slow, should a rule count
			// them.
			counts := map[int32]float64{}
			prev, at := 0.0, l.bottom
			if len(finite) == 0 {
				at = l.above[l.bounds[len(l.bounds)-1]]
			}
			for j, bound := range finite {
				if n := cum[j] - prev; n != 0 {
					counts[at] += n
				}
				prev, at = cum[j], l.above[bound]
			}
			if n := total - prev; n != 0 {
				counts[at] += n
			}
			for j, bound := range finite {
				if total > cum[j] && !slices.Contains(h.slowAbove, bound) {
					h.slowAbove = append(h.slowAbove, bound)
				}
			}
			h.counts = append(h.counts, counts)
		}
		out = append(out, h)
	}
	return out, conflicts
}

// span is the bucket indexes every value of the layout writes: all from
// the one below every bound to the one above the highest.
func (l *nativeLayout) span() (first, last int32) {
	return l.bottom, l.above[l.bounds[len(l.bounds)-1]]
}

// value writes a native histogram with the given bucket counts in
// promtool's notation.
func (l *nativeLayout) value(counts map[int32]float64) string {
	first, last := l.span()
	var total, sum float64
	buckets := make([]string, 0, last-first+1)
	for k := first; k <= last; k++ {
		n := counts[k]
		total += n
		buckets = append(buckets, num64(n))
		// The sum of observations, each at its bucket's upper bound (the
		// last custom bucket's observations at twice its lower one): the
		// rules do not read it, but a histogram should have one.
		var upper float64
		switch {
		case l.custom && k == last:
			upper = 2 * l.bounds[len(l.bounds)-1]
		case l.custom:
			upper = l.bounds[k]
		default:
			_, upper = exponentialBucket(l.schema, k)
		}
		sum += n * upper
	}
	var b strings.Builder
	fmt.Fprintf(&b, "{{schema:%d count:%s sum:%s ", l.schema, num64(total), num64(sum))
	if l.custom {
		cv := make([]string, len(l.bounds))
		for i, v := range l.bounds {
			cv[i] = num64(v)
		}
		fmt.Fprintf(&b, "custom_values:[%s] ", strings.Join(cv, " "))
	} else {
		fmt.Fprintf(&b, "offset:%d ", first)
	}
	fmt.Fprintf(&b, "buckets:[%s]}}", strings.Join(buckets, " "))
	return b.String()
}

// promtool writes h's samples on timeline tl in promtool's notation, as
// series.Timeline.Promtool writes a counter: the start (empty), then per
// phase its first value in full and the increase per step.
func (l *nativeLayout) promtool(tl series.Timeline, h *nativeHist) string {
	parts := []string{l.value(nil)}
	cur := map[int32]float64{}
	for p, n := range tl {
		if n <= 0 {
			continue
		}
		first := map[int32]float64{}
		for k, v := range cur {
			first[k] = v
		}
		for k, v := range h.counts[p] {
			first[k] += v
			cur[k] += v * float64(n)
		}
		if n == 1 {
			parts = append(parts, l.value(first))
		} else {
			parts = append(parts, fmt.Sprintf("%s+%sx%d", l.value(first), l.value(h.counts[p]), n-1))
		}
	}
	return strings.Join(parts, " ")
}

// nativeInput is inputSeries' input for a native form: the series of b
// other than the histogram's as they are, and the histogram's as native
// series, in the place of the first of their classic series.
func (t *tester) nativeInput(b *seriesBuilder) []promtest.InputSeries {
	hists, _ := t.native.native(t.Histogram, b)
	byKey := map[string]*nativeHist{}
	for _, h := range hists {
		byKey[labels.FromMap(h.labels).String()] = h
	}
	done := map[string]bool{}
	var out []promtest.InputSeries
	for _, key := range b.order {
		s := b.byKey[key]
		if s.Name != t.Count && s.Name != t.Bucket {
			out = append(out, promtest.InputSeries{Series: key, Values: b.tl.Promtool(*s)})
			continue
		}
		ls := maps.Clone(s.Labels)
		delete(ls, "le")
		k := labels.FromMap(ls).String()
		if done[k] {
			continue
		}
		done[k] = true
		out = append(out, promtest.InputSeries{Series: t.Histogram + k, Values: t.native.promtool(b.tl, byKey[k])})
	}
	return out
}

// spills lists the SLOs that read, in scenario sc, slow requests the
// scenario wrote for another SLO: a label set that SLO k's selector matches
// has no bucket at k's threshold, but requests above a higher bound of
// another SLO's, and those are slower than k's threshold too. A classic
// histogram keeps them apart (k finds no bucket of its own there and
// counts nothing); a native one cannot, so k burns with the other SLO
// where the scenario says it does not, and the scenario is left out, as
// one whose SLOs write a shared series differently.
func (t *tester) spills(b *seriesBuilder) []string {
	hists, _ := t.native.native(t.Histogram, b)
	var out []string
	for _, h := range hists {
		for k, o := range t.SLOs {
			if !o.Kind.HasLatency() {
				continue
			}
			for _, th := range o.Latency {
				ms := t.SLIs[k].Latency
				if len(th.Partition) > 0 {
					ms = ms.And(pql.OneOf(t.Latency.PartitionLabel, th.Partition))
				}
				if !ms.Matches(h.labels) || slices.Contains(h.slowAbove, th.Seconds) {
					continue
				}
				for _, b := range h.slowAbove {
					if b > th.Seconds {
						out = append(out, fmt.Sprintf("%s%s: requests above %ss are slow for %s at %ss too", h.name, labels.FromMap(h.labels), num64(b), o.Name, num64(th.Seconds)))
						break
					}
				}
			}
		}
	}
	return out
}
