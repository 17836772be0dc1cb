package series

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
)

var nan = math.NaN()

func TestLe(t *testing.T) {
	tests := []struct {
		bound          float64
		classic, float string
	}{
		{0.05, "0.05", "0.05"},
		{1, "1", "1.0"},
		{30, "30", "30.0"},
		{1.25, "1.25", "1.25"},
		{0.005, "0.005", "0.005"},
		{1e21, "1000000000000000000000", "1000000000000000000000.0"},
		{math.Inf(1), "+Inf", "+Inf"},
	}
	for _, tc := range tests {
		if got := Le(tc.bound); got != tc.classic {
			t.Errorf("Le(%v) = %q, want %q", tc.bound, got, tc.classic)
		}
		if got := LeFloat(tc.bound); got != tc.float {
			t.Errorf("LeFloat(%v) = %q, want %q", tc.bound, got, tc.float)
		}
	}
}

// cases are series on the timeline 3 steps, 2 steps (6 samples).
var (
	timeline = Timeline{3, 2}
	cases    = []struct {
		name     string
		s        Series
		samples  []float64
		promtool string
	}{
		{"counter", Series{Type: Counter, Values: []float64{60, 30}},
			[]float64{0, 60, 120, 180, 210, 240}, "0 60+60x2 210+30x1"},
		{"counter with a start", Series{Type: Histogram, Values: []float64{0, 60}, Start: 1},
			[]float64{1, 1, 1, 1, 61, 121}, "1 1+0x2 61+60x1"},
		{"counter created by the fault", Series{Type: Counter, Values: []float64{nan, 120}},
			[]float64{nan, nan, nan, 0, 120, 240}, "_x3 0 120+120x1"},
		{"fractional increase", Series{Type: Counter, Values: []float64{0.1, 0.1}},
			[]float64{0, 0.1, 0.2, 0.3, 0.4, 0.5}, "0 0.1+0.1x2 0.4+0.1x1"},
		{"gauge", Series{Type: Gauge, Values: []float64{0, 1}},
			[]float64{0, 0, 0, 1, 1, 1}, "0x2 1x2"},
		{"gauge appearing", Series{Type: Gauge, Values: []float64{nan, 1}},
			[]float64{nan, nan, nan, 1, 1, 1}, "_x3 1x2"},
		{"gauge leaving", Series{Type: Gauge, Values: []float64{2.5, nan}},
			[]float64{2.5, 2.5, 2.5, nan, nan, nan}, "2.5x2 _x3"},
	}
)

func sameFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !(math.Abs(a[i]-b[i]) <= 1e-9*math.Max(1, math.Abs(a[i])) || math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}

// TestPromtool checks the notation and that it expands, as promtool
// expands it, to the samples.
func TestPromtool(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := timeline.Samples(tc.s); !sameFloats(got, tc.samples) {
				t.Errorf("samples %v, want %v", got, tc.samples)
			}
			text := timeline.Promtool(tc.s)
			if text != tc.promtool {
				t.Errorf("notation %q, want %q", text, tc.promtool)
			}
			_, vals, err := parser.NewParser(parser.Options{}).ParseSeriesDesc("x " + text)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float64, len(vals))
			for i, v := range vals {
				got[i] = v.Value
				if v.Omitted {
					got[i] = nan
				}
			}
			if !sameFloats(got, tc.samples) {
				t.Errorf("promtool expands %q to %v, want %v", text, got, tc.samples)
			}
		})
	}
}

// TestPromtoolStaysExact: whole increases over many steps and phases give
// exactly the product, which promtool's repeated addition must reach.
func TestPromtoolStaysExact(t *testing.T) {
	tl := Timeline{90, 210, 1}
	s := Series{Type: Counter, Values: []float64{1200, 7, 3}}
	want := "0 1200+1200x89 108007+7x209 109473"
	if got := tl.Promtool(s); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func series3() []Series {
	return []Series{
		{Name: "req_total", Family: "req", Type: Counter, Labels: map[string]string{"code": "200"}, Values: []float64{60, 30}},
		{Name: "lat_bucket", Family: "lat", Type: Histogram, Labels: map[string]string{"le": Le(1)}, Values: []float64{6, 3}},
		{Name: "lat_bucket", Family: "lat", Type: Histogram, Labels: map[string]string{"le": Le(math.Inf(1))}, Values: []float64{60, 30}},
		{Name: "lat_count", Family: "lat", Type: Histogram, Values: []float64{60, 30}},
		{Name: "down", Type: Gauge, Labels: map[string]string{"name": `a"b`}, Values: []float64{nan, 1}},
		{Name: "down_total", Family: "down", Type: Counter, Labels: map[string]string{"name": `a"b`}, Values: []float64{nan, 0.5}},
	}
}

// sampleKey identifies a sample in the round-trip tests.
type sampleKey struct {
	series string
	t      int64
}

// want is every sample of series3 on timeline.
func want(start time.Time, interval time.Duration) map[sampleKey]float64 {
	out := map[sampleKey]float64{}
	for _, s := range series3() {
		for k, v := range timeline.Samples(s) {
			if !math.IsNaN(v) {
				ls := labels.NewBuilder(labels.FromMap(s.Labels)).Set(labels.MetricName, s.Name).Labels()
				out[sampleKey{ls.String(), start.Add(time.Duration(k) * interval).UnixMilli()}] = v
			}
		}
	}
	return out
}

func diffSamples(t *testing.T, want, got map[sampleKey]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d samples, want %d", len(got), len(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s @%d = %v (present %v), want %v", k.series, k.t, g, ok, v)
		}
	}
}

// TestOpenMetrics parses the text with the parser `promtool tsdb
// create-blocks-from openmetrics` uses.
func TestOpenMetrics(t *testing.T) {
	start := time.Unix(1_750_000_000, 0)
	var buf bytes.Buffer
	if err := WriteOpenMetrics(&buf, timeline, start, 90*time.Second, series3()); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"# TYPE req counter\n", "# TYPE lat histogram\n", "# TYPE down gauge\n", "# TYPE down_total unknown\n",
		"lat_bucket{le=\"1\"} 6 1750000090\n", "# EOF\n"} {
		if !strings.Contains(buf.String(), line) {
			t.Errorf("no line %q in\n%s", line, buf.String())
		}
	}
	got := map[sampleKey]float64{}
	p := textparse.NewOpenMetricsParser(buf.Bytes(), labels.NewSymbolTable())
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("parse: %v\n%s", err, buf.String())
		}
		if e != textparse.EntrySeries {
			continue
		}
		_, ts, v := p.Series()
		var ls labels.Labels
		p.Labels(&ls)
		if le := ls.Get("le"); le == "1.0" { // the parser normalises whole bounds
			ls = labels.NewBuilder(ls).Set("le", "1").Labels()
		}
		got[sampleKey{ls.String(), *ts}] = v
	}
	diffSamples(t, want(start, 90*time.Second), got)

	bad := append(series3(), Series{Name: "lat_sum", Family: "lat", Type: Gauge, Values: []float64{1, 1}})
	if err := WriteOpenMetrics(io.Discard, timeline, start, time.Minute, bad); err == nil || !strings.Contains(err.Error(), "both histogram and gauge") {
		t.Errorf("a family of two types: error %v", err)
	}
}

// recorder is a storage.AppenderV2 that keeps what is appended.
type recorder struct {
	storage.AppenderV2
	got map[sampleKey]float64
}

func (r *recorder) Append(ref storage.SeriesRef, ls labels.Labels, _, t int64, v float64, _ *histogram.Histogram, _ *histogram.FloatHistogram, _ storage.AppendV2Options) (storage.SeriesRef, error) {
	r.got[sampleKey{ls.String(), t}] = v
	return ref + 1, nil
}

func TestAppend(t *testing.T) {
	start := time.Unix(1_750_000_000, 0)
	r := &recorder{got: map[sampleKey]float64{}}
	n, err := Append(r, timeline, start, time.Minute, series3())
	if err != nil {
		t.Fatal(err)
	}
	w := want(start, time.Minute)
	if n != len(w) {
		t.Errorf("Append reports %d samples, want %d", n, len(w))
	}
	diffSamples(t, w, r.got)
}
