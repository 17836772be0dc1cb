package testgen

import (
	"fmt"
	"math"
	"time"

	"github.com/prometheus/common/model"

	"github.com/burnrate/burnrate/internal/promtest"
)

// guardTests renders the tests of the low-traffic guard (alert.minRequests):
// per window pair and SLO, every request failing stays silent while the
// short window holds fewer requests than the minimum, and fires while it
// holds more. One file at a 1m evaluation interval, the burn-rate group's
// own: the guard counts the short window's requests from the base-window
// rates recorded in it, one a minute (rulegen's guarded), and promtool
// evaluates every group at the file's interval, whatever the group's own
// (Prometheus v0.316.0 cmd/promtool/unittest.go, testGroup.test: each
// group's Eval at every step of evaluation_interval), so at a coarser
// interval the guard would count fewer rates than Prometheus records.
//
// Each group's traffic is steady from the start, in requests a minute that
// are powers of two (promtool's repeated additions of them are exact), so
// that a full short window of W minutes holds r·W requests: at most
// minRequests/1.25 for the silent group, at least 1.25·minRequests for the
// firing one. Both burn at 100% errors, far above every threshold.
func (t *tester) guardTests() *promtest.File {
	n := t.Alert.MinRequests
	var groups []promtest.Group
	for _, w := range t.Alert.Windows {
		p := t.newPairTests(w)
		p.ei = time.Minute
		shortMin := p.short.Minutes()
		// The short window is full of whole base-window rates from
		// short + base - 1m on, and `for` later the alert fires.
		at := p.short + t.BaseWindow + p.hold + time.Minute
		for i, o := range t.SLOs {
			if t.ThresholdOf(w, i) >= 1 {
				continue // no burn is above it (sloTests)
			}
			below := math.Exp2(math.Floor(math.Log2(n / 1.25 / shortMin)))
			above := math.Exp2(math.Ceil(math.Log2(1.25 * n / shortMin)))
			sc := func(perMinute float64) scenario {
				return scenario{phases: []phase{{minutes(at), map[int]load{i: t.allFailing(i, perMinute)}}}}
			}
			groups = append(groups,
				promtest.Group{
					Name: fmt.Sprintf("%s %s: every request failing, %s in the short window, below alert.minRequests %s, stays silent",
						o.Name, p.pair, num64(below*shortMin), num64(n)),
					Interval:        model.Duration(time.Minute),
					InputSeries:     t.input(sc(below)),
					PromQLExprTests: []promtest.ExprTest{p.above(w.Long, i, at, true), p.above(w.Short, i, at, true), p.quiet(at)},
				},
				promtest.Group{
					Name: fmt.Sprintf("%s %s: every request failing, %s in the short window, above alert.minRequests %s, fires",
						o.Name, p.pair, num64(above*shortMin), num64(n)),
					Interval:        model.Duration(time.Minute),
					InputSeries:     t.input(sc(above)),
					PromQLExprTests: []promtest.ExprTest{p.firing(i, at)},
				})
		}
		groups = append(groups, t.guardCrossed(p, at)...)
	}
	return t.file(time.Minute, groups)
}

// guardCrossed is, with one alert per SLI, the first SLO failing at every
// request below the minimum beside the second serving well above it
// without errors: the first stays silent, since each SLI's guard counts
// its own requests, not the service's.
func (t *tester) guardCrossed(p *pairTests, at time.Duration) []promtest.Group {
	if !p.perSLI() || len(t.SLOs) < 2 || t.ThresholdOf(p.w, 0) >= 1 {
		return nil
	}
	n, shortMin := t.Alert.MinRequests, p.short.Minutes()
	below := math.Exp2(math.Floor(math.Log2(n / 1.25 / shortMin)))
	busy := math.Exp2(math.Ceil(math.Log2(4 * n / shortMin)))
	sc := scenario{phases: []phase{{minutes(at), map[int]load{0: t.allFailing(0, below), 1: t.burning(1, busy, 0)}}}}
	in, ok := t.consistentInput(sc)
	if !ok {
		return nil // the two SLOs read one series
	}
	return []promtest.Group{{
		Name: fmt.Sprintf("%s %s: every request failing below alert.minRequests %s, beside %s at %s requests in the short window, stays silent",
			t.SLOs[0].Name, p.pair, num64(n), t.SLOs[1].Name, num64(busy*shortMin)),
		Interval:        model.Duration(time.Minute),
		InputSeries:     in,
		PromQLExprTests: []promtest.ExprTest{p.above(p.w.Long, 0, at, true), p.above(p.w.Short, 0, at, true), p.quiet(at)},
	}}
}

// allFailing is SLO i serving perMinute requests a minute, every one of
// them bad: failed, or slow for an SLO that counts no errors.
func (t *tester) allFailing(i int, perMinute float64) load {
	l := load{parts: make([]partLoad, t.parts(i))}
	l.parts[0] = partLoad{requests: perMinute}
	if t.SLOs[i].Kind.HasErrors() {
		l.parts[0].errors = perMinute
	} else {
		l.parts[0].slow = perMinute
	}
	return l
}

// firing expects this pair's alert firing for SLO i at time at, once.
func (p *pairTests) firing(i int, at time.Duration) promtest.ExprTest {
	sli := ""
	if p.perSLI() {
		sli = fmt.Sprintf(", %s=%q", p.SLILabel, p.SLOs[i].Name)
	}
	return promtest.ExprTest{
		Expr: fmt.Sprintf(`count(ALERTS{alertname=%q, alertstate="firing", long=%q, short=%q%s})`,
			p.Alert.Name, p.w.Long, p.w.Short, sli),
		EvalTime:   model.Duration(at),
		ExpSamples: []promtest.ExpSample{{Labels: "{}", Value: 1}},
	}
}
