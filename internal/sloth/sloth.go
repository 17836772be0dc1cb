// Package sloth reads Sloth's SLO specs (github.com/slok/sloth v0.16.0:
// the prometheus/v1 spec and the sloth.slok.dev/v1 PrometheusServiceLevel
// resource) and converts them to a burnrate spec, refusing at its line
// whatever burnrate cannot render the same.
//
// The field names and meanings are Sloth's (pkg/prometheus/api/v1/v1.go,
// pkg/kubernetes/api/sloth/v1/types.go); the burn-rate factors are
// computed as Sloth computes them (internal/alert/window.go,
// Windows.getBurnRateFactor) from its default windows
// (internal/alert/windows/google-30d.yaml, google-28d.yaml).
package sloth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// Options are what a Sloth spec does not say and Sloth's command line does.
type Options struct {
	// Period is the SLO period (sloth generate --default-slo-period, 30d by
	// default). Sloth has built-in alert windows for 30d and 28d only.
	Period time.Duration
	// ClusterLabel is the burnrate spec's clusterLabel: the raw queries'
	// results are summed by it.
	ClusterLabel string
	// AlertName names the alert when the Sloth SLOs name theirs
	// differently (burnrate has one alert name per spec).
	AlertName string
}

// Result is a converted spec and what it leaves out that changes no alert
// firing (labels, annotations), one line each.
type Result struct {
	Spec     []byte
	Warnings []string
}

// Error is a problem at a line of the Sloth file.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return e.where() + ": " + e.Msg }

// where is file:line, or file when the line is unknown.
func (e *Error) where() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	return e.File
}

// window is one of Sloth's four alert window pairs: the share of the
// budget it spends (ErrorBudgetPercent) over the long window.
type window struct {
	page          bool
	budgetPercent float64
	short, long   time.Duration
}

// slothWindows are Sloth v0.16.0's default windows, the same for 30d and
// 28d (internal/alert/windows/google-30d.yaml and google-28d.yaml).
var slothWindows = []window{
	{true, 2, 5 * time.Minute, time.Hour},
	{true, 5, 30 * time.Minute, 6 * time.Hour},
	{false, 10, 2 * time.Hour, 24 * time.Hour},
	{false, 10, 6 * time.Hour, 72 * time.Hour},
}

// factor is Sloth's burn-rate factor of w in period: the hours that spend
// budgetPercent of the budget at the budget rate, over the long window
// (Windows.getBurnRateFactor), rounded to 10 decimals (burnrate refuses
// floating-point noise such as 13.440000000000001).
func (w window) factor(period time.Duration) float64 {
	f := w.budgetPercent * period.Hours() / 100 / w.long.Hours()
	r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 10, 64), 64)
	return r
}

// doc is a Sloth spec of either format, after reading.
type doc struct {
	service string
	labels  *yaml.Node
	plugins *yaml.Node
	slos    []sloDoc
}

type sloDoc struct {
	node                   *yaml.Node
	name                   string
	objective              float64
	errorQuery, totalQuery *yaml.Node
	errorRatio, plugin     *yaml.Node
	plugins, labels        *yaml.Node
	alertName              *yaml.Node
	alertLabels            *yaml.Node
	annotations            *yaml.Node
	page, ticket           alertDoc
}

type alertDoc struct {
	disable  bool
	severity string
	node     *yaml.Node
	extra    []string // labels and annotations other than severity
}

// Convert reads the Sloth spec in data (from file) and returns the
// burnrate spec that renders the same alerts, or every problem found.
func Convert(file string, data []byte, opts Options) (*Result, error) {
	if opts.Period == 0 {
		opts.Period = 30 * 24 * time.Hour
	}
	if opts.ClusterLabel == "" {
		opts.ClusterLabel = "cluster"
	}
	c := converter{file: file, opts: opts}
	d, err := c.read(data)
	if err != nil {
		return nil, err
	}
	out := c.convert(d)
	if len(c.errs) > 0 {
		return nil, c.joined()
	}
	// The result must be a spec burnrate accepts: parse it as generate
	// will, and check it as generate does before it renders anything.
	spec, err := slo.Parse(file, out)
	if err != nil {
		return nil, c.refused(err)
	}
	if _, err := slomodel.New(spec, slomodel.ProfileOptimized); err != nil {
		return nil, c.refused(err)
	}
	return &Result{Spec: out, Warnings: c.warnings}, nil
}

var sloFieldRE = regexp.MustCompile(`^slos\[(\d+)\]`)

// refused says what generate's check found in the converted spec, each
// problem at the line of the Sloth SLO it came from.
func (c *converter) refused(err error) error {
	var msgs []string
	for _, e := range unjoin(err) {
		var se *slo.Error
		if !errors.As(e, &se) {
			msgs = append(msgs, fmt.Sprintf("%s: burnrate generate would refuse the converted spec: %v", c.file, e))
			continue
		}
		m := sloFieldRE.FindStringSubmatch(se.Field)
		i := -1
		if m != nil {
			i, _ = strconv.Atoi(m[1])
		}
		if i < 0 || i >= len(c.slis) {
			msgs = append(msgs, fmt.Sprintf("%s: burnrate generate would refuse the converted spec: %s: %s", c.file, se.Field, se.Msg))
			continue
		}
		s := c.slis[i]
		kind := slo.KindRaw
		if s.latency != nil {
			kind = slo.KindLatency
		}
		msg := fmt.Sprintf("%s: slos[%d].sli.events: burnrate generate would refuse the converted SLO (kind %s): %s: %s", (&Error{File: c.file, Line: s.node.Line}).where(), s.sloth, kind, se.Field, se.Msg)
		if s.notLatency != "" {
			msg += fmt.Sprintf(". It is no latency SLI either: %s (burnrate import makes kind latency of sum(rate(H_count{M}[{{.window}}])) - sum(rate(H_bucket{M,le=\"L\"}[{{.window}}])) over sum(rate(H_count{M}[{{.window}}])))", s.notLatency)
		}
		msgs = append(msgs, msg)
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// unjoin is the errors joined in err (errors.Join), or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

type converter struct {
	file     string
	opts     Options
	errs     []*Error
	warnings []string
	// slis are the converted SLOs, in the order of the spec's slos.
	slis []sliOf
}

// sliOf is what a converted SLO came from and what it maps to.
type sliOf struct {
	sloth int        // its index in the Sloth spec's slos
	node  *yaml.Node // its error_query
	// objective is its objective as a ratio, at objectiveNode.
	objective     float64
	objectiveNode *yaml.Node
	// latency is the SLI as a latency SLO, nil when it is none; notLatency
	// then says why, when its error query subtracts a histogram bucket.
	latency    *latencySLI
	notLatency string
}

func (c *converter) fail(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	c.errs = append(c.errs, &Error{File: c.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (c *converter) warn(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	c.warnings = append(c.warnings, (&Error{File: c.file, Line: line, Msg: fmt.Sprintf(format, args...)}).Error())
}

func (c *converter) joined() error {
	var msgs []string
	for _, e := range c.errs {
		msgs = append(msgs, e.Error())
	}
	return fmt.Errorf("%s", strings.Join(msgs, "\n"))
}

// keyNode is the key node of mapping n's key under any of its names, for
// the line of an error about the whole field; nil when absent.
func keyNode(n *yaml.Node, names ...string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if slices.Contains(names, n.Content[i].Value) {
			return n.Content[i]
		}
	}
	return nil
}

// key is the value of mapping n's key, under any of its names (Sloth's
// prometheus/v1 spells them in snake case, the Kubernetes resource in
// camel case); nil when absent.
func key(n *yaml.Node, names ...string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if slices.Contains(names, n.Content[i].Value) {
			return n.Content[i+1]
		}
	}
	return nil
}

func (c *converter) read(data []byte) (*doc, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("%s: not YAML: %w", c.file, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF && (err != nil || len(next.Content) > 0) {
		line := next.Line
		if len(next.Content) > 0 {
			line = next.Content[0].Line
		}
		return nil, &Error{File: c.file, Line: line, Msg: "a second document: burnrate import reads one Sloth spec (one service) per file; split the file"}
	}
	if len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, &Error{File: c.file, Line: root.Line, Msg: "want a Sloth spec: a mapping with version: prometheus/v1, or a PrometheusServiceLevel resource"}
	}
	top := root.Content[0]
	spec := top
	version, kind, api := key(top, "version"), key(top, "kind"), key(top, "apiVersion")
	switch {
	case version != nil && version.Value == "prometheus/v1":
	case api != nil && api.Value == "sloth.slok.dev/v1" && kind != nil && kind.Value == "PrometheusServiceLevel":
		if spec = key(top, "spec"); spec == nil {
			return nil, &Error{File: c.file, Line: top.Line, Msg: "the PrometheusServiceLevel has no spec"}
		}
	case version != nil:
		return nil, &Error{File: c.file, Line: version.Line, Msg: fmt.Sprintf("version %q: burnrate import reads Sloth's prometheus/v1 specs (and PrometheusServiceLevel resources); for OpenSLO, convert with Sloth first", version.Value)}
	default:
		return nil, &Error{File: c.file, Line: top.Line, Msg: "want version: prometheus/v1, or apiVersion: sloth.slok.dev/v1 with kind: PrometheusServiceLevel"}
	}
	d := &doc{labels: keyNode(spec, "labels"), plugins: keyNode(spec, "slo_plugins", "sloPlugins")}
	if s := key(spec, "service"); s != nil {
		d.service = s.Value
	}
	slos := key(spec, "slos")
	if slos == nil || slos.Kind != yaml.SequenceNode || len(slos.Content) == 0 {
		return nil, &Error{File: c.file, Line: spec.Line, Msg: "slos: list at least one SLO"}
	}
	for _, n := range slos.Content {
		s := sloDoc{node: n}
		if v := key(n, "name"); v != nil {
			s.name = v.Value
		}
		if v := key(n, "objective"); v != nil {
			if err := v.Decode(&s.objective); err != nil {
				c.fail(v, "objective: want a percentage such as 99.9")
			}
		}
		sli := key(n, "sli")
		if ev := key(sli, "events"); ev != nil {
			s.errorQuery, s.totalQuery = key(ev, "error_query", "errorQuery"), key(ev, "total_query", "totalQuery")
		}
		s.errorRatio, s.plugin = keyNode(sli, "raw"), keyNode(sli, "plugin")
		if sli == nil {
			c.fail(n, "slos: SLO %q has no sli", s.name)
		}
		s.plugins, s.labels = keyNode(n, "plugins"), keyNode(n, "labels")
		al := key(n, "alerting")
		s.alertName, s.alertLabels, s.annotations = key(al, "name"), keyNode(al, "labels"), keyNode(al, "annotations")
		s.page = c.alert(keyNode(al, "page_alert", "pageAlert"), key(al, "page_alert", "pageAlert"))
		s.ticket = c.alert(keyNode(al, "ticket_alert", "ticketAlert"), key(al, "ticket_alert", "ticketAlert"))
		d.slos = append(d.slos, s)
	}
	return d, nil
}

// alert reads a page or ticket alert: at is its key, n its value.
func (c *converter) alert(at, n *yaml.Node) alertDoc {
	a := alertDoc{node: at}
	if v := key(n, "disable"); v != nil {
		_ = v.Decode(&a.disable)
	}
	if ls := key(n, "labels"); ls != nil {
		for i := 0; i+1 < len(ls.Content); i += 2 {
			if ls.Content[i].Value == "severity" {
				a.severity = ls.Content[i+1].Value
			} else {
				a.extra = append(a.extra, "label "+ls.Content[i].Value)
			}
		}
	}
	if as := key(n, "annotations"); as != nil {
		for i := 0; i+1 < len(as.Content); i += 2 {
			a.extra = append(a.extra, "annotation "+as.Content[i].Value)
		}
	}
	return a
}

// The burnrate spec as written, in the order a reader expects.
type outSpec struct {
	Name         string      `yaml:"name"`
	Service      string      `yaml:"service"`
	Selector     string      `yaml:"selector,omitempty"`
	ClusterLabel string      `yaml:"clusterLabel"`
	Period       string      `yaml:"period"`
	Latency      *outLatency `yaml:"latency,omitempty"`
	SLOs         []outSLO    `yaml:"slos"`
	Alert        outAlert    `yaml:"alert"`
}

type outLatency struct {
	Metric string `yaml:"metric"`
}

type outSLO struct {
	Name      string         `yaml:"name"`
	Kind      string         `yaml:"kind"`
	Selector  string         `yaml:"selector,omitempty"`
	Objective float64        `yaml:"objective"`
	Latency   []outThreshold `yaml:"latency,omitempty"`
	Raw       *outRaw        `yaml:"raw,omitempty"`
}

type outThreshold struct {
	Seconds float64 `yaml:"seconds"`
}

type outRaw struct {
	Errors string `yaml:"errors"`
	Total  string `yaml:"total"`
}

type outAlert struct {
	Name        string      `yaml:"name"`
	Summary     string      `yaml:"summary"`
	Description string      `yaml:"description"`
	Windows     []outWindow `yaml:"windows"`
}

type outWindow struct {
	Long     string  `yaml:"long"`
	Short    string  `yaml:"short"`
	Factor   float64 `yaml:"factor"`
	Severity string  `yaml:"severity"`
	For      string  `yaml:"for"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

func (c *converter) convert(d *doc) []byte {
	period := model.Duration(c.opts.Period).String()
	if c.opts.Period%(24*time.Hour) == 0 {
		period = fmt.Sprintf("%dd", c.opts.Period/(24*time.Hour)) // 7d, not 1w
	}
	if c.opts.Period != 30*24*time.Hour && c.opts.Period != 28*24*time.Hour {
		c.fail(nil, "period %s: Sloth v0.16.0 has built-in alert windows for 30d and 28d only (others come from --slo-period-windows-path, which burnrate import does not read); use --period 30d or 28d", period)
	}
	if d.plugins != nil {
		c.fail(d.plugins, "slo_plugins: SLO plugins change Sloth's rules in ways burnrate cannot follow; remove them, or keep this service on Sloth")
	}
	if d.labels != nil {
		c.warn(d.labels, "labels: burnrate's records and alerts carry no extra labels; dropped (add them with metric relabelling or Alertmanager routes)")
	}
	if !nameRE.MatchString(d.service) {
		c.fail(nil, "service %q: burnrate names the service with lower-case letters, digits and dashes (it is the value of the service label); rename it in the Sloth spec", d.service)
	}
	out := outSpec{Name: d.service, Service: d.service, ClusterLabel: c.opts.ClusterLabel, Period: period}
	alertName := c.opts.AlertName
	var pageSeverity, ticketSeverity *string
	for i, s := range d.slos {
		where := fmt.Sprintf("slos[%d]", i)
		if s.name == "" || !model.LabelValue(s.name).IsValid() {
			c.fail(s.node, "%s.name: want the SLO's name", where)
		}
		objective, ok := percentToRatio(s.objective)
		if !ok || objective <= 0 || objective >= 1 {
			c.fail(key(s.node, "objective"), "%s.objective: %v is not a percentage strictly between 0 and 100", where, s.objective)
		}
		switch {
		case s.plugin != nil:
			c.fail(s.plugin, "%s.sli.plugin: SLI plugins are Go code run by Sloth; burnrate cannot read their queries. Write the plugin's queries as sli.events (error_query, total_query) first", where)
			continue
		case s.errorRatio != nil:
			c.fail(s.errorRatio, "%s.sli.raw: an error ratio query has no total to weigh the windows by, which burnrate's long windows need; write it as sli.events, an error_query and a total_query", where)
			continue
		case s.errorQuery == nil || s.totalQuery == nil:
			c.fail(s.node, "%s.sli: want events with error_query and total_query", where)
			continue
		}
		if s.plugins != nil {
			c.fail(s.plugins, "%s.plugins: SLO plugins change Sloth's rules in ways burnrate cannot follow; remove them, or keep this SLO on Sloth", where)
		}
		if s.labels != nil {
			c.warn(s.labels, "%s.labels: burnrate's records and alerts carry no extra labels; dropped", where)
		}
		errs, eok := c.query(s.errorQuery, where+".sli.events.error_query")
		total, tok := c.query(s.totalQuery, where+".sli.events.total_query")
		if !eok || !tok {
			continue
		}
		o := outSLO{Name: s.name, Kind: string(slo.KindRaw), Objective: objective, Raw: &outRaw{Errors: errs, Total: total}}
		lat, why := asLatency(errs, total, c.opts.ClusterLabel)
		c.slis = append(c.slis, sliOf{sloth: i, node: s.errorQuery, objective: objective, objectiveNode: key(s.node, "objective"), latency: lat, notLatency: why})
		out.SLOs = append(out.SLOs, o)

		switch {
		case s.alertName == nil || s.alertName.Value == "":
			c.fail(s.node, "%s.alerting.name: Sloth needs an alert name, and so does burnrate", where)
		case alertName == "":
			alertName = s.alertName.Value
		case alertName != s.alertName.Value && c.opts.AlertName == "":
			c.fail(s.alertName, "%s.alerting.name %q: burnrate names one alert per spec (the slo label tells the SLOs apart) and this service's SLOs name %q and %q; choose one with --alert-name", where, s.alertName.Value, alertName, s.alertName.Value)
		}
		if s.alertLabels != nil || s.annotations != nil {
			n := s.alertLabels
			if n == nil {
				n = s.annotations
			}
			c.warn(n, "%s.alerting: burnrate's alerts carry their own summary and description and no extra labels; the labels and annotations are dropped", where)
		}
		for _, a := range []struct {
			doc      alertDoc
			field    string
			severity **string
			def      string
		}{{s.page, "page_alert", &pageSeverity, "critical"}, {s.ticket, "ticket_alert", &ticketSeverity, "warning"}} {
			sev := a.doc.severity
			if a.doc.disable {
				sev = "-"
			} else if sev == "" {
				sev = a.def
			}
			if len(a.doc.extra) > 0 {
				c.warn(a.doc.node, "%s.alerting.%s: %s dropped; burnrate's alerts carry severity, long and short", where, a.field, strings.Join(a.doc.extra, ", "))
			}
			if *a.severity == nil {
				*a.severity = &sev
			} else if **a.severity != sev {
				c.fail(a.doc.node, "%s.alerting.%s: severity (or disable) %q differs from the first SLO's %q; burnrate's window pairs, and their severities, are the same for every SLO of a spec", where, a.field, sev, **a.severity)
			}
		}
	}
	c.latency(&out)
	out.Alert = outAlert{
		Name:        alertName,
		Summary:     fmt.Sprintf("%s is burning its error budget too fast.", d.service),
		Description: fmt.Sprintf("%s SLO {{ $labels.slo }} is burning its error budget too fast (imported from Sloth).", d.service),
	}
	neverFires := 0
	for _, w := range slothWindows {
		sev := ticketSeverity
		if w.page {
			sev = pageSeverity
		}
		if sev == nil || *sev == "-" {
			continue
		}
		if !c.canFire(w) {
			neverFires++
			continue
		}
		// Sloth's alerts have no for (alert_rules_v1, the rule has no For).
		out.Alert.Windows = append(out.Alert.Windows, outWindow{
			Long: model.Duration(w.long).String(), Short: model.Duration(w.short).String(),
			Factor: w.factor(c.opts.Period), Severity: *sev, For: "0s",
		})
	}
	switch {
	case len(out.Alert.Windows) > 0 || len(c.errs) > 0:
	case neverFires > 0:
		c.fail(nil, "no window pair of Sloth's can fire at these objectives (each needs an error ratio above 100%%), so there is no alert to convert")
	default:
		c.fail(nil, "every alert is disabled; burnrate's spec is its alerts, so there is nothing to convert")
	}
	if len(c.errs) > 0 {
		return nil
	}
	var b bytes.Buffer
	b.WriteString("# Converted by burnrate import sloth from " + c.file + ".\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(out); err != nil {
		c.fail(nil, "%v", err)
		return nil
	}
	return b.Bytes()
}

// canFire says whether window pair w can fire for some SLO: its factor
// times the SLO's error budget is an error ratio below 100%. A pair that
// can fire for no SLO is left out with a warning (Sloth renders it, and it
// never fires); one that cannot fire for some SLO but can for another is
// an error at the first's objective, since burnrate refuses a pair that
// cannot fire (slo's validation) and its pairs are the same for every SLO.
func (c *converter) canFire(w window) bool {
	f := w.factor(c.opts.Period)
	ratio := func(objective float64) float64 {
		budget, _ := strconv.ParseFloat(strconv.FormatFloat(1-objective, 'g', 15, 64), 64)
		return f * budget
	}
	var low, high *sliOf
	for i := range c.slis {
		s := &c.slis[i]
		if low == nil || s.objective < low.objective {
			low = s
		}
		if high == nil || s.objective > high.objective {
			high = s
		}
	}
	if low == nil || ratio(low.objective) < 1 {
		return true
	}
	pair := fmt.Sprintf("%s/%s (factor %v)", model.Duration(w.long), model.Duration(w.short), f)
	needs := strconv.FormatFloat(ratio(low.objective)*100, 'g', 4, 64)
	if ratio(high.objective) >= 1 {
		c.warn(nil, "Sloth's window pair %s can fire at no SLO's objective (at %v it needs an error ratio of %s%%); left out", pair, low.objective, needs)
		return false
	}
	c.fail(low.objectiveNode, "slos[%d].objective: Sloth's window pair %s can never fire at %v (it needs an error ratio of %s%%), while it can at slos[%d]'s %v; burnrate refuses a pair that cannot fire and gives every SLO of a spec the same pairs, so put this SLO in a Sloth file of its own", low.sloth, pair, low.objective, needs, high.sloth, high.objective)
	return true
}

var placeholderRE = regexp.MustCompile(`\{\{\s*\.window\s*\}\}`)

// query checks a Sloth query for the raw kind: only the {{.window}}
// action, and a result summed by no label but the cluster label, as
// burnrate sums it (Sloth keeps whatever labels the query returns and
// alerts per label set).
func (c *converter) query(n *yaml.Node, field string) (string, bool) {
	q := strings.TrimSpace(placeholderRE.ReplaceAllString(n.Value, slo.WindowPlaceholder))
	rest := strings.ReplaceAll(q, slo.WindowPlaceholder, "")
	if strings.Contains(rest, "{{") {
		c.fail(n, "%s: uses Go template actions other than {{.window}}; burnrate replaces only the window", field)
		return "", false
	}
	e, err := parser.NewParser(parser.Options{}).ParseExpr(slo.WithWindow(q, slo.Duration(5*time.Minute)))
	if err != nil {
		c.fail(n, "%s: does not parse as PromQL: %v", field, err)
		return "", false
	}
	if by, ok := groupedBy(e); !ok || slices.ContainsFunc(by, func(l string) bool { return l != c.opts.ClusterLabel }) {
		c.fail(n, "%s: Sloth keeps every label this query returns and alerts per label set; burnrate sums the query by %s alone. Aggregate it with sum(...) or sum by (%s) (...) in the Sloth spec first, which is what Sloth's examples do", field, c.opts.ClusterLabel, c.opts.ClusterLabel)
		return "", false
	}
	return q, true
}

// groupedBy is the labels query e's series keep, when that is known from
// its shape: an aggregation by some labels, and functions, subqueries,
// binary operations and parentheses of such.
func groupedBy(e parser.Expr) ([]string, bool) {
	switch n := e.(type) {
	case *parser.ParenExpr:
		return groupedBy(n.Expr)
	case *parser.AggregateExpr:
		if n.Without {
			return nil, false
		}
		return n.Grouping, true
	case *parser.NumberLiteral:
		return nil, true
	case *parser.SubqueryExpr:
		return groupedBy(n.Expr)
	case *parser.MatrixSelector:
		return groupedBy(n.VectorSelector)
	case *parser.Call:
		if n.Func.Name == "label_replace" || n.Func.Name == "label_join" {
			return nil, false
		}
		for _, a := range n.Args {
			if t := a.Type(); t == parser.ValueTypeVector || t == parser.ValueTypeMatrix {
				return groupedBy(a)
			}
		}
		return nil, true // vector(0), time(): no labels
	case *parser.BinaryExpr:
		l, lok := groupedBy(n.LHS)
		r, rok := groupedBy(n.RHS)
		return append(l, r...), lok && rok
	}
	return nil, false
}

// percentToRatio is Sloth's objective in percent as a ratio computed in
// decimal (99.9 gives 0.999, not 0.9990000000000001).
func percentToRatio(p float64) (float64, bool) {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(p, 'g', -1, 64))
	if !ok {
		return 0, false
	}
	f, _ := r.Quo(r, big.NewRat(100, 1)).Float64()
	return f, true
}
