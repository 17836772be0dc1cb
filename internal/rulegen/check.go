package rulegen

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"

	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// Check reports what the named profile cannot render from spec s, which
// slo.Parse has validated: each problem is a *slo.Error at the file and line
// of its field (errors.Join of them), nil when the profile can render it.
// Rules, Tests and Runbook refuse such a spec with the same errors.
func Check(s *slo.Spec, profile string) error {
	var fes []slo.FieldError
	switch profile {
	case slomodel.ProfileMixin:
		fes = mixinProblems(s)
	case slomodel.ProfileOptimized:
		fes = runbook.Problems(s)
	default:
		return fmt.Errorf("unknown profile %q; choose one of %s", profile, strings.Join(slomodel.Profiles, ", "))
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
		if _, err := slomodel.Satisfy(f.sel); err != nil {
			fes = append(fes, slo.FieldError{Path: f.path, Msg: err.Error()})
		}
	}
	// A raw SLO's tests need queries of the shape they know.
	if m, err := slomodel.New(s, profile); err == nil {
		fes = append(fes, trafficProblems(m)...)
		for i, o := range s.SLOs {
			if o.Kind != slo.KindRaw {
				continue
			}
			if _, err := m.RawTestInput(i); err != nil {
				fes = append(fes, slo.FieldError{Path: slo.Path{"slos", i, "raw"}, Msg: err.Error()})
			}
		}
	}
	return s.Errors(fes)
}

// mixinProblems is what the kubernetes-mixin profile needs beyond a valid
// spec.
func mixinProblems(s *slo.Spec) []slo.FieldError {
	var fes []slo.FieldError
	if days, whole := s.PeriodDays(); !whole || days < 1 {
		fes = append(fes, slo.FieldError{Path: slo.Path{"period"},
			Msg: fmt.Sprintf("%s: the %s profile counts the SLO period in whole days; use e.g. 30d", s.Period, slomodel.ProfileMixin)})
	}
	if s.Service != "" {
		fes = append(fes, slo.FieldError{Path: slo.Path{"service"},
			Msg: fmt.Sprintf("the %s profile renders the mixin's kube-apiserver rules, whose names and labels carry no service; remove service, or use the %s profile", slomodel.ProfileMixin, slomodel.ProfileOptimized)})
	}
	for i, o := range s.SLOs {
		if o.Kind != slo.KindErrorsAndLatency {
			fes = append(fes, slo.FieldError{Path: slo.Path{"slos", i, "kind"},
				Msg: fmt.Sprintf("the %s profile renders errors-and-latency SLOs only, as the mixin does; use the %s profile for kind %s", slomodel.ProfileMixin, slomodel.ProfileOptimized, o.Kind)})
		}
	}
	fes = append(fes, mixinBudgetProblems(s)...)
	if !model.LegacyValidation.IsValidLabelName(s.Latency.PartitionLabel) {
		fes = append(fes, slo.FieldError{Path: slo.Path{"latency", "partitionLabel"},
			Msg: fmt.Sprintf("the %s profile groups the latency histogram by this label, as the mixin groups by scope, even when no SLO has partitions; set it, e.g. partitionLabel: scope", slomodel.ProfileMixin)})
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
		if objective > 0 && objective < 1 && slomodel.RoundTo(1-objective, 5) == 0 {
			fes = append(fes, slo.FieldError{Path: p,
				Msg: fmt.Sprintf("%v: the %s profile writes the error budget with five decimals, as the mixin does, and this budget (%s) comes out as 0, so every alert would fire on a single error; use an objective below 0.999995, or the %s profile",
					objective, slomodel.ProfileMixin, strconv.FormatFloat(slomodel.ErrorBudget(objective), 'g', -1, 64), slomodel.ProfileOptimized)})
		}
	}
	check(slo.Path{"objective"}, s.Objective)
	for i, o := range s.SLOs {
		check(slo.Path{"slos", i, "objective"}, o.Objective)
	}
	return fes
}

// trafficProblems refuses an SLO whose thresholds the generated alert
// tests cannot express in float64 (slomodel.TestTrafficProblem): an
// objective so high, or a factor so low, that its lowest threshold is a
// share of requests float64 counters or rates cannot resolve.
func trafficProblems(m *slomodel.Model) []slo.FieldError {
	var fes []slo.FieldError
	for i, o := range m.SLOs {
		if m.SLIs[i].Budget == 0 {
			continue // mixinBudgetProblems
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
	return fes
}
