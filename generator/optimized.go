package generator

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/slo"
)

// ProfileOptimized is the default profile: the mixin's SLIs and names, every
// window built from recorded base-window rates, and the fixes in spec.Fixes.
const ProfileOptimized = "optimized"

// Group intervals of the optimized profile. The burn-rate group holds the
// base-window records, the burn rates and the alerts, evaluated in that
// order, so an alert sees the burn rates of the same evaluation. The
// availability records move slowly and read 30 days; every 3m is plenty.
const (
	optimizedBurnInterval         = "1m"
	optimizedAvailabilityInterval = "3m"
)

// optSpec holds what the optimized rules need, parsed once.
type optSpec struct {
	*slo.Spec
	api, lat, errs sel
	req, latency   []sel // per SLO: the request and the latency selectors
	bw             time.Duration
	base           string // apiserver_request
	bucket, count  string
	// recorded series
	events, errors, slow, bad string
}

func newOptSpec(s *slo.Spec) (*optSpec, error) {
	o := &optSpec{Spec: s, bw: time.Duration(s.BaseWindow)}
	var err error
	if o.api, err = matchers("selector", s.Selector); err != nil {
		return nil, err
	}
	if o.lat, err = matchers("latency.selector", s.Latency.Selector); err != nil {
		return nil, err
	}
	if o.errs, err = matchers("requests.errors", s.Requests.Errors); err != nil {
		return nil, err
	}
	for i := range s.SLOs {
		ms, err := s.SLOSelector(i)
		if err != nil {
			return nil, fmt.Errorf("slos[%d].selector: %w", i, err)
		}
		latency := o.api.and(ms...).and(o.lat...)
		req := o.api.and(ms...)
		if s.Fixes.LatencySelectorEverywhere {
			req = latency
		}
		o.req = append(o.req, req)
		o.latency = append(o.latency, latency)
	}
	o.base = strings.TrimSuffix(s.Requests.Metric, "_total")
	o.bucket = s.Latency.Metric + "_bucket"
	o.count = s.Latency.Metric + "_count"
	prefix := s.ClusterLabel + "_" + s.SLILabel
	rate := ":rate" + s.BaseWindow.String()
	o.events = prefix + ":" + o.base + "_sli_events" + rate
	o.errors = prefix + ":" + o.base + "_sli_errors" + rate
	slowPrefix := prefix
	if s.Latency.PartitionLabel != "" {
		slowPrefix += "_" + s.Latency.PartitionLabel
	}
	o.slow = slowPrefix + ":" + o.base + "_sli_slow" + rate
	o.bad = prefix + ":" + o.base + "_sli_bad_events" + rate
	return o, nil
}

func optimizedRules(s *slo.Spec) (*RuleFile, error) {
	o, err := newOptSpec(s)
	if err != nil {
		return nil, err
	}
	return buildGroups([]groupBuilder{
		{"kube-apiserver-burnrate.rules", optimizedBurnInterval, o.burnrates},
		{"kube-apiserver-availability.rules", optimizedAvailabilityInterval, o.availability},
		{"kube-apiserver-histogram.rules", "", o.histograms},
	})
}

func (o *optSpec) sli(name string) map[string]string { return map[string]string{o.SLILabel: name} }

func (o *optSpec) mine(name string) sel { return sel{eq(o.SLILabel, name)} }

// zeroIfAbsent is `e or on(by) 0 * fallback` when the fix is on: where e has
// no series but fallback does, the result is 0 instead of nothing.
func (o *optSpec) zeroIfAbsent(e, fallback parser.Expr, by []string) parser.Expr {
	if !o.Fixes.AbsentAsZero {
		return e
	}
	return &parser.BinaryExpr{Op: parser.LOR, LHS: e, RHS: bin(parser.MUL, num(0), fallback),
		VectorMatching: &parser.VectorMatching{Card: parser.CardManyToMany, On: true, MatchingLabels: by}}
}

// windows lists every long and short window, shortest first.
func (o *optSpec) windows() []slo.Duration {
	out := o.Spec.Windows()
	slices.Sort(out)
	return out
}

func (o *optSpec) burnrates() ([]Rule, error) {
	var l ruleList
	cl := o.ClusterLabel
	by := []string{cl}
	rateOf := func(metric string, ms sel, by []string) parser.Expr {
		return sumBy(by, call("rate", rng(vec(metric, ms), o.bw)))
	}
	// Base-window rates per SLI: all requests, errors, slow requests per
	// partition value, and bad events (errors plus slow).
	for i, s := range o.SLOs {
		l.record(o.events, rateOf(o.Requests.Metric, o.req[i], by), o.sli(s.Name))
	}
	for i, s := range o.SLOs {
		errs := rateOf(o.Requests.Metric, o.req[i].and(o.errs...), by)
		l.record(o.errors, o.zeroIfAbsent(errs, vec(o.events, o.mine(s.Name)), by), o.sli(s.Name))
	}
	for i, s := range o.SLOs {
		var terms []parser.Expr
		for _, t := range s.Latency {
			tby, ms := by, o.latency[i]
			if len(t.Partition) > 0 {
				tby = []string{cl, o.Latency.PartitionLabel}
				ms = ms.and(oneOf(o.Latency.PartitionLabel, t.Partition))
			}
			total := rateOf(o.count, ms, tby)
			slow := bin(parser.SUB, total, rateOf(o.bucket, ms.and(le(t.Seconds)), tby))
			if o.Fixes.AbsentAsZero {
				// A missing bucket series counts no request as slow.
				slow = bin(parser.LOR, paren(slow), bin(parser.MUL, num(0), total))
			}
			terms = append(terms, slow)
		}
		union := terms[0]
		for _, t := range terms[1:] {
			union = bin(parser.LOR, union, t)
		}
		l.record(o.slow, union, o.sli(s.Name))
	}
	for _, s := range o.SLOs {
		slow := o.zeroIfAbsent(sumBy(by, vec(o.slow, o.mine(s.Name))), vec(o.events, o.mine(s.Name)), by)
		e := &parser.BinaryExpr{Op: parser.ADD, LHS: vec(o.errors, o.mine(s.Name)), RHS: paren(slow),
			VectorMatching: &parser.VectorMatching{Card: parser.CardOneToOne, On: true, MatchingLabels: by}}
		l.record(o.bad, e, o.sli(s.Name))
	}
	// Burn rates: the ratio of bad to all events over each window, from the
	// base-window rates (a ratio of sums, weighted by requests).
	for _, sw := range o.windows() {
		w := time.Duration(sw)
		var e parser.Expr = bin(parser.DIV, vec(o.bad, nil), vec(o.events, nil))
		if w != o.bw {
			e = bin(parser.DIV, call("sum_over_time", rng(vec(o.bad, nil), w)), call("sum_over_time", rng(vec(o.events, nil), w)))
		}
		l.record(o.base+":burnrate"+model.Duration(w).String(), e, nil)
	}
	// Alerts, in the same group so that they read this evaluation's burn rates.
	budget := errorBudget(o.Objective)
	on := []string{cl}
	if o.Fixes.AlertPerSLI {
		on = append(on, o.SLILabel)
	}
	for _, w := range o.Alert.Windows {
		threshold := paren(bin(parser.MUL, num(w.Factor), num(budget)))
		burn := func(d slo.Duration) parser.Expr {
			var e parser.Expr = vec(o.base+":burnrate"+d.String(), nil)
			if !o.Fixes.AlertPerSLI {
				e = sumBy(on, e)
			}
			return bin(parser.GTR, e, threshold)
		}
		l.alert(alertRule(o.Spec, w, o.Runbook.URLPattern), andOn(burn(w.Long), burn(w.Short), on))
	}
	return l.rules, l.err
}

func (o *optSpec) availability() ([]Rule, error) {
	var l ruleList
	cl := o.ClusterLabel
	period := time.Duration(o.Period)
	over := func(metric string) parser.Expr { return call("sum_over_time", rng(vec(metric, nil), period)) }
	name := o.base + ":availability" + o.Period.String()
	// Per SLI, then over every SLI: one minus bad over all events in the period.
	l.record(name, bin(parser.SUB, num(1), paren(bin(parser.DIV, over(o.bad), over(o.events)))), nil)
	all := bin(parser.DIV, sumBy([]string{cl}, over(o.bad)), sumBy([]string{cl}, over(o.events)))
	l.record(name, bin(parser.SUB, num(1), paren(all)), o.sli(mixinAllSLIs))
	// The share of the period's error budget left: 1 at no errors, 0 when
	// spent, negative beyond.
	budget := errorBudget(o.Objective)
	remaining := bin(parser.SUB, num(1), bin(parser.DIV, paren(bin(parser.SUB, num(1), vec(name, nil))), num(budget)))
	l.record(o.base+":error_budget_remaining"+o.Period.String(), remaining, nil)
	for i, s := range o.SLOs {
		e := sumBy([]string{cl, mixinCodeLabel, mixinResourceLabel}, call("rate", rng(vec(o.Requests.Metric, o.req[i]), 5*time.Minute)))
		l.record("code_resource:"+o.Requests.Metric+":rate5m", e, o.sli(s.Name))
	}
	return l.rules, l.err
}

func (o *optSpec) histograms() ([]Rule, error) {
	var l ruleList
	for i, s := range o.SLOs {
		rate := call("rate", rng(vec(o.bucket, o.latency[i]), 5*time.Minute))
		q := call("histogram_quantile", num(mixinQuantile), sumBy([]string{o.ClusterLabel, "le", mixinResourceLabel}, rate))
		lbls := o.sli(s.Name)
		lbls["quantile"] = strconv.FormatFloat(mixinQuantile, 'f', -1, 64)
		l.record("cluster_quantile:"+o.Latency.Metric+":histogram_quantile", bin(parser.GTR, q, num(0)), lbls)
	}
	return l.rules, l.err
}

// errorBudget is 1 - objective computed in decimal, so that 0.99 gives 0.01
// and not 0.010000000000000009.
func errorBudget(objective float64) float64 {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(objective, 'g', -1, 64))
	if !ok {
		return 1 - objective
	}
	f, _ := new(big.Rat).Sub(big.NewRat(1, 1), r).Float64()
	return f
}
