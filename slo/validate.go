package slo

import (
	"context"
	"fmt"
	"math"
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
	v.check(nameRE.MatchString(s.Name), Path{"name"}, "want lower-case letters, digits and dashes, e.g. kube-apiserver (it names the output files)")
	v.selector(Path{"selector"}, s.Selector, true)
	v.labelName(Path{"clusterLabel"}, s.ClusterLabel)
	v.labelName(Path{"sliLabel"}, s.SLILabel)
	v.ownLabel(Path{"clusterLabel"}, s.ClusterLabel)
	v.ownLabel(Path{"sliLabel"}, s.SLILabel)
	v.check(s.SLILabel != s.ClusterLabel, Path{"sliLabel"},
		fmt.Sprintf("%q is also the clusterLabel; the SLI's name would replace the cluster's in every recorded series, so choose another label, e.g. verb", s.SLILabel))
	objectiveOK := s.Objective > 0 && s.Objective < 1
	switch {
	case objectiveOK:
		v.number(Path{"objective"}, s.Objective)
	case s.Objective > 1 && s.Objective < 100:
		v.add(Path{"objective"}, fmt.Sprintf("%v is outside (0, 1); write the target as a ratio: %s for %v%%", s.Objective, shortest(s.Objective/100), s.Objective))
	default:
		v.add(Path{"objective"}, fmt.Sprintf("%v is outside (0, 1); write the target as a ratio, e.g. 0.99 for 99%%", s.Objective))
	}
	v.check(s.Period > 0, Path{"period"}, "must be a positive duration, e.g. 30d")

	v.metricName(Path{"requests", "metric"}, s.Requests.Metric)
	v.selector(Path{"requests", "errors"}, s.Requests.Errors, true)
	v.errorsMatcher(Path{"requests", "errors"}, s.Requests.Errors)
	v.metricName(Path{"latency", "metric"}, s.Latency.Metric)
	v.selector(Path{"latency", "selector"}, s.Latency.Selector, false)

	v.check(len(s.SLOs) > 0, Path{"slos"}, "list at least one SLO")
	if len(s.SLOs) > MaxSLOs {
		v.add(Path{"slos"}, fmt.Sprintf("%d SLOs, more than the limit of %d; split the spec into several files", len(s.SLOs), MaxSLOs))
		return v.errs // rather than one error for each of them
	}
	seen := map[string]int{}
	partitioned := false
	for i, o := range s.SLOs {
		p := Path{"slos", i}
		if j, dup := seen[o.Name]; dup {
			v.add(append(p, "name"), fmt.Sprintf("SLO name %q is already used by slos[%d]; each SLO needs its own name", o.Name, j))
		}
		seen[o.Name] = i
		v.check(o.Name != "" && model.LabelValue(o.Name).IsValid(), append(p, "name"), "want a non-empty label value, e.g. read")
		v.selector(append(p, "selector"), o.Selector, true)
		v.check(len(o.Latency) > 0, append(p, "latency"), "list at least one latency threshold")
		values := map[string]bool{}
		for j, t := range o.Latency {
			tp := append(append(Path{}, p...), "latency", j)
			v.check(t.Seconds > 0 && !math.IsInf(t.Seconds, 0) && !math.IsNaN(t.Seconds), append(tp, "seconds"),
				"must be a positive number of seconds, the upper bound of a histogram bucket")
			v.number(append(tp, "seconds"), t.Seconds)
			if len(o.Latency) > 1 {
				v.check(len(t.Partition) > 0, append(tp, "partition"),
					"with several thresholds each needs the partition label values it applies to")
			}
			for _, val := range t.Partition {
				if values[val] {
					v.add(append(tp, "partition"), fmt.Sprintf("value %q already has a threshold", val))
				}
				values[val] = true
				partitioned = true
			}
		}
	}
	if pl := s.Latency.PartitionLabel; partitioned || pl != "" {
		p := Path{"latency", "partitionLabel"}
		v.labelName(p, pl)
		v.ownLabel(p, pl)
		for _, other := range []struct{ field, name string }{{"clusterLabel", s.ClusterLabel}, {"sliLabel", s.SLILabel}} {
			v.check(pl != other.name, p, fmt.Sprintf("%q is also the %s; the rules aggregate by both, so the partition label must be another label of the histogram, e.g. scope", pl, other.field))
		}
	}

	a := s.Alert
	v.check(alertNameRE.MatchString(a.Name), Path{"alert", "name"}, "want an alert name such as KubeAPIErrorBudgetBurn")
	v.check(a.Summary != "", Path{"alert", "summary"}, "write a one-line summary")
	v.check(a.Description != "", Path{"alert", "description"}, "write a description")
	v.check(strings.Count(a.RunbookURLPattern, "%s") == 1 && strings.Count(a.RunbookURLPattern, "%") == 1,
		Path{"alert", "runbookURLPattern"}, "must contain %s exactly once (replaced by the lower-cased alert name) and no other %")
	v.template(Path{"alert", "summary"}, a.Summary)
	v.template(Path{"alert", "description"}, a.Description)
	v.check(len(a.Windows) > 0, Path{"alert", "windows"}, "list at least one window pair")
	if len(a.Windows) > MaxWindows {
		v.add(Path{"alert", "windows"}, fmt.Sprintf("%d window pairs, more than the limit of %d; a few pairs (the SRE workbook uses 3 or 4) catch both fast and slow burns", len(a.Windows), MaxWindows))
		return v.errs
	}
	pairs := map[[2]Duration]int{}
	for i, w := range a.Windows {
		p := Path{"alert", "windows", i}
		v.check(w.Long > 0, append(p, "long"), "must be a positive duration")
		v.check(w.Short > 0, append(p, "short"), "must be a positive duration")
		if w.Long > 0 && w.Short > 0 {
			v.check(w.Short < w.Long, append(p, "short"),
				fmt.Sprintf("the short window %s must be shorter than the long window %s", w.Short, w.Long))
		}
		v.check(w.Factor > 0 && !math.IsInf(w.Factor, 0), append(p, "factor"),
			fmt.Sprintf("%v: the burn-rate factor must be a positive number, e.g. 14.4", w.Factor))
		v.number(append(p, "factor"), w.Factor)
		// The budget as the user reads it: 1 - 0.99 is 0.01, not 0.010000000000000009.
		budget, _ := strconv.ParseFloat(shortest(1-s.Objective), 64)
		if objectiveOK && w.Factor > 0 && w.Factor*budget >= 1 {
			v.add(append(p, "factor"), fmt.Sprintf("%v times the error budget (%s%% at objective %v) is an error ratio of %s%%, which no service can exceed, so the alert can never fire; use a factor below %s",
				w.Factor, shortest(budget*100), s.Objective, shortest(w.Factor*budget*100), shortest(1/budget)))
		}
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
		k := [2]Duration{w.Long, w.Short}
		if j, dup := pairs[k]; dup {
			v.add(p, fmt.Sprintf("the pair %s/%s is already alert.windows[%d]", w.Long, w.Short, j))
		}
		pairs[k] = i
	}
	v.check(nameRE.MatchString(s.Runbook.Component), Path{"runbook", "component"}, "want a folder name such as kubernetes")
	v.check(strings.Count(s.Runbook.URLPattern, "%s") == 1 && strings.Count(s.Runbook.URLPattern, "%") == 1,
		Path{"runbook", "urlPattern"}, "must contain %s exactly once (replaced by the lower-cased alert name) and no other %")
	v.output(s.Output)
	v.check(s.BaseWindow > 0, Path{"baseWindow"}, "must be a positive duration, e.g. 5m")
	if s.BaseWindow > 0 {
		for i, w := range a.Windows {
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
	for name, verbs := range s.Fixes.ExtraVerbs {
		p := Path{"fixes", "extraVerbs", name}
		if _, ok := seen[name]; !ok {
			v.add(p, fmt.Sprintf("there is no SLO named %q to add verbs to", name))
			continue
		}
		for _, verb := range verbs {
			v.check(verb != "" && !strings.ContainsAny(verb, `|()[]{}.*+?^$\`), p, fmt.Sprintf("%q is not a verb", verb))
		}
		if len(verbs) > 0 && verbMatcher(s.SLOs[seen[name]].Selector) == nil {
			v.add(p, fmt.Sprintf(`slos[%d].selector has no verb=~"…" matcher to add verbs to`, seen[name]))
		}
	}
	return v.errs
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

func (v *validator) metricName(p Path, name string) {
	v.check(model.LegacyValidation.IsValidMetricName(name), p, fmt.Sprintf("%q is not a metric name", name))
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

// Codes the generated tests use for failed and successful requests: the
// first of ErrCodes that requests.errors matches, and the first of OKCodes
// it does not.
var (
	ErrCodes = []string{"500", "503", "504", "502"}
	OKCodes  = []string{"200", "201", "204", "404"}
)

// errorsMatcher checks that requests.errors is what the generated tests can
// write series for: one matcher on code that a 5xx code matches and a
// success code does not.
func (v *validator) errorsMatcher(p Path, sel string) {
	ms, err := Matchers(sel)
	if err != nil || len(ms) == 0 {
		return // reported by selector
	}
	m := ms[0]
	ok := len(ms) == 1 && m.Name == "code" &&
		slices.ContainsFunc(ErrCodes, m.Matches) && slices.ContainsFunc(OKCodes, func(c string) bool { return !m.Matches(c) })
	v.check(ok, p, fmt.Sprintf("%q: want one matcher on the code label that 500 matches and 200 does not, e.g. code=~\"5..\"; the generated tests write their series with those codes", sel))
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
