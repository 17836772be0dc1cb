// Package testgen writes promtool unit tests for the generated rules: per
// alert window pair the alert's behaviour on steady and changing traffic,
// the recorded series on inputs whose burn rate is known, and the incident
// tests that prove every runbook query names the injected culprit. Expected
// values come from the traffic the tests describe, never from the rules.
package testgen

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/burnrate/burnrate/internal/promtest"
	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/series"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// The promtool unit-test files burnrate writes next to each rule file. The
// tests are computed from the spec and the profile's documented semantics:
// input series are synthetic traffic with a known share of errors and slow
// requests, and the expected burn rates and alert states follow from those
// shares, not from evaluating the rules.

// NamedTestFile is a test file and the name it is written under, relative to
// the rule file's directory.
type NamedTestFile struct {
	Name string
	File *promtest.File
}

// Tests renders the unit tests of model m's rule file ruleFile (a name
// relative to the test files): one file pinning the recorded burn rates,
// and one per alert window pair.
func Tests(m *slomodel.Model, ruleFile string) ([]NamedTestFile, error) {
	s := m.Spec
	groups, err := rulegen.GroupNames(m)
	if err != nil {
		return nil, err
	}
	t, err := newTester(m, groups, ruleFile)
	if err != nil {
		return nil, err
	}
	out := []NamedTestFile{{Name: s.Name + ".records.test.yaml", File: t.recordTests()}}
	if m.Identity {
		f, err := t.healthTests()
		if err != nil {
			return nil, err
		}
		out = append(out, NamedTestFile{Name: s.Name + ".sli-health.test.yaml", File: f})
	}
	if s.Alert.MinRequests > 0 {
		out = append(out, NamedTestFile{Name: s.Name + ".low-traffic.test.yaml", File: t.guardTests()})
	}
	for _, w := range s.Alert.Windows {
		f, err := t.windowTests(w)
		if err != nil {
			return nil, err
		}
		out = append(out, NamedTestFile{Name: fmt.Sprintf("%s.%s-%s.test.yaml", s.Name, w.Long, w.Short), File: f})
	}
	return out, nil
}

// testCluster is the value of the cluster label on every input series.
const testCluster = "c1"

// tester builds test groups for one spec and profile.
type tester struct {
	*slomodel.Model
	ruleFile string
	groups   []string
	api      map[string]string   // labels satisfying the service selector
	slos     []map[string]string // per SLO, labels satisfying its selector
	byName   map[string]int      // SLO index by name
	// errLabel is the label of requests.errors, errValue a failed
	// request's value of it and okValue a successful one's.
	errLabel, okValue, errValue string
	stream                      string // a subresource the latency selector excludes; "" if none
	// raw holds, per SLO of kind raw, the counter its queries read.
	raw map[int]slomodel.RawInput
	// counted lists the SLOs of kind latency whose requests the SLI-health
	// tests also write to the request counter: it is what shows that
	// requests flow when the histogram is gone (see healthTests).
	counted map[int]bool
	// native lays out the buckets of a native histogram's test series
	// (latency.form native or nhcb); nil for a classic one.
	native *nativeLayout
}

// counter is the request counter SLO i's tests write, the label that marks
// an error and a failed and a successful value of it: requests.metric and
// requests.errors, or what a raw SLO's queries read.
func (t *tester) counter(i int) (metric, errLabel, errValue, okValue string) {
	if r, ok := t.raw[i]; ok {
		return r.Metric, r.ErrLabel, r.ErrValue, r.OKValue
	}
	return t.Requests.Metric, t.errLabel, t.errValue, t.okValue
}

// cluster is the cluster label's value on SLO i's records and alerts in
// the tests: testCluster, or none when a raw SLO's queries sum it away.
func (t *tester) cluster(i int) string {
	if r, ok := t.raw[i]; ok && !r.KeepsCluster {
		return ""
	}
	return testCluster
}

func newTester(m *slomodel.Model, groups []string, ruleFile string) (*tester, error) {
	s := m.Spec
	t := &tester{Model: m, ruleFile: ruleFile, groups: groups}
	// slomodel.New and slo.Parse have ruled out the errors below.
	var err error
	if t.api, err = slomodel.Satisfy(s.Selector); err != nil {
		return nil, err
	}
	latency, err := slomodel.Satisfy(s.Latency.Selector)
	if err != nil {
		return nil, err
	}
	maps.Copy(t.api, latency)
	t.raw = map[int]slomodel.RawInput{}
	t.byName = map[string]int{}
	for i, o := range s.SLOs {
		if _, dup := t.byName[o.Name]; !dup {
			t.byName[o.Name] = i
		}
		ls, err := slomodel.Satisfy(o.Selector)
		if err != nil {
			return nil, err
		}
		if o.Kind == slo.KindRaw {
			r, err := m.RawTestInput(i)
			if err != nil {
				return nil, err
			}
			t.raw[i] = r
			ls = r.Labels
		}
		t.slos = append(t.slos, ls)
	}
	if s.ReadsRequests() {
		errs, err := slo.Matchers(s.Requests.Errors)
		if err != nil {
			return nil, err
		}
		ok := false
		if len(errs) == 1 {
			t.errLabel = errs[0].Name
			t.errValue, t.okValue, ok = slo.ErrorValues(errs[0])
		}
		if !ok {
			return nil, fmt.Errorf("requests.errors %q: the tests need one matcher and a value it matches and one it does not", s.Requests.Errors)
		}
	}
	if m.Native {
		if t.native, err = newNativeLayout(s); err != nil {
			return nil, err
		}
	}
	lat, _ := slo.Matchers(s.Latency.Selector)
	for _, sub := range []string{"log", "exec", "proxy", "attach", "portforward"} {
		ok := true
		for _, m := range lat {
			if m.Name == "subresource" && m.Matches(sub) {
				ok = false
			}
		}
		if !ok || len(lat) == 0 {
			continue
		}
		t.stream = sub
		break
	}
	return t, nil
}

// load is what one SLO serves per minute during a phase.
type load struct {
	// per threshold of the SLO: requests, and of those errors and slow ones
	parts []partLoad
	// requests to a streaming subresource, all slower than any threshold
	streaming float64
}

type partLoad struct{ requests, errors, slow float64 }

// phase is a stretch of constant load, per SLO index.
type phase struct {
	minutes int
	loads   map[int]load
}

// steady is a load on the first partition with the given shares, rounded
// to whole requests.
func steady(requests, errRatio, slowRatio float64, parts int) load {
	l := load{parts: make([]partLoad, parts)}
	l.parts[0] = partLoad{requests: requests, errors: math.Round(requests * errRatio), slow: math.Round(requests * slowRatio)}
	return l
}

// scenario describes the input of one test group.
type scenario struct {
	phases []phase
	// noErrorSeries leaves out the error-code series (a fresh apiserver).
	noErrorSeries bool
	// le10 writes whole-number bucket bounds as Prometheus 3 does ("1.0").
	le10 bool
	// broken breaks inputs of the SLOs it names, one way each (the
	// SLI-health tests).
	broken map[int]breakage
}

// breakage is one way an SLO's inputs break.
type breakage struct {
	// noBucket leaves out the threshold bucket of threshold noBucket-1.
	noBucket int
	// noHistogram leaves out the histogram; countScale multiplies its count
	// and buckets (the counter and the histogram count different requests).
	noHistogram bool
	countScale  float64
	// stray writes the SLO's series with labels its selector does not match.
	stray map[string]string
}

func (sc scenario) minutes() int {
	n := 0
	for _, p := range sc.phases {
		n += p.minutes
	}
	return n
}

// num64 prints a number for promtool's input and PromQL.
func num64(v float64) string { return series.Number(v) }

// seriesBuilder collects the counters of a scenario, one value per phase
// (the increase per minute, whole amounts so that promtool's repeated
// additions stay exact), in the order they are first used.
type seriesBuilder struct {
	phases int
	tl     series.Timeline
	order  []string
	byKey  map[string]*series.Series
	// set marks the phases each series has a value in; conflicts are the
	// series two SLOs sharing them wrote with different values, so that
	// one of them would not read the load it was given.
	set       map[string][]bool
	conflicts []string
}

// add sets the counter's increase per minute in phase p.
func (b *seriesBuilder) add(metric string, ls map[string]string, p int, perMinute float64) {
	key := metric + labels.FromMap(ls).String()
	if b.byKey == nil {
		b.byKey = map[string]*series.Series{}
		b.set = map[string][]bool{}
	}
	s, ok := b.byKey[key]
	if !ok {
		s = &series.Series{Name: metric, Type: series.Counter, Labels: maps.Clone(ls), Values: make([]float64, b.phases)}
		b.byKey[key] = s
		b.set[key] = make([]bool, b.phases)
		b.order = append(b.order, key)
	}
	if b.set[key][p] && s.Values[p] != perMinute {
		b.conflicts = append(b.conflicts, fmt.Sprintf("%s in phase %d: %s and %s", key, p, num64(s.Values[p]), num64(perMinute)))
	}
	b.set[key][p] = true
	s.Values[p] = perMinute
}

func (t *tester) partitionValue(i, j int) (string, bool) {
	if j >= len(t.SLOs[i].Latency) {
		return "", false
	}
	th := t.SLOs[i].Latency[j]
	if len(th.Partition) == 0 {
		return "", false
	}
	return th.Partition[0], true
}

func (t *tester) leValue(seconds float64, le10 bool) string {
	if le10 {
		return series.LeFloat(seconds)
	}
	return series.Le(seconds)
}

// input renders the scenario's series: per SLO and threshold the request
// counter (success and error codes) and the latency histogram's count, the
// threshold bucket, a wider bucket and +Inf.
func (t *tester) input(sc scenario) []promtest.InputSeries {
	out, _ := t.inputSeries(sc)
	return out
}

// inputSeries is input, and the series it writes.
func (t *tester) inputSeries(sc scenario) ([]promtest.InputSeries, []*series.Series) {
	return t.render(t.build(sc))
}

// render is the input series of builder b, and the series it holds.
func (t *tester) render(b *seriesBuilder) ([]promtest.InputSeries, []*series.Series) {
	out := make([]promtest.InputSeries, 0, len(b.order))
	var raw []*series.Series
	for _, key := range b.order {
		out = append(out, promtest.InputSeries{Series: key, Values: b.tl.Promtool(*b.byKey[key])})
		raw = append(raw, b.byKey[key])
	}
	if t.native != nil {
		// The same counts as native histograms (native.go); raw stays
		// classic, as the SLI-health predictions read it.
		out = t.nativeInput(b)
	}
	return out, raw
}

// consistentInput is the input of scenario sc, built once, and whether
// every SLO reads in it the load sc gives it: false when SLOs sharing a
// series write it differently, or, for a native histogram, when one SLO's
// slow requests are slow for another too (tester.spills). A group on such
// input would predict wrongly and is left out.
func (t *tester) consistentInput(sc scenario) ([]promtest.InputSeries, bool) {
	b := t.build(sc)
	if len(b.conflicts) > 0 {
		return nil, false
	}
	if t.native != nil {
		if _, native := t.native.native(t.Histogram, b); len(native) > 0 || len(t.spills(b)) > 0 {
			return nil, false
		}
	}
	in, _ := t.render(b)
	return in, true
}

// build collects the series of scenario sc.
func (t *tester) build(sc scenario) *seriesBuilder {
	b := &seriesBuilder{phases: len(sc.phases)}
	// The SLOs with a load in some phase, in order: often one of many.
	active := map[int]bool{}
	for _, p := range sc.phases {
		for i := range p.loads {
			active[i] = true
		}
	}
	slos := slices.Sorted(maps.Keys(active))
	for pi, p := range sc.phases {
		b.tl = append(b.tl, p.minutes)
		for _, i := range slos {
			l := p.loads[i]
			kind := t.SLOs[i].Kind
			br, mine := sc.broken[i]
			scale := 1.0
			if mine && br.countScale != 0 {
				scale = br.countScale
			}
			for j := range t.parts(i) {
				var pl partLoad
				if j < len(l.parts) {
					pl = l.parts[j]
				}
				ls := t.seriesLabels(i)
				if mine && br.stray != nil {
					ls = maps.Clone(br.stray)
				}
				if v, ok := t.partitionValue(i, j); ok {
					ls[t.Latency.PartitionLabel] = v
				}
				if kind.HasErrors() || t.counted[i] {
					metric, errLabel, errValue, okValue := t.counter(i)
					ok := maps.Clone(ls)
					if errLabel != "" {
						ok[errLabel] = okValue
					}
					b.add(metric, ok, pi, pl.requests-pl.errors)
					if kind.HasErrors() && !sc.noErrorSeries {
						bad := maps.Clone(ls)
						bad[errLabel] = errValue
						b.add(metric, bad, pi, pl.errors)
					}
				}
				if !kind.HasLatency() || (mine && br.noHistogram) {
					continue
				}
				th := t.SLOs[i].Latency[j]
				b.add(t.Latency.Metric+"_count", ls, pi, pl.requests*scale)
				for k, le := range []struct {
					bound  string
					within float64
				}{
					{t.leValue(th.Seconds, sc.le10), pl.requests - pl.slow},
					{t.leValue(th.Seconds*2, sc.le10), pl.requests},
					{series.Le(math.Inf(1)), pl.requests},
				} {
					if k == 0 && mine && br.noBucket == j+1 {
						continue
					}
					bl := maps.Clone(ls)
					bl["le"] = le.bound
					b.add(t.Latency.Metric+"_bucket", bl, pi, le.within*scale)
				}
			}
			if t.stream != "" && t.hasStreaming(sc, i) {
				ls := t.seriesLabels(i)
				ls["subresource"] = t.stream
				if v, ok := t.partitionValue(i, 0); ok {
					ls[t.Latency.PartitionLabel] = v
				}
				if kind.HasErrors() {
					metric, errLabel, _, okValue := t.counter(i)
					ok := maps.Clone(ls)
					ok[errLabel] = okValue
					b.add(metric, ok, pi, l.streaming)
				}
				if kind.HasLatency() {
					b.add(t.Latency.Metric+"_count", ls, pi, l.streaming)
					inf := maps.Clone(ls)
					inf["le"] = series.Le(math.Inf(1))
					b.add(t.Latency.Metric+"_bucket", inf, pi, l.streaming)
				}
			}
		}
	}
	return b
}

func (t *tester) hasStreaming(sc scenario, i int) bool {
	for _, p := range sc.phases {
		if p.loads[i].streaming > 0 {
			return true
		}
	}
	return false
}

func (t *tester) seriesLabels(i int) map[string]string {
	ls := maps.Clone(t.api)
	if _, raw := t.raw[i]; raw {
		ls = map[string]string{} // the queries select their own series
	}
	maps.Copy(ls, t.slos[i])
	ls[t.ClusterLabel] = testCluster
	return ls
}

// ratio is the burn rate (bad over all events) of load l for SLO i as the
// profile defines it: the mixin counts streaming requests in the total but
// not in the latency term; the optimized profile leaves them out of both
// (fixes.latencySelectorEverywhere).
func (t *tester) ratio(i int, l load) (float64, bool) {
	var total, bad float64
	kind := t.SLOs[i].Kind
	for _, p := range l.parts {
		total += p.requests
		if kind.HasErrors() {
			bad += p.errors
		}
		if kind.HasLatency() {
			bad += p.slow
		}
	}
	if !t.Profile.StreamingExcluded && kind.HasErrors() {
		total += l.streaming
	}
	if total == 0 {
		return 0, false
	}
	return bad / total, true
}

func dur(d time.Duration) string { return slo.Duration(d).String() }

func minutes(d time.Duration) int { return int(d / time.Minute) }

// expAlert is the alert of pair w for SLO i as a test expects it.
func (t *tester) expAlert(w slo.Window, i int) promtest.ExpAlert {
	ls, as := t.FiringAlert(w, t.SLOs[i].Name, t.cluster(i))
	if t.cluster(i) == "" {
		delete(ls, t.ClusterLabel)
	}
	return promtest.ExpAlert{ExpLabels: ls, ExpAnnotations: as}
}

func (t *tester) file(interval time.Duration, groups []promtest.Group) *promtest.File {
	return &promtest.File{RuleFiles: []string{t.ruleFile}, EvaluationInterval: model.Duration(interval), GroupEvalOrder: t.groups, Tests: groups}
}

// evalInterval picks the coarsest evaluation interval that keeps the tests
// of pair w exact: it divides the short window and `for`, and the short
// window spans at least five of it.
func evalInterval(w slo.Window) time.Duration {
	for _, c := range []time.Duration{time.Hour, 30 * time.Minute, 15 * time.Minute, 10 * time.Minute, 5 * time.Minute} {
		s, f := time.Duration(w.Short), time.Duration(w.For)
		if s%c == 0 && f%c == 0 && s/c >= 5 && (f == 0 || f/c >= 2) {
			return c
		}
	}
	return time.Minute
}

// requests is SLO i's requests a minute in the alert tests: enough for
// whole requests at every ratio they write, and for the low-traffic guard
// (slomodel.TestRequestsOf).
func (t *tester) requests(i int) float64 {
	return t.TestRequestsOf(i)
}

// parts is the number of partitions SLO i's load is split in: one per
// threshold, one without latency.
func (t *tester) parts(i int) int { return max(1, len(t.SLOs[i].Latency)) }

// burning is a steady load of SLO i whose share of bad events is r: errors,
// or slow requests for an SLO that counts no errors.
func (t *tester) burning(i int, requests, r float64) load {
	if t.SLOs[i].Kind.HasErrors() {
		return steady(requests, r, 0, t.parts(i))
	}
	return steady(requests, 0, r, t.parts(i))
}

// idLabels is the label set of SLI name's recorded series in the tests.
func (t *tester) idLabels(name string) string {
	if t.Identity {
		if i, ok := t.byName[name]; ok && t.cluster(i) == "" {
			return fmt.Sprintf("{%s=%q, %s=%q}", t.ServiceLabel, t.Spec.Service, t.SLILabel, name)
		}
		return fmt.Sprintf("{%s=%q, %s=%q, %s=%q}", t.ClusterLabel, testCluster, t.ServiceLabel, t.Spec.Service, t.SLILabel, name)
	}
	return fmt.Sprintf("{%s=%q, %s=%q}", t.ClusterLabel, testCluster, t.SLILabel, name)
}

// idSelector selects SLI name's recorded series.
func (t *tester) idSelector(name string) string {
	if t.Identity {
		return fmt.Sprintf("{%s=%q, %s=%q}", t.ServiceLabel, t.Spec.Service, t.SLILabel, name)
	}
	return fmt.Sprintf("{%s=%q}", t.SLILabel, name)
}

// firstCombined is the first SLO counting both errors and slow requests,
// or -1.
func (t *tester) firstCombined() int {
	for i, o := range t.SLOs {
		if o.Kind == slo.KindErrorsAndLatency {
			return i
		}
	}
	return -1
}

// clearOf returns ratio r, or a nearby one, that no window pair's threshold
// is within 10% of, so that the steady model's predictions hold with room.
func (t *tester) clearOf(r, theta float64, i int) float64 {
	for _, f := range []float64{1, 0.85, 1.25, 1.5, 0.75} {
		c := min(r*f, 1)
		if c > theta*1.05 && t.clear(c, i) {
			return c
		}
	}
	return min(r, 1)
}

// clear says whether ratio r is more than 10% from every threshold of SLO
// i.
func (t *tester) clear(r float64, i int) bool {
	for _, q := range t.Alert.Windows {
		if x := r / t.ThresholdOf(q, i); x > 0.9 && x < 1.1 {
			return false
		}
	}
	return true
}

// steadyAlerts predicts the firing alerts at time at when SLO i burns at
// rates[i] from the start: every window's ratio is then rates[i] as soon as
// there is data (the first evaluation, at ei), so pair q's condition holds
// from ei and fires at the first evaluation at least q's `for` later. With
// one alert per SLI each SLO is compared on its own; otherwise (the mixin)
// the rates are added first. A rate within 1% of a threshold is an error:
// the prediction would be a coin toss.
func (t *tester) steadyAlerts(rates map[int]float64, at, ei time.Duration) ([]promtest.ExpAlert, error) {
	exp := []promtest.ExpAlert{}
	for _, q := range t.Alert.Windows {
		hold := time.Duration(q.For)
		steps := (hold + ei - 1) / ei
		if at < ei+steps*ei {
			continue
		}
		check := func(r, theta float64) (bool, error) {
			if x := r / theta; x > 0.99 && x < 1.01 {
				return false, fmt.Errorf("pair %s/%s: a test's burn rate %g is within 1%% of the threshold %g", q.Long, q.Short, r, theta)
			}
			return r > theta, nil
		}
		if t.Profile.AlertPerSLI || t.Identity {
			for _, i := range slices.Sorted(maps.Keys(rates)) {
				r := rates[i]
				fires, err := check(r, t.ThresholdOf(q, i))
				if err != nil {
					return nil, err
				}
				if fires {
					exp = append(exp, t.expAlert(q, i))
				}
			}
			continue
		}
		if len(rates) == 0 {
			continue
		}
		sum := 0.0
		for _, r := range rates {
			sum += r
		}
		fires, err := check(sum, t.Threshold(q))
		if err != nil {
			return nil, err
		}
		if fires {
			exp = append(exp, t.expAlert(q, 0))
		}
	}
	return exp, nil
}

// availabilityTests pins the availability over the SLO period, per SLI and
// over all of them, the remaining error budget (optimized profile), and the
// per-SLI request rates dashboards read, for steady loads without
// streaming requests.
func (t *tester) availabilityTests(loads map[int]load, at time.Duration) []promtest.ExprTest {
	sample := func(sli string, v float64) promtest.ExpSample {
		return promtest.ExpSample{Labels: t.idLabels(sli), Value: slomodel.RoundTo(v, 4)}
	}
	avail := promtest.ExprTest{Expr: fmt.Sprintf("round(%s, 0.0001)", t.AvailabilityRecord), EvalTime: model.Duration(at)}
	var budgets []budgetSample
	rates := promtest.ExprTest{Expr: fmt.Sprintf("round(sum by (%s, %s) (%s), 0.0001)", t.ClusterLabel, t.SLILabel, t.RequestRateRecord), EvalTime: model.Duration(at)}
	// The mixin's availability group reads the hourly request increases
	// before it records them (they are its last rules), so its request
	// totals miss the newest evaluation while its slow-request counts do
	// not. From a start at 0 with steady traffic and one evaluation a
	// minute, averages of increases over n and n-1 evaluations differ by
	// (n+1)/n. Over 30 days of history this is negligible; in a
	// ten-minute test it is not.
	slowScale := 1.0
	if t.Profile.RequestsLagOneEvaluation {
		n := float64(at / time.Minute)
		slowScale = (n + 1) / n
	}
	var bad, total float64
	for i, o := range t.SLOs {
		l := loads[i]
		r, _ := t.ratio(i, l)
		var n, errs, slow float64
		for _, p := range l.parts {
			n += p.requests
			if o.Kind.HasErrors() {
				errs += p.errors
			}
			if o.Kind.HasLatency() {
				slow += p.slow
			}
		}
		bad += errs + slow*slowScale
		total += n
		avail.ExpSamples = append(avail.ExpSamples, sample(o.Name, 1-(errs+slow*slowScale)/n))
		budgets = append(budgets, budgetSample{o.Name, 1 - r/t.SLIs[i].Budget})
		rates.ExpSamples = append(rates.ExpSamples, sample(o.Name, n/60))
	}
	if t.Identity {
		// Per SLO only: no sum over SLOs of different kinds, no
		// apiserver request-rate records.
		return []promtest.ExprTest{avail, t.budgetTest(budgets, at)}
	}
	avail.ExpSamples = append(avail.ExpSamples, sample(slomodel.AllSLIs, 1-bad/total))
	budgets = append(budgets, budgetSample{slomodel.AllSLIs, 1 - (bad/total)/t.Budget})
	tests := []promtest.ExprTest{avail, rates}
	if t.Profile.RecordsBudgetRemaining {
		tests = append(tests, t.budgetTest(budgets, at))
	}
	return tests
}

// budgetSample is the remaining error budget an SLI's record should hold.
type budgetSample struct {
	sli   string
	value float64
}

// budgetTest pins the remaining error budget, 1 - ratio/budget, to four
// decimals. At a high objective the budget is tiny and the value huge
// (-2.5e14 for a share of 25% at 0.999999999999999), where four decimals
// are below float64's resolution; the test then divides the record by the
// power of ten (budgetScale) that brings every value below 1e6.
func (t *tester) budgetTest(budgets []budgetSample, at time.Duration) promtest.ExprTest {
	values := make([]float64, len(budgets))
	for i, b := range budgets {
		values[i] = b.value
	}
	scale := budgetScale(values)
	et := promtest.ExprTest{Expr: fmt.Sprintf("round(%s, 0.0001)", t.BudgetRecord), EvalTime: model.Duration(at)}
	if scale != 1 {
		et.Expr = fmt.Sprintf("round(%s / %s, 0.0001)", t.BudgetRecord, num64(scale))
	}
	for _, b := range budgets {
		et.ExpSamples = append(et.ExpSamples, promtest.ExpSample{Labels: t.idLabels(b.sli), Value: slomodel.RoundTo(b.value/scale, 4)})
	}
	return et
}

// budgetScale is the least power of ten, 1 or more, that divides every
// value to below 1e6 (where the rules' float64 arithmetic is exact to far
// better than four decimals) and puts none of them within 1e-6 of half a
// step of four decimals, where PromQL's round and the test's own rounding
// could go different ways on a difference in the last bit.
func budgetScale(values []float64) float64 {
	scale := 1.0
	for ; scale < 1e300; scale *= 10 {
		ok := true
		for _, v := range values {
			x := math.Abs(v / scale)
			if x >= 1e6 || math.Abs(x*1e4-math.Floor(x*1e4)-0.5) < 1e-6 {
				ok = false
				break
			}
		}
		if ok {
			break
		}
	}
	return scale
}

// recordTests pins the recorded burn rates of every window on inputs whose
// ratio of bad to all events is known, evaluated once every window holds
// only steady traffic (so every window's ratio is the same).
func (t *tester) recordTests() *promtest.File {
	const at = 10 * time.Minute
	windows := t.Spec.Windows()
	slices.Sort(windows)
	// pin expects ratio want[i] for SLO i on every window; a missing entry
	// expects no series at all.
	pin := func(loads map[int]load, absent map[int]bool) []promtest.ExprTest {
		var tests []promtest.ExprTest
		for _, d := range windows {
			et := promtest.ExprTest{Expr: fmt.Sprintf("round(%s, 0.0001)", t.BurnRateRecord(d)), EvalTime: model.Duration(at), ExpSamples: []promtest.ExpSample{}}
			for i := range t.SLOs {
				l, ok := loads[i]
				if !ok || absent[i] {
					continue
				}
				r, ok := t.ratio(i, l)
				if !ok {
					continue
				}
				et.ExpSamples = append(et.ExpSamples, promtest.ExpSample{
					Labels: t.idLabels(t.SLOs[i].Name),
					Value:  slomodel.RoundTo(r, 4),
				})
			}
			tests = append(tests, et)
		}
		return tests
	}
	group := func(name string, sc scenario, absent map[int]bool) promtest.Group {
		return promtest.Group{Name: name, Interval: model.Duration(time.Minute), InputSeries: t.input(sc), PromQLExprTests: pin(sc.phases[0].loads, absent)}
	}
	var groups []promtest.Group
	// Errors only (slow requests for an SLO of kind latency), a different
	// share per SLO.
	loads := map[int]load{}
	for rank, i := range t.shareOrder() {
		loads[i] = t.burning(i, requestsOf(rank), shareOf(rank))
	}
	name := "errors only: each SLI's burn rate is its share of 5xx responses; availability and request rates follow"
	if t.Identity {
		name = "errors only (slow requests for kind latency): each SLO's burn rate is its share of bad events; availability and budget follow"
	}
	errorsOnly := group(name, scenario{phases: []phase{{minutes(at), loads}}}, nil)
	errorsOnly.PromQLExprTests = append(errorsOnly.PromQLExprTests, t.availabilityTests(loads, at)...)
	groups = append(groups, errorsOnly)
	// Slow requests in every partition, at each partition's own threshold;
	// a wider bucket holds them all, so a rule reading the wrong bound fails.
	for _, le10 := range []bool{false, true} {
		if !t.Spec.ReadsLatency() {
			break
		}
		loads := map[int]load{}
		for i := range t.SLOs {
			l := load{}
			for j := range t.parts(i) {
				l.parts = append(l.parts, partLoad{requests: 1000, slow: float64(100 * (j + 1))})
			}
			loads[i] = l
		}
		style := `buckets written le="1"`
		if le10 {
			style = `buckets written le="1.0"`
		}
		if t.native != nil {
			if le10 {
				break // no le label to write two ways
			}
			style = "a native histogram (" + string(t.Latency.Form) + ")"
		}
		g := group(fmt.Sprintf("slow requests per partition at each threshold, %s", style),
			scenario{le10: le10, phases: []phase{{minutes(at), loads}}}, nil)
		g.PromQLExprTests = append(g.PromQLExprTests, t.availabilityTests(loads, at)...)
		groups = append(groups, g)
	}
	if t.stream != "" && t.firstCombined() == 0 {
		l := steady(1000, 0, 0.1, t.parts(0))
		l.streaming = 1000
		name := "streaming requests (subresource " + t.stream + ") are not slow; "
		if !t.Profile.StreamingExcluded {
			name += "the mixin still counts them in the total"
		} else {
			name += "they are left out of the total too"
		}
		groups = append(groups, group(name, scenario{phases: []phase{{minutes(at), map[int]load{0: l}}}}, nil))
	}
	// No 5xx series yet.
	if c := t.firstCombined(); c >= 0 {
		counts := t.Profile.AbsentAsZero
		name := "no 5xx series yet: "
		absent := map[int]bool{c: true}
		if counts {
			name += "the burn rate is the share of slow requests"
			absent = nil
		} else {
			name += "the mixin records no burn rate at all"
		}
		// SLOs with c's selector read its histogram at their own
		// thresholds: they are given the same requests, slow for them
		// where a native histogram cannot tell them apart (below c's
		// threshold), so that their records are predicted too.
		loads := map[int]load{c: steady(1000, 0, 0.1, t.parts(c))}
		for j, o := range t.SLOs {
			if j == c || !o.Kind.HasLatency() || o.Kind == slo.KindRaw || o.Selector != t.SLOs[c].Selector {
				continue
			}
			slow := 0.0
			if t.native != nil && t.lowestSeconds(j) < t.lowestSeconds(c) {
				slow = 0.1
			}
			loads[j] = steady(1000, 0, slow, t.parts(j))
		}
		groups = append(groups, group(name, scenario{noErrorSeries: true, phases: []phase{{minutes(at), loads}}}, absent))
	}
	// No error series for an errors-only SLO: its burn rate is 0, not empty.
	for i, o := range t.SLOs {
		if (o.Kind != slo.KindErrors && o.Kind != slo.KindRaw) || !t.Profile.AbsentAsZero {
			continue
		}
		groups = append(groups, group(fmt.Sprintf("%s: no error series yet: the burn rate is 0, not empty", o.Name),
			scenario{noErrorSeries: true, phases: []phase{{minutes(at), map[int]load{i: steady(1000, 0, 0, 1)}}}}, nil))
		break
	}
	return t.file(time.Minute, groups)
}

// shareOrder is the order in which the records tests give the SLOs their
// shares of bad events (shareOf, largest first): the SLOs' own, unless one
// native histogram holds the slow requests of SLOs at several thresholds.
// Then a request slow for a higher threshold is slow for every lower one,
// and no native histogram can give the lower threshold the smaller share
// (tester.spills), so the SLOs without latency come first and the others
// by their lowest threshold, the lowest first.
func (t *tester) shareOrder() []int {
	order := make([]int, len(t.SLOs))
	for i := range order {
		order[i] = i
	}
	if t.native == nil {
		return order
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(t.lowestSeconds(a), t.lowestSeconds(b)) })
	return order
}

// lowestSeconds is SLO i's lowest latency threshold, 0 for none.
func (t *tester) lowestSeconds(i int) float64 {
	low := 0.0
	for k, th := range t.SLOs[i].Latency {
		if k == 0 || th.Seconds < low {
			low = th.Seconds
		}
	}
	return low
}

// shareOf is the share of bad events SLO i gets in the records test, of
// requestsOf(i) requests a minute: a different one for each SLO, so that a
// rule mixing SLOs up fails. The first eight halve from 25% (of 1000
// requests); from the ninth on they rise from 30.08% by 0.01% (of 10000
// requests: whole requests, and 0.0001 apart after the tests' rounding),
// to 39.99% at the 1000th, above every share of the first eight.
func shareOf(i int) float64 {
	if i < 8 {
		return 0.25 / float64(int(1)<<i)
	}
	return float64(i+3000) / 10000
}

// requestsOf is SLO i's requests a minute in the records test.
func requestsOf(i int) float64 {
	if i < 8 {
		return 1000
	}
	return 10000
}
