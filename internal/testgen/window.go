package testgen

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/common/model"

	"github.com/burnrate/burnrate/internal/promtest"
	"github.com/burnrate/burnrate/slo"
)

// windowTests renders the tests of window pair w for every SLO.
//
// Every window pair's alert has the same name, so an alert_rule_test sees
// the other pairs' alerts too. Groups with steady traffic therefore expect
// the full set the steady model predicts (steadyAlerts); groups whose
// traffic changes assert on this pair's ALERTS series only.
func (t *tester) windowTests(w slo.Window) (*promtest.File, error) {
	p := t.newPairTests(w)
	fires := make([]float64, len(t.SLOs))
	for i := range t.SLOs {
		fires[i] = p.sloTests(i)
	}
	p.crossedWindows(fires)
	p.everySLIBelow(fires)
	p.noErrorSeries(fires)
	return t.file(p.ei, p.groups), errors.Join(p.errs...)
}

// pairTests collects the test groups of one window pair, and the errors of
// predictions too close to a threshold to make.
type pairTests struct {
	*tester
	w    slo.Window
	pair string // "long/short", for the group names
	// ei is the evaluation interval; end is when a steady burn from the
	// start has fired: the long window full, `for` held, one more step.
	ei, long, short, hold, end time.Duration
	groups                     []promtest.Group
	errs                       []error
}

func (t *tester) newPairTests(w slo.Window) *pairTests {
	p := &pairTests{
		tester: t, w: w, pair: fmt.Sprintf("%s/%s", w.Long, w.Short), ei: evalInterval(w),
		long: time.Duration(w.Long), short: time.Duration(w.Short), hold: time.Duration(w.For),
	}
	p.end = p.long + p.hold + p.ei
	return p
}

// perSLI says whether the alert is kept per SLI (else on the sum of the
// SLIs' burn rates, as the mixin does).
func (p *pairTests) perSLI() bool { return p.Profile.AlertPerSLI || p.Identity }

// alertsAt expects at time at the alerts the steady model predicts for
// rates.
func (p *pairTests) alertsAt(at time.Duration, rates map[int]float64) (promtest.AlertTest, error) {
	exp, err := p.steadyAlerts(rates, at, p.ei)
	return promtest.AlertTest{EvalTime: model.Duration(at), Alertname: p.Alert.Name, ExpAlerts: exp}, err
}

// quiet expects this pair's alert neither pending nor firing at time at.
func (p *pairTests) quiet(at time.Duration) promtest.ExprTest {
	return promtest.ExprTest{
		Expr: fmt.Sprintf("ALERTS{alertname=%q, long=%q, short=%q}", p.Alert.Name, p.w.Long, p.w.Short), EvalTime: model.Duration(at),
		ExpSamples: []promtest.ExpSample{},
	}
}

// above expects SLO i's burn rate over window win above this pair's
// threshold at time at, or not.
func (p *pairTests) above(win slo.Duration, i int, at time.Duration, want bool) promtest.ExprTest {
	v := 0.0
	if want {
		v = 1
	}
	sel := p.BurnRateRecord(win) + p.idSelector(p.SLOs[i].Name)
	return promtest.ExprTest{
		Expr: fmt.Sprintf("%s > bool %s", sel, num64(p.ThresholdOf(p.w, i))), EvalTime: model.Duration(at),
		ExpSamples: []promtest.ExpSample{{Labels: p.idLabels(p.SLOs[i].Name), Value: v}},
	}
}

// steadyGroup adds a group of steady traffic sc whose alerts at each time
// in at are those the steady model predicts from its load: each SLO's
// ratio of bad to all requests as the input writes them, in whole
// requests. Unless rated, the SLOs have no burn rate at all.
func (p *pairTests) steadyGroup(name string, sc scenario, rated bool, at ...time.Duration) {
	in, ok := p.consistentInput(sc)
	if !ok {
		return
	}
	rates := map[int]float64{}
	if rated {
		rates = p.rates(sc.phases[0].loads)
	}
	g := promtest.Group{Name: name, Interval: model.Duration(time.Minute), InputSeries: in}
	for _, a := range at {
		test, err := p.alertsAt(a, rates)
		p.errs = append(p.errs, err)
		g.AlertRuleTests = append(g.AlertRuleTests, test)
	}
	p.groups = append(p.groups, g)
}

// rates is each SLO's ratio of bad to all requests in loads.
func (p *pairTests) rates(loads map[int]load) map[int]float64 {
	out := map[int]float64{}
	for i, l := range loads {
		if r, ok := p.ratio(i, l); ok {
			out[i] = r
		}
	}
	return out
}

// burst is how long the burn of the short-window-only tests lasts: half
// the short window, whole evaluation intervals, at least one.
func (p *pairTests) burst() time.Duration {
	return max((p.short / 2).Truncate(p.ei), p.ei)
}

// sloTests adds SLO i's own groups and returns the ratio its firing tests
// burn at, or 0 when the threshold is above 100% errors and nothing can
// fire.
func (p *pairTests) sloTests(i int) float64 {
	theta := p.ThresholdOf(p.w, i)
	if theta >= 1 {
		p.steadyGroup(fmt.Sprintf("%s %s: the threshold %s is above 100%% errors, so the alert cannot fire", p.SLOs[i].Name, p.pair, num64(theta)),
			scenario{phases: []phase{{minutes(p.end), p.at(i, 1)}}}, true, p.end)
		return 0
	}
	fire := p.clearOf(2*theta, theta, i)
	p.steadyBurns(i, theta, fire)
	p.shortWindowOnly(i, theta, fire)
	p.burnStops(i, theta, fire)
	return fire
}

// shortBurst is the ratio SLO i burns at for burst() after a clean long
// window, so that the short window reads s, more than 10% above the
// threshold (fire where it can), and the long window s·short/long, more
// than 10% below it. ok is false when no ratio does both: the windows are
// too close in length, or the burst too short a part of the short window.
func (p *pairTests) shortBurst(theta, fire float64) (rb float64, ok bool) {
	burst := p.burst()
	s := min(fire, theta*float64(p.long)/float64(p.short)/1.1)
	rb = min(1, s*float64(p.short)/float64(burst))
	s = rb * float64(burst) / float64(p.short)
	return rb, s >= 1.1*theta && s*float64(p.short)/float64(p.long) <= theta/1.1
}

// stopFire is the ratio SLO i burns at before the burn stops in the
// stopping tests (burnStops, crossedWindows): fire, or a higher ratio clear
// of every threshold, such that at after() the long window, which then
// holds (long-x)/long of it with x = after()-stop, is still more than 10%
// above the threshold. ok is false when no ratio up to 100% is.
func (p *pairTests) stopFire(i int, theta, fire float64) (float64, bool) {
	x := p.short + 2*p.ei
	if x >= p.long {
		return fire, false
	}
	need := 1.1 * theta * float64(p.long) / float64(p.long-x)
	if fire >= need {
		return fire, true
	}
	for _, f := range []float64{1.1, 1.25, 1.5, 2} {
		if c := need * f; c <= 1 && p.clear(c, i) {
			return c, true
		}
	}
	return fire, false
}

// at is SLO i burning at ratio r, alone.
func (p *pairTests) at(i int, r float64) map[int]load {
	return map[int]load{i: p.burning(i, p.requests(i), r)}
}

// written is ratio r of SLO i as its alert tests write it, in whole
// requests.
func (p *pairTests) written(i int, r float64) float64 {
	w, _ := p.ratio(i, p.burning(i, p.requests(i), r))
	return w
}

// steadyBurns adds SLO i's steady burns: at fire, which is pending from
// the first evaluation with data (ei) and fires `for` later, and at 0.9x
// and 1.1x the threshold.
func (p *pairTests) steadyBurns(i int, theta, fire float64) {
	name := p.SLOs[i].Name
	p.steadyGroup(fmt.Sprintf("%s %s: both windows at %.3gx the threshold fire after %s", name, p.pair, fire/theta, p.w.For),
		scenario{phases: []phase{{minutes(p.end), p.at(i, fire)}}}, true, p.hold, p.ei+p.hold, p.end)
	for _, factor := range []float64{0.9, 1.1} {
		r := factor * theta
		if r > 1 {
			continue
		}
		verb := "stays silent"
		if factor > 1 {
			verb = "fires"
		}
		p.steadyGroup(fmt.Sprintf("%s %s: a steady %gx the threshold %s", name, p.pair, factor, verb),
			scenario{phases: []phase{{minutes(p.end), p.at(i, r)}}}, true, p.end)
	}
}

// shortWindowOnly adds SLO i with only the short window above the
// threshold: a clean long window, then a burst that lifts the short window
// to the firing ratio and the long one to a fraction of it.
func (p *pairTests) shortWindowOnly(i int, theta, fire float64) {
	burst := p.burst()
	rb, ok := p.shortBurst(theta, fire)
	if !ok {
		return
	}
	burstEnd := p.long + burst
	sc := scenario{phases: []phase{
		{minutes(p.long), p.at(i, 0)}, {minutes(burst), p.at(i, rb)},
	}}
	in, ok := p.consistentInput(sc)
	if !ok {
		return
	}
	p.groups = append(p.groups, promtest.Group{
		Name:            fmt.Sprintf("%s %s: only the short window above the threshold stays silent", p.SLOs[i].Name, p.pair),
		Interval:        model.Duration(time.Minute),
		InputSeries:     in,
		PromQLExprTests: []promtest.ExprTest{p.above(p.w.Short, i, burstEnd, true), p.above(p.w.Long, i, burstEnd, false), p.quiet(burstEnd)},
	})
}

// burnStops adds SLO i's burn at fire stopping: the alert resolves once
// the short window is clean, while the long window is still above the
// threshold. After a stop, a window of length d reads fire·(d-x)/d at x
// after the stop, so it crosses the threshold at x* = d·(1-θ/fire);
// checking it above a little before and below a little after pins the
// window's length.
func (p *pairTests) burnStops(i int, theta, fire float64) {
	fire, longAbove := p.stopFire(i, theta, fire)
	stop := p.end
	after := stop + p.short + 2*p.ei
	written := p.written(i, fire)
	firingAtStop, err := p.alertsAt(stop, map[int]float64{i: written})
	p.errs = append(p.errs, err)
	checks := []promtest.ExprTest{p.above(p.w.Short, i, after, false), p.quiet(after)}
	name := fmt.Sprintf("%s %s: when the burn stops the alert resolves", p.SLOs[i].Name, p.pair)
	if longAbove {
		checks = append([]promtest.ExprTest{p.above(p.w.Long, i, after, true)}, checks...)
		name += " though the long window is still above"
	}
	last := after
	for _, win := range []slo.Duration{p.w.Short, p.w.Long} {
		d := time.Duration(win)
		cross := time.Duration(float64(d) * (1 - theta/fire))
		margin := max(d/6, p.ei)
		lo := (cross - margin).Truncate(p.ei)
		hi := (cross + margin + p.ei - 1).Truncate(p.ei)
		if lo < p.ei || hi >= d {
			continue
		}
		checks = append(checks, p.above(win, i, stop+lo, true), p.above(win, i, stop+hi, false))
		last = max(last, stop+hi)
	}
	sc := scenario{phases: []phase{
		{minutes(stop), p.at(i, fire)}, {minutes(last - stop), p.at(i, 0)},
	}}
	in, ok := p.consistentInput(sc)
	if !ok {
		return
	}
	p.groups = append(p.groups, promtest.Group{
		Name:            name,
		Interval:        model.Duration(time.Minute),
		InputSeries:     in,
		AlertRuleTests:  []promtest.AlertTest{firingAtStop},
		PromQLExprTests: checks,
	})
}

// crossedWindows adds the first SLI above on the long window only and the
// second on the short window only: alerts per SLI must not join one SLI's
// long window with another's short one.
func (p *pairTests) crossedWindows(fires []float64) {
	if !p.perSLI() || len(p.SLOs) < 2 || fires[0] == 0 || fires[1] == 0 {
		return
	}
	fire0, longAbove := p.stopFire(0, p.ThresholdOf(p.w, 0), fires[0])
	rb, shortAbove := p.shortBurst(p.ThresholdOf(p.w, 1), fires[1])
	if !longAbove || !shortAbove {
		return
	}
	burst := p.burst()
	stop := p.end
	after := stop + p.short + 2*p.ei
	n := p.sharedRequests(0, 1)
	steadyOf := func(i int, r float64) load { return p.burning(i, n, r) }
	sc := scenario{phases: []phase{
		{minutes(stop), map[int]load{0: steadyOf(0, fire0), 1: steadyOf(1, 0)}},
		{minutes(after - burst - stop), map[int]load{0: steadyOf(0, 0), 1: steadyOf(1, 0)}},
		{minutes(burst), map[int]load{0: steadyOf(0, 0), 1: steadyOf(1, rb)}},
	}}
	in, ok := p.consistentInput(sc)
	if !ok {
		return // the two SLIs read one series: neither can burn alone
	}
	p.groups = append(p.groups, promtest.Group{
		Name: fmt.Sprintf("%s %s: %s above on the long window only and %s on the short window only stay silent",
			p.SLOs[0].Name, p.pair, p.SLOs[0].Name, p.SLOs[1].Name),
		Interval:        model.Duration(time.Minute),
		InputSeries:     in,
		PromQLExprTests: []promtest.ExprTest{p.above(p.w.Long, 0, after, true), p.above(p.w.Short, 1, after, true), p.quiet(after)},
	})
}

// sharedRequests is the requests a minute of scenarios where the SLOs in
// idx burn together: the most any of them needs, one count for all, so
// that SLOs reading one histogram (two latency thresholds on it) write its
// count and +Inf bucket alike.
func (p *pairTests) sharedRequests(idx ...int) float64 {
	n := 0.0
	for _, i := range idx {
		n = max(n, p.requests(i))
	}
	return n
}

// everySLIBelow adds every SLI burning at 0.6x: the mixin adds the SLIs'
// burn rates and fires; one alert per SLI stays silent.
func (p *pairTests) everySLIBelow(fires []float64) {
	if len(p.SLOs) < 2 || slices.Contains(fires, 0) {
		return
	}
	all := make([]int, len(p.SLOs))
	for i := range all {
		all[i] = i
	}
	n := p.sharedRequests(all...)
	loads := map[int]load{}
	for i := range p.SLOs {
		loads[i] = p.burning(i, n, 0.6*p.ThresholdOf(p.w, i))
	}
	// SLIs sharing a series that cannot each burn at their own 0.6x
	// leave the group out (steadyGroup, consistentInput).
	sc := scenario{phases: []phase{{minutes(p.end), loads}}}
	verb := "no single SLI fires"
	if !p.perSLI() {
		verb = "the summed burn rates fire"
	}
	p.steadyGroup(fmt.Sprintf("every SLI at 0.6x the threshold of %s: %s", p.pair, verb), sc, true, p.end)
}

// noErrorSeries adds slow requests and no 5xx series yet: the mixin's burn
// rate is empty, so it cannot fire; with fixes.absentAsZero the slow
// requests count.
func (p *pairTests) noErrorSeries(fires []float64) {
	c := p.firstCombined()
	if c < 0 || fires[c] == 0 {
		return
	}
	verb := "leave the burn rate empty and the alert silent"
	if p.Profile.AbsentAsZero {
		verb = "fire"
	}
	p.steadyGroup(fmt.Sprintf("%s %s: slow requests and no 5xx series %s", p.SLOs[c].Name, p.pair, verb),
		scenario{noErrorSeries: true, phases: []phase{{minutes(p.end), map[int]load{c: steady(p.requests(c), 0, fires[c], p.parts(c))}}}},
		p.Profile.AbsentAsZero, p.end)
}
