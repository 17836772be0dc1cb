package series

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// WriteOpenMetrics writes the samples of ss on timeline tl as OpenMetrics
// text, the input of `promtool tsdb create-blocks-from openmetrics`: the
// first sample at start, then one every interval. Series are grouped into
// metric families in the order they first appear; a histogram's buckets,
// count and sum are written together per timestamp. A counter whose name
// lacks _total, or whose family name is taken by a gauge (the counter
// aggregator_unavailable_apiservice_total beside the gauge
// aggregator_unavailable_apiservice), is written as type unknown under its
// full name.
func WriteOpenMetrics(w io.Writer, tl Timeline, start time.Time, interval time.Duration, ss []Series) error {
	type metric struct {
		labels map[string]string // without le
		series []Series          // in order: buckets, then count and sum
	}
	type family struct {
		name, typ string
		metrics   []*metric
		byKey     map[string]*metric
	}
	familyOf := func(s Series) string {
		if s.Family == "" {
			return s.Name
		}
		return s.Family
	}
	gauges := map[string]bool{}
	for _, s := range ss {
		if s.Type == Gauge {
			gauges[familyOf(s)] = true
		}
	}
	var order []*family
	families := map[string]*family{}
	for _, s := range ss {
		name, typ := familyOf(s), string(s.Type)
		if s.Type == Counter && (s.Name != name+"_total" || gauges[name]) {
			name, typ = s.Name, "unknown"
		}
		f, ok := families[name]
		if !ok {
			f = &family{name: name, typ: typ, byKey: map[string]*metric{}}
			families[name] = f
			order = append(order, f)
		} else if f.typ != typ {
			return fmt.Errorf("series: metric family %s is both %s and %s", name, f.typ, typ)
		}
		base := maps.Clone(s.Labels)
		delete(base, "le")
		key := LabelString(base)
		m, ok := f.byKey[key]
		if !ok {
			m = &metric{labels: base}
			f.byKey[key] = m
			f.metrics = append(f.metrics, m)
		}
		m.series = append(m.series, s)
	}
	bw := bufio.NewWriter(w)
	for _, f := range order {
		fmt.Fprintf(bw, "# TYPE %s %s\n", f.name, f.typ)
		for _, m := range f.metrics {
			samples := make([][]float64, len(m.series))
			names := make([]string, len(m.series))
			for i, s := range m.series {
				samples[i] = tl.Samples(s)
				names[i] = s.Name + omLabels(s.Labels)
			}
			for k := range samples[0] {
				ts := omTime(start.Add(time.Duration(k) * interval))
				for i := range m.series {
					if v := samples[i][k]; !math.IsNaN(v) {
						fmt.Fprintf(bw, "%s %s %s\n", names[i], Number(v), ts)
					}
				}
			}
		}
	}
	bw.WriteString("# EOF\n")
	return bw.Flush()
}

var omEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// omLabels prints labels sorted by name, le last as OpenMetrics examples do.
func omLabels(ls map[string]string) string {
	if len(ls) == 0 {
		return ""
	}
	names := slices.Sorted(maps.Keys(ls))
	if i := slices.Index(names, "le"); i >= 0 {
		names = append(append(names[:i:i], names[i+1:]...), "le")
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
		b.WriteString(`="`)
		b.WriteString(omEscaper.Replace(ls[n]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// omTime prints a timestamp in seconds, with milliseconds when needed.
func omTime(t time.Time) string {
	ms := t.UnixMilli()
	if ms%1000 == 0 {
		return strconv.FormatInt(ms/1000, 10)
	}
	return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)
}

// Append appends the samples of ss on timeline tl to app, the first at
// start and then one every interval, series by series, and returns the
// number of samples appended. It does not commit.
func Append(app storage.AppenderV2, tl Timeline, start time.Time, interval time.Duration, ss []Series) (int, error) {
	n := 0
	for _, s := range ss {
		b := labels.NewBuilder(labels.FromMap(s.Labels))
		ls := b.Set(labels.MetricName, s.Name).Labels()
		var ref storage.SeriesRef
		for k, v := range tl.Samples(s) {
			if math.IsNaN(v) {
				continue
			}
			t := start.Add(time.Duration(k) * interval).UnixMilli()
			var err error
			ref, err = app.Append(ref, ls, 0, t, v, nil, nil, storage.AppendV2Options{})
			if err != nil {
				return n, fmt.Errorf("series: appending %s at %d: %w", ls, t, err)
			}
			n++
		}
	}
	return n, nil
}
