// Package slomodel reads a spec for one rule profile: every selector, record
// name, threshold and alert that the rules, the generated tests, the runbook,
// lint and diagnose use, computed once.
package slomodel

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"

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
	Bucket  string // the histogram's _bucket series
	Count   string // the histogram's _count series

	// Budget is the error budget, 1 - objective, computed in decimal.
	Budget float64

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

// New reads spec s for the named profile.
func New(s *slo.Spec, profile string) (*Model, error) {
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
		sli := SLI{SLO: o, Own: own, Requests: m.Service.And(own...)}
		sli.Latency = sli.Requests.And(m.NonStreaming...)
		if m.Profile.StreamingExcluded {
			sli.Requests = sli.Latency
		}
		m.SLIs = append(m.SLIs, sli)
	}

	m.Counter = s.Requests.Metric
	m.Base = strings.TrimSuffix(s.Requests.Metric, "_total")
	m.Bucket = s.Latency.Metric + "_bucket"
	m.Count = s.Latency.Metric + "_count"
	m.Budget = ErrorBudget(s.Objective)
	if m.Profile.RoundedThresholds {
		m.Budget = RoundTo(1-s.Objective, 5)
	}

	m.BaseWindow = time.Duration(s.BaseWindow)
	prefix := s.ClusterLabel + "_" + s.SLILabel
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
	if days, whole := s.PeriodDays(); whole && days > 0 {
		period = fmt.Sprintf("%dd", days)
	}
	m.AvailabilityRecord = m.Base + ":availability" + period
	m.BudgetRecord = m.Base + ":error_budget_remaining" + period
	m.QuantileRecord = "cluster_quantile:" + s.Latency.Metric + ":histogram_quantile"
	m.RequestRateRecord = "code_resource:" + m.Counter + ":rate5m"
	return m, nil
}

// BurnRateRecord is the name of the burn rate recorded over window w.
func (m *Model) BurnRateRecord(w slo.Duration) string { return m.Base + ":burnrate" + w.String() }

// SumRecord is the name of the record that sums base-window record rec
// over window w, e.g. cluster_verb:apiserver_request_sli_bad_events:rate5m_sum3d:
// the staged sums that long windows are built from (a whole number of days
// is written in days, as in AvailabilityRecord: 30d, not 4w2d).
func (m *Model) SumRecord(rec string, w time.Duration) string {
	name := model.Duration(w).String()
	if w >= 24*time.Hour && w%(24*time.Hour) == 0 {
		name = fmt.Sprintf("%dd", w/(24*time.Hour))
	}
	return rec + "_sum" + name
}

// SLILabels is the SLI label of SLI name, as a label set.
func (m *Model) SLILabels(name string) map[string]string { return map[string]string{m.SLILabel: name} }

// Threshold is the burn rate above which both windows of pair w must be
// for the alert to fire.
func (m *Model) Threshold(w slo.Window) float64 {
	if m.Profile.RoundedThresholds {
		return RoundTo(w.Factor, 2) * m.Budget
	}
	return w.Factor * m.Budget
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
	if m.Profile.AlertPerSLI {
		labels[m.SLILabel] = sli
	}
	return labels, m.annotations(cluster)
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
	return map[string]string{
		"description": description,
		"summary":     m.Alert.Summary,
		"runbook_url": m.RunbookURL(),
	}
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
