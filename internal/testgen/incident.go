package testgen

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/burnrate/burnrate/internal/incident"
	"github.com/burnrate/burnrate/internal/promtest"
	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// The promtool test file that replays the incident scenarios (package
// incident) against the optimized profile's rules and proves the runbook's
// drill-down queries on them: per scenario, the alert fires with the
// expected window pairs, the burn-rate terms add up to the burn rate, each
// step the scenario names a culprit for ranks it first, and the steps that
// should find nothing return nothing, at the end and on the healthy cluster
// before the fault.

// incidentCluster is the cluster label's value in the scenarios.
const incidentCluster = "prod-1"

// incidentEvalInterval is the evaluation interval of the incident tests.
// Every `for` and window of the embedded spec is a multiple of it or
// shorter than the scenarios' margins (10 minutes).
const incidentEvalInterval = 5 * time.Minute

// ErrIncidentsDoNotFit is returned (wrapped) by IncidentTests for a spec the
// scenario library is not calibrated for.
var ErrIncidentsDoNotFit = errors.New("the incident scenarios do not fit this spec")

// IncidentFits reports why the scenario library does not fit spec s, or
// nil. The scenarios' burn rates and timings are calibrated for the
// embedded spec's SLIs, objective, windows and fixes; a spec may change
// its selector, cluster and SLI label, names and annotations.
func IncidentFits(s *slo.Spec) error {
	if s.Service != "" {
		// A service's runbook has its own steps (runbook.serviceTable),
		// which the scenarios do not assert.
		return fmt.Errorf("%w: service: the scenarios prove the kube-apiserver's runbook, and a spec with a service gets its own", ErrIncidentsDoNotFit)
	}
	def := slo.Default()
	for _, f := range []struct {
		field    string
		got, def any
	}{
		{"objective", s.Objective, def.Objective},
		{"period", s.Period, def.Period},
		{"requests", s.Requests, def.Requests},
		{"latency", s.Latency, def.Latency},
		{"slos", s.SLOs, def.SLOs},
		{"alert.windows", s.Alert.Windows, def.Alert.Windows},
		{"baseWindow", s.BaseWindow, def.BaseWindow},
		{"fixes", s.Fixes, def.Fixes},
	} {
		if !reflect.DeepEqual(f.got, f.def) {
			return fmt.Errorf("%w: %s differs from the embedded kube-apiserver spec's, which the scenarios are calibrated for", ErrIncidentsDoNotFit, f.field)
		}
	}
	own := incident.OwnLabels()
	if slices.Contains(own, s.ClusterLabel) {
		return fmt.Errorf("%w: clusterLabel %q is a label the scenarios set themselves", ErrIncidentsDoNotFit, s.ClusterLabel)
	}
	api, err := slomodel.Satisfy(s.Selector)
	if err != nil {
		return fmt.Errorf("%w: selector: %v", ErrIncidentsDoNotFit, err)
	}
	for l := range api {
		if l != "job" && slices.Contains(own, l) {
			return fmt.Errorf("%w: selector sets %q, a label the scenarios set themselves", ErrIncidentsDoNotFit, l)
		}
	}
	return nil
}

// IncidentTests renders the incident test file of model m, of the
// optimized profile, against its rule file ruleFile (a name relative to the
// test file). A spec the scenarios do not fit gives an error wrapping
// ErrIncidentsDoNotFit.
func IncidentTests(m *slomodel.Model, ruleFile string) (*NamedTestFile, error) {
	s := m.Spec
	if err := IncidentFits(s); err != nil {
		return nil, err
	}
	rb, err := runbook.New(m)
	if err != nil {
		return nil, err
	}
	d := &drill{rb}
	rf, err := rulegen.RuleGroups(m)
	if err != nil {
		return nil, err
	}
	env, err := incidentEnv(s)
	if err != nil {
		return nil, err
	}
	scs, err := incident.Library(env)
	if err != nil {
		return nil, err
	}
	f := &promtest.File{RuleFiles: []string{ruleFile}, EvaluationInterval: model.Duration(incidentEvalInterval)}
	for _, g := range rf {
		f.GroupEvalOrder = append(f.GroupEvalOrder, g.Name)
	}
	for i := range scs {
		g, err := d.incidentGroup(&scs[i])
		if err != nil {
			return nil, fmt.Errorf("scenario %s: %w", scs[i].Name, err)
		}
		if err := selectedInputs(&g, rf); err != nil {
			return nil, fmt.Errorf("scenario %s: %w", scs[i].Name, err)
		}
		f.Tests = append(f.Tests, g)
	}
	return &NamedTestFile{Name: s.Name + ".incidents.test.yaml", File: f}, nil
}

func incidentEnv(s *slo.Spec) (incident.Env, error) {
	api, err := slomodel.Satisfy(s.Selector)
	if err != nil {
		return incident.Env{}, err
	}
	return incident.Env{ClusterLabel: s.ClusterLabel, Cluster: incidentCluster, SLILabel: s.SLILabel, APIServer: api}, nil
}

// drill is the runbook whose drill-down queries the incident tests prove.
type drill struct{ *runbook.Runbook }

// incidentGroup renders one scenario's test group.
func (d *drill) incidentGroup(sc *incident.Scenario) (promtest.Group, error) {
	qs, err := d.Queries(sc.Window())
	if err != nil {
		return promtest.Group{}, err
	}
	byStep := map[runbook.Step]runbook.Query{}
	for _, q := range qs {
		byStep[q.Step] = q
	}
	// healthy is the last sample before the fault.
	healthy, end := sc.HealthyUntil()-incident.ScrapeInterval, sc.Duration()
	g := promtest.Group{
		Name:     fmt.Sprintf("%s: %s", sc.Name, sc.Title),
		Interval: model.Duration(incident.ScrapeInterval),
	}
	for _, s := range sc.Series {
		g.InputSeries = append(g.InputSeries, promtest.InputSeries{Series: s.Name + labels.FromMap(s.Labels).String(), Values: promtoolValues(sc, s)})
	}
	exp, err := d.expectedAlerts(sc)
	if err != nil {
		return promtest.Group{}, err
	}
	g.AlertRuleTests = []promtest.AlertTest{
		{EvalTime: model.Duration(healthy), Alertname: d.Alert.Name, ExpAlerts: []promtest.ExpAlert{}},
		{EvalTime: model.Duration(end), Alertname: d.Alert.Name, ExpAlerts: exp},
	}
	expr := func(e string, at time.Duration, samples ...promtest.ExpSample) {
		if samples == nil {
			samples = []promtest.ExpSample{}
		}
		g.PromQLExprTests = append(g.PromQLExprTests, promtest.ExprTest{Expr: e, EvalTime: model.Duration(at), ExpSamples: samples})
	}
	one := func(ls map[string]string) promtest.ExpSample {
		return promtest.ExpSample{Labels: labels.FromMap(ls).String(), Value: 1}
	}
	cl := map[string]string{d.ClusterLabel: incidentCluster}
	with := func(extra map[string]string) map[string]string {
		out := maps.Clone(cl)
		maps.Copy(out, extra)
		return out
	}

	// On the healthy cluster, every query that finds faults finds nothing.
	for _, q := range qs {
		if q.Finder {
			expr(q.PromQL, healthy)
		}
	}
	// The probe counts the series of every metric the steps read.
	expr(byStep[runbook.StepProbe].PromQL, end, d.probeCounts(sc)...)
	// Step 1: the culprit SLI burns fastest over every window.
	if c, ok := sc.Culprits[runbook.StepSLI]; ok {
		var samples []promtest.ExpSample
		for _, w := range d.Spec.Windows() {
			samples = append(samples, one(with(map[string]string{d.SLILabel: c[d.SLILabel], "window": dur(time.Duration(w))})))
		}
		expr(fmt.Sprintf("topk by (window) (1, %s) > bool 0", byStep[runbook.StepSLI].PromQL), end, samples...)
	}
	// Step 2: the terms add up to the recorded burn rate of the window.
	var sums []promtest.ExpSample
	for _, s := range d.SLOs {
		sums = append(sums, one(with(map[string]string{d.SLILabel: s.Name})))
	}
	expr(fmt.Sprintf("abs(sum by (%s, %s) (%s) - %s:burnrate%s / %s) < bool 1e-09", d.ClusterLabel, d.SLILabel,
		byStep[runbook.StepTerms].PromQL, d.Base, dur(sc.Window()), num64(d.Budget)), end, sums...)
	// The culprits come first; the quiet steps find nothing.
	for _, st := range runbook.Steps {
		if st == runbook.StepSLI || st == runbook.StepProbe {
			continue
		}
		q, ok := byStep[st]
		if !ok {
			return promtest.Group{}, fmt.Errorf("the runbook has no query for step %s", st)
		}
		if c, ok := sc.Culprits[st]; ok {
			expr(fmt.Sprintf("topk(1, %s) > bool 0", q.PromQL), end, one(c))
		}
		if slices.Contains(sc.Quiet, st) {
			expr(q.PromQL, end)
		}
	}
	return g, nil
}

// expectedAlerts are the alerts the scenario fires at its end.
func (d *drill) expectedAlerts(sc *incident.Scenario) ([]promtest.ExpAlert, error) {
	var out []promtest.ExpAlert
	for _, f := range sc.Fires {
		i := slices.IndexFunc(d.Alert.Windows, func(w slo.Window) bool {
			return time.Duration(w.Long) == f.Long && time.Duration(w.Short) == f.Short
		})
		if i < 0 {
			return nil, fmt.Errorf("the spec has no window pair %s/%s", dur(f.Long), dur(f.Short))
		}
		ls, as := d.FiringAlert(d.Alert.Windows[i], f.SLI, incidentCluster)
		out = append(out, promtest.ExpAlert{ExpLabels: ls, ExpAnnotations: as})
	}
	return out, nil
}

// probeCounts is the probe's expected result at the scenario's end: per
// metric it reads, the number of series the spec's selector matches.
func (d *drill) probeCounts(sc *incident.Scenario) []promtest.ExpSample {
	probed := d.ProbeMetrics()
	counts := map[string]int{}
	for _, s := range sc.Series {
		if math.IsNaN(s.Values[len(s.Values)-1]) || !slices.Contains(probed, s.Name) {
			continue
		}
		ok := true
		for _, m := range d.Service {
			if !m.Matches(s.Labels[m.Name]) {
				ok = false
			}
		}
		if ok {
			counts[s.Name]++
		}
	}
	var out []promtest.ExpSample
	for _, name := range slices.Sorted(maps.Keys(counts)) {
		out = append(out, promtest.ExpSample{Labels: labels.FromStrings(labels.MetricName, name).String(), Value: float64(counts[name])})
	}
	return out
}

// promtoolValues renders a series' samples in promtool's expanding
// notation (see series.Timeline.Promtool).
func promtoolValues(sc *incident.Scenario, s incident.Series) string {
	return sc.Timeline().Promtool(s)
}
