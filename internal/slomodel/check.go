package slomodel

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/burnrate/burnrate/slo"
)

// The checks New makes, in one place: what a profile needs of a spec
// beyond slo.Parse's validation, for its rules, its unit tests and (the
// optimized profile) its runbook's drill-down queries. Each problem is a
// slo.FieldError, reported at the file and line of its field.

// problems reports what the profile cannot render from spec s, or nil; m
// is the model built from s, nil when it could not be built.
func problems(s *slo.Spec, profile string, m *Model) []slo.FieldError {
	var fes []slo.FieldError
	switch profile {
	case ProfileMixin:
		fes = mixinProblems(s)
	case ProfileOptimized:
		fes = runbookProblems(s)
	}
	// Both profiles write unit tests, whose input series must match the
	// spec's selectors.
	fields := []struct {
		path slo.Path
		sel  string
	}{{slo.Path{"selector"}, s.Selector}, {slo.Path{"latency", "selector"}, s.Latency.Selector}}
	for i, o := range s.SLOs {
		fields = append(fields, struct {
			path slo.Path
			sel  string
		}{slo.Path{"slos", i, "selector"}, o.Selector})
	}
	for _, f := range fields {
		if _, err := Satisfy(f.sel); err != nil {
			fes = append(fes, slo.FieldError{Path: f.path, Msg: err.Error()})
		}
	}
	if profile == ProfileOptimized {
		fes = append(fes, baseWindowProblems(s)...)
	}
	// A raw SLO's tests need queries of the shape they know, and the alert
	// tests traffic that float64 can count.
	if m != nil {
		fes = append(fes, trafficProblems(m)...)
		fes = append(fes, overlapProblems(s, m)...)
		for i, o := range s.SLOs {
			if o.Kind != slo.KindRaw {
				continue
			}
			if _, err := m.RawTestInput(i); err != nil {
				fes = append(fes, slo.FieldError{Path: slo.Path{"slos", i, "raw"}, Msg: err.Error()})
			}
		}
	}
	return fes
}

// mixinProblems is what the kubernetes-mixin profile needs beyond a valid
// spec.
func mixinProblems(s *slo.Spec) []slo.FieldError {
	var fes []slo.FieldError
	if days, whole := s.PeriodDays(); !whole || days < 1 {
		fes = append(fes, slo.FieldError{Path: slo.Path{"period"},
			Msg: fmt.Sprintf("%s: the %s profile counts the SLO period in whole days; use e.g. 30d", s.Period, ProfileMixin)})
	}
	if s.Service != "" {
		fes = append(fes, slo.FieldError{Path: slo.Path{"service"},
			Msg: fmt.Sprintf("the %s profile renders the mixin's kube-apiserver rules, whose names and labels carry no service; remove service, or use the %s profile", ProfileMixin, ProfileOptimized)})
	}
	for i, o := range s.SLOs {
		if o.Kind != slo.KindErrorsAndLatency {
			fes = append(fes, slo.FieldError{Path: slo.Path{"slos", i, "kind"},
				Msg: fmt.Sprintf("the %s profile renders errors-and-latency SLOs only, as the mixin does; use the %s profile for kind %s", ProfileMixin, ProfileOptimized, o.Kind)})
		}
	}
	if s.Latency.Form.IsNative() {
		fes = append(fes, slo.FieldError{Path: slo.Path{"latency", "form"},
			Msg: fmt.Sprintf("%s: the %s profile renders the mixin's rules, which read the classic histogram's _bucket and _count series only; use the %s profile for a native histogram, or keep classic buckets (always_scrape_classic_histograms: true) and write form: classic", s.Latency.Form, ProfileMixin, ProfileOptimized)})
	}
	if s.Alert.MinRequests != 0 {
		fes = append(fes, slo.FieldError{Path: slo.Path{"alert", "minRequests"},
			Msg: fmt.Sprintf("the %s profile renders the mixin's alerts as they are, and the mixin has no low-traffic guard; remove minRequests, or use the %s profile", ProfileMixin, ProfileOptimized)})
	}
	fes = append(fes, mixinBudgetProblems(s)...)
	if !model.LegacyValidation.IsValidLabelName(s.Latency.PartitionLabel) {
		fes = append(fes, slo.FieldError{Path: slo.Path{"latency", "partitionLabel"},
			Msg: fmt.Sprintf("the %s profile groups the latency histogram by this label, as the mixin groups by scope, even when no SLO has partitions; set it, e.g. partitionLabel: scope", ProfileMixin)})
	}
	return fes
}

// Labels the kube-apiserver runbook's drill-down queries read or set
// (internal/runbook); the cluster and SLI labels must not be one of them,
// and the selector must not match on le or __name__.
var drilldownLabels = []string{
	"window", "term", "code", "verb", "group", "resource", "subresource", "instance", "le", "name", "reason",
	"component", "type", "operation", "error_type", "rejection_code", "flow_schema", "priority_level", "job", "source",
}

// serviceQueryLabels are the labels a service runbook's drill-down queries
// set (window, term); no identity or drill-down label may be one of them.
var serviceQueryLabels = []string{"window", "term"}

// runbookProblems is what the runbook needs beyond a valid spec (the
// optimized profile writes it): names and selectors that keep every
// drill-down query valid and right.
func runbookProblems(s *slo.Spec) []slo.FieldError {
	if s.Service != "" {
		return serviceProblems(s)
	}
	var fes []slo.FieldError
	for _, l := range []struct {
		field, name string
	}{{"clusterLabel", s.ClusterLabel}, {"sliLabel", s.SLILabel}} {
		if slices.Contains(drilldownLabels, l.name) && !(l.field == "sliLabel" && l.name == "verb") {
			fes = append(fes, slo.FieldError{Path: slo.Path{l.field},
				Msg: fmt.Sprintf("%q is a label the runbook's drill-down queries group by or set; choose another name, e.g. %s", l.name, map[string]string{"clusterLabel": "cluster", "sliLabel": "sli"}[l.field])})
		}
	}
	if !s.ReadsLatency() {
		// Its decision tree follows slow requests as well as failed ones
		// (Steps 2 and 4, and the routes from them).
		fes = append(fes, slo.FieldError{Path: slo.Path{"slos"},
			Msg: "no SLO counts slow requests, and a spec without service gets the kube-apiserver's runbook, which follows slow requests as well as failed ones; give an SLO latency thresholds (kind errors-and-latency, as in the embedded spec), or add the line \"service: " + s.Name + "\" for a runbook built from these SLOs"})
	}
	return append(fes, selectorProblems(s)...)
}

// serviceProblems is runbookProblems for a spec with a service.
func serviceProblems(s *slo.Spec) []slo.FieldError {
	var fes []slo.FieldError
	for _, l := range []struct {
		path slo.Path
		name string
	}{{slo.Path{"clusterLabel"}, s.ClusterLabel}, {slo.Path{"serviceLabel"}, s.ServiceLabel}, {slo.Path{"sliLabel"}, s.SLILabel}} {
		if slices.Contains(serviceQueryLabels, l.name) {
			fes = append(fes, slo.FieldError{Path: l.path, Msg: fmt.Sprintf("%q is a label the runbook's queries set (%s); choose another name", l.name, strings.Join(serviceQueryLabels, ", "))})
		}
	}
	for i, l := range s.Drilldown {
		if slices.Contains(serviceQueryLabels, l) {
			fes = append(fes, slo.FieldError{Path: slo.Path{"drilldown", i}, Msg: fmt.Sprintf("%q is a label the runbook's queries set (%s); a drill-down by it would be overwritten, so leave it out", l, strings.Join(serviceQueryLabels, ", "))})
		}
	}
	return append(fes, selectorProblems(s)...)
}

// selectorProblems refuses selectors that would break the drill-down
// queries of either runbook.
func selectorProblems(s *slo.Spec) []slo.FieldError {
	var fes []slo.FieldError
	for _, f := range []struct {
		path slo.Path
		sel  string
	}{
		{slo.Path{"selector"}, s.Selector}, {slo.Path{"requests", "errors"}, s.Requests.Errors}, {slo.Path{"latency", "selector"}, s.Latency.Selector},
	} {
		ms, _ := slo.Matchers(f.sel) // validated
		for _, m := range ms {
			switch m.Name {
			case labels.MetricName:
				fes = append(fes, slo.FieldError{Path: f.path, Msg: fmt.Sprintf("the matcher %s would give every drill-down metric of the runbook a second name, which PromQL rejects; select the series by other labels, e.g. job=\"kube-apiserver\"", m)})
			case "le":
				fes = append(fes, slo.FieldError{Path: f.path, Msg: fmt.Sprintf("the matcher %s would drop histogram buckets the runbook's drill-down quantiles need; remove it", m)})
			}
		}
	}
	return fes
}

// mixinBudgetProblems refuses an objective whose error budget the
// kubernetes-mixin profile, which prints it with five decimals as the
// mixin does ("%.5f", Profile.RoundedThresholds), writes as 0: every
// threshold would be 0 and a single error would fire every alert.
func mixinBudgetProblems(s *slo.Spec) []slo.FieldError {
	var fes []slo.FieldError
	check := func(p slo.Path, objective float64) {
		if objective > 0 && objective < 1 && RoundTo(1-objective, 5) == 0 {
			fes = append(fes, slo.FieldError{Path: p,
				Msg: fmt.Sprintf("%v: the %s profile writes the error budget with five decimals, as the mixin does, and this budget (%s) comes out as 0, so every alert would fire on a single error; use an objective below 0.999995, or the %s profile",
					objective, ProfileMixin, strconv.FormatFloat(ErrorBudget(objective), 'g', -1, 64), ProfileOptimized)})
		}
	}
	check(slo.Path{"objective"}, s.Objective)
	for i, o := range s.SLOs {
		check(slo.Path{"slos", i, "objective"}, o.Objective)
	}
	return fes
}

// trafficProblems refuses an SLO whose thresholds the generated alert
// tests cannot express in float64 (TestTrafficProblem): an
// objective so high, or a factor so low, that its lowest threshold is a
// share of requests float64 counters or rates cannot resolve.
func trafficProblems(m *Model) []slo.FieldError {
	var fes []slo.FieldError
	guard, highest := "", 0.0 // the lowest highest minRequests of any SLO
	for i, o := range m.SLOs {
		if m.SLIs[i].Budget == 0 {
			continue // mixinBudgetProblems
		}
		if problem, h := m.GuardProblem(i); problem != "" {
			if guard == "" || h < highest {
				guard, highest = fmt.Sprintf("SLO %s %s", o.Name, problem), h
			}
			continue
		}
		problem := m.TestTrafficProblem(i)
		if problem == "" {
			continue
		}
		p := slo.Path{"objective"}
		if o.Objective != 0 {
			p = slo.Path{"slos", i, "objective"}
		}
		fix := "raise its window pairs' factors"
		if top := m.MaxTestableObjective(i); top > 0 {
			fix = fmt.Sprintf("use an objective of at most %s for it, or higher factors", strconv.FormatFloat(top, 'g', -1, 64))
		}
		fes = append(fes, slo.FieldError{Path: p,
			Msg: fmt.Sprintf("%v: SLO %s's lowest alert threshold (factor × error budget) is %s, too small a share of requests to test: %s; %s",
				m.ObjectiveOf(i), o.Name, strconv.FormatFloat(m.LowestThreshold(i), 'g', -1, 64), problem, fix)})
	}
	if guard != "" {
		fes = append(fes, slo.FieldError{Path: slo.Path{"alert", "minRequests"},
			Msg: fmt.Sprintf("%s: more than the generated alert tests can pass: they write at least 2 × minRequests × the base window in minutes requests a minute, so that the first base rate already passes the guard, and for %s; use a minRequests of at most %s",
				strconv.FormatFloat(m.Alert.MinRequests, 'f', -1, 64), guard, strconv.FormatFloat(highest, 'f', -1, 64))})
	}
	return fes
}

// baseWindowProblems refuses a base window the generated tests cannot
// sample: they write one sample a minute, at whole minutes, and rate()
// over the base window returns nothing unless the window holds two samples
// (Prometheus v0.316.0 promql/functions.go, extrapolatedRate), and the
// range is open at its start (promql/engine.go, matrixIterSlice keeps
// samples with t > mint), so a 1m window holds one; the optimized
// profile's every record, all built from base-window rates, would be empty.
func baseWindowProblems(s *slo.Spec) []slo.FieldError {
	b := time.Duration(s.BaseWindow)
	if b <= 0 || (b >= 2*time.Minute && b%time.Minute == 0) {
		return nil
	}
	return []slo.FieldError{{Path: slo.Path{"baseWindow"},
		Msg: fmt.Sprintf("%s: the generated tests write one sample a minute, and rate() over a base window needs two samples in it, so it must be a whole number of minutes, 2m or more; use e.g. 5m", s.BaseWindow)}}
}

// overlapProblems refuses two SLOs that read the same requests where the
// unit tests cannot keep them apart: the series the tests write for one
// of them (labels satisfying the spec's selectors and its own, as the
// tests build them) is matched by the other's selector too, so no test
// can make one burn and the other stay quiet. A request with those labels
// is really read by both, so the refusal is true of the spec, not only of
// the tests. Two SLOs counting errors are refused whenever they overlap;
// two reading the histogram only when their selectors differ (with the
// same selector they read one histogram at their own thresholds, which
// the tests write as one).
func overlapProblems(s *slo.Spec, m *Model) []slo.FieldError {
	// witness[i] is the labels of a request SLO i reads, found once per
	// SLO: the pairs below are quadratic in the SLOs, parsing is not.
	service := map[string]string{}
	for _, sel := range []string{s.Selector, s.Latency.Selector} {
		part, _ := Satisfy(sel) // checked by problems
		maps.Copy(service, part)
	}
	witness := make([]map[string]string, len(s.SLOs))
	for i, o := range s.SLOs {
		witness[i] = maps.Clone(service)
		part, _ := Satisfy(o.Selector)
		maps.Copy(witness[i], part)
	}
	// overlap is the labels of a request both i and j read through
	// selectors a and b, or nil.
	overlap := func(i, j int, a, b pql.Sel) map[string]string {
		switch wi, wj := witness[i], witness[j]; {
		case b.Matches(wi):
			return wi
		case a.Matches(wj):
			return wj
		}
		return nil
	}
	var fes []slo.FieldError
	for j := range s.SLOs {
		for i := range j {
			oi, oj := s.SLOs[i], s.SLOs[j]
			if oi.Kind == slo.KindRaw || oj.Kind == slo.KindRaw {
				continue
			}
			what, fix := "", ""
			shared := map[string]string(nil)
			switch {
			case oi.Kind.HasErrors() && oj.Kind.HasErrors():
				shared = overlap(i, j, m.SLIs[i].Requests, m.SLIs[j].Requests)
				what, fix = "count the errors of", "or make one of them kind latency"
			case oi.Kind.HasLatency() && oj.Kind.HasLatency() && oi.Selector != oj.Selector:
				shared = overlap(i, j, m.SLIs[i].Latency, m.SLIs[j].Latency)
				what, fix = "read the latency of", "or give both the same selector (one histogram, two thresholds)"
			}
			if shared == nil {
				continue
			}
			fes = append(fes, slo.FieldError{Path: slo.Path{"slos", j, "selector"}, Msg: fmt.Sprintf(
				"SLOs %q and %q both %s the same requests (a request labelled %s is in both), so no alert test can make one burn while the other stays quiet; give them selectors that select different requests (e.g. handler=\"/checkout\" in one and handler!=\"/checkout\" in the other), %s",
				oi.Name, oj.Name, what, labels.FromMap(shared), fix)})
		}
	}
	return fes
}
