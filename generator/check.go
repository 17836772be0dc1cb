package generator

import (
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/burnrate/burnrate/slo"
)

// Check reports what the named profile cannot render from spec s, which
// slo.Parse has validated: each problem is a *slo.Error at the file and line
// of its field (errors.Join of them), nil when the profile can render it.
// Rules, Tests and Runbook refuse such a spec with the same errors.
func Check(s *slo.Spec, profile string) error {
	var fes []slo.FieldError
	switch profile {
	case ProfileMixin:
		fes = mixinProblems(s)
	case ProfileOptimized:
		fes = drilldownProblems(s)
	default:
		return fmt.Errorf("unknown profile %q; choose one of %s", profile, strings.Join(Profiles, ", "))
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
		if _, err := satisfy(f.sel); err != nil {
			fes = append(fes, slo.FieldError{Path: f.path, Msg: err.Error()})
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
			Msg: fmt.Sprintf("%s: the %s profile counts the SLO period in whole days; use e.g. 30d", s.Period, ProfileMixin)})
	}
	if !model.LegacyValidation.IsValidLabelName(s.Latency.PartitionLabel) {
		fes = append(fes, slo.FieldError{Path: slo.Path{"latency", "partitionLabel"},
			Msg: fmt.Sprintf("the %s profile groups the latency histogram by this label, as the mixin groups by scope, even when no SLO has partitions; set it, e.g. partitionLabel: scope", ProfileMixin)})
	}
	return fes
}

// drilldownProblems is what the optimized profile's runbook needs beyond a
// valid spec: names and selectors that keep every drill-down query valid
// and right.
func drilldownProblems(s *slo.Spec) []slo.FieldError {
	var fes []slo.FieldError
	for _, l := range []struct {
		field, name string
	}{{"clusterLabel", s.ClusterLabel}, {"sliLabel", s.SLILabel}} {
		if slices.Contains(drilldownLabels, l.name) && !(l.field == "sliLabel" && l.name == "verb") {
			fes = append(fes, slo.FieldError{Path: slo.Path{l.field},
				Msg: fmt.Sprintf("%q is a label the runbook's drill-down queries group by or set; choose another name, e.g. %s", l.name, map[string]string{"clusterLabel": "cluster", "sliLabel": "sli"}[l.field])})
		}
	}
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
