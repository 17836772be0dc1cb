package diagnose

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/burnrate/burnrate/internal/series"
	"github.com/burnrate/burnrate/slo"
)

// heldForms is what a Prometheus holds of one latency histogram: classic
// _bucket series, and a native-histogram series under the histogram's own
// name with exponential buckets or with custom ones (NHCB).
type heldForms struct {
	classic bool
	// native is "", "exponential" or "custom".
	native string
	// schema is the exponential schema (bucket bounds 2^(k·2^-schema)).
	schema int
	// bounds are the custom buckets' upper bounds seen (NHCB).
	bounds []float64
}

func (h heldForms) String() string {
	var parts []string
	if h.classic {
		parts = append(parts, "classic buckets")
	}
	switch h.native {
	case "exponential":
		parts = append(parts, fmt.Sprintf("native histograms (exponential buckets, schema %d)", h.schema))
	case "custom":
		parts = append(parts, "native histograms with custom buckets (NHCB)")
	}
	if len(parts) == 0 {
		return "neither classic buckets nor native histograms"
	}
	return strings.Join(parts, " and ")
}

// serves says whether the histogram is held in the form the spec reads.
func (h heldForms) serves(f slo.HistogramForm) bool {
	switch f {
	case slo.FormNative:
		return h.native == "exponential"
	case slo.FormNHCB:
		return h.native == "custom"
	}
	return h.classic
}

// advice is what to write in the spec or in Prometheus' scrape config when
// the histogram is not held in the form the spec reads.
func (h heldForms) advice(f slo.HistogramForm) string {
	switch {
	case h.native == "exponential":
		return "set latency.form: native in the spec (or, to keep the classic rules, always_scrape_classic_histograms: true in the scrape config: with scrape_native_histograms on, Prometheus keeps only the native form of a histogram exposed in both)"
	case h.native == "custom":
		return "set latency.form: nhcb in the spec (or, to keep the classic rules, always_scrape_classic_histograms: true beside convert_classic_histograms_to_nhcb in the scrape config)"
	case h.classic && f == slo.FormNative:
		return "set latency.form: classic in the spec, or turn on scrape_native_histograms in the scrape config (and, for kube-apiserver, the NativeHistograms feature gate, on by default from 1.37)"
	case h.classic:
		return "set latency.form: classic in the spec, or convert_classic_histograms_to_nhcb: true in the scrape config"
	}
	return ""
}

// forms finds out which forms of histogram metric, restricted by vs's
// matchers, Prometheus held within lookback of t: classic by counting
// metric_bucket series, native by summing the native series' last samples
// into one histogram (a sum keeps the common schema, or the custom bounds)
// and reading its buckets' bounds.
func (l *linter) forms(ctx context.Context, bucket, native *parser.VectorSelector) (heldForms, string, error) {
	var h heldForms
	q, rows, err := l.count(ctx, bucket)
	if err != nil {
		return h, q, err
	}
	h.classic = len(rows) > 0
	nq := (&parser.AggregateExpr{Op: parser.SUM, Expr: pql.Call("last_over_time", pql.Range(native, l.o.Lookback))}).String()
	v, err := l.c.queryValue(ctx, nq, l.o.Time)
	if err != nil {
		return h, nq, err
	}
	if vec, ok := v.(model.Vector); ok && len(vec) == 1 && vec[0].Histogram != nil {
		h.native, h.schema, h.bounds = classify(vec[0].Histogram)
	}
	return h, q + "\n" + nq, nil
}

// classify tells exponential buckets from custom ones by their bounds: a
// custom-bucket histogram has an overflow bucket up to +Inf (when it holds
// any count) and bounds at whatever the instrumentation chose; every
// bucket of an exponential schema s spans (b^k, b^(k+1)] with
// b = 2^(2^-s), -4 <= s <= 8 (model/histogram/generic.go, getBoundExponential: the schema's
// bucket boundaries), apart from the zero bucket around 0.
func classify(h *model.SampleHistogram) (form string, schema int, bounds []float64) {
	for _, b := range h.Buckets {
		if math.IsInf(float64(b.Upper), 1) {
			form = "custom"
		}
		if b.Upper > 0 && !math.IsInf(float64(b.Upper), 1) {
			bounds = append(bounds, float64(b.Upper))
		}
	}
	if form == "custom" {
		return form, 0, bounds
	}
	for s := 8; s >= -4; s-- {
		if fitsSchema(h, s) {
			return "exponential", s, nil
		}
	}
	if len(bounds) == 0 {
		return "", 0, nil
	}
	return "custom", 0, bounds
}

// fitsSchema says whether every non-zero bucket's bounds are consecutive
// powers of 2^(2^-s).
func fitsSchema(h *model.SampleHistogram, s int) bool {
	n := 0
	for _, b := range h.Buckets {
		lo, hi := float64(b.Lower), float64(b.Upper)
		if lo <= 0 {
			continue // the zero bucket, or negative buckets' mirror
		}
		k := math.Log2(hi) * math.Exp2(float64(s))
		j := math.Log2(lo) * math.Exp2(float64(s))
		if math.Abs(k-math.Round(k)) > 1e-6 || math.Abs(j-math.Round(j)) > 1e-6 || math.Round(k)-math.Round(j) != 1 {
			return false
		}
		n++
	}
	return n > 0
}

// nativeThresholds reports, for an SLO read from native histograms, whether
// each latency threshold is a bucket bound (exact) or falls inside a
// bucket, where histogram_fraction interpolates (promql/quantile.go,
// HistogramFraction).
func (l *linter) nativeThresholds(o slo.SLO, h heldForms, q string) {
	metric := l.s.Latency.Metric
	for _, t := range o.Latency {
		le := series.Le(t.Seconds)
		switch h.native {
		case "custom":
			if slices.Contains(h.bounds, t.Seconds) {
				l.add(SeverityOK, o.Name, "bucket", q, "%ss is one of the custom bucket bounds of %s: the slow-request count at it is exact", le, metric)
				continue
			}
			l.add(SeverityWarning, o.Name, "bucket", q, "%ss is not among the custom bucket bounds of %s seen (%s): histogram_fraction interpolates inside the bucket around it; pick a threshold that is a bound, or keep the bucket in the instrumentation", le, metric, joinBounds(h.bounds))
		case "exponential":
			k := math.Log2(t.Seconds) * math.Exp2(float64(h.schema))
			if math.Abs(k-math.Round(k)) < 1e-9 {
				l.add(SeverityOK, o.Name, "bucket", q, "%ss is a bucket bound of schema %d of %s: the slow-request count at it is exact", le, h.schema, metric)
				continue
			}
			lo, hi := math.Exp2(math.Floor(k)/math.Exp2(float64(h.schema))), math.Exp2(math.Ceil(k)/math.Exp2(float64(h.schema)))
			l.add(SeverityWarning, o.Name, "bucket", q, "%ss is no bucket bound of schema %d of %s: it falls in the bucket (%.4g, %.4g] and histogram_fraction interpolates there, so requests in that bucket count as slow in proportion (see README, latency.form)", le, h.schema, metric, lo, hi)
		}
	}
}

func joinBounds(bs []float64) string {
	var out []string
	for _, b := range bs {
		out = append(out, series.Le(b))
	}
	return strings.Join(out, ", ")
}
