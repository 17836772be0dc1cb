package rulegen

import (
	"fmt"
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
	if !model.LegacyValidation.IsValidLabelName(s.Latency.PartitionLabel) {
		fes = append(fes, slo.FieldError{Path: slo.Path{"latency", "partitionLabel"},
			Msg: fmt.Sprintf("the %s profile groups the latency histogram by this label, as the mixin groups by scope, even when no SLO has partitions; set it, e.g. partitionLabel: scope", slomodel.ProfileMixin)})
	}
	return fes
}
