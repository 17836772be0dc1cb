// Package slomodel reads a spec for one rule profile: every selector, record
// name, threshold and alert that the rules, the generated tests, the runbook,
// lint and diagnose use, computed once.
package slomodel

import (
	"context"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/template"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/burnrate/burnrate/slo"
)

// Model is a spec read for one profile: every selector, name, threshold and
// alert the rules, the generated tests, the runbook, lint and diagnose use,
// computed once. The profile's departures from the mixin are fields of
// Profile, so that readers ask what a rule does, not which profile made it.
type Model struct {
	*slo.Spec
	Profile Profile

	// Service is the spec's selector, NonStreaming latency.selector (the
	// exclusion of streaming requests), Errors requests.errors.
	Service, NonStreaming, Errors pql.Sel
	SLIs                          []SLI

	Counter string // the request counter, e.g. apiserver_request_total
	Base    string // the counter without _total: the records' stem
	Bucket  string // the histogram's _bucket series (form classic)
	Count   string // the histogram's _count series (form classic)
	// Native is set when the histogram is a native one (latency.form
	// native or nhcb): Histogram names its one series per label set, and
	// there are no Bucket or Count series.
	Native    bool
	Histogram string

	// Budget is the error budget, 1 - objective, computed in decimal.
	Budget float64

	// Identity is set when the spec names a service: every record and alert
	// carries ServiceLabel and SLILabel, and rules read only records of
	// Own (ServiceLabel="<service>"). Without it (the embedded
	// kube-apiserver spec) the mixin's names and labels stay as they are
	// and Own is empty.
	Identity bool
	Own      pql.Sel

	// The optimized profile's base-window records per SLI: all events,
	// errors, slow requests (per partition value) and bad events.
	BaseWindow                        time.Duration
	EventsRecord, ErrorsRecord        string
	SlowRecord, BadRecord             string
	AvailabilityRecord, BudgetRecord  string
	QuantileRecord, RequestRateRecord string
}

// SLI is one SLO of the spec with its selectors as the profile reads them.
type SLI struct {
	slo.SLO
	// Own is the SLO's selector (with the profile's extra verbs).
	Own pql.Sel
	// Requests selects the SLI's events in the request counter; Latency in
	// the histogram (Requests plus NonStreaming where the profile leaves
	// streaming requests out of every term).
	Requests, Latency pql.Sel
	// Ident selects the SLI's recorded series: its SLI label, and with
	// Identity the service label too.
	Ident pql.Sel
	// Objective and Budget are the SLO's own (or the spec's).
	Objective, Budget float64
	// RawErrors and RawTotal are the queries of kind raw with the base
	// window in place of the placeholder; nil for other kinds.
	RawErrors, RawTotal parser.Expr
}

// Profile holds what a profile changes, as the rules' behaviour.
type Profile struct {
	Name string
	// AbsentAsZero: a missing errors series, bucket or histogram counts as
	// zero; otherwise the burn rate comes out empty (kubernetes-mixin#690).
	AbsentAsZero bool
	// AlertPerSLI: one alert per SLI, with its SLI label; otherwise one
	// alert on the sum of the SLIs' burn rates.
	AlertPerSLI bool
	// StreamingExcluded: streaming requests are left out of the errors and
	// total terms too, not only out of the latency term (mixin#1273).
	StreamingExcluded bool
	// RoundedThresholds: the alert threshold is the factor rounded to two
	// decimals times the budget rounded to five, as the mixin prints them.
	RoundedThresholds bool
	// RecordsBudgetRemaining: the share of the period's budget left is
	// recorded.
	RecordsBudgetRemaining bool
	// RequestsLagOneEvaluation: the availability records read the hourly
	// request increases before they record them, so the request totals
	// miss the newest evaluation (the mixin's rule order).
	RequestsLagOneEvaluation bool
	// RunbookURLPattern is the runbook_url pattern the alert uses.
	RunbookURLPattern string
}

// AllSLIs is the SLI label value of the availability records over every
// SLI of the spec.
const AllSLIs = "all"

// Profiles lists the rule profiles, the default first.
var Profiles = []string{ProfileOptimized, ProfileMixin}

// ProfileMixin reproduces the kubernetes-mixin's apiserver SLO rules.
const ProfileMixin = "kubernetes-mixin"

// ProfileOptimized is the default profile: the mixin's SLIs and names, every
// window built from recorded base-window rates, and the fixes in spec.Fixes.
const ProfileOptimized = "optimized"

// built counts the models New has built in this process.
var built atomic.Int64

// Built is the number of models New has built in this process, for the
// tests that prove a generate run builds one model per spec.
func Built() int64 { return built.Load() }

// New reads spec s, which slo.Parse has validated, for the named profile,
// and checks it: everything the profile needs beyond a valid spec for its
// rules, their unit tests and (the optimized profile) the runbook's
// drill-down queries. A problem is a *slo.Error at the file and line of its
// field (errors.Join of them). New is the one place a spec is read and
// checked for a profile: the rule, test and runbook generators take its
// Model.
func New(s *slo.Spec, profile string) (*Model, error) {
	built.Add(1)
	m, err := build(s, profile)
	if err != nil && !slices.Contains(Profiles, profile) {
		return nil, err
	}
	if m == nil {
		// The checks that need no model, and their file:line errors,
		// come first.
		if perr := s.Errors(problems(s, profile, nil)); perr != nil {
			return nil, perr
		}
		return nil, err
	}
	if err := s.Errors(problems(s, profile, m)); err != nil {
		return nil, err
	}
	return m, nil
}

// Unchecked builds the model of spec s without New's checks, for the
// tests that need the rules of a spec the checks refuse on purpose (a raw
// SLO whose queries the generated tests cannot feed). Everything else calls
// New.
func Unchecked(s *slo.Spec, profile string) (*Model, error) {
	built.Add(1)
	return build(s, profile)
}

// build reads spec s for the named profile, unchecked.
func build(s *slo.Spec, profile string) (*Model, error) {
	m := &Model{Spec: s}
	switch profile {
	case ProfileOptimized:
		m.Profile = Profile{
			Name:                   profile,
			AbsentAsZero:           s.Fixes.AbsentAsZero,
			AlertPerSLI:            s.Fixes.AlertPerSLI,
			StreamingExcluded:      s.Fixes.LatencySelectorEverywhere,
			RecordsBudgetRemaining: true,
			RunbookURLPattern:      s.Runbook.URLPattern,
		}
	case ProfileMixin:
		m.Profile = Profile{
			Name:                     profile,
			RoundedThresholds:        true,
			RequestsLagOneEvaluation: true,
			RunbookURLPattern:        s.Alert.RunbookURLPattern,
		}
	default:
		return nil, fmt.Errorf("unknown profile %q; choose one of %s", profile, strings.Join(Profiles, ", "))
	}
	var err error
	if m.Service, err = matchers("selector", s.Selector); err != nil {
		return nil, err
	}
	if m.NonStreaming, err = matchers("latency.selector", s.Latency.Selector); err != nil {
		return nil, err
	}
	if m.Errors, err = matchers("requests.errors", s.Requests.Errors); err != nil {
		return nil, err
	}
	for i, o := range s.SLOs {
		own, err := matchers(fmt.Sprintf("slos[%d].selector", i), o.Selector)
		if profile == ProfileOptimized {
			own, err = s.SLOSelector(i)
		}
		if err != nil {
			return nil, fmt.Errorf("slos[%d].selector: %w", i, err)
		}
		sli := SLI{SLO: o, Own: own, Requests: m.Service.And(own...), Objective: s.ObjectiveOf(i)}
		sli.Budget = ErrorBudget(sli.Objective)
		if m.Profile.RoundedThresholds {
			sli.Budget = RoundTo(1-sli.Objective, 5)
		}
		if o.Kind == slo.KindRaw {
			if sli.RawErrors, err = rawQuery(i, "errors", o.Raw.Errors, s.BaseWindow); err != nil {
				return nil, err
			}
			if sli.RawTotal, err = rawQuery(i, "total", o.Raw.Total, s.BaseWindow); err != nil {
				return nil, err
			}
		}
		sli.Latency = sli.Requests.And(m.NonStreaming...)
		if m.Profile.StreamingExcluded {
			sli.Requests = sli.Latency
		}
		m.SLIs = append(m.SLIs, sli)
	}

	if s.Service != "" {
		m.Identity = true
		m.Own = pql.Sel{pql.Eq(s.ServiceLabel, s.Service)}
	}
	for i := range m.SLIs {
		m.SLIs[i].Ident = m.Own.And(pql.Eq(s.SLILabel, m.SLIs[i].Name))
	}

	m.Counter = s.Requests.Metric
	m.Base = strings.TrimSuffix(s.Requests.Metric, "_total")
	m.Bucket = s.Latency.Metric + "_bucket"
	m.Count = s.Latency.Metric + "_count"
	m.Native = s.Latency.Form.IsNative()
	m.Histogram = s.Latency.Metric
	m.Budget = ErrorBudget(s.Objective)
	if m.Profile.RoundedThresholds {
		m.Budget = RoundTo(1-s.Objective, 5)
	}

	m.BaseWindow = time.Duration(s.BaseWindow)
	prefix := s.ClusterLabel + "_" + s.SLILabel
	if m.Identity {
		// Generic names: the identity labels tell specs apart.
		m.Base = "slo"
		prefix = s.ClusterLabel + "_" + s.ServiceLabel + "_" + s.SLILabel
	}
	rate := ":rate" + s.BaseWindow.String()
	m.EventsRecord = prefix + ":" + m.Base + "_sli_events" + rate
	m.ErrorsRecord = prefix + ":" + m.Base + "_sli_errors" + rate
	slowPrefix := prefix
	if s.Latency.PartitionLabel != "" {
		slowPrefix += "_" + s.Latency.PartitionLabel
	}
	m.SlowRecord = slowPrefix + ":" + m.Base + "_sli_slow" + rate
	m.BadRecord = prefix + ":" + m.Base + "_sli_bad_events" + rate
	period := s.Period.String()
	m.AvailabilityRecord = m.Base + ":availability" + period
	m.BudgetRecord = m.Base + ":error_budget_remaining" + period
	m.QuantileRecord = "cluster_quantile:" + s.Latency.Metric + ":histogram_quantile"
	m.RequestRateRecord = "code_resource:" + m.Counter + ":rate5m"
	return m, nil
}

// BurnRateRecord is the name of the burn rate recorded over window w.
func (m *Model) BurnRateRecord(w slo.Duration) string { return m.Base + ":burnrate" + w.String() }

// SLILabels is the identity of SLI name as a label set: its SLI label, and
// with Identity the service label.
func (m *Model) SLILabels(name string) map[string]string {
	out := map[string]string{m.SLILabel: name}
	if m.Identity {
		out[m.ServiceLabel] = m.Spec.Service
	}
	return out
}

// IdentityLabels are the labels that tell one SLO's recorded series from
// every other's: the SLI label, and with Identity the service label.
func (m *Model) IdentityLabels() []string {
	if m.Identity {
		return []string{m.ServiceLabel, m.SLILabel}
	}
	return []string{m.SLILabel}
}

// JoinOn lists the labels a join of two recorded series of one SLO matches
// on: the cluster, and with Identity the identity labels (without it the
// mixin's joins, on the cluster alone, stay as they are).
func (m *Model) JoinOn() []string {
	if m.Identity {
		return append([]string{m.ClusterLabel}, m.IdentityLabels()...)
	}
	return []string{m.ClusterLabel}
}

// SumRecord is the name of the record that sums base-window record rec
// over window w, e.g. cluster_verb:apiserver_request_sli_bad_events:rate5m_sum3d:
// the staged sums that long windows are built from. Every name with a
// window in it spells the window with slo.Duration's String (30d, not 4w2d).
func (m *Model) SumRecord(rec string, w time.Duration) string {
	return rec + "_sum" + slo.Duration(w).String()
}

// Threshold is the burn rate above which both windows of pair w must be
// for the alert to fire, at the spec's objective.
func (m *Model) Threshold(w slo.Window) float64 {
	return m.ThresholdFactor(w) * m.Budget
}

// ThresholdOf is Threshold for SLI i, at its own objective.
func (m *Model) ThresholdOf(w slo.Window, i int) float64 {
	return m.ThresholdFactor(w) * m.SLIs[i].Budget
}

// ThresholdFactor is the factor of pair w as the alert writes it.
func (m *Model) ThresholdFactor(w slo.Window) float64 {
	if m.Profile.RoundedThresholds {
		return RoundTo(w.Factor, 2)
	}
	return w.Factor
}

// AlertOn lists the labels an alert is kept per: the cluster, and the SLI
// label when the profile alerts per SLI.
func (m *Model) AlertOn() []string {
	if m.Identity {
		return m.JoinOn()
	}
	if m.Profile.AlertPerSLI {
		return []string{m.ClusterLabel, m.SLILabel}
	}
	return []string{m.ClusterLabel}
}

// RunbookURL is the alert's runbook_url annotation.
func (m *Model) RunbookURL() string {
	return strings.Replace(m.Profile.RunbookURLPattern, "%s", strings.ToLower(m.Alert.Name), 1)
}

// AlertRule is the alert of window pair w, but for its expression: name,
// for, severity/long/short labels and the annotations.
func (m *Model) AlertRule(w slo.Window) rulefmt.Rule {
	return rulefmt.Rule{
		Alert:       m.Alert.Name,
		For:         model.Duration(w.For),
		Labels:      m.pairLabels(w),
		Annotations: m.annotations("{{ $labels." + m.ClusterLabel + " }}"),
	}
}

// FiringAlert is what the alert of pair w carries when it fires for SLI
// sli in cluster: its labels, and its annotations with the cluster filled
// in (for tests, which see the alert after templating).
func (m *Model) FiringAlert(w slo.Window, sli, cluster string) (labels, annotations map[string]string) {
	labels = m.pairLabels(w)
	labels[m.ClusterLabel] = cluster
	seriesLabels := map[string]string{m.ClusterLabel: cluster}
	if m.Profile.AlertPerSLI || m.Identity {
		maps.Copy(labels, m.SLILabels(sli))
		maps.Copy(seriesLabels, m.SLILabels(sli))
	}
	annotations = m.annotations(cluster)
	for k, v := range annotations {
		annotations[k] = ExpandAlertTemplate(v, seriesLabels)
	}
	return labels, annotations
}

// ExpandAlertTemplate expands an alert annotation the way Prometheus does
// when the alert fires (rules/alerting.go, AlertingRule.Eval: the
// convenience variables, then the text, with the firing series' labels
// before the rule's own labels are added, as $labels). $value is 0 here: a
// test cannot know it. Text that does not expand is returned as it is (the
// spec's validation has parsed it).
func ExpandAlertTemplate(text string, seriesLabels map[string]string) string {
	if !strings.Contains(text, "{{") {
		return text
	}
	defs := "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
	data := template.AlertTemplateData(seriesLabels, map[string]string{}, "", promql.Sample{})
	out, err := template.NewTemplateExpander(context.Background(), defs+text, "__alert_burnrate", data, 0, nil, nil, nil).Expand()
	if err != nil {
		return text
	}
	return out
}

func (m *Model) pairLabels(w slo.Window) map[string]string {
	return map[string]string{"severity": w.Severity, "long": w.Long.String(), "short": w.Short.String()}
}

// annotations are the alert's annotations, with cluster as the cluster's
// name in the description when the spec shows it.
func (m *Model) annotations(cluster string) map[string]string {
	description := m.Alert.Description
	if m.ShowMultiCluster {
		description = strings.TrimSuffix(description, ".") + " on cluster " + cluster + "."
	}
	out := map[string]string{
		"description": description,
		"summary":     m.Alert.Summary,
	}
	if m.Profile.RunbookURLPattern != "" {
		out["runbook_url"] = m.RunbookURL()
	}
	return out
}

// WindowsShortestFirst lists every long and short window once, shortest
// first.
func (m *Model) WindowsShortestFirst() []slo.Duration {
	out := m.Spec.Windows()
	slices.Sort(out)
	return out
}

// RequestSels and LatencySels list each SLI's Requests and Latency.
func (m *Model) RequestSels() []pql.Sel {
	out := make([]pql.Sel, len(m.SLIs))
	for i, s := range m.SLIs {
		out[i] = s.Requests
	}
	return out
}

func (m *Model) LatencySels() []pql.Sel {
	out := make([]pql.Sel, len(m.SLIs))
	for i, s := range m.SLIs {
		out[i] = s.Latency
	}
	return out
}

// rawQuery parses raw query q of SLO i at window w.
func rawQuery(i int, field, q string, w slo.Duration) (parser.Expr, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(slo.WithWindow(q, w))
	if err != nil {
		return nil, fmt.Errorf("slos[%d].raw.%s: %w", i, field, err)
	}
	return e, nil
}

// matchers parses a selector field of a validated spec.
func matchers(field, s string) (pql.Sel, error) {
	ms, err := slo.Matchers(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	return ms, nil
}

// ErrorBudget is 1 - objective computed in decimal, so that 0.99 gives 0.01
// and not 0.010000000000000009.
func ErrorBudget(objective float64) float64 {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(objective, 'g', -1, 64))
	if !ok {
		return 1 - objective
	}
	f, _ := new(big.Rat).Sub(big.NewRat(1, 1), r).Float64()
	return f
}

// RoundTo rounds v to n decimals the way printf's %.nf does.
func RoundTo(v float64, n int) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', n, 64), 64)
	return r
}

// Satisfy picks label values that the selector's matchers match, trying
// the alternatives of each regular expression and the empty value: the
// labels of the generated tests' input series.
func Satisfy(selector string) (map[string]string, error) {
	ms, err := slo.Matchers(selector)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, m := range ms {
		var candidates []string
		switch m.Type {
		case labels.MatchEqual:
			candidates = []string{m.Value}
		case labels.MatchRegexp:
			candidates = strings.Split(m.Value, "|")
		}
		candidates = append(candidates, "", "x")
		found := false
		for _, c := range candidates {
			if m.Matches(c) {
				if c != "" {
					out[m.Name] = c
				}
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("the generated tests need a value of %s that %s matches for their input series, and found none among the regular expression's alternatives, \"\" and \"x\"; write the matcher so that one of its alternatives matches itself, e.g. %s=~\"a|b\"", m.Name, m, m.Name)
		}
	}
	return out, nil
}

// The SLI-health alert of a spec with a service: it fires when an SLI's
// inputs are broken while events flow, so that a burn rate that reads 0
// because its inputs are missing is an alert, not silence.
const (
	// HealthFor is how long a breakage must last before the alert fires:
	// long enough to ride out a scrape or two lost, or a target restarting.
	HealthFor = 10 * time.Minute
	// HealthTolerance is how far, as a share of the request counter's rate,
	// the histogram's count may drift from it before the SLI is broken.
	HealthTolerance = 0.1
	// HealthSeverity is the alert's severity: the SLO alerts are blind, not
	// the service down.
	HealthSeverity = "warning"
)

// Problems the SLI-health alert names in its problem label.
const (
	// ProblemBucketMissing: the histogram has events but no bucket at a
	// threshold, so no request would count as slow
	// (prometheus-community/helm-charts#5514 dropped le="30").
	ProblemBucketMissing = "bucket-missing"
	// ProblemCountDiverges: the histogram's count and the request counter,
	// which the errors-and-latency ratio divides by each other, count
	// different populations (kubernetes-mixin#1000).
	ProblemCountDiverges = "count-diverges"
	// ProblemNoRequests: the service's counter has traffic but no series
	// matches the SLO's selector.
	ProblemNoRequests = "no-requests"
	// ProblemNoHistogram: events flow but the histogram has no series for
	// the SLO's selector.
	ProblemNoHistogram = "no-histogram"
	// ProblemNoTotal (kind raw): the errors query has events but the total
	// query has no series, so the burn rate is empty.
	ProblemNoTotal = "no-total"
	// ProblemErrorsExceedTotal (kind raw): the errors query counts more
	// events than the total query, by more than HealthTolerance: the two
	// queries count different populations and the burn rate is wrong.
	ProblemErrorsExceedTotal = "errors-exceed-total"
)

// CountName names the series the histogram's request count comes from in
// texts: the _count series, or for a native histogram
// histogram_count(<metric>).
func (m *Model) CountName() string {
	if m.Native {
		return "histogram_count(" + m.Histogram + ")"
	}
	return m.Count
}

// histogramName names the histogram's series in texts: the _count series
// (the one the classic rules count requests from), or the native one.
func (m *Model) histogramName() string {
	if m.Native {
		return m.Histogram
	}
	return m.Count
}

// HealthAlertName is the SLI-health alert's name: the burn-rate alert's
// name with SLIBroken appended.
func (m *Model) HealthAlertName() string { return m.Alert.Name + "SLIBroken" }

// HealthAlert is the labels and annotations of SLI i's health alert for
// problem; th is the threshold for ProblemBucketMissing.
func (m *Model) HealthAlert(i int, problem string, th slo.Threshold) (labels, annotations map[string]string) {
	o := m.SLOs[i]
	labels = m.SLILabels(o.Name)
	labels["problem"] = problem
	labels["severity"] = HealthSeverity
	id := fmt.Sprintf("SLO %s of %s", o.Name, m.Spec.Service)
	var summary, description string
	// The raw queries at the base window: an annotation is a template, and
	// the placeholder would be read as one.
	rawErrors, rawTotal := slo.WithWindow(o.Raw.Errors, m.Spec.BaseWindow), slo.WithWindow(o.Raw.Total, m.Spec.BaseWindow)
	switch problem {
	case ProblemNoRequests:
		summary = id + ": no request series match its selector."
		description = fmt.Sprintf("%s{%s} has traffic, but no series matches the SLO's selector {%s}; a label was renamed or dropped, or the selector is wrong.", m.Counter, m.Spec.Selector, o.Selector)
	case ProblemNoHistogram:
		summary = id + ": the latency histogram has no series for it."
		description = fmt.Sprintf("Requests flow, but %s has no series for the SLO's selector {%s}; slow requests cannot be counted. If Prometheus now stores the histogram in another form than latency.form %s (scrape_native_histograms, always_scrape_classic_histograms and convert_classic_histograms_to_nhcb choose between classic buckets, native and NHCB), set latency.form to match; burnrate lint tells which form it holds.", m.histogramName(), o.Selector, m.Spec.Latency.Form.OrDefault())
	case ProblemCountDiverges:
		summary = id + ": the histogram and the request counter count different requests."
		description = fmt.Sprintf("The rate of %s differs from the rate of %s by more than %s%% of it; the burn rate divides one population by another (kubernetes-mixin#1000).", m.CountName(), m.Counter, strconv.FormatFloat(HealthTolerance*100, 'g', -1, 64))
	case ProblemNoTotal:
		summary = id + ": its total query has no series while its errors query has events."
		description = fmt.Sprintf("raw.errors (%s) has events but raw.total (%s) gives no series; the burn rate is empty.", rawErrors, rawTotal)
	case ProblemErrorsExceedTotal:
		summary = id + ": its errors query counts more events than its total query."
		description = fmt.Sprintf("raw.errors (%s) exceeds raw.total (%s) by more than %s%%; the two queries count different events, so the burn rate is wrong.", rawErrors, rawTotal, strconv.FormatFloat(HealthTolerance*100, 'g', -1, 64))
	case ProblemBucketMissing:
		summary = fmt.Sprintf("%s: the histogram has no bucket at its threshold of %ss.", id, strconv.FormatFloat(th.Seconds, 'g', -1, 64))
		description = fmt.Sprintf("%s has events, but %s has no series at that bound (%s); no request counts as slow. Keep the bucket: look for metricRelabelings that drop le values, and at the histogram's buckets in the code.", m.Count, m.Bucket, pql.Le(th.Seconds))
	}
	annotations = map[string]string{
		"summary":     summary,
		"description": description + " Until it is fixed this SLO's burn-rate alerts cannot see its burn.",
	}
	return labels, annotations
}
