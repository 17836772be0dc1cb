package slo

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/template"
)

// FieldError is a validation problem at a path in the spec.
type FieldError struct {
	Path Path
	Msg  string
}

var (
	nameRE      = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	alertNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// Validate checks everything the generators rely on and returns every
// problem found, each at the path of the offending field.
func (s *Spec) Validate() []FieldError {
	var v validator
	v.identity(s)
	v.drilldown(s)
	v.target(s)
	v.metrics(s)
	v.apiserver(s)
	if !v.slos(s) {
		return v.errs // rather than one error for each of them
	}
	v.partitionLabel(s)
	if !v.alert(s) {
		return v.errs
	}
	v.runbook(s)
	v.output(s.Output)
	v.dashboards(s)
	v.baseWindow(s)
	v.extraVerbs(s)
	return v.errs
}

// identity checks what names the spec and its records: the name, the
// service's selector, the cluster and SLI labels, and the service.
func (v *validator) identity(s *Spec) {
	v.check(nameRE.MatchString(s.Name), Path{"name"}, "want lower-case letters, digits and dashes, e.g. kube-apiserver (it names the output files)")
	v.selector(Path{"selector"}, s.Selector, !s.onlyRaw())
	v.labelName(Path{"clusterLabel"}, s.ClusterLabel)
	v.labelName(Path{"sliLabel"}, s.SLILabel)
	v.ownLabel(Path{"clusterLabel"}, s.ClusterLabel)
	v.ownLabel(Path{"sliLabel"}, s.SLILabel)
	v.check(s.SLILabel != s.ClusterLabel, Path{"sliLabel"},
		fmt.Sprintf("%q is also the clusterLabel; the SLI's name would replace the cluster's in every recorded series, so choose another label, e.g. verb", s.SLILabel))
	if s.Service == "" {
		if s.ServiceLabel != "" {
			v.add(Path{"serviceLabel"}, "set service too: serviceLabel names the label that carries the service's name")
		}
		return
	}
	v.check(nameRE.MatchString(s.Service), Path{"service"}, "want lower-case letters, digits and dashes, e.g. checkout (it is the value of serviceLabel on every recorded series and alert)")
	v.labelName(Path{"serviceLabel"}, s.ServiceLabel)
	v.ownLabel(Path{"serviceLabel"}, s.ServiceLabel)
	for _, other := range []struct{ field, name string }{{"clusterLabel", s.ClusterLabel}, {"sliLabel", s.SLILabel}} {
		v.check(s.ServiceLabel != other.name, Path{"serviceLabel"}, fmt.Sprintf("%q is also the %s; the service's name and the %s would overwrite each other in every recorded series, so choose another label, e.g. service", s.ServiceLabel, other.field, other.field))
	}
}

// target checks the spec's objective (unless every SLO has its own) and
// the period.
func (v *validator) target(s *Spec) {
	ownObjectives := len(s.SLOs) > 0
	for _, o := range s.SLOs {
		ownObjectives = ownObjectives && o.Objective != 0
	}
	if s.Objective != 0 || !ownObjectives {
		v.objective(Path{"objective"}, s.Objective)
	}
	v.check(s.Period > 0, Path{"period"}, "must be a positive duration, e.g. 30d")
}

// metrics checks the request counter and the latency histogram, each when
// an SLO reads it or the spec describes it.
func (v *validator) metrics(s *Spec) {
	if s.ReadsRequests() || s.Requests != (Requests{}) {
		v.metricName(Path{"requests", "metric"}, s.Requests.Metric, "http_requests_total")
		v.selector(Path{"requests", "errors"}, s.Requests.Errors, true)
		v.errorsMatcher(Path{"requests", "errors"}, s.Requests.Errors)
	}
	if s.ReadsLatency() || s.Latency != (Latency{}) {
		v.metricName(Path{"latency", "metric"}, s.Latency.Metric, "http_request_duration_seconds (the histogram's name without _bucket)")
		v.selector(Path{"latency", "selector"}, s.Latency.Selector, false)
	}
	if f := s.Latency.Form; f != "" && !slices.Contains(HistogramForms, f) {
		v.add(Path{"latency", "form"}, fmt.Sprintf("%q is not a histogram form; write one of %s (classic: _bucket and _count series; native: exponential native histograms; nhcb: native histograms with custom buckets)", f, formList()))
	}
}

// The kube-apiserver's request counter and the latency histograms it has
// had: apiserver_request_duration_seconds, apiserver_request_slo_duration_seconds
// (1.23 to 1.25, deprecated in 1.27) and apiserver_request_sli_duration_seconds
// (from 1.26), all written by MonitorRequest in Kubernetes'
// staging/src/k8s.io/apiserver/pkg/endpoints/metrics/metrics.go.
var (
	APIServerCounter    = "apiserver_request_total"
	APIServerHistograms = []string{"apiserver_request_sli_duration_seconds", "apiserver_request_slo_duration_seconds", "apiserver_request_duration_seconds"}
)

// APIServerVerbs are the values of the kube-apiserver's verb label: the
// request verbs its metrics report (validRequestMethods in
// staging/src/k8s.io/apiserver/pkg/endpoints/metrics/metrics.go; CleanVerb
// reports any other as "other"), the verbs fixes.extraVerbs may add.
var APIServerVerbs = []string{"APPLY", "CONNECT", "CREATE", "DELETE", "DELETECOLLECTION", "GET", "LIST", "PATCH", "POST", "PROXY", "PUT", "UPDATE", "WATCH", "WATCHLIST"}

// apiserver refuses a spec without service that does not read the
// kube-apiserver's metrics. Such a spec is rendered as the kube-apiserver:
// records with the mixin's names told apart by the SLI label alone, and the
// apiserver's runbook. Any other service's spec would silently get both, and
// two of them would write the same records. The error says which line to
// add; burnrate does not make a service up, so that a record's name never
// depends on a guess.
func (v *validator) apiserver(s *Spec) {
	if s.Service != "" {
		return
	}
	add := fmt.Sprintf("add the line \"service: %s\" to give this service records, alerts and a runbook of its own", serviceFor(s))
	const is = "a spec without service is rendered as the kube-apiserver (the mixin's record names, the apiserver's runbook of etcd, webhooks and aggregated APIs)"
	valid := model.LegacyValidation.IsValidMetricName // an invalid name is reported by metrics
	if m := s.Requests.Metric; (s.ReadsRequests() || m != "") && valid(m) && m != APIServerCounter {
		v.add(Path{"requests", "metric"}, fmt.Sprintf("%s, but %s is not the kube-apiserver's request counter, %s; %s", is, m, APIServerCounter, add))
		return // one line fixes both
	}
	if m := s.Latency.Metric; (s.ReadsLatency() || m != "") && valid(m) && !slices.Contains(APIServerHistograms, m) {
		v.add(Path{"latency", "metric"}, fmt.Sprintf("%s, but %s is not one of the kube-apiserver's latency histograms, %s; %s", is, m, strings.Join(APIServerHistograms, ", "), add))
	}
}

// serviceFor is the service a spec without one is told to add: its name,
// when that is a service name.
func serviceFor(s *Spec) string {
	if nameRE.MatchString(s.Name) {
		return s.Name
	}
	return "my-service"
}

// slos checks the list of SLOs and each SLO; false when there are more
// than MaxSLOs, which stops the validation.
func (v *validator) slos(s *Spec) bool {
	v.check(len(s.SLOs) > 0, Path{"slos"}, "list at least one SLO")
	if len(s.SLOs) > MaxSLOs {
		v.add(Path{"slos"}, fmt.Sprintf("%d SLOs, more than the limit of %d; split the spec into several files", len(s.SLOs), MaxSLOs))
		return false
	}
	seen := map[string]int{}
	for i, o := range s.SLOs {
		p := Path{"slos", i}
		if j, dup := seen[o.Name]; dup {
			v.add(append(p, "name"), fmt.Sprintf("SLO name %q is already used by slos[%d]; each SLO needs its own name", o.Name, j))
		}
		seen[o.Name] = i
		v.slo(p, s, o)
	}
	return true
}

// slo checks SLO o at path p: its name, selector or raw queries, kind,
// objective and latency thresholds.
func (v *validator) slo(p Path, s *Spec, o SLO) {
	v.check(o.Name != "" && model.LabelValue(o.Name).IsValid(), append(p, "name"), "want a non-empty label value, e.g. read")
	if o.Kind == KindRaw {
		v.raw(p, s, o)
	} else {
		v.selector(append(p, "selector"), o.Selector, s.Service == "")
		if o.Raw != (Raw{}) {
			v.add(append(p, "raw"), fmt.Sprintf("kind %s reads no raw queries; remove raw or write kind: %s", o.Kind, KindRaw))
		}
	}
	v.check(slices.Contains(Kinds, o.Kind), append(p, "kind"), fmt.Sprintf("%q is not an SLO kind; want one of %s", o.Kind, kindList()))
	switch {
	case !slices.Contains(Kinds, o.Kind):
	case o.Kind.HasLatency():
		v.check(len(o.Latency) > 0, append(p, "latency"), fmt.Sprintf("list at least one latency threshold (kind %s counts slow requests), e.g. latency: [{seconds: 0.3}]", o.Kind))
	case len(o.Latency) > 0:
		v.add(append(p, "latency"), fmt.Sprintf("kind %s counts no slow requests; remove the thresholds or write kind: %s", o.Kind, KindErrorsAndLatency))
	}
	if o.Objective != 0 {
		if s.Service == "" {
			v.add(append(p, "objective"), "an SLO's own objective needs service (alerts per SLO, each with its own threshold); set service, or use the spec's objective")
		}
		v.objective(append(p, "objective"), o.Objective)
	}
	v.thresholds(p, o.Latency)
}

// thresholds checks the latency thresholds of the SLO at path p: positive
// seconds, and with several thresholds, partition values of their own.
func (v *validator) thresholds(p Path, ts []Threshold) {
	values := map[string]bool{}
	for j, t := range ts {
		tp := append(append(Path{}, p...), "latency", j)
		v.check(t.Seconds > 0 && !math.IsInf(t.Seconds, 0) && !math.IsNaN(t.Seconds), append(tp, "seconds"),
			"must be a positive number of seconds, the upper bound of a histogram bucket")
		v.number(append(tp, "seconds"), t.Seconds)
		if len(ts) > 1 {
			v.check(len(t.Partition) > 0, append(tp, "partition"),
				"with several thresholds each needs the partition label values it applies to")
		}
		for _, val := range t.Partition {
			if values[val] {
				v.add(append(tp, "partition"), fmt.Sprintf("value %q already has a threshold", val))
			}
			values[val] = true
		}
	}
}

// partitioned says whether some threshold names partition label values.
func (s *Spec) partitioned() bool {
	for _, o := range s.SLOs {
		for _, t := range o.Latency {
			if len(t.Partition) > 0 {
				return true
			}
		}
	}
	return false
}

// partitionLabel checks latency.partitionLabel when it is set or some
// threshold needs it.
func (v *validator) partitionLabel(s *Spec) {
	pl := s.Latency.PartitionLabel
	if !s.partitioned() && pl == "" {
		return
	}
	p := Path{"latency", "partitionLabel"}
	v.labelName(p, pl)
	v.ownLabel(p, pl)
	for _, other := range []struct{ field, name string }{{"clusterLabel", s.ClusterLabel}, {"sliLabel", s.SLILabel}} {
		v.check(pl != other.name, p, fmt.Sprintf("%q is also the %s; the rules aggregate by both, so the partition label must be another label of the histogram, e.g. scope", pl, other.field))
	}
}

// alert checks the alert's name, texts and window pairs; false when there
// are more than MaxWindows pairs, which stops the validation.
func (v *validator) alert(s *Spec) bool {
	a := s.Alert
	v.check(alertNameRE.MatchString(a.Name), Path{"alert", "name"}, "want an alert name such as KubeAPIErrorBudgetBurn")
	v.check(a.Summary != "", Path{"alert", "summary"}, "write a one-line summary")
	v.check(a.Description != "", Path{"alert", "description"}, "write a description")
	if s.Service == "" || a.RunbookURLPattern != "" {
		v.check(strings.Count(a.RunbookURLPattern, "%s") == 1 && strings.Count(a.RunbookURLPattern, "%") == 1,
			Path{"alert", "runbookURLPattern"}, "must contain %s exactly once (replaced by the lower-cased alert name) and no other %")
	}
	v.template(Path{"alert", "summary"}, a.Summary)
	v.template(Path{"alert", "description"}, a.Description)
	v.check(len(a.Windows) > 0, Path{"alert", "windows"}, "list at least one window pair")
	if len(a.Windows) > MaxWindows {
		v.add(Path{"alert", "windows"}, fmt.Sprintf("%d window pairs, more than the limit of %d; a few pairs (the SRE workbook uses 3 or 4) catch both fast and slow burns", len(a.Windows), MaxWindows))
		return false
	}
	v.check(a.MinRequests >= 0 && a.MinRequests <= maxMinRequests && a.MinRequests == math.Trunc(a.MinRequests), Path{"alert", "minRequests"},
		fmt.Sprintf("%s: want a whole number of requests from 0 (no guard, the same as leaving it out) to %s, the least a pair's short window must hold before the pair may fire, e.g. minRequests: 100", shortest(a.MinRequests), shortest(maxMinRequests)))
	pairs := map[[2]Duration]int{}
	for i, w := range a.Windows {
		p := Path{"alert", "windows", i}
		v.window(p, s, w)
		k := [2]Duration{w.Long, w.Short}
		if j, dup := pairs[k]; dup {
			v.add(p, fmt.Sprintf("the pair %s/%s is already alert.windows[%d]", w.Long, w.Short, j))
		}
		pairs[k] = i
	}
	return true
}

// maxMinRequests bounds alert.minRequests: far beyond any guard against
// low traffic, and a count float64 holds exactly (below 2^53).
const maxMinRequests = 1e12

// window checks window pair w at path p: its durations, factor, severity
// and for.
func (v *validator) window(p Path, s *Spec, w Window) {
	v.check(w.Long > 0, append(p, "long"), "must be a positive duration")
	v.check(w.Short > 0, append(p, "short"), "must be a positive duration")
	if w.Long > 0 && w.Short > 0 {
		v.check(w.Short < w.Long, append(p, "short"),
			fmt.Sprintf("the short window %s must be shorter than the long window %s", w.Short, w.Long))
	}
	v.factor(append(p, "factor"), s, w.Factor)
	for _, f := range []struct {
		name string
		d    Duration
	}{{"long", w.Long}, {"short", w.Short}} {
		if s.Period > 0 && f.d > s.Period {
			v.add(append(p, f.name), fmt.Sprintf("the %s window %s is longer than the SLO period %s; the budget is measured over the period, so make the window %s or shorter", f.name, f.d, s.Period, s.Period))
		}
	}
	v.check(w.Severity != "" && model.LabelValue(w.Severity).IsValid(), append(p, "severity"), "want a severity such as critical or warning")
	v.template(append(p, "severity"), w.Severity)
	v.check(w.For >= 0, append(p, "for"), "must not be negative")
}

// factor checks a window pair's burn-rate factor at path p: a positive
// number that the error ratio can exceed at every SLO's objective.
func (v *validator) factor(p Path, s *Spec, factor float64) {
	v.check(factor > 0 && !math.IsInf(factor, 0), p,
		fmt.Sprintf("%v: the burn-rate factor must be a positive number, e.g. 14.4", factor))
	v.number(p, factor)
	// The budget as the user reads it: 1 - 0.99 is 0.01, not 0.010000000000000009.
	// The largest budget (lowest objective) of any SLO decides.
	if objective := s.lowestObjective(); objective > 0 && objective < 1 && factor > 0 {
		budget, _ := strconv.ParseFloat(shortest(1-objective), 64)
		if factor*budget >= 1 {
			v.add(p, fmt.Sprintf("%v times the error budget (%s%% at objective %v) is an error ratio of %s%%, which no service can exceed, so the alert can never fire; use a factor below %s",
				factor, shortest(budget*100), objective, shortest(factor*budget*100), shortest(1/budget)))
		}
	}
}

// runbook checks where the runbook goes: its component folder and its URL
// pattern.
func (v *validator) runbook(s *Spec) {
	v.check(nameRE.MatchString(s.Runbook.Component), Path{"runbook", "component"}, "want a folder name such as kubernetes")
	if u := s.Runbook.URLPattern; u != "" {
		v.check(strings.Count(u, "%s") <= 1 && strings.Count(u, "%") == strings.Count(u, "%s"),
			Path{"runbook", "urlPattern"}, "may contain %s once (replaced by the lower-cased alert name) and no other %; write the page's address, e.g. https://github.com/acme/ops/blob/main/runbooks/kubernetes/KubeAPIErrorBudgetBurn.md")
	}
}

// dashboards checks the address of the Grafana the dashboards link to.
func (v *validator) dashboards(s *Spec) {
	if g := s.Dashboards.GrafanaURL; g != "" {
		u, err := url.Parse(g)
		v.check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.RawQuery == "" && u.Fragment == "" && !strings.HasSuffix(g, "/"),
			Path{"dashboards", "grafanaURL"}, "want the address of a Grafana without a trailing slash, query or fragment, e.g. https://grafana.example.com")
	}
}

// baseWindow checks the base window: positive, no longer than any window,
// and a divisor of each.
func (v *validator) baseWindow(s *Spec) {
	v.check(s.BaseWindow > 0, Path{"baseWindow"}, "must be a positive duration, e.g. 5m")
	if s.BaseWindow <= 0 {
		return
	}
	for i, w := range s.Alert.Windows {
		for _, f := range []struct {
			name string
			d    Duration
		}{{"short", w.Short}, {"long", w.Long}} {
			if f.d <= 0 {
				continue
			}
			p := Path{"alert", "windows", i, f.name}
			if f.d < s.BaseWindow {
				v.add(Path{"baseWindow"}, fmt.Sprintf("the base window %s is longer than alert.windows[%d].%s (%s); every window is built from base-window rates, so make it %s or shorter", s.BaseWindow, i, f.name, f.d, f.d))
			} else if f.d%s.BaseWindow != 0 {
				v.add(p, fmt.Sprintf("%s is not a multiple of the base window %s; use a multiple or change baseWindow", f.d, s.BaseWindow))
			}
		}
	}
}

// extraVerbs checks fixes.extraVerbs: each names an SLO whose selector has
// a verb matcher, and lists verbs.
func (v *validator) extraVerbs(s *Spec) {
	index := map[string]int{} // the last SLO of each name, as slos reports duplicates
	for i, o := range s.SLOs {
		index[o.Name] = i
	}
	for name, verbs := range s.Fixes.ExtraVerbs {
		p := Path{"fixes", "extraVerbs", name}
		i, ok := index[name]
		if !ok {
			v.add(p, fmt.Sprintf("there is no SLO named %q to add verbs to", name))
			continue
		}
		for _, verb := range verbs {
			v.check(slices.Contains(APIServerVerbs, verb), p, fmt.Sprintf("%q is not a verb the kube-apiserver records; write one verb per list item, each one of %s, e.g. [APPLY, DELETECOLLECTION]", verb, strings.Join(APIServerVerbs, ", ")))
		}
		if len(verbs) > 0 && verbMatcher(s.SLOs[i].Selector) == nil {
			v.add(p, fmt.Sprintf(`slos[%d].selector has no verb=~"…" matcher to add verbs to`, i))
		}
	}
}

// lowestObjective is the smallest objective of any SLO (0 if none is set).
func (s *Spec) lowestObjective() float64 {
	low := 0.0
	for i := range s.SLOs {
		if o := s.ObjectiveOf(i); o > 0 && (low == 0 || o < low) {
			low = o
		}
	}
	return low
}

func formList() string {
	var out []string
	for _, f := range HistogramForms {
		out = append(out, string(f))
	}
	return strings.Join(out, ", ")
}

func kindList() string {
	var out []string
	for _, k := range Kinds {
		out = append(out, string(k))
	}
	return strings.Join(out, ", ")
}

// objective checks an objective: a fraction strictly between 0 and 1. One
// from 50 to 100 is read as a percentage, and its fraction suggested (no
// one means an objective of 1.2%).
func (v *validator) objective(p Path, o float64) {
	const is = "an objective is a fraction strictly between 0 and 1, the share of good events"
	switch {
	case o > 0 && o < 1:
		v.number(p, o)
	case o == 0:
		v.add(p, "want a fraction strictly between 0 and 1, the share of good events, e.g. 0.99 for 99%")
	case o >= 50 && o < 100:
		v.add(p, fmt.Sprintf("%v is outside (0, 1): %s; write %s for %v%%", o, is, shortest(o/100), o))
	case o == 1:
		v.add(p, fmt.Sprintf("1 is outside (0, 1): %s, and at 1 no error budget is left to burn; write e.g. 0.999 for 99.9%%", is))
	default:
		v.add(p, fmt.Sprintf("%v is outside (0, 1): %s; write e.g. 0.99 for 99%%", o, is))
	}
}

// verbMatcher returns the selector's verb=~ matcher, if it has one.
func verbMatcher(sel string) *labels.Matcher {
	ms, _ := Matchers(sel)
	for _, m := range ms {
		if m.Name == "verb" && m.Type == labels.MatchRegexp {
			return m
		}
	}
	return nil
}

// SLOSelector is the selector of SLO i with the optimized profile's extra
// verbs added to its verb matcher.
func (s *Spec) SLOSelector(i int) ([]*labels.Matcher, error) {
	ms, err := Matchers(s.SLOs[i].Selector)
	if err != nil {
		return nil, err
	}
	extra := s.Fixes.extraVerbs(s.SLOs[i].Name)
	if len(extra) == 0 {
		return ms, nil
	}
	out := make([]*labels.Matcher, len(ms))
	for j, m := range ms {
		out[j] = m
		if m.Name == "verb" && m.Type == labels.MatchRegexp {
			re := m.Value
			for _, verb := range extra {
				if !slices.Contains(strings.Split(re, "|"), verb) {
					re += "|" + verb
				}
			}
			if out[j], err = labels.NewMatcher(labels.MatchRegexp, "verb", re); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// Matchers parses a selector field of the spec ("" gives none).
func Matchers(sel string) ([]*labels.Matcher, error) {
	if strings.TrimSpace(sel) == "" {
		return nil, nil
	}
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector("{" + sel + "}")
	if err != nil {
		return nil, err
	}
	return ms, nil
}

// Windows lists every long and short window of the alert's pairs once, in
// the spec's order (each pair's long window, then its short one).
func (s *Spec) Windows() []Duration {
	var out []Duration
	for _, w := range s.Alert.Windows {
		for _, d := range []Duration{w.Long, w.Short} {
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	return out
}

// PeriodDays is the SLO period in whole days, and whether it is whole.
func (s *Spec) PeriodDays() (int, bool) {
	d := time.Duration(s.Period)
	return int(d / (24 * time.Hour)), d%(24*time.Hour) == 0
}

type validator struct{ errs []FieldError }

func (v *validator) add(p Path, msg string) {
	v.errs = append(v.errs, FieldError{Path: append(Path{}, p...), Msg: msg})
}

func (v *validator) check(ok bool, p Path, msg string) {
	if !ok {
		v.add(p, msg)
	}
}

func (v *validator) selector(p Path, sel string, required bool) {
	if strings.TrimSpace(sel) == "" {
		v.check(!required, p, `must not be empty; write label matchers as between braces, e.g. job="kube-apiserver"`)
		return
	}
	if _, err := Matchers(sel); err != nil {
		v.add(p, fmt.Sprintf("%q does not parse as PromQL label matchers (%v); write them as between braces, e.g. job=\"kube-apiserver\"", sel, err))
	}
}

// drilldown checks the runbook's drill-down labels: label names the
// queries may group by, each once, none of them a label the recorded series
// or the buckets use for something else.
func (v *validator) drilldown(s *Spec) {
	p := Path{"drilldown"}
	if s.Service == "" {
		v.check(len(s.Drilldown) == 0, p, "drilldown needs service: a spec without one gets the kube-apiserver's runbook, whose drill-down is fixed; remove drilldown or set service")
		return
	}
	if len(s.Drilldown) > MaxDrilldown {
		v.add(p, fmt.Sprintf("%d labels, more than the limit of %d; keep the few that tell a bad request's cause apart, e.g. [handler, code, instance]", len(s.Drilldown), MaxDrilldown))
		return
	}
	seen := map[string]int{}
	for i, l := range s.Drilldown {
		lp := Path{"drilldown", i}
		v.labelName(lp, l)
		v.ownLabel(lp, l)
		if j, dup := seen[l]; dup {
			v.add(lp, fmt.Sprintf("%q is already drilldown[%d]; list each label once", l, j))
		}
		seen[l] = i
		for _, other := range []struct{ field, name string }{{"clusterLabel", s.ClusterLabel}, {"serviceLabel", s.ServiceLabel}, {"sliLabel", s.SLILabel}} {
			v.check(l != other.name, lp, fmt.Sprintf("%q is the %s, which every drill-down row carries already; list the labels of the service's own series, e.g. handler", l, other.field))
		}
	}
}

func (v *validator) labelName(p Path, name string) {
	v.check(model.LegacyValidation.IsValidLabelName(name), p, fmt.Sprintf("%q is not a label name; want letters, digits and underscores, e.g. cluster", name))
}

// ownLabel refuses, for a label the rules aggregate by or set, the names
// Prometheus keeps for itself.
func (v *validator) ownLabel(p Path, name string) {
	switch {
	case strings.HasPrefix(name, "__"):
		v.add(p, fmt.Sprintf("%q: label names beginning with __ are reserved for Prometheus's own use; choose another name", name))
	case name == "le":
		v.add(p, `"le" is the histogram's bucket label, which the rules keep as it is; choose another name`)
	}
}

// metricName checks a metric name, the counter's or the histogram's (whose
// example is example), and suggests the name with every character a metric
// name cannot hold replaced by an underscore.
func (v *validator) metricName(p Path, name, example string) {
	if model.LegacyValidation.IsValidMetricName(name) {
		return
	}
	if name == "" {
		v.add(p, "write the metric's name, e.g. "+example)
		return
	}
	fix := strings.Map(func(r rune) rune {
		if r == ':' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name)
	if fix[0] >= '0' && fix[0] <= '9' {
		fix = "_" + fix
	}
	v.add(p, fmt.Sprintf("%q is not a metric name: a metric name holds letters, digits, underscores and colons, and does not begin with a digit; write %s", name, fix))
}

// shortest prints v with at most 15 significant digits, which drops the
// noise of binary floating point (1/(1-0.99) prints as 100).
func shortest(v float64) string { return strconv.FormatFloat(v, 'g', 15, 64) }

// number refuses a number whose shortest decimal form within 15 significant
// digits is not the number itself: 0.30000000000000004 is 0.1+0.2 printed
// by a program, not a threshold anyone meant, and would reach the rules as
// le="0.30000000000000004".
func (v *validator) number(p Path, x float64) {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return
	}
	if back, err := strconv.ParseFloat(shortest(x), 64); err == nil && back != x {
		v.add(p, fmt.Sprintf("%s looks like floating-point noise; write %s", strconv.FormatFloat(x, 'g', -1, 64), shortest(x)))
	}
}

// Values the generated tests try for the label of requests.errors: the
// first of ErrValues (then the matcher's own alternatives) that the matcher
// matches is a failed request's, the first of OKValues it does not match a
// successful one's.
var (
	ErrValues = []string{"500", "503", "504", "502"}
	OKValues  = []string{"200", "201", "204", "404", "OK", "ok", "success"}
)

// ErrorValues returns, for the one matcher of requests.errors, a value it
// matches (a failed request's) and one it does not (a successful one's),
// which the generated tests write their series with.
func ErrorValues(m *labels.Matcher) (bad, good string, ok bool) {
	bads := append(slices.Clone(ErrValues), strings.Split(m.Value, "|")...)
	bads = append(bads, "x", "error")
	for _, c := range bads {
		if c != "" && m.Matches(c) {
			bad = c
			break
		}
	}
	// A successful value like the failed one: numbered for a numbered
	// code (500: 200), named for a named one (Unavailable: OK).
	numbered := func(c string) bool { return c != "" && c[0] >= '0' && c[0] <= '9' }
	goods := slices.Clone(OKValues)
	slices.SortStableFunc(goods, func(a, b string) int {
		return cmp.Compare(b2i(numbered(a) != numbered(bad)), b2i(numbered(b) != numbered(bad)))
	})
	for _, c := range append(goods, "x") {
		if !m.Matches(c) {
			good = c
			break
		}
	}
	return bad, good, bad != "" && good != ""
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// errorsMatcher checks that requests.errors is what the generated tests can
// write series for: one matcher, on any label, that some value matches and
// another does not.
func (v *validator) errorsMatcher(p Path, sel string) {
	ms, err := Matchers(sel)
	if err != nil || len(ms) == 0 {
		return // reported by selector
	}
	if len(ms) != 1 {
		v.add(p, fmt.Sprintf("%q: want one matcher, on the label that tells failed requests apart, e.g. code=~\"5..\" or grpc_code=~\"Unavailable|Internal\"; fold several conditions into one regular expression", sel))
		return
	}
	m := ms[0]
	if m.Name == labels.MetricName || m.Name == "le" {
		v.add(p, fmt.Sprintf("%q: the errors matcher must be on a label of the request counter, not on %s", sel, m.Name))
		return
	}
	_, _, ok := ErrorValues(m)
	v.check(ok, p, fmt.Sprintf("%q: the generated tests need a value of %s that the matcher matches (a failed request) and one it does not (a successful one); they try %s and the matcher's alternatives for the first, %s for the second. Write the matcher so that one of them fits, e.g. %s=~\"5..\"", sel, m.Name, strings.Join(ErrValues, ", "), strings.Join(OKValues, ", "), m.Name))
}

// defs are the variables Prometheus defines before an alert's templates.
const templateDefs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"

var templateNameRE = regexp.MustCompile(`^template: \S+?:\d+:\s*`)

// template checks that text, an alert label or annotation, parses as
// Prometheus parses it when it loads the rule file (model/rulefmt).
func (v *validator) template(p Path, text string) {
	if !strings.Contains(text, "{{") {
		return
	}
	data := template.AlertTemplateData(map[string]string{}, map[string]string{}, "", promql.Sample{})
	t := template.NewTemplateExpander(context.Background(), templateDefs+text, "alert", data, 0, nil, nil, nil)
	if err := t.ParseTest(); err != nil {
		msg := templateNameRE.ReplaceAllString(err.Error(), "")
		hint := `close every {{ with }}, or write {{ "{{" }} for literal braces`
		if strings.Contains(msg, "not defined") || strings.Contains(msg, "undefined variable") {
			hint = "use Prometheus's template functions, e.g. {{ $value | humanizePercentage }}, and the variables $labels, $externalLabels, $externalURL and $value"
		}
		v.add(p, fmt.Sprintf("does not parse as a Prometheus alert template (%s); %s", msg, hint))
	}
}

// raw checks an SLO of kind raw at path p: a service, no selector, and two
// queries that hold the window placeholder and parse as PromQL instant
// vectors once it is replaced by the base window.
func (v *validator) raw(p Path, s *Spec, o SLO) {
	if s.Service == "" {
		v.add(append(p, "kind"), "kind raw needs service: its records carry the service and SLO as their only identity; set service")
	}
	if strings.TrimSpace(o.Selector) != "" {
		v.add(append(p, "selector"), "a raw SLO's queries select their own series; write the matchers into raw.errors and raw.total and remove selector")
	}
	w := s.BaseWindow
	if w <= 0 {
		w = Duration(5 * time.Minute)
	}
	for _, q := range []struct{ field, query, example string }{
		{"errors", o.Raw.Errors, `sum(rate(http_requests_total{job="api",code=~"5.."}[{{.window}}]))`},
		{"total", o.Raw.Total, `sum(rate(http_requests_total{job="api"}[{{.window}}]))`},
	} {
		qp := append(append(Path{}, p...), "raw", q.field)
		if strings.TrimSpace(q.query) == "" {
			v.add(qp, "write the query of kind raw, e.g. "+q.example)
			continue
		}
		if !HasWindow(q.query) {
			v.add(qp, fmt.Sprintf("%q has no window placeholder; write %s where the range goes, e.g. %s", q.query, WindowPlaceholder, q.example))
			continue
		}
		e, err := parser.NewParser(parser.Options{}).ParseExpr(WithWindow(q.query, w))
		if err != nil {
			v.add(qp, fmt.Sprintf("does not parse as PromQL with %s replaced by %s: %v", WindowPlaceholder, w, err))
			continue
		}
		if e.Type() != parser.ValueTypeVector {
			v.add(qp, fmt.Sprintf("gives a %s; the query must give an instant vector of events per second, e.g. %s", valueTypeWords[e.Type()], q.example))
		}
	}
}

// onlyRaw says whether every SLO is of kind raw, whose queries need no
// service selector.
func (s *Spec) onlyRaw() bool {
	for _, o := range s.SLOs {
		if o.Kind != KindRaw {
			return false
		}
	}
	return len(s.SLOs) > 0
}

// valueTypeWords names PromQL's value types as its documentation does.
var valueTypeWords = map[parser.ValueType]string{
	parser.ValueTypeMatrix: "range vector",
	parser.ValueTypeScalar: "scalar",
	parser.ValueTypeString: "string",
	parser.ValueTypeNone:   "no value",
}
