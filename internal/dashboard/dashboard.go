// Package dashboard builds the Grafana dashboards of a spec with Grafana's
// own Go types (github.com/grafana/grafana-foundation-sdk/go), for the
// optimized profile:
//
//   - the SLO dashboard: per SLO, availability and error budget remaining
//     over the period, the burn rate of every window with each pair's
//     threshold, the alert's state, and the request, error and latency
//     rates that feed the SLI;
//   - the drill-down dashboard: one row per section of the runbook's
//     Diagnosis, its panels the section's own queries in page order, each
//     row opening with a link to the runbook section (the runbook links
//     back, see runbook.DashboardURL).
//
// Every query reads only series the spec's rules record, the ALERTS series
// of its alerts, or series the runbook reads; both dashboards have a
// datasource and a cluster variable (the cluster label is the spec's).
package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/text"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// The dashboards' variables.
const (
	DatasourceVar = "datasource"
	ClusterVar    = "cluster"
	WindowVar     = "window"
)

// Kinds of dashboard, in the order Files writes them.
const (
	KindSLO       = "slo"
	KindDrilldown = "drilldown"
)

// Board is one built dashboard.
type Board struct {
	Kind      string
	Dashboard dashboard.Dashboard
}

// Build builds the SLO and the drill-down dashboard of model m, of the
// optimized profile.
func Build(m *slomodel.Model) ([]Board, error) {
	rb, err := runbook.New(m)
	if err != nil {
		return nil, err
	}
	groups, err := rulegen.RuleGroups(m)
	if err != nil {
		return nil, err
	}
	recorded := map[string]bool{}
	for _, g := range groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
		}
	}
	b := builder{rb: rb, m: rb.Model, recorded: recorded}
	sd, err := b.sloDashboard()
	if err != nil {
		return nil, fmt.Errorf("SLO dashboard: %w", err)
	}
	dd, err := b.drilldown()
	if err != nil {
		return nil, fmt.Errorf("drill-down dashboard: %w", err)
	}
	return []Board{{KindSLO, sd}, {KindDrilldown, dd}}, nil
}

// JSON is a dashboard as Grafana imports it: indented, with a final newline.
func JSON(d dashboard.Dashboard) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

type builder struct {
	rb       *runbook.Runbook
	m        *slomodel.Model
	recorded map[string]bool
}

func ptr[T any](v T) *T { return &v }

// datasource is the panels' datasource: the datasource variable.
func datasource() common.DataSourceRef {
	return common.DataSourceRef{Type: ptr("prometheus"), Uid: ptr("${" + DatasourceVar + "}")}
}

// variables are the datasource and cluster variables; the cluster's values
// are those of the spec's cluster label on record.
func (b builder) variables(record string) []cog.Builder[dashboard.VariableModel] {
	all := "All"
	return []cog.Builder[dashboard.VariableModel]{
		dashboard.NewDatasourceVariableBuilder(DatasourceVar).Label("Data source").Type("prometheus"),
		dashboard.NewQueryVariableBuilder(ClusterVar).Label(b.m.ClusterLabel).
			Datasource(datasource()).
			Query(dashboard.StringOrMap{String: ptr(fmt.Sprintf("label_values(%s, %s)", record, b.m.ClusterLabel))}).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
			Sort(dashboard.VariableSortAlphabeticalAsc).
			Multi(true).IncludeAll(true).AllValue(".*").
			Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: &all}, Value: dashboard.StringOrArrayOfString{String: ptr("$__all")}}),
	}
}

// clusterMatcher selects the clusters of the cluster variable.
func (b builder) clusterMatcher() *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchRegexp, b.m.ClusterLabel, "$"+ClusterVar)
}

// sel prints a selector of metric with matchers ms and the cluster matcher.
func (b builder) sel(metric string, ms ...*labels.Matcher) string {
	v := &parser.VectorSelector{Name: metric, LabelMatchers: append([]*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, metric)}, append(slices.Clone(ms), b.clusterMatcher())...)}
	return v.String()
}

func query(ref, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().RefId(ref).Expr(expr).LegendFormat(legend).Range().Datasource(datasource())
}

// legendCluster is the legend of a series per cluster.
func (b builder) legendCluster(suffix string) string {
	return strings.TrimSpace("{{" + b.m.ClusterLabel + "}} " + suffix)
}

func pct(f float64) string { return strconv.FormatFloat(f*100, 'f', -1, 64) + "%" }

// sloDashboard is the SLO dashboard: a row per SLO.
func (b builder) sloDashboard() (dashboard.Dashboard, error) {
	m := b.m
	title := m.Alert.Name + " SLOs"
	if m.Identity {
		title = m.Spec.Service + " SLOs"
	}
	d := dashboard.NewDashboardBuilder(title).
		Uid(runbook.DashboardUID(m.Spec, KindSLO)).
		Description(fmt.Sprintf("Generated by burnrate from spec %s; do not edit.", m.Spec.Name)).
		Tags([]string{"burnrate", "slo"}).
		Time("now-6h", "now").Refresh("1m").Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Variables(b.variables(m.EventsRecord)).
		Link(dashboard.NewDashboardLinkBuilder("Drill-down").Type(dashboard.DashboardLinkTypeLink).
			Url("/d/" + runbook.DashboardUID(m.Spec, KindDrilldown)).IncludeVars(true).KeepTime(true).Icon("dashboard"))
	if u := m.RunbookURL(); u != "" {
		d.Link(dashboard.NewDashboardLinkBuilder("Runbook").Type(dashboard.DashboardLinkTypeLink).Url(u).TargetBlank(true).Icon("doc"))
	}
	period := m.Spec.Period.String()
	for i, sli := range m.SLIs {
		ident := []*labels.Matcher(sli.Ident)
		d.WithRow(dashboard.NewRowBuilder(fmt.Sprintf("SLO %s: %s over %s", sli.Name, pct(sli.Objective), period)))
		avail := b.sel(m.AvailabilityRecord, ident...)
		d.WithPanel(stat.NewPanelBuilder().Title("Availability over " + period).
			Description(fmt.Sprintf("The share of good %s requests over the SLO period; the objective is %s.", sli.Name, pct(sli.Objective))).
			Datasource(datasource()).WithTarget(query("A", avail, b.legendCluster(""))).
			Unit("percentunit").Decimals(3).Span(4).Height(6).
			ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
			Thresholds(thresholds(dashboard.ThresholdsModeAbsolute, "red", sli.Objective, "green")))
		budget := b.sel(m.BudgetRecord, ident...)
		if !b.recorded[m.BudgetRecord] {
			budget = fmt.Sprintf("1 - (1 - %s) / %s", avail, num(sli.Budget))
		}
		d.WithPanel(stat.NewPanelBuilder().Title("Error budget remaining over " + period).
			Description("The share of the period's error budget not yet spent; below 0 the SLO is missed.").
			Datasource(datasource()).WithTarget(query("A", budget, b.legendCluster(""))).
			Unit("percentunit").Decimals(1).Span(4).Height(6).
			ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
			Thresholds(thresholds(dashboard.ThresholdsModeAbsolute, "red", 0.0, "orange", 0.25, "green")))
		d.WithPanel(b.alertPanel(sli.Name))
		d.WithPanel(b.burnPanel(i))
		d.WithPanel(b.ratesPanel(i))
		if b.recorded[m.QuantileRecord] && sli.Kind.HasLatency() {
			d.WithPanel(timeseries.NewPanelBuilder().Title("Latency: 99th percentile by resource").
				Description("The 99th percentile of request latency per resource, from the recorded quantiles.").
				Datasource(datasource()).WithTarget(query("A", b.sel(m.QuantileRecord, ident...), b.legendCluster("{{resource}}"))).
				Unit("s").Span(24).Height(8))
		}
	}
	return d.Build()
}

// burnPanel draws SLI i's burn rate over every window, in multiples of the
// error budget, with each window pair's factor as a threshold line.
func (b builder) burnPanel(i int) cog.Builder[dashboard.Panel] {
	m := b.m
	sli := m.SLIs[i]
	p := timeseries.NewPanelBuilder().Title("Burn rate: " + sli.Name).
		Description("How fast each window spends the error budget: 1 spends exactly the budget over the period. The alert fires when both windows of a pair are above the pair's line.").
		Datasource(datasource()).Unit("x").Span(12).Height(8).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))
	for j, w := range m.WindowsShortestFirst() {
		p.WithTarget(query(refID(j), fmt.Sprintf("%s / %s", b.sel(m.BurnRateRecord(w), sli.Ident...), num(sli.Budget)), b.legendCluster(w.String())))
	}
	var steps []any
	steps = append(steps, "transparent")
	colors := map[string]string{"critical": "red", "warning": "orange"}
	for _, w := range slices.Backward(m.Alert.Windows) {
		steps = append(steps, m.ThresholdFactor(w), cmpOr(colors[w.Severity], "yellow"))
	}
	return p.Thresholds(thresholds(dashboard.ThresholdsModeAbsolute, steps...))
}

// alertPanel shows the alert's state for SLI name from the ALERTS series.
func (b builder) alertPanel(name string) cog.Builder[dashboard.Panel] {
	m := b.m
	ms := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "alertname", m.Alert.Name)}
	for k, v := range m.SLILabels(name) {
		if slices.Contains(m.AlertOn(), k) {
			ms = append(ms, labels.MustNewMatcher(labels.MatchEqual, k, v))
		}
	}
	slices.SortFunc(ms, func(a, b *labels.Matcher) int { return strings.Compare(a.Name, b.Name) })
	return timeseries.NewPanelBuilder().Title("Alert " + m.Alert.Name + ": " + name).
		Description("1 while the alert of a window pair is pending or firing (the ALERTS series).").
		Datasource(datasource()).
		WithTarget(query("A", b.sel("ALERTS", ms...), b.legendCluster("{{alertstate}} {{long}}/{{short}} {{severity}}"))).
		Min(0).Max(1).Decimals(0).Span(8).Height(6).DrawStyle(common.GraphDrawStyleBars).FillOpacity(60)
}

// ratesPanel draws the per-second rates of SLI i's requests and of its bad
// events (errors, slow requests), as recorded over the base window.
func (b builder) ratesPanel(i int) cog.Builder[dashboard.Panel] {
	m := b.m
	sli := m.SLIs[i]
	base := model.Duration(m.BaseWindow).String()
	p := timeseries.NewPanelBuilder().Title("Requests, errors and slow requests per second: " + sli.Name).
		Description("The rates the SLI is computed from, over " + base + ": all requests, failed ones and slow ones.").
		Datasource(datasource()).Unit("reqps").Span(12).Height(8)
	sum := func(rec string) string {
		return fmt.Sprintf("sum by (%s) (%s)", m.ClusterLabel, b.sel(rec, sli.Ident...))
	}
	p.WithTarget(query("A", sum(m.EventsRecord), b.legendCluster("requests")))
	ref := 1
	add := func(rec, legend string) {
		if b.recorded[rec] {
			p.WithTarget(query(refID(ref), sum(rec), b.legendCluster(legend)))
			ref++
		}
	}
	switch {
	case sli.Kind == slo.KindRaw:
		add(m.BadRecord, "bad events")
	default:
		if sli.Kind.HasErrors() {
			add(m.ErrorsRecord, "errors")
		}
		if sli.Kind.HasLatency() {
			add(m.SlowRecord, "slow")
		}
	}
	return p
}

// drilldown is the drill-down dashboard: a row per runbook section.
func (b builder) drilldown() (dashboard.Dashboard, error) {
	m, rb := b.m, b.rb
	var windows []string
	for _, w := range m.Spec.Windows() {
		windows = append(windows, w.String())
	}
	def := model.Duration(rb.Window).String()
	d := dashboard.NewDashboardBuilder(runbook.DrilldownTitle(m.Spec)).
		Uid(runbook.DashboardUID(m.Spec, KindDrilldown)).
		Description(fmt.Sprintf("Generated by burnrate from spec %s; do not edit. The runbook's Diagnosis, one row per step.", m.Spec.Name)).
		Tags([]string{"burnrate", "runbook"}).
		Time("now-6h", "now").Refresh("1m").Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Variables(append(b.variables(m.EventsRecord),
			dashboard.NewCustomVariableBuilder(WindowVar).Label("window").
				Description("The window the steps read: one of the alert's windows (the firing pair's long window first).").
				Values(dashboard.StringOrMap{String: ptr(strings.Join(windows, ","))}).
				Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: &def}, Value: dashboard.StringOrArrayOfString{String: &def}}))).
		Link(dashboard.NewDashboardLinkBuilder("SLOs").Type(dashboard.DashboardLinkTypeLink).
			Url("/d/" + runbook.DashboardUID(m.Spec, KindSLO)).IncludeVars(true).KeepTime(true).Icon("dashboard"))
	url := m.RunbookURL()
	if url != "" {
		d.Link(dashboard.NewDashboardLinkBuilder("Runbook").Type(dashboard.DashboardLinkTypeLink).Url(url).TargetBlank(true).Icon("doc"))
	}
	qs, err := rb.Queries(rb.Window)
	if err != nil {
		return dashboard.Dashboard{}, err
	}
	for _, sec := range rb.Sections() {
		d.WithRow(dashboard.NewRowBuilder(sec.Heading).Id(runbook.RowPanelID(sec.Number)))
		var md strings.Builder
		if url != "" {
			fmt.Fprintf(&md, "**[Runbook: %s](%s#%s)**\n", sec.Heading, url, sec.Anchor)
		} else {
			fmt.Fprintf(&md, "**Runbook: %s**\n", sec.Heading)
		}
		if sec.Fix != "" {
			fmt.Fprintf(&md, "\n**Fix:** %s\n", sec.Fix)
		}
		d.WithPanel(text.NewPanelBuilder().Id(runbook.SectionPanelID(sec.Number)).Title("").
			Mode(text.TextModeMarkdown).Content(md.String()).Span(24).Height(3))
		var links []cog.Builder[dashboard.DashboardLink]
		if url != "" {
			links = append(links, dashboard.NewDashboardLinkBuilder("Runbook: "+sec.Heading).Url(url+"#"+sec.Anchor).TargetBlank(true))
		}
		n := 0
		for _, q := range qs {
			if !slices.Contains(sec.Steps, q.Step) {
				continue
			}
			expr, err := b.panelQuery(q.PromQL, rb.Window)
			if err != nil {
				return dashboard.Dashboard{}, fmt.Errorf("runbook step %s: %w", q.Step, err)
			}
			n++
			p := timeseries.NewPanelBuilder().Id(runbook.SectionPanelID(sec.Number) + uint32(n)).
				Title(fmt.Sprintf("%s (%s)", sec.Heading, q.Step)).
				Description("The runbook's query of step " + string(q.Step) + ", over $" + WindowVar + ".").
				Datasource(datasource()).WithTarget(query("A", expr, "")).
				Span(24).Height(8)
			if len(links) > 0 {
				p.Links(links)
			}
			d.WithPanel(p)
		}
	}
	return d.Build()
}

// panelQuery is a runbook query as a panel reads it: its window (every
// range of length w) replaced by the window variable and every selector
// restricted to the cluster variable's clusters.
func (b builder) panelQuery(q string, w time.Duration) (string, error) {
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(q)
	if err != nil {
		return "", err
	}
	// A range no query has, replaced by the variable once printed.
	const sentinel = 7*24*time.Hour + 7*time.Hour + 7*time.Minute + 7*time.Second
	cm := b.clusterMatcher()
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.MatrixSelector:
			if n.Range == w {
				n.Range = sentinel
			}
		case *parser.SubqueryExpr:
			if n.Range == w {
				n.Range = sentinel
			}
		case *parser.VectorSelector:
			if !slices.ContainsFunc(n.LabelMatchers, func(m *labels.Matcher) bool { return m.Name == cm.Name }) {
				n.LabelMatchers = append(n.LabelMatchers, cm)
			}
		}
		return nil
	})
	return strings.ReplaceAll(expr.String(), "["+model.Duration(sentinel).String(), "[$"+WindowVar), nil
}

// thresholds builds a thresholds config from a base color and then
// value, color pairs.
func thresholds(mode dashboard.ThresholdsMode, steps ...any) *dashboard.ThresholdsConfigBuilder {
	out := []dashboard.Threshold{{Color: steps[0].(string)}}
	for i := 1; i+1 < len(steps); i += 2 {
		out = append(out, dashboard.Threshold{Value: ptr(steps[i].(float64)), Color: steps[i+1].(string)})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(mode).Steps(out)
}

func refID(i int) string { return string(rune('A' + i)) }

// num prints a number as PromQL reads it.
func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
