package slomodel

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/burnrate/burnrate/slo"
)

// spec returns the embedded spec after edit.
func spec(t *testing.T, edit func(*slo.Spec)) *slo.Spec {
	t.Helper()
	s := slo.Default()
	if edit != nil {
		edit(s)
	}
	return s
}

func TestProfiles(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		edit    func(*slo.Spec)
		want    Profile
	}{
		{"optimized, every fix", ProfileOptimized, nil, Profile{
			Name: ProfileOptimized, AbsentAsZero: true, AlertPerSLI: true, StreamingExcluded: true, RecordsBudgetRemaining: true,
			RunbookURLPattern: slo.Default().Runbook.URLPattern,
		}},
		{"optimized, fixes off", ProfileOptimized, func(s *slo.Spec) { s.Fixes = slo.Fixes{} }, Profile{
			Name: ProfileOptimized, RecordsBudgetRemaining: true,
			RunbookURLPattern: slo.Default().Runbook.URLPattern,
		}},
		{"mixin ignores the fixes", ProfileMixin, nil, Profile{
			Name: ProfileMixin, RoundedThresholds: true, RequestsLagOneEvaluation: true,
			RunbookURLPattern: slo.Default().Alert.RunbookURLPattern,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(spec(t, tc.edit), tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, m.Profile); d != "" {
				t.Errorf("profile (-want +got):\n%s", d)
			}
		})
	}
	if _, err := New(slo.Default(), "nope"); err == nil || !strings.Contains(err.Error(), `unknown profile "nope"`) {
		t.Errorf("unknown profile: %v", err)
	}
}

// TestSelectors: the streaming exclusion reaches the request terms only
// where the profile says so, and extra verbs only in the optimized profile.
func TestSelectors(t *testing.T) {
	tests := []struct {
		profile           string
		sli               int
		requests, latency string
	}{
		{ProfileOptimized, 0,
			`{job="apiserver",subresource!~"proxy|attach|log|exec|portforward",verb=~"LIST|GET"}`,
			`{job="apiserver",subresource!~"proxy|attach|log|exec|portforward",verb=~"LIST|GET"}`},
		{ProfileOptimized, 1,
			`{job="apiserver",subresource!~"proxy|attach|log|exec|portforward",verb=~"POST|PUT|PATCH|DELETE|APPLY|DELETECOLLECTION"}`,
			`{job="apiserver",subresource!~"proxy|attach|log|exec|portforward",verb=~"POST|PUT|PATCH|DELETE|APPLY|DELETECOLLECTION"}`},
		{ProfileMixin, 1,
			`{job="apiserver",verb=~"POST|PUT|PATCH|DELETE"}`,
			`{job="apiserver",subresource!~"proxy|attach|log|exec|portforward",verb=~"POST|PUT|PATCH|DELETE"}`},
	}
	for _, tc := range tests {
		s := spec(t, func(s *slo.Spec) {
			s.Selector = `job="apiserver"`
			s.Latency.Selector = `subresource!~"proxy|attach|log|exec|portforward"`
		})
		m, err := New(s, tc.profile)
		if err != nil {
			t.Fatal(err)
		}
		print := func(ms pql.Sel) string { return (&parser.VectorSelector{LabelMatchers: ms}).String() }
		if got := print(m.SLIs[tc.sli].Requests); got != tc.requests {
			t.Errorf("%s SLI %d requests: %s, want %s", tc.profile, tc.sli, got, tc.requests)
		}
		if got := print(m.SLIs[tc.sli].Latency); got != tc.latency {
			t.Errorf("%s SLI %d latency: %s, want %s", tc.profile, tc.sli, got, tc.latency)
		}
	}
}

func TestThresholds(t *testing.T) {
	w := slo.Window{Factor: 14.4}
	tests := []struct {
		profile   string
		objective float64
		factor    float64
		want      float64
	}{
		{ProfileOptimized, 0.99, 14.4, 0.144},
		{ProfileOptimized, 0.999, 14.4, 0.0144},
		{ProfileMixin, 0.99, 14.4, 0.144},
		// The mixin prints the factor with two decimals and the budget
		// with five: 1.005 → 1 (printf rounds half to even in binary),
		// 1 - 0.999995 → 0.00001.
		{ProfileMixin, 0.999995, 1.005, 0.00001},
		{ProfileOptimized, 0.999995, 1.005, 1.005 * 0.000005},
	}
	for _, tc := range tests {
		m, err := New(spec(t, func(s *slo.Spec) { s.Objective = tc.objective }), tc.profile)
		if err != nil {
			t.Fatal(err)
		}
		w.Factor = tc.factor
		if got := m.Threshold(w); math.Abs(got-tc.want) > 1e-12*tc.want {
			t.Errorf("%s at %v, factor %v: threshold %v, want %v", tc.profile, tc.objective, tc.factor, got, tc.want)
		}
	}
}

// TestAlert: the rule's annotations hold the cluster template; a firing
// alert carries the cluster's name in its place, and the SLI label only
// when the profile alerts per SLI.
func TestAlert(t *testing.T) {
	s := spec(t, func(s *slo.Spec) {
		s.ShowMultiCluster = true
		s.Alert.Description = "The API server is burning too much error budget."
	})
	w := s.Alert.Windows[0]
	opt, err := New(s, ProfileOptimized)
	if err != nil {
		t.Fatal(err)
	}
	r := opt.AlertRule(w)
	if r.Alert != "KubeAPIErrorBudgetBurn" || r.For != model.Duration(2*time.Minute) {
		t.Errorf("rule %s for %s", r.Alert, r.For)
	}
	if got, want := r.Annotations["description"], "The API server is burning too much error budget on cluster {{ $labels.cluster }}."; got != want {
		t.Errorf("description %q, want %q", got, want)
	}
	if got, want := r.Annotations["runbook_url"], "https://github.com/burnrate/burnrate/blob/main/runbooks/kubernetes/KubeAPIErrorBudgetBurn.md"; got != want {
		t.Errorf("runbook_url %q, want %q", got, want)
	}
	ls, as := opt.FiringAlert(w, "read", "prod")
	wantLabels := map[string]string{"cluster": "prod", "verb": "read", "severity": "critical", "long": "1h", "short": "5m"}
	if d := cmp.Diff(wantLabels, ls); d != "" {
		t.Errorf("firing labels (-want +got):\n%s", d)
	}
	if got := as["description"]; got != "The API server is burning too much error budget on cluster prod." {
		t.Errorf("firing description %q", got)
	}
	mix, err := New(s, ProfileMixin)
	if err != nil {
		t.Fatal(err)
	}
	if ls, _ := mix.FiringAlert(w, "read", "prod"); ls["verb"] != "" {
		t.Errorf("the mixin alert sums the SLIs, but its labels name SLI %q", ls["verb"])
	}
	if got := mix.AlertOn(); len(got) != 1 {
		t.Errorf("mixin alert kept per %v", got)
	}
}

// TestRecordNames: names follow the spec's labels, metric and period; a
// 28-day period is written in days in both profiles, as the mixin does.
func TestRecordNames(t *testing.T) {
	s := spec(t, func(s *slo.Spec) { s.Period = slo.Duration(28 * 24 * time.Hour) })
	for _, p := range Profiles {
		m, err := New(s, p)
		if err != nil {
			t.Fatal(err)
		}
		got := []string{m.EventsRecord, m.ErrorsRecord, m.SlowRecord, m.BadRecord, m.BurnRateRecord(s.Alert.Windows[0].Long), m.AvailabilityRecord, m.BudgetRecord, m.QuantileRecord, m.RequestRateRecord}
		want := []string{
			"cluster_verb:apiserver_request_sli_events:rate5m",
			"cluster_verb:apiserver_request_sli_errors:rate5m",
			"cluster_verb_scope:apiserver_request_sli_slow:rate5m",
			"cluster_verb:apiserver_request_sli_bad_events:rate5m",
			"apiserver_request:burnrate1h",
			"apiserver_request:availability28d",
			"apiserver_request:error_budget_remaining28d",
			"cluster_quantile:apiserver_request_sli_duration_seconds:histogram_quantile",
			"code_resource:apiserver_request_total:rate5m",
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s names (-want +got):\n%s", p, d)
		}
	}
}

// TestIdentity: a spec with a service names its records generically and
// labels and selects them by service and SLO; the embedded spec keeps the
// mixin's names and its SLI label alone.
func TestIdentity(t *testing.T) {
	checkout, err := slo.Load("../../examples/checkout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type ids struct {
		Events, Bad, Burn1h, Availability, Budget string
		Labels                                    map[string]string
		Join, AlertOn                             []string
		Ident                                     []string
		Budgets                                   []float64
		Health                                    string
	}
	tests := []struct {
		name string
		spec *slo.Spec
		want ids
	}{
		{"embedded kube-apiserver spec", slo.Default(), ids{
			Events: "cluster_verb:apiserver_request_sli_events:rate5m", Bad: "cluster_verb:apiserver_request_sli_bad_events:rate5m",
			Burn1h: "apiserver_request:burnrate1h", Availability: "apiserver_request:availability30d", Budget: "apiserver_request:error_budget_remaining30d",
			Labels: map[string]string{"verb": "read"},
			Join:   []string{"cluster"}, AlertOn: []string{"cluster", "verb"},
			Ident:   []string{`{verb="read"}`, `{verb="write"}`},
			Budgets: []float64{0.01, 0.01},
			Health:  "KubeAPIErrorBudgetBurnSLIBroken",
		}},
		{"checkout", checkout, ids{
			Events: "cluster_service_slo:slo_sli_events:rate5m", Bad: "cluster_service_slo:slo_sli_bad_events:rate5m",
			Burn1h: "slo:burnrate1h", Availability: "slo:availability30d", Budget: "slo:error_budget_remaining30d",
			Labels: map[string]string{"service": "checkout", "slo": "availability"},
			Join:   []string{"cluster", "service", "slo"}, AlertOn: []string{"cluster", "service", "slo"},
			Ident:   []string{`{service="checkout",slo="availability"}`, `{service="checkout",slo="latency"}`},
			Budgets: []float64{0.001, 0.01},
			Health:  "CheckoutErrorBudgetBurnSLIBroken",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(tc.spec, ProfileOptimized)
			if err != nil {
				t.Fatal(err)
			}
			got := ids{
				Events: m.EventsRecord, Bad: m.BadRecord, Burn1h: m.BurnRateRecord(slo.Duration(time.Hour)),
				Availability: m.AvailabilityRecord, Budget: m.BudgetRecord,
				Labels: m.SLILabels(m.SLOs[0].Name), Join: m.JoinOn(), AlertOn: m.AlertOn(), Health: m.HealthAlertName(),
			}
			for _, s := range m.SLIs {
				got.Ident = append(got.Ident, pql.Vec("x", s.Ident).String()[1:])
				got.Budgets = append(got.Budgets, s.Budget)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}
