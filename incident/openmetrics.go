package incident

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
)

// WriteOpenMetrics writes the scenario's samples as OpenMetrics text, the
// input of `promtool tsdb create-blocks-from openmetrics`; the first sample
// is at start. Series are grouped into metric families; a histogram's
// buckets, count and sum are written together per timestamp. A counter
// whose name lacks _total, or whose family name is taken by another family
// (aggregator_unavailable_apiservice_total beside the gauge
// aggregator_unavailable_apiservice), is written as type unknown under its
// full name.
func (sc *Scenario) WriteOpenMetrics(w io.Writer, start time.Time) error {
	type metric struct {
		labels map[string]string // without le
		series []Series          // buckets in order, then count and sum
	}
	type family struct {
		name, typ string
		metrics   []*metric
		byKey     map[string]*metric
	}
	gauges := map[string]bool{}
	for _, s := range sc.Series {
		if s.Type == Gauge {
			gauges[s.Family] = true
		}
	}
	var order []*family
	families := map[string]*family{}
	for _, s := range sc.Series {
		name, typ := s.Family, string(s.Type)
		if s.Type == Counter && (s.Name != s.Family+"_total" || gauges[s.Family]) {
			name, typ = s.Name, "unknown"
		}
		f, ok := families[name]
		if !ok {
			f = &family{name: name, typ: typ, byKey: map[string]*metric{}}
			families[name] = f
			order = append(order, f)
		} else if f.typ != typ {
			return fmt.Errorf("scenario %s: metric family %s is both %s and %s", sc.Name, name, f.typ, typ)
		}
		base := maps.Clone(s.Labels)
		delete(base, "le")
		key := labelString(base)
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
				samples[i] = sc.Samples(s)
				names[i] = s.Name + omLabels(s.Labels)
			}
			for k := range samples[0] {
				ts := start.Add(time.Duration(k) * ScrapeInterval)
				for i := range m.series {
					v := samples[i][k]
					if math.IsNaN(v) {
						continue
					}
					fmt.Fprintf(bw, "%s %s %s\n", names[i], omFloat(v), omTime(ts))
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

func omFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// omTime prints a timestamp in seconds, with milliseconds when needed.
func omTime(t time.Time) string {
	ms := t.UnixMilli()
	if ms%1000 == 0 {
		return strconv.FormatInt(ms/1000, 10)
	}
	return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)
}
