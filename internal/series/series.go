// Package series generates synthetic time series for burnrate's tests and
// fixtures: each series runs through phases, holding one rate (a counter's
// increase per step) or one value (a gauge) per phase, sampled once per
// step. The same series can be expanded into samples (Timeline.Samples),
// written in promtool's input-series notation (Timeline.Promtool), as
// OpenMetrics text (WriteOpenMetrics) or appended straight into a
// Prometheus storage (Append).
//
// It is also the one place that spells a histogram bucket's upper bound,
// the le label (Le, LeFloat).
package series

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Type is the type of a series' metric family.
type Type string

// The metric family types. A histogram series is one of its _bucket, _count
// or _sum series; it counts like a counter.
const (
	Counter   Type = "counter"
	Gauge     Type = "gauge"
	Histogram Type = "histogram"
)

// Series is one synthetic time series.
type Series struct {
	// Name is the metric name, e.g. apiserver_request_total.
	Name string
	// Family is the metric family the series belongs to: the counter's name
	// without _total, the histogram's base name, the gauge's name. Only
	// WriteOpenMetrics reads it; empty means Name.
	Family string
	Type   Type
	// Labels are the series' labels, without __name__.
	Labels map[string]string
	// Values holds one value per phase of the Timeline: the increase per
	// step of a counter or histogram series, the value of a gauge. NaN
	// means the series has no samples in that phase. A counter is absent
	// only before it first appears; it then starts at Start.
	Values []float64
	// Start is a counter's value at its first sample.
	Start float64
}

// Counts reports whether the series is a counter or a histogram series.
func (s Series) Counts() bool { return s.Type != Gauge }

// Key is the series' name and labels in PromQL notation, e.g. up{job="x"},
// labels sorted by name and values quoted with strconv.Quote.
func (s Series) Key() string { return s.Name + LabelString(s.Labels) }

// LabelString prints labels sorted by name as {a="1",b="2"}, values quoted
// with strconv.Quote; {} for none.
func LabelString(ls map[string]string) string {
	b := []byte{'{'}
	for i, n := range slices.Sorted(maps.Keys(ls)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, n...)
		b = append(b, '=')
		b = strconv.AppendQuote(b, ls[n])
	}
	return string(append(b, '}'))
}

// Timeline is the number of steps (scrape intervals) of each phase. A
// series on a timeline has one sample at the start of every step and one
// at the end of the last: Len samples.
type Timeline []int

// Len is the number of samples of a series on the timeline.
func (tl Timeline) Len() int {
	n := 1
	for _, k := range tl {
		n += k
	}
	return n
}

// phaseAt returns the phase of every sample: the sample at step k belongs
// to the phase that holds step k, the last sample to the last phase.
func (tl Timeline) phaseAt() []int {
	out := make([]int, 0, tl.Len())
	for p, k := range tl {
		for range k {
			out = append(out, p)
		}
	}
	return append(out, len(tl)-1)
}

// Samples returns the series' value at every sample, NaN where it has
// none. A gauge holds its phase's value. A counter's increase from one
// sample to the next follows the phase of the first of the two, so a
// counter phase of k steps adds k increases.
func (tl Timeline) Samples(s Series) []float64 {
	at := tl.phaseAt()
	out := make([]float64, len(at))
	for k, p := range at {
		v := s.Values[p]
		switch {
		case math.IsNaN(v):
			out[k] = math.NaN()
		case !s.Counts():
			out[k] = v
		case k == 0 || math.IsNaN(out[k-1]):
			out[k] = s.Start
		default:
			out[k] = out[k-1] + s.Values[at[k-1]]
		}
	}
	return out
}

// Promtool writes the series' samples in the expanding notation of
// promtool's input_series values: a gauge as one run per phase ("1x9"), a
// counter as its start followed by one run per phase ("0 5+5x9 53+3x4"),
// leading absent samples as "_xN". Each run's first value is written in
// full, computed by multiplication, so promtool's repeated additions never
// drift across phases; whole increases keep them exact.
func (tl Timeline) Promtool(s Series) string {
	if len(s.Values) != len(tl) {
		panic(fmt.Sprintf("series: %s has %d values for %d phases", s.Key(), len(s.Values), len(tl)))
	}
	var parts []string
	if !s.Counts() {
		for p, v := range s.Values {
			n := tl[p]
			if p == len(tl)-1 {
				n++ // the last phase also holds the sample at the end
			}
			switch {
			case n == 0:
			case math.IsNaN(v):
				parts = append(parts, fmt.Sprintf("_x%d", n))
			case n == 1:
				parts = append(parts, Number(v))
			default:
				parts = append(parts, fmt.Sprintf("%sx%d", Number(v), n-1))
			}
		}
		return strings.Join(parts, " ")
	}
	blanks, started := 0, false
	value := s.Start
	for p, inc := range s.Values {
		n := tl[p]
		if math.IsNaN(inc) {
			if started {
				panic(fmt.Sprintf("series: counter %s disappears in phase %d", s.Key(), p))
			}
			blanks += n
			continue
		}
		if !started {
			if blanks > 0 {
				parts = append(parts, fmt.Sprintf("_x%d", blanks))
			}
			parts = append(parts, Number(s.Start))
			started = true
		}
		if n <= 0 {
			continue
		}
		first := value + inc
		value += inc * float64(n)
		if n == 1 {
			parts = append(parts, Number(first))
		} else {
			parts = append(parts, fmt.Sprintf("%s+%sx%d", Number(first), Number(inc), n-1))
		}
	}
	if !started && blanks > 0 {
		parts = append(parts, fmt.Sprintf("_x%d", blanks+1))
	}
	return strings.Join(parts, " ")
}

// Number prints v as promtool's input and Prometheus' text formats read
// it: the shortest decimal that parses back to v, without an exponent;
// "+Inf", "-Inf" and "NaN" for the special values.
func Number(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// Le is the le label of the bucket with upper bound bound, as Prometheus 2,
// client libraries and the Kubernetes components write it: "1", "0.05",
// "+Inf".
func Le(bound float64) string { return Number(bound) }

// LeFloat is the le label as Prometheus 3 normalises it when it scrapes
// classic histograms: a whole bound gets ".0" ("1.0"); others as Le.
func LeFloat(bound float64) string {
	s := Le(bound)
	if !math.IsInf(bound, 0) && bound == math.Trunc(bound) {
		s += ".0"
	}
	return s
}
