package generator

import (
	"math/big"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/slo"
)

// Group intervals of the optimized profile. The burn-rate group holds the
// base-window records, the burn rates and the alerts, evaluated in that
// order, so an alert sees the burn rates of the same evaluation. The
// availability records move slowly and read 30 days; every 3m is plenty.
const (
	optimizedBurnInterval         = model.Duration(time.Minute)
	optimizedAvailabilityInterval = model.Duration(3 * time.Minute)
)

// optimized renders the optimized profile's rules from the model.
type optimized struct{ *Model }

func optimizedRules(m *Model) ([]rulefmt.RuleGroup, error) {
	o := optimized{m}
	return buildGroups([]groupBuilder{
		{"kube-apiserver-burnrate.rules", optimizedBurnInterval, o.burnrates},
		{"kube-apiserver-availability.rules", optimizedAvailabilityInterval, o.availability},
		{"kube-apiserver-histogram.rules", 0, o.histograms},
	})
}

func (o optimized) mine(name string) sel { return sel{eq(o.SLILabel, name)} }

// zeroIfAbsent is `e or on(by) 0 * fallback` when the profile counts absent
// series as zero: where e has no series but fallback does, the result is 0
// instead of nothing.
func (o optimized) zeroIfAbsent(e, fallback parser.Expr, by []string) parser.Expr {
	if !o.Profile.AbsentAsZero {
		return e
	}
	return &parser.BinaryExpr{Op: parser.LOR, LHS: e, RHS: bin(parser.MUL, num(0), fallback),
		VectorMatching: &parser.VectorMatching{Card: parser.CardManyToMany, On: true, MatchingLabels: by}}
}

func (o optimized) burnrates() ([]rulefmt.Rule, error) {
	var l ruleList
	cl := o.ClusterLabel
	by := []string{cl}
	rateOf := func(metric string, ms sel, by []string) parser.Expr {
		return sumBy(by, call("rate", rng(vec(metric, ms), o.BaseWindow)))
	}
	// Base-window rates per SLI: all requests, errors, slow requests per
	// partition value, and bad events (errors plus slow).
	for i, s := range o.SLOs {
		l.record(o.EventsRecord, rateOf(o.Counter, o.SLIs[i].Requests, by), o.SLILabels(s.Name))
	}
	for i, s := range o.SLOs {
		errs := rateOf(o.Counter, o.SLIs[i].Requests.and(o.Errors...), by)
		l.record(o.ErrorsRecord, o.zeroIfAbsent(errs, vec(o.EventsRecord, o.mine(s.Name)), by), o.SLILabels(s.Name))
	}
	for i, s := range o.SLOs {
		var terms []parser.Expr
		for _, t := range s.Latency {
			tby, ms := by, o.SLIs[i].Latency
			if len(t.Partition) > 0 {
				tby = []string{cl, o.Latency.PartitionLabel}
				ms = ms.and(oneOf(o.Latency.PartitionLabel, t.Partition))
			}
			total := rateOf(o.Count, ms, tby)
			slow := bin(parser.SUB, total, rateOf(o.Bucket, ms.and(le(t.Seconds)), tby))
			if o.Profile.AbsentAsZero {
				// A missing bucket series counts no request as slow.
				slow = bin(parser.LOR, paren(slow), bin(parser.MUL, num(0), total))
			}
			terms = append(terms, slow)
		}
		union := terms[0]
		for _, t := range terms[1:] {
			union = bin(parser.LOR, union, t)
		}
		l.record(o.SlowRecord, union, o.SLILabels(s.Name))
	}
	for _, s := range o.SLOs {
		slow := o.zeroIfAbsent(sumBy(by, vec(o.SlowRecord, o.mine(s.Name))), vec(o.EventsRecord, o.mine(s.Name)), by)
		e := &parser.BinaryExpr{Op: parser.ADD, LHS: vec(o.ErrorsRecord, o.mine(s.Name)), RHS: paren(slow),
			VectorMatching: &parser.VectorMatching{Card: parser.CardOneToOne, On: true, MatchingLabels: by}}
		l.record(o.BadRecord, e, o.SLILabels(s.Name))
	}
	// Burn rates: the ratio of bad to all events over each window, from the
	// base-window rates (a ratio of sums, weighted by requests).
	for _, sw := range o.WindowsShortestFirst() {
		w := time.Duration(sw)
		var e parser.Expr = bin(parser.DIV, vec(o.BadRecord, nil), vec(o.EventsRecord, nil))
		if w != o.BaseWindow {
			e = bin(parser.DIV, call("sum_over_time", rng(vec(o.BadRecord, nil), w)), call("sum_over_time", rng(vec(o.EventsRecord, nil), w)))
		}
		l.record(o.BurnRateRecord(sw), e, nil)
	}
	// Alerts, in the same group so that they read this evaluation's burn rates.
	on := o.AlertOn()
	for _, w := range o.Alert.Windows {
		threshold := paren(bin(parser.MUL, num(o.ThresholdFactor(w)), num(o.Budget)))
		burn := func(d slo.Duration) parser.Expr {
			var e parser.Expr = vec(o.BurnRateRecord(d), nil)
			if !o.Profile.AlertPerSLI {
				e = sumBy(on, e)
			}
			return bin(parser.GTR, e, threshold)
		}
		l.alert(o.AlertRule(w), andOn(burn(w.Long), burn(w.Short), on))
	}
	return l.rules, l.err
}

func (o optimized) availability() ([]rulefmt.Rule, error) {
	var l ruleList
	cl := o.ClusterLabel
	period := time.Duration(o.Period)
	over := func(metric string) parser.Expr { return call("sum_over_time", rng(vec(metric, nil), period)) }
	name := o.AvailabilityRecord
	// Per SLI, then over every SLI: one minus bad over all events in the period.
	l.record(name, bin(parser.SUB, num(1), paren(bin(parser.DIV, over(o.BadRecord), over(o.EventsRecord)))), nil)
	all := bin(parser.DIV, sumBy([]string{cl}, over(o.BadRecord)), sumBy([]string{cl}, over(o.EventsRecord)))
	l.record(name, bin(parser.SUB, num(1), paren(all)), o.SLILabels(mixinAllSLIs))
	// The share of the period's error budget left: 1 at no errors, 0 when
	// spent, negative beyond.
	if o.Profile.RecordsBudgetRemaining {
		remaining := bin(parser.SUB, num(1), bin(parser.DIV, paren(bin(parser.SUB, num(1), vec(name, nil))), num(o.Budget)))
		l.record(o.BudgetRecord, remaining, nil)
	}
	for i, s := range o.SLOs {
		e := sumBy([]string{cl, mixinCodeLabel, mixinResourceLabel}, call("rate", rng(vec(o.Counter, o.SLIs[i].Requests), 5*time.Minute)))
		l.record(o.RequestRateRecord, e, o.SLILabels(s.Name))
	}
	return l.rules, l.err
}

func (o optimized) histograms() ([]rulefmt.Rule, error) {
	var l ruleList
	for i, s := range o.SLOs {
		rate := call("rate", rng(vec(o.Bucket, o.SLIs[i].Latency), 5*time.Minute))
		q := call("histogram_quantile", num(mixinQuantile), sumBy([]string{o.ClusterLabel, "le", mixinResourceLabel}, rate))
		lbls := o.SLILabels(s.Name)
		lbls["quantile"] = strconv.FormatFloat(mixinQuantile, 'f', -1, 64)
		l.record(o.QuantileRecord, bin(parser.GTR, q, num(0)), lbls)
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
