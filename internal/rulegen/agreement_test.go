package rulegen

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/internal/testkit/synth"
	"github.com/burnrate/burnrate/slo"
)

// The agreement tests run the optimized and the kubernetes-mixin profiles on
// the same synthetic traffic and compare, per window pair, the evaluation
// steps at which the alert starts and stops firing. The optimized profile
// builds long windows from 5m rates, so it may lag the mixin by a little;
// maxLag states how much is accepted. Where the mixin is known wrong the
// test expects the optimized profile to fire and the mixin to stay silent.

// agreePair sets the scale of a scenario aimed at one window pair: the
// scrape and evaluation intervals, and the lag the optimized profile may
// show against the mixin.
type agreePair struct {
	long, short  time.Duration
	scrape, eval time.Duration
	maxLag       time.Duration
}

var agreePairs = []agreePair{
	{long: time.Hour, short: 5 * time.Minute, scrape: time.Minute, eval: time.Minute, maxLag: 3 * time.Minute},
	{long: 6 * time.Hour, short: 30 * time.Minute, scrape: time.Minute, eval: 5 * time.Minute, maxLag: 5 * time.Minute},
	{long: 24 * time.Hour, short: 2 * time.Hour, scrape: 2 * time.Minute, eval: 15 * time.Minute, maxLag: 15 * time.Minute},
	{long: 72 * time.Hour, short: 6 * time.Hour, scrape: 2 * time.Minute, eval: 30 * time.Minute, maxLag: 30 * time.Minute},
}

// agreeBase is a small, steady cluster without errors or slow requests of
// its own, so that the read SLI's burn rate is exactly what a fault injects
// and the mixin's sum of read and write equals the read burn rate.
func agreeBase(p agreePair, d time.Duration) synth.Cluster {
	return synth.Cluster{
		Instances:        1,
		Resources:        1,
		Verbs:            []string{"LIST", "GET", "POST"},
		Subresources:     []string{""},
		Codes:            []string{"500"},
		ScrapeInterval:   p.scrape,
		Duration:         d,
		Flat:             true,
		Fractional:       true,
		FreshStart:       true,
		ErrorRatio:       -1,
		ClientErrorRatio: -1,
		SlowRatio:        -1,
	}
}

var readVerbs = synth.Selector{Verbs: []string{"LIST", "GET"}}

func readErrors(ratio float64, from, to time.Duration) synth.Fault {
	return synth.Fault{Kind: synth.FaultErrors, Match: readVerbs, Ratio: min(ratio, 1), From: from, To: to}
}

// transition is a change of an alert's firing state at an evaluation step.
type transition struct {
	at     time.Duration // from the start
	firing bool
}

// firingTransitions lists, per window pair ("1h/5m"), when alerts of that
// pair start and stop firing (any SLI: the mixin's alert has no verb).
func firingTransitions(tr *synth.Trace, s *slo.Spec) map[string][]transition {
	out := map[string][]transition{}
	start := tr.Steps[0].Time
	for _, w := range s.Alert.Windows {
		key := fmt.Sprintf("%s/%s", w.Long, w.Short)
		was := false
		for _, st := range tr.Steps {
			now := false
			for _, a := range st.Alerts {
				if a.State == "firing" && strings.Contains(a.Labels, fmt.Sprintf("long=%q", w.Long.String())) &&
					strings.Contains(a.Labels, fmt.Sprintf("short=%q", w.Short.String())) {
					now = true
				}
			}
			if now != was {
				out[key] = append(out[key], transition{at: st.Time.Sub(start), firing: now})
				was = now
			}
		}
	}
	return out
}

func TestOptimizedAgreesWithMixin(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: both profiles on simulated clusters for days; make check runs it")
	}
	dir := t.TempDir()
	optimized, mixin := writeRules(t, dir, slomodel.ProfileOptimized), writeRules(t, dir, slomodel.ProfileMixin)
	s := slo.Default()
	type scenario struct {
		name string
		pair int
		// length of the scenario in units of the pair's long window
		span    float64
		cluster func(c synth.Cluster, p agreePair, theta float64) synth.Cluster
		// mixinSilent: the mixin is known wrong here; the optimized profile
		// must fire for pair `pair` and the mixin must not.
		mixinSilent bool
		// mixinOnly: the mixin adds the SLIs' burn rates; here only it may
		// fire for pair `pair`.
		mixinOnly bool
		// steady is the scenario's constant burn rate relative to the
		// pair's threshold, if it has one; pairs whose own threshold lies
		// within 5% of it are on a knife's edge and not compared.
		steady float64
	}
	var scenarios []scenario
	for i, w := range s.Alert.Windows {
		for _, k := range []float64{0.5, 0.9, 1.1, 2, 10} {
			scenarios = append(scenarios, scenario{
				name: fmt.Sprintf("steady %gx of %s/%s", k, w.Long, w.Short), pair: i, span: 1.25, steady: k,
				cluster: func(c synth.Cluster, p agreePair, theta float64) synth.Cluster {
					c.Faults = append(c.Faults, readErrors(k*theta, 0, 0))
					return c
				},
			})
		}
	}
	scenarios = append(scenarios,
		scenario{name: "step up to 3x, then down", pair: 0, span: 3, cluster: func(c synth.Cluster, p agreePair, theta float64) synth.Cluster {
			c.Faults = append(c.Faults, readErrors(3*theta, p.long/2, 2*p.long))
			return c
		}},
		scenario{name: "a 3-minute spike of 100% errors", pair: 0, span: 2, cluster: func(c synth.Cluster, p agreePair, theta float64) synth.Cluster {
			c.Faults = append(c.Faults, readErrors(1, p.long, p.long+3*time.Minute))
			return c
		}},
		scenario{name: "apiserver restart with counter resets during a 2x burn", pair: 1, span: 2, cluster: func(c synth.Cluster, p agreePair, theta float64) synth.Cluster {
			c.Faults = append(c.Faults, readErrors(2*theta, p.long/2, 0),
				synth.Fault{Kind: synth.FaultCounterReset, From: p.long})
			return c
		}},
		scenario{name: "traffic varying 10x over a day, 2x burn for 6h", pair: 2, span: 1.5, cluster: func(c synth.Cluster, p agreePair, theta float64) synth.Cluster {
			c.Flat = false
			c.Diurnal = 9.0 / 11 // peak (1+a) is 10x the trough (1-a)
			c.Drift, c.Noise, c.Spread = -1, -1, -1
			c.Faults = append(c.Faults, readErrors(2*theta, 12*time.Hour, 18*time.Hour))
			return c
		}},
		scenario{name: "slow reads and no 5xx series: only the optimized profile fires", pair: 0, span: 1.5, mixinSilent: true,
			cluster: func(c synth.Cluster, p agreePair, theta float64) synth.Cluster {
				c.Faults = append(c.Faults, synth.Fault{Kind: synth.FaultSlow, Match: readVerbs, Ratio: 2 * theta})
				c.Omissions = append(c.Omissions, synth.Omission{Metrics: []string{synth.MetricRequestTotal}, Codes: []string{"5xx"}})
				return c
			}},
		scenario{name: "read and write each at 0.6x: only the mixin's sum fires", pair: 0, span: 1.5, mixinOnly: true,
			cluster: func(c synth.Cluster, p agreePair, theta float64) synth.Cluster {
				c.Faults = append(c.Faults, synth.Fault{Kind: synth.FaultErrors, Ratio: 0.6 * theta})
				return c
			}},
	)
	lags := map[string]time.Duration{}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			p := agreePairs[sc.pair]
			w := s.Alert.Windows[sc.pair]
			theta := w.Factor * slomodel.ErrorBudget(s.Objective)
			d := time.Duration(sc.span*float64(p.long)) + time.Duration(w.For) + 2*p.short
			c := sc.cluster(agreeBase(p, d.Truncate(p.scrape)), p, theta)
			opts := synth.EvalOptions{Interval: p.eval}
			ctx := context.Background()
			var mix *synth.Trace
			var merr error
			done := make(chan struct{})
			go func() { defer close(done); mix, merr = synth.Evaluate(ctx, mixin, c, opts) }()
			opt, oerr := synth.Evaluate(ctx, optimized, c, opts)
			<-done
			if merr != nil || oerr != nil {
				t.Fatalf("evaluation failed: mixin %v, optimized %v", merr, oerr)
			}
			mt, ot := firingTransitions(mix, s), firingTransitions(opt, s)
			key := fmt.Sprintf("%s/%s", w.Long, w.Short)
			if sc.mixinSilent {
				if len(mt[key]) != 0 || len(ot[key]) == 0 || !ot[key][0].firing {
					t.Fatalf("%s: want the optimized profile to fire and the mixin to stay silent; mixin %v, optimized %v", key, mt[key], ot[key])
				}
				return
			}
			if sc.mixinOnly {
				if len(ot[key]) != 0 || len(mt[key]) == 0 {
					t.Fatalf("%s: want only the mixin (adding read and write) to fire; mixin %v, optimized %v", key, mt[key], ot[key])
				}
				return
			}
			for i, pw := range s.Alert.Windows {
				k := fmt.Sprintf("%s/%s", pw.Long, pw.Short)
				if x := min(sc.steady*theta, 1) / (pw.Factor * slomodel.ErrorBudget(s.Objective)); x > 0.95 && x < 1.05 {
					t.Logf("%s: not compared, its threshold is within 5%% of the steady burn rate", k)
					continue
				}
				m, o := mt[k], ot[k]
				if len(m) != len(o) {
					t.Errorf("%s: the mixin changes state %d times %v, the optimized profile %d times %v", k, len(m), m, len(o), o)
					continue
				}
				bound := max(agreePairs[i].maxLag, p.eval)
				for j := range m {
					lag := o[j].at - m[j].at
					if m[j].firing != o[j].firing || lag < -bound || lag > bound {
						t.Errorf("%s: transition %d: mixin %v at %v, optimized %v at %v (lag %v, allowed %v)", k, j, m[j].firing, m[j].at, o[j].firing, o[j].at, lag, bound)
					}
					lags[k] = max(lags[k], lag.Abs())
				}
			}
			if len(mt[key]) == 0 && sc.steady == 2 {
				t.Errorf("%s never fired at 2x its threshold", key)
			}
		})
	}
	t.Logf("largest lag per pair: %v", lags)
}
