package diagnose

// The HTML report: one self-contained page (no script, nothing loaded
// from the network) with the report, a chart of each burning SLI's burn
// rate with the alert pairs' thresholds, and a chart of each of the first
// culprits over the same range. The charts are inline SVG drawn here; the
// data comes from range queries of the steps diagnose ran (the SLI step
// for the burn rates, each culprit's own step for its row).

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/slomodel"
)

// HTMLOptions tune WriteHTML.
type HTMLOptions struct {
	// ClusterLabel is the spec's cluster label (as for WriteText).
	ClusterLabel string
	// Span is the range the charts show, ending at the report's time.
	// Default: six times the report's window, at least 30m, at most 7d.
	Span time.Duration
	// Points is the number of points per series (default 120).
	Points int
	// Culprits is the number of first culprits charted (default 3).
	Culprits int
}

// Chart is one chart of the page.
type Chart struct {
	Title string
	// Note says why a chart has no series (a failed query, no data).
	Note  string
	Query string
	// Series are drawn as paths; Thresholds as dashed horizontal lines.
	Series     []ChartSeries
	Thresholds []ChartThreshold
	// svg is the drawn chart.
	svg chartSVG
}

// ChartSeries is one line of a chart.
type ChartSeries struct {
	Name   string
	Points []model.SamplePair
}

// ChartThreshold is a horizontal line of a chart.
type ChartThreshold struct {
	Name  string
	Value float64
	// Severity is the alert's severity at the line (its colour).
	Severity string
}

// WriteHTML runs the range queries the charts need against c and writes
// the page for report r of plan p to w, all at once: nothing is written
// when it fails. A chart whose query fails says so on the page; the page is
// still written.
func WriteHTML(ctx context.Context, w io.Writer, c *Client, p *Plan, r *Report, o HTMLOptions) error {
	if o.Span <= 0 {
		o.Span = min(max(6*p.Window, 30*time.Minute), 7*24*time.Hour)
	}
	if o.Points <= 1 {
		o.Points = 120
	}
	if o.Culprits <= 0 {
		o.Culprits = 3
	}
	// Whole seconds per step, so that the page states a round step.
	step := max((o.Span/time.Duration(o.Points-1) + time.Second - 1).Truncate(time.Second), time.Second)
	rng := v1.Range{Start: r.Time.Add(-step * time.Duration(o.Points-1)), End: r.Time, Step: step}
	burns, err := burnCharts(ctx, c, p, r, rng)
	if err != nil {
		return err
	}
	culprits := culpritCharts(ctx, c, p, r, rng, o)
	var text bytes.Buffer
	if err := r.WriteText(&text, o.ClusterLabel); err != nil {
		return err
	}
	page := htmlPage{
		Title:    "burnrate diagnose",
		Report:   r,
		Verdict:  verdict(r),
		Where:    where(r, o.ClusterLabel),
		Time:     r.Time.Format(time.RFC3339),
		Range:    fmt.Sprintf("%s to %s, one point every %s", rng.Start.UTC().Format(time.RFC3339), rng.End.UTC().Format(time.RFC3339), model.Duration(step)),
		Burns:    burns,
		Culprits: culprits,
		Text:     text.String(),
	}
	for i := range page.Burns {
		page.Burns[i].svg = drawChart(&page.Burns[i], rng)
	}
	for i := range page.Culprits {
		page.Culprits[i].Chart.svg = drawChart(&page.Culprits[i].Chart, rng)
	}
	var b bytes.Buffer
	if err := htmlTemplate.Execute(&b, &page); err != nil {
		return err
	}
	_, err = w.Write(b.Bytes())
	return err
}

// queryRange runs a range query under the client's timeout.
func (c *Client) queryRange(ctx context.Context, q string, r v1.Range) (model.Matrix, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	v, _, _, err := c.api.QueryRange(ctx, q, r, v1.WithTimeout(c.timeout))
	if err != nil {
		return nil, c.wrap(err)
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("range query %s: unexpected result type %s", q, v.Type())
	}
	return m, nil
}

// burningSLIs lists the SLIs that burn faster than their budget over any
// window at the report's time: the report's SLI first, then by name.
func burningSLIs(r *Report) []string {
	var out []string
	for _, b := range r.Burns {
		if b.Factor >= burning && !slices.Contains(out, b.SLI) {
			out = append(out, b.SLI)
		}
	}
	slices.Sort(out)
	if i := slices.Index(out, r.SLI); i > 0 {
		out = slices.Insert(slices.Delete(out, i, i+1), 0, r.SLI)
	}
	return out
}

// burnCharts draws each burning SLI's burn rate over every window, from a
// range query of the SLI step, with each alert pair's factor.
func burnCharts(ctx context.Context, c *Client, p *Plan, r *Report, rng v1.Range) ([]Chart, error) {
	slis := burningSLIs(r)
	st := p.step(runbook.StepSLI)
	if len(slis) == 0 || st == nil {
		return nil, nil
	}
	m, err := slomodel.New(p.Spec, slomodel.ProfileOptimized)
	if err != nil {
		return nil, err
	}
	var ths []ChartThreshold
	for _, w := range m.Alert.Windows {
		ths = append(ths, ChartThreshold{Name: fmt.Sprintf("%s× (%s and %s, %s)", num(m.ThresholdFactor(w)), w.Long, w.Short, w.Severity), Value: m.ThresholdFactor(w), Severity: w.Severity})
	}
	ths = append(ths, ChartThreshold{Name: "1×: spends the budget over " + p.Spec.Period.String(), Value: 1})
	mat, qerr := c.queryRange(ctx, st.Query, rng)
	var out []Chart
	for _, sli := range slis {
		ch := Chart{Title: fmt.Sprintf("Burn rate of SLI %s, by window (factor of the error budget)", sli), Query: st.Query, Thresholds: ths}
		if qerr != nil {
			ch.Note = "query failed: " + qerr.Error()
		}
		var ss []*model.SampleStream
		for _, s := range mat {
			if string(s.Metric[model.LabelName(p.Spec.SLILabel)]) == sli {
				ss = append(ss, s)
			}
		}
		// Shortest window first, as the burn table.
		slices.SortStableFunc(ss, func(a, b *model.SampleStream) int {
			x, _ := model.ParseDuration(string(a.Metric["window"]))
			y, _ := model.ParseDuration(string(b.Metric["window"]))
			if x != y {
				return int(x - y)
			}
			return strings.Compare(a.Metric.String(), b.Metric.String())
		})
		ch.Series = namedSeries(ss, p.Spec.SLILabel)
		if ch.Note == "" && len(ch.Series) == 0 {
			ch.Note = "the query returned no series over this range"
		}
		out = append(out, ch)
	}
	return out, nil
}

// culpritChart is a culprit and the chart of its row over the range.
type culpritChart struct {
	N       int
	Culprit Culprit
	Labels  string
	Chart   Chart
}

// culpritCharts draws the first culprits' rows over the range, each from a
// range query of its step, keeping the series with the culprit's labels.
func culpritCharts(ctx context.Context, c *Client, p *Plan, r *Report, rng v1.Range, o HTMLOptions) []culpritChart {
	var out []culpritChart
	for i, cu := range r.Culprits[:min(o.Culprits, len(r.Culprits))] {
		cc := culpritChart{N: i + 1, Culprit: cu, Labels: labelsText(cu.Labels, dropLabel(r, o.ClusterLabel))}
		cc.Chart.Title = fmt.Sprintf("%d. [%s] %s", i+1, cu.Step, cc.Labels)
		st := p.step(cu.Step)
		if st == nil {
			cc.Chart.Note = "the plan has no step " + string(cu.Step)
			out = append(out, cc)
			continue
		}
		cc.Chart.Query = st.Query
		mat, err := c.queryRange(ctx, st.Query, rng)
		if err != nil {
			cc.Chart.Note = "query failed: " + err.Error()
			out = append(out, cc)
			continue
		}
		var ss []*model.SampleStream
		for _, s := range mat {
			ls := map[string]string{}
			for k, v := range s.Metric {
				ls[string(k)] = string(v)
			}
			if maps.Equal(ls, cu.Labels) {
				ss = append(ss, s)
			}
		}
		cc.Chart.Series = namedSeries(ss)
		if len(cc.Chart.Series) > 0 {
			cc.Chart.Series[0].Name = string(cu.Step)
		} else {
			cc.Chart.Note = "the step's query returned no series with these labels over this range"
		}
		out = append(out, cc)
	}
	return out
}

func dropLabel(r *Report, clusterLabel string) string {
	if r.Cluster == "" {
		return ""
	}
	return clusterLabel
}

// namedSeries names each stream by the labels that tell it from the others
// (but those in skip), and keeps its points.
func namedSeries(ss []*model.SampleStream, skip ...string) []ChartSeries {
	var differ []model.LabelName
	for _, s := range ss {
		for k, v := range s.Metric {
			if slices.Contains(differ, k) || slices.Contains(skip, string(k)) {
				continue
			}
			for _, o := range ss {
				if o.Metric[k] != v {
					differ = append(differ, k)
					break
				}
			}
		}
	}
	slices.Sort(differ)
	var out []ChartSeries
	for _, s := range ss {
		var parts []string
		for _, k := range differ {
			if k == "window" {
				parts = append(parts, string(s.Metric[k]))
				continue
			}
			parts = append(parts, fmt.Sprintf("%s=%q", k, s.Metric[k]))
		}
		name := strings.Join(parts, ", ")
		if name == "" {
			name = s.Metric.String()
		}
		out = append(out, ChartSeries{Name: name, Points: s.Values})
	}
	return out
}

// step is the planned step st, or nil.
func (p *Plan) step(st runbook.Step) *PlannedStep {
	for i := range p.Steps {
		if p.Steps[i].Step == st {
			return &p.Steps[i]
		}
	}
	return nil
}

func verdict(r *Report) string {
	switch {
	case r.SLI == "":
		return fmt.Sprintf("No SLI burns over %s, or its burn-rate series are missing.", r.Window)
	case r.SLIFactor < burning:
		return fmt.Sprintf("No SLI burns faster than its error budget over %s: the fastest, %q, burns %s×.", r.Window, r.SLI, num(r.SLIFactor))
	}
	s := fmt.Sprintf("SLI %q burns %s× its error budget over %s", r.SLI, num(r.SLIFactor), r.Window)
	if r.Term != "" {
		s += fmt.Sprintf("; %s burn %s of it", termText(r.Term), pct(r.TermShare))
	}
	return s + "."
}

func where(r *Report, clusterLabel string) string {
	if r.Cluster == "" {
		return "all clusters"
	}
	return clusterLabel + "=" + r.Cluster
}

type htmlPage struct {
	Title, Verdict, Where, Time, Range string
	Report                             *Report
	Burns                              []Chart
	Culprits                           []culpritChart
	Text                               string
}

// The chart's geometry, in SVG user units.
const (
	chartW, chartH         = 760, 280
	padL, padR, padT, padB = 64, 16, 12, 28
	plotW, plotH           = chartW - padL - padR, chartH - padT - padB
	legendRow              = 18
	budgetColor            = "#667085"
)

// severityColors colour the thresholds by the severity of their alert.
var severityColors = map[string]string{"critical": "#b42318", "warning": "#dc6803", "info": "#0e9384"}

// palette colours the series in order; it repeats past its end.
var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"}

type chartSVG struct {
	W, H       int
	Paths      []svgPath
	Thresholds []svgThreshold
	Ticks      []svgTick
	XTicks     []svgTick
	Legend     []svgLegend
	Frame      string
}

type svgPath struct{ D, Color, Name string }

type svgThreshold struct {
	X1, X2, Y   string
	Color, Name string
}

type svgTick struct{ X, Y, Text string }

type svgLegend struct{ X, TX, Y, Color, Name string }

func f1(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// drawChart lays chart c out over range rng: a linear y axis from 0 to
// above the highest point and threshold, each series a path (a gap of more
// than one and a half steps breaks it), thresholds as dashed lines.
func drawChart(c *Chart, rng v1.Range) chartSVG {
	top := 0.0
	for _, s := range c.Series {
		for _, p := range s.Points {
			if v := float64(p.Value); !math.IsNaN(v) && !math.IsInf(v, 0) {
				top = max(top, v)
			}
		}
	}
	for _, t := range c.Thresholds {
		top = max(top, t.Value)
	}
	top = niceCeil(top * 1.05)
	start, end := rng.Start.UnixMilli(), rng.End.UnixMilli()
	x := func(t model.Time) float64 {
		return padL + float64(int64(t)-start)/float64(max(end-start, 1))*plotW
	}
	y := func(v float64) float64 { return padT + plotH - v/top*plotH }
	legendRows := len(c.Series) + len(c.Thresholds)
	out := chartSVG{W: chartW, H: chartH + legendRows*legendRow + 8,
		Frame: fmt.Sprintf("M%d %dV%dH%d", padL, padT, padT+plotH, padL+plotW)}
	gap := int64(rng.Step/time.Millisecond) * 3 / 2
	for i, s := range c.Series {
		var d strings.Builder
		var last int64
		for j, p := range s.Points {
			v := float64(p.Value)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				last = 0
				continue
			}
			cmd := "L"
			if j == 0 || last == 0 || int64(p.Timestamp)-last > gap {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%s %s", cmd, f1(x(p.Timestamp)), f1(y(v)))
			if cmd == "M" && (j+1 == len(s.Points) || int64(s.Points[j+1].Timestamp)-int64(p.Timestamp) > gap) {
				d.WriteString("h0.1") // a lone point: a dot (round caps)
			}
			last = int64(p.Timestamp)
		}
		color := palette[i%len(palette)]
		out.Paths = append(out.Paths, svgPath{D: d.String(), Color: color, Name: s.Name})
		out.Legend = append(out.Legend, svgLegend{Y: strconv.Itoa(chartH + 8 + i*legendRow), Color: color, Name: s.Name})
	}
	for i, t := range c.Thresholds {
		color, ok := severityColors[t.Severity]
		if !ok {
			color = budgetColor
		}
		yy := f1(y(t.Value))
		out.Thresholds = append(out.Thresholds, svgThreshold{X1: strconv.Itoa(padL), X2: strconv.Itoa(padL + plotW), Y: yy, Color: color, Name: t.Name})
		out.Legend = append(out.Legend, svgLegend{Y: strconv.Itoa(chartH + 8 + (len(c.Series)+i)*legendRow), Color: color, Name: "threshold " + t.Name})
	}
	for i := range out.Legend {
		out.Legend[i].X, out.Legend[i].TX = strconv.Itoa(padL), strconv.Itoa(padL+20)
	}
	for k := 0; k <= 4; k++ {
		v := top * float64(k) / 4
		out.Ticks = append(out.Ticks, svgTick{X: strconv.Itoa(padL - 6), Y: f1(y(v) + 4), Text: num(v)})
	}
	layout := "15:04"
	if rng.End.Sub(rng.Start) > 24*time.Hour {
		layout = "01-02 15:04"
	}
	for k := 0; k <= 4; k++ {
		t := rng.Start.Add(rng.End.Sub(rng.Start) * time.Duration(k) / 4)
		out.XTicks = append(out.XTicks, svgTick{X: f1(padL + plotW*float64(k)/4), Y: strconv.Itoa(padT + plotH + 18), Text: t.UTC().Format(layout)})
	}
	return out
}

// niceCeil rounds f up to 1, 2 or 5 times a power of ten (1 for f <= 0).
func niceCeil(f float64) float64 {
	if !(f > 0) || math.IsInf(f, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(f)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= f {
			return m * p
		}
	}
	return 10 * p
}

// SVG returns the drawn chart.
func (c Chart) SVG() chartSVG { return c.svg }

//go:embed html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("report").Parse(htmlSource))
