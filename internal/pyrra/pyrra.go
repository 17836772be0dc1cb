// Package pyrra converts Pyrra's ServiceLevelObjective resources
// (pyrra.dev/v1alpha1, Pyrra v0.10.1) to burnrate specs, one per
// resource, refusing at its line what burnrate cannot render as Pyrra
// does.
//
// It reads the resource with its own small reader over YAML nodes rather
// than Pyrra's Go types: those pull in controller-runtime, and Pyrra's
// slo package does not build against the Prometheus module burnrate uses
// (it calls parser.ParseExpr, which Prometheus v0.316.0 no longer has);
// the nodes also keep their lines for the errors. The field names and
// defaults are Pyrra's (kubernetes/api/v1alpha1/servicelevelobjective_types.go,
// ServiceLevelObjective.Internal); the window pairs are computed as
// Pyrra computes them (slo/rules.go, Windows).
package pyrra

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/burnrate/burnrate/internal/importspec"
	"github.com/burnrate/burnrate/slo"
)

// Options are what the resources do not say.
type Options struct {
	// ClusterLabel is the burnrate spec's clusterLabel. Default cluster.
	ClusterLabel string
}

// The files read and the specs written are internal/importspec's.
type (
	Input  = importspec.Input
	Result = importspec.Result
)

// Window is one of Pyrra's window pairs.
type Window struct {
	Severity         string
	For, Long, Short time.Duration
	Factor           float64
	severityOverride string // the alerting.severities field that overrides it
}

// Windows are Pyrra's four window pairs for an SLO window, as Pyrra v0.10.1
// computes them (slo/rules.go, Windows): scaled from 28 days, rounded to
// the minute; factors 14, 7, 2 and 1.
func Windows(w time.Duration) []Window {
	r := func(d time.Duration) time.Duration { return d.Round(time.Minute) }
	return []Window{
		{"critical", r(w / (28 * 24 * 30)), r(w / (28 * 24)), r(w / (28 * 24 * 12)), 14, "fastBurn"},
		{"critical", r(w / (28 * 24 * 4)), r(w / (28 * 4)), r(w / (28 * 24 * 2)), 7, "mediumBurn"},
		{"warning", r(w / (28 * 24)), r(w / 28), r(w / (28 * 12)), 2, "slowBurn"},
		{"warning", r(w / (28 * 8)), r(w / 7), r(w / (28 * 4)), 1, "longTermBurn"},
	}
}

// Convert converts every ServiceLevelObjective of the inputs; on any
// refusal it returns every problem, file:line each, and no spec.
func Convert(inputs []Input, opts Options) (*Result, error) {
	if opts.ClusterLabel == "" {
		opts.ClusterLabel = "cluster"
	}
	var p importspec.Problems
	res := &Result{}
	seen := map[string]importspec.Pos{}
	for _, in := range inputs {
		dec := yaml.NewDecoder(bytes.NewReader(in.Data))
		for {
			var doc yaml.Node
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				p.Fail(importspec.Pos{File: in.File}, "not YAML: %v", err)
				break
			}
			if len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
				continue
			}
			c := &converter{file: in.File, opts: opts, p: &p}
			name, data := c.convert(doc.Content[0])
			if data == nil {
				continue
			}
			if prev, dup := seen[name]; dup {
				p.Fail(importspec.At(in.File, doc.Content[0]), "a second ServiceLevelObjective makes spec %q (first at %s); burnrate's specs are one per service, so rename one", name, prev)
				continue
			}
			seen[name] = importspec.At(in.File, doc.Content[0])
			res.Specs = append(res.Specs, importspec.Converted{Name: name, Data: data})
		}
	}
	if len(res.Specs) == 0 && !p.Failed() {
		p.Fail(importspec.Pos{File: inputs[0].File}, "no ServiceLevelObjective found")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	res.Warnings = p.Warnings()
	return res, nil
}

type converter struct {
	file string
	opts Options
	p    *importspec.Problems
	fail bool
}

func (c *converter) at(n *yaml.Node) importspec.Pos { return importspec.At(c.file, n) }

func (c *converter) refuse(n *yaml.Node, format string, args ...any) {
	c.fail = true
	c.p.Fail(c.at(n), format, args...)
}

// The YAML readers of internal/importspec, by short names.
var (
	key     = importspec.Key
	keyNode = importspec.KeyNode
	str     = importspec.Str
)

// known refuses the keys of mapping n that Pyrra's type does not have (the
// API server would refuse them too).
func (c *converter) known(n *yaml.Node, where string, names ...string) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !slices.Contains(names, k.Value) {
			c.refuse(k, "%s: unknown field %q; Pyrra v0.10.1's ServiceLevelObjective has %s", where, k.Value, strings.Join(names, ", "))
		}
	}
}

// boolean is the value of a boolean field, def when absent.
func boolean(n *yaml.Node, name string, def bool) bool {
	v := key(n, name)
	if v == nil {
		return def
	}
	return v.Value == "true"
}

func (c *converter) convert(top *yaml.Node) (string, []byte) {
	if top.Kind != yaml.MappingNode || str(top, "apiVersion") != "pyrra.dev/v1alpha1" || str(top, "kind") != "ServiceLevelObjective" {
		c.refuse(top, "want a Pyrra ServiceLevelObjective: apiVersion: pyrra.dev/v1alpha1, kind: ServiceLevelObjective")
		return "", nil
	}
	c.known(top, "the resource", "apiVersion", "kind", "metadata", "spec", "status")
	meta, spec := key(top, "metadata"), key(top, "spec")
	c.known(spec, "spec", "description", "target", "window", "indicator", "alerting", "partial_response_strategy", "performanceOverAccuracy", "ruleOutput")
	pyrraName := str(meta, "name")
	name := importspec.Name(pyrraName)
	if name != pyrraName {
		c.p.Warn(c.at(key(meta, "name")), "metadata.name %q: burnrate names services with lower-case letters, digits and dashes; written as %q (its alerts' slo label changes with it)", pyrraName, name)
	}
	out := &importspec.Spec{Name: name, Service: name, ClusterLabel: c.opts.ClusterLabel}
	origins := importspec.Origins{"name": c.at(keyNode(meta, "name")), "service": c.at(keyNode(meta, "name"))}

	target, err := percent(str(spec, "target"))
	if err != nil {
		c.refuse(at(spec, "target"), "target %q: want a percentage such as \"99.5\"", str(spec, "target"))
	}
	window, err := model.ParseDuration(str(spec, "window"))
	if err != nil || window <= 0 {
		c.refuse(at(spec, "window"), "window %q: want a Prometheus duration such as 4w or 28d", str(spec, "window"))
		return "", nil
	}
	out.Period = importspec.Dur(time.Duration(window))
	origins["period"] = c.at(keyNode(spec, "window"))

	o := importspec.SLO{Name: name, Objective: target}
	origins["slos[0]"] = c.at(keyNode(spec, "indicator"))
	origins["slos[0].objective"] = c.at(keyNode(spec, "target"))
	c.indicator(key(spec, "indicator"), out, &o, origins)
	out.SLOs = []importspec.SLO{o}

	c.alerting(key(spec, "alerting"), keyNode(spec, "alerting"), time.Duration(window), out, origins)
	c.metadata(meta, out)
	for _, f := range []string{"partial_response_strategy", "performanceOverAccuracy", "ruleOutput"} {
		if k := keyNode(spec, f); k != nil {
			c.p.Warn(c.at(k), "%s: changes how Pyrra writes its rules, not when its alerts fire; burnrate writes its own (generate --partial-response-strategy for Thanos); dropped", f)
		}
	}
	if c.fail {
		return "", nil
	}
	header := fmt.Sprintf("Converted by burnrate import pyrra from %s (ServiceLevelObjective %s).", c.file, pyrraName)
	data, err := importspec.Render(out, header, origins, c.at(top))
	if err != nil {
		c.fail = true
		c.p.Fail(importspec.Pos{}, "%v", err)
		return "", nil
	}
	return name, data
}

func at(n *yaml.Node, name string) *yaml.Node {
	if k := keyNode(n, name); k != nil {
		return k
	}
	return n
}

// percent is a Pyrra target (a percentage, as a string) as a ratio,
// computed in decimal.
func percent(s string) (float64, error) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok {
		return 0, fmt.Errorf("not a number")
	}
	f, _ := r.Quo(r, big.NewRat(100, 1)).Float64()
	return f, nil
}

// selector parses a Pyrra query: one series selector, as Pyrra requires.
func selector(q string) (string, []*labels.Matcher, error) {
	c, err := importspec.ParseCounter(q)
	if err != nil {
		return "", nil, err
	}
	if c.Rated || strings.ContainsAny(strings.TrimSpace(q), "()") {
		return "", nil, fmt.Errorf("Pyrra reads a series selector here, e.g. http_requests_total{job=\"api\"}")
	}
	return c.Metric, c.Matchers, nil
}

func (c *converter) indicator(ind *yaml.Node, out *importspec.Spec, o *importspec.SLO, origins importspec.Origins) {
	c.known(ind, "spec.indicator", "ratio", "latency", "latencyNative", "bool_gauge")
	var kinds []string
	for i := 0; ind != nil && i+1 < len(ind.Content); i += 2 {
		kinds = append(kinds, ind.Content[i].Value)
	}
	if len(kinds) != 1 {
		c.refuse(ind, "spec.indicator: want one of ratio, latency, latencyNative, bool_gauge; found %d", len(kinds))
		return
	}
	kindAt := keyNode(ind, kinds[0])
	body := key(ind, kinds[0])
	switch kinds[0] {
	case "latencyNative":
		c.refuse(kindAt, "latencyNative reads a native histogram, and burnrate has no native histograms yet (its latency SLOs read a classic histogram's le buckets); write the SLO with latency on the classic histogram, or keep it on Pyrra")
		return
	case "bool_gauge":
		c.refuse(kindAt, "bool_gauge counts the samples of a 0/1 gauge (good samples over all samples), not events; burnrate's SLOs count events from counters or a histogram, and its generated tests know only those, so it cannot be converted")
		return
	case "ratio":
		c.known(body, "spec.indicator.ratio", "errors", "total", "grouping")
	case "latency":
		c.known(body, "spec.indicator.latency", "success", "total", "grouping")
	}
	good := "errors"
	if kinds[0] == "latency" {
		good = "success"
	}
	gq, tq := key(body, good), key(body, "total")
	c.known(gq, "spec.indicator."+kinds[0]+"."+good, "metric")
	c.known(tq, "spec.indicator."+kinds[0]+".total", "metric")
	gm, gms, err := selector(str(gq, "metric"))
	if err != nil {
		c.refuse(at(gq, "metric"), "%s.metric: %v", good, err)
		return
	}
	tm, tms, err := selector(str(tq, "metric"))
	if err != nil {
		c.refuse(at(tq, "metric"), "total.metric: %v", err)
		return
	}
	origins["slos[0].raw"] = c.at(at(gq, "metric"))
	c.grouping(key(body, "grouping"), out)
	if kinds[0] == "ratio" {
		extra, sub := importspec.Extra(tms, gms)
		if gm != tm || !sub || len(extra) != 1 {
			c.refuse(at(gq, "metric"), "errors reads %s{%s} and total %s{%s}; burnrate's SLO needs both on one counter, errors adding one matcher to total's (code=~\"5..\"), so that its generated tests know which series to write", gm, importspec.Selector(gms), tm, importspec.Selector(tms))
			return
		}
		by := ""
		if slices.Equal(out.Drilldown, []string{c.opts.ClusterLabel}) {
			by = c.opts.ClusterLabel
			out.Drilldown = nil
		}
		o.Kind = string(slo.KindRaw)
		o.Raw = &importspec.Raw{Errors: rateQuery(gm, gms, by), Total: rateQuery(tm, tms, by)}
		return
	}
	base, ok := strings.CutSuffix(gm, "_bucket")
	le, rest := leOf(gms)
	totalBase, isCount := strings.CutSuffix(tm, "_count")
	extra, sub := importspec.Extra(tms, rest)
	if !ok || !isCount || base != totalBase || le == nil || !sub || len(extra) > 0 {
		c.refuse(at(gq, "metric"), "success reads %s{%s} and total %s{%s}; want success a classic histogram's bucket (…_bucket{le=\"0.3\"}) and total its _count, with the same other matchers", gm, importspec.Selector(gms), tm, importspec.Selector(tms))
		return
	}
	if len(tms) == 0 {
		c.refuse(at(tq, "metric"), "total.metric selects no label; burnrate selects the service's histogram with at least one matcher, e.g. job=\"api\"")
		return
	}
	if slices.Contains(out.Drilldown, c.opts.ClusterLabel) {
		out.Drilldown = slices.DeleteFunc(out.Drilldown, func(l string) bool { return l == c.opts.ClusterLabel })
	}
	out.Latency = &importspec.Latency{Metric: base}
	out.Selector = importspec.Selector(tms)
	origins["selector"], origins["latency"] = c.at(at(tq, "metric")), c.at(at(tq, "metric"))
	o.Kind = string(slo.KindLatency)
	o.Latency = []importspec.Threshold{{Seconds: *le}}
}

func rateQuery(metric string, ms []*labels.Matcher, by string) string {
	q := fmt.Sprintf("rate(%s{%s}[%s])", metric, importspec.Selector(ms), slo.WindowPlaceholder)
	if by != "" {
		return fmt.Sprintf("sum by (%s) (%s)", by, q)
	}
	return "sum(" + q + ")"
}

func leOf(ms []*labels.Matcher) (*float64, []*labels.Matcher) {
	var le *float64
	for _, m := range ms {
		if m.Name == "le" && m.Type == labels.MatchEqual {
			if v, err := strconv.ParseFloat(m.Value, 64); err == nil {
				le = &v
			}
		}
	}
	return le, importspec.Without(ms, "le")
}

// grouping keeps Pyrra's grouping labels as drill-down labels: Pyrra
// alerts once per group, burnrate on the SLO as a whole (per cluster), and
// its runbook and burnrate diagnose break the bad events down by them.
// Grouping by the cluster label alone is exact: burnrate's SLIs are per
// cluster.
func (c *converter) grouping(g *yaml.Node, out *importspec.Spec) {
	if g == nil || len(g.Content) == 0 {
		return
	}
	var ls []string
	for _, e := range g.Content {
		ls = append(ls, e.Value)
	}
	out.Drilldown = ls
	if !slices.Equal(ls, []string{c.opts.ClusterLabel}) {
		c.p.Warn(c.at(g), "grouping [%s]: Pyrra alerts once per group; burnrate alerts on the SLO as a whole, per %s, and its runbook and burnrate diagnose break bad events down by these labels (drilldown)", strings.Join(ls, ", "), c.opts.ClusterLabel)
	}
}

func (c *converter) alerting(a, at0 *yaml.Node, window time.Duration, out *importspec.Spec, origins importspec.Origins) {
	c.known(a, "spec.alerting", "disabled", "burnrates", "absent", "name", "absentName", "severities")
	sev := key(a, "severities")
	c.known(sev, "spec.alerting.severities", "absent", "fastBurn", "mediumBurn", "slowBurn", "longTermBurn")
	if boolean(a, "disabled", false) || !boolean(a, "burnrates", true) {
		c.refuse(at0, "alerting: Pyrra writes no burn-rate alerts for this SLO (disabled, or burnrates: false); burnrate's spec is its burn-rate alerts, so there is nothing to convert")
		return
	}
	out.Alert = importspec.Alert{
		Name:        str(a, "name"),
		Summary:     fmt.Sprintf("%s is burning its error budget too fast.", out.Name),
		Description: fmt.Sprintf("%s SLO {{ $labels.slo }} is burning its error budget too fast (imported from Pyrra).", out.Name),
	}
	if out.Alert.Name == "" {
		out.Alert.Name = "ErrorBudgetBurn" // Pyrra's default (slo/slo.go)
	}
	origins["alert"] = c.at(at0)
	var gcd time.Duration
	for _, w := range Windows(window) {
		s := w.Severity
		if v := str(sev, w.severityOverride); v != "" {
			s = v
		}
		out.Alert.Windows = append(out.Alert.Windows, importspec.Window{
			Long: model.Duration(w.Long).String(), Short: model.Duration(w.Short).String(),
			Factor: w.Factor, Severity: s, For: model.Duration(w.For).String(),
		})
		gcd = gcdDur(gcdDur(gcd, w.Long), w.Short)
	}
	// burnrate builds every window from base-window rates: every window
	// must be a multiple of it. Pyrra's windows for 28 days are multiples
	// of 5m; for other SLO windows they are whole minutes.
	if gcd%(5*time.Minute) != 0 {
		base := time.Minute
		for d := 4 * time.Minute; d > time.Minute; d -= time.Minute {
			if gcd%d == 0 {
				base = d
				break
			}
		}
		out.BaseWindow = model.Duration(base).String()
		c.p.Warn(origins["period"], "window %s: Pyrra's window pairs for it (%s) are not multiples of burnrate's 5m base window; baseWindow is %s, whose rates need a scrape interval of at most half of it (a 4w or 28d window keeps 5m)", model.Duration(window), windowList(Windows(window)), out.BaseWindow)
	}
	if boolean(a, "absent", true) {
		c.p.Warn(c.at(at0), "alerting.absent: Pyrra's %s fires when the SLO's metrics are absent; burnrate's %sSLIBroken fires when an SLI's series are missing while its traffic flows (an idle service stays silent)", cmpOr(str(a, "absentName"), "SLOMetricAbsent"), out.Alert.Name)
	} else {
		c.p.Warn(c.at(at0), "alerting.absent is false, and burnrate alerts anyway when an SLI's series are missing while traffic flows (%sSLIBroken, severity warning); silence it in Alertmanager if it is not wanted", out.Alert.Name)
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func windowList(ws []Window) string {
	var s []string
	for _, w := range ws {
		s = append(s, model.Duration(w.Long).String()+"/"+model.Duration(w.Short).String())
	}
	return strings.Join(s, ", ")
}

func gcdDur(a, b time.Duration) time.Duration {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// metadata keeps the resource's namespace and labels for the
// PrometheusRule burnrate writes (generate --format prometheusrule);
// pyrra.dev/ labels, which Pyrra copies onto its rules, are dropped.
func (c *converter) metadata(meta *yaml.Node, out *importspec.Spec) {
	o := &importspec.Output{Namespace: str(meta, "namespace"), Labels: map[string]string{}}
	ls := key(meta, "labels")
	for i := 0; ls != nil && i+1 < len(ls.Content); i += 2 {
		k, v := ls.Content[i], ls.Content[i+1].Value
		switch {
		case strings.HasPrefix(k.Value, "pyrra.dev/"):
			c.p.Warn(c.at(k), "label %s: Pyrra copies pyrra.dev/ labels onto its rules; burnrate's records and alerts carry no extra labels; dropped", k.Value)
		case len(validation.IsQualifiedName(k.Value)) > 0 || len(validation.IsValidLabelValue(v)) > 0:
			c.p.Warn(c.at(k), "label %s=%q is not a Kubernetes label; dropped", k.Value, v)
		default:
			o.Labels[k.Value] = v
		}
	}
	if len(o.Labels) == 0 {
		o.Labels = nil
	}
	if o.Namespace != "" || o.Labels != nil {
		out.Output = o
	}
}
