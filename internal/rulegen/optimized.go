package rulegen

import (
	"maps"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// Group intervals of the optimized profile. The burn-rate group holds the
// base-window records, the burn rates and the alerts, evaluated in that
// order, so an alert sees the burn rates of the same evaluation. The
// availability records move slowly and read 30 days; every 3m is plenty.
//
// The per-resource p99 kept for the mixin's dashboard reads every bucket
// series over 5m, most of what the rules read, so it is recorded every 5m,
// its own rate window: each raw sample is read once instead of five times.
// Prometheus evaluates a group at its interval, at a fixed offset within it
// (rules/group.go, Group.EvalTimestamp), and an instant read looks back 5m
// (the default lookback delta), so the dashboard's panels, which read the
// record as it is, still find a value at every step; what they lose is
// resolution: one p99 per 5 minutes (of the 5 minutes before) where there
// was one a minute, so a spike shows up to 5 minutes later and a panel's
// line is a staircase (TestQuantileRecordFeedsDashboards).
const (
	optimizedBurnInterval         = model.Duration(time.Minute)
	optimizedAvailabilityInterval = model.Duration(3 * time.Minute)
	optimizedQuantileInterval     = model.Duration(quantileWindow)
)

// quantileWindow is the rate window of the p99 record, the mixin's.
const quantileWindow = 5 * time.Minute

// optimized renders the optimized profile's rules from the model.
type optimized struct{ *slomodel.Model }

// optimizedGroups are the groups, named after the spec (<name>-burnrate.rules,
// …; the embedded spec's name, kube-apiserver, gives the mixin's group
// names). A spec with a service gets the SLI-health alerts and no
// apiserver dashboard records (per-resource request rates and quantiles).
func optimizedGroups(m *slomodel.Model) []groupBuilder {
	o := optimized{m}
	groups := []groupBuilder{
		{m.Name + "-burnrate.rules", optimizedBurnInterval, o.burnrates},
		{m.Name + "-availability.rules", optimizedAvailabilityInterval, o.availability},
	}
	if m.Identity {
		groups = append(groups, groupBuilder{m.Name + "-sli-health.rules", optimizedBurnInterval, o.sliHealth})
	} else {
		groups = append(groups, groupBuilder{m.Name + "-histogram.rules", optimizedQuantileInterval, o.histograms})
	}
	return groups
}

// mine selects SLI i's recorded series.
func (o optimized) mine(i int) pql.Sel { return o.SLIs[i].Ident }

// onMatching is e1 <op> on(labels) e2.
func onMatching(op parser.ItemType, l, r parser.Expr, card parser.VectorMatchCardinality, on []string) *parser.BinaryExpr {
	return &parser.BinaryExpr{Op: op, LHS: l, RHS: r,
		VectorMatching: &parser.VectorMatching{Card: card, On: true, MatchingLabels: on}}
}

// zeroIfAbsent is `e or on(by) 0 * fallback` when the profile counts absent
// series as zero: where e has no series but fallback does, the result is 0
// instead of nothing.
func (o optimized) zeroIfAbsent(e, fallback parser.Expr, by []string) parser.Expr {
	if !o.Profile.AbsentAsZero {
		return e
	}
	return &parser.BinaryExpr{Op: parser.LOR, LHS: e, RHS: pql.Bin(parser.MUL, pql.Num(0), fallback),
		VectorMatching: &parser.VectorMatching{Card: parser.CardManyToMany, On: true, MatchingLabels: by}}
}

func (o optimized) burnrates() ([]rulefmt.Rule, error) {
	var l ruleList
	cl := o.ClusterLabel
	by := []string{cl}
	rateOf := func(metric string, ms pql.Sel, by []string) parser.Expr {
		return pql.SumBy(by, pql.Call("rate", pql.Range(pql.Vec(metric, ms), o.BaseWindow)))
	}
	// Base-window rates per SLI: all events (requests of the counter, or of
	// the histogram for kind latency), errors, slow requests (per partition
	// value) and bad events (errors plus slow). When the base window is the
	// 5m of the per-code request rates kept for the apiserver's dashboards,
	// those are recorded first and all requests and errors are summed from
	// them, so that the raw counter is read once per evaluation.
	fromRates := o.requestRatesInBurnGroup()
	if fromRates {
		o.requestRates(&l)
	}
	hist := slomodel.LatencyTerms{Model: o.Model, Window: o.BaseWindow}
	requests := func(i int, more ...*labels.Matcher) parser.Expr {
		if fromRates {
			return pql.SumBy(by, pql.Vec(o.RequestRateRecord, o.mine(i).And(more...)))
		}
		return rateOf(o.Counter, o.SLIs[i].Requests.And(more...), by)
	}
	for i, s := range o.SLOs {
		switch {
		case s.Kind == slo.KindRaw:
			// The user's query, summed by the cluster label: the record's
			// identity comes from its labels, not from the query's series.
			l.record(o.EventsRecord, pql.SumBy(by, o.SLIs[i].RawTotal), o.SLILabels(s.Name))
		case s.Kind.HasErrors():
			l.record(o.EventsRecord, requests(i), o.SLILabels(s.Name))
		default:
			l.record(o.EventsRecord, hist.Requests(o.SLIs[i].Latency, by), o.SLILabels(s.Name))
		}
	}
	for i, s := range o.SLOs {
		if !s.Kind.HasErrors() {
			continue
		}
		var errs parser.Expr
		if s.Kind == slo.KindRaw {
			errs = pql.SumBy(by, o.SLIs[i].RawErrors)
		} else {
			errs = requests(i, o.Errors...)
		}
		l.record(o.ErrorsRecord, o.zeroIfAbsent(errs, pql.Vec(o.EventsRecord, o.mine(i)), by), o.SLILabels(s.Name))
	}
	for i, s := range o.SLOs {
		if !s.Kind.HasLatency() {
			continue
		}
		var terms []parser.Expr
		for _, t := range s.Latency {
			tby, ms := by, o.SLIs[i].Latency
			if len(t.Partition) > 0 {
				tby = []string{cl, o.Latency.PartitionLabel}
				ms = ms.And(pql.OneOf(o.Latency.PartitionLabel, t.Partition))
			}
			// A missing bucket series leaves this term out, and the bad
			// events below count no request of it as slow (the SLI-health
			// alert reports it, for a spec with a service): their sum over
			// the terms, or 0 where there is none, is what a term of 0
			// would give, without reading the histogram's count twice.
			// (A native histogram has no bucket series; see
			// slomodel.LatencyTerms for its slow requests.)
			terms = append(terms, hist.Slow(ms, t, tby))
		}
		union := terms[0]
		for _, t := range terms[1:] {
			union = pql.Bin(parser.LOR, union, t)
		}
		l.record(o.SlowRecord, union, o.SLILabels(s.Name))
	}
	join := o.JoinOn()
	for i, s := range o.SLOs {
		var e parser.Expr
		switch {
		case s.Kind == slo.KindErrors || s.Kind == slo.KindRaw:
			e = pql.Vec(o.ErrorsRecord, o.mine(i))
		case s.Kind == slo.KindLatency:
			e = o.zeroIfAbsent(pql.SumBy(join, pql.Vec(o.SlowRecord, o.mine(i))), pql.Vec(o.EventsRecord, o.mine(i)), join)
		default:
			slow := o.zeroIfAbsent(pql.SumBy(join, pql.Vec(o.SlowRecord, o.mine(i))), pql.Vec(o.EventsRecord, o.mine(i)), join)
			e = onMatching(parser.ADD, pql.Vec(o.ErrorsRecord, o.mine(i)), pql.Paren(slow), parser.CardOneToOne, join)
		}
		l.record(o.BadRecord, e, o.SLILabels(s.Name))
	}
	// Sums of bad and all events over the long windows, staged (stages.go).
	o.stageRecords(&l, o.stagePlan().burn)
	// Burn rates: the ratio of bad to all events over each window, from the
	// base-window rates (a ratio of sums, weighted by requests).
	for _, sw := range o.WindowsShortestFirst() {
		w := time.Duration(sw)
		bad, events := pql.Vec(o.BadRecord, o.Own), pql.Vec(o.EventsRecord, o.Own)
		var e parser.Expr = pql.Bin(parser.DIV, bad, events)
		if w != o.BaseWindow {
			e = pql.Bin(parser.DIV, o.windowSum(o.BadRecord, w), o.windowSum(o.EventsRecord, w))
		}
		l.record(o.BurnRateRecord(sw), e, nil)
	}
	// Alerts, in the same group so that they read this evaluation's burn rates.
	on := o.AlertOn()
	if o.Identity {
		// One alert per SLO and pair, each at the SLO's own threshold and
		// reading its own burn rates only.
		for _, w := range o.Alert.Windows {
			for i, s := range o.SLOs {
				threshold := pql.Paren(pql.Bin(parser.MUL, pql.Num(o.ThresholdFactor(w)), pql.Num(o.SLIs[i].Budget)))
				burn := func(d slo.Duration) parser.Expr {
					return pql.Bin(parser.GTR, pql.Vec(o.BurnRateRecord(d), o.mine(i)), threshold)
				}
				// The identity labels in the rule too: the series carry them
				// already, and without them promtool's lint sees one rule per
				// SLO with the same name and labels as duplicates.
				r := o.AlertRule(w)
				maps.Copy(r.Labels, o.SLILabels(s.Name))
				l.alert(r, o.guarded(pql.AndOn(burn(w.Long), burn(w.Short), on), w, o.mine(i), on, false))
			}
		}
		return l.rules, l.err
	}
	for _, w := range o.Alert.Windows {
		threshold := pql.Paren(pql.Bin(parser.MUL, pql.Num(o.ThresholdFactor(w)), pql.Num(o.Budget)))
		burn := func(d slo.Duration) parser.Expr {
			var e parser.Expr = pql.Vec(o.BurnRateRecord(d), nil)
			if !o.Profile.AlertPerSLI {
				e = pql.SumBy(on, e)
			}
			return pql.Bin(parser.GTR, e, threshold)
		}
		l.alert(o.AlertRule(w), o.guarded(pql.AndOn(burn(w.Long), burn(w.Short), on), w, nil, on, !o.Profile.AlertPerSLI))
	}
	return l.rules, l.err
}

// guarded is alert expression e of pair w with the low-traffic guard
// (alert.minRequests) when it is on: `e and on(on) <events in w's short
// window> >= minRequests`, the events of the series of the events record
// that sel selects, summed by on when sum (the alert on the sum of the
// SLIs' burn rates). Without the guard, e as it is.
//
// The events in the short window come from the records the burn rate
// divides by, read at the burn-rate group's interval (1m): over the base
// window, the base rate times its seconds; over a longer window, the sum of
// the base rates recorded in it (windowSum: one a minute, each the
// per-second rate of the base window before it) times the interval's 60
// seconds, which for steady traffic is the requests of the window. Missed
// evaluations make it smaller, never larger, so a gap in the records holds
// the alert back rather than letting low traffic page.
//
// PromQL (Prometheus v0.316.0, promql/engine.go): a comparison without
// bool keeps the vector's samples for which it holds, with their values
// (VectorscalarBinop, vectorElemBinop), and `and on(on)` keeps the samples
// of its left side that have a right-side sample with the same on labels
// (VectorAnd), so the alert keeps its labels and its value, the long
// window's burn rate, and each SLI is joined with its own traffic only.
func (o optimized) guarded(e parser.Expr, w slo.Window, sel pql.Sel, on []string, sum bool) parser.Expr {
	n := o.Alert.MinRequests
	if n <= 0 {
		return e
	}
	short := time.Duration(w.Short)
	var perSecond parser.Expr = pql.Vec(o.EventsRecord, sel)
	seconds := short.Seconds()
	if short != o.BaseWindow {
		perSecond = o.windowSumOf(o.EventsRecord, short, sel)
		seconds = time.Duration(optimizedBurnInterval).Seconds()
	}
	if sum {
		perSecond = pql.SumBy(on, perSecond)
	}
	events := pql.Bin(parser.MUL, perSecond, pql.Num(seconds))
	return pql.AndOn(e, pql.Bin(parser.GTE, events, pql.Num(n)), on)
}

func (o optimized) availability() ([]rulefmt.Rule, error) {
	var l ruleList
	cl := o.ClusterLabel
	period := time.Duration(o.Period)
	// The period's sums, staged (stages.go), unless an alert window already
	// records them in the burn-rate group.
	if p := o.stagePlan().period; p != 0 {
		o.stageRecords(&l, []time.Duration{p})
	}
	over := func(metric string) parser.Expr { return o.windowSum(metric, period) }
	name := o.AvailabilityRecord
	// Per SLI, then over every SLI: one minus bad over all events in the period.
	l.record(name, pql.Bin(parser.SUB, pql.Num(1), pql.Paren(pql.Bin(parser.DIV, over(o.BadRecord), over(o.EventsRecord)))), nil)
	if o.Identity {
		// Per SLO only (SLOs of different kinds count different events, so
		// no sum over them), and each SLO's budget at its own objective.
		for i, s := range o.SLOs {
			spent := pql.Paren(pql.Bin(parser.SUB, pql.Num(1), pql.Vec(name, o.mine(i))))
			l.record(o.BudgetRecord, pql.Bin(parser.SUB, pql.Num(1), pql.Bin(parser.DIV, spent, pql.Num(o.SLIs[i].Budget))), o.SLILabels(s.Name))
		}
		return l.rules, l.err
	}
	all := pql.Bin(parser.DIV, pql.SumBy([]string{cl}, over(o.BadRecord)), pql.SumBy([]string{cl}, over(o.EventsRecord)))
	l.record(name, pql.Bin(parser.SUB, pql.Num(1), pql.Paren(all)), o.SLILabels(slomodel.AllSLIs))
	// The share of the period's error budget left: 1 at no errors, 0 when
	// spent, negative beyond.
	if o.Profile.RecordsBudgetRemaining {
		remaining := pql.Bin(parser.SUB, pql.Num(1), pql.Bin(parser.DIV, pql.Paren(pql.Bin(parser.SUB, pql.Num(1), pql.Vec(name, nil))), pql.Num(o.Budget)))
		l.record(o.BudgetRecord, remaining, nil)
	}
	if !o.requestRatesInBurnGroup() {
		o.requestRates(&l)
	}
	return l.rules, l.err
}

// requestRateWindow is the window of the per-code request rates kept for
// dashboards (code_resource:apiserver_request_total:rate5m).
const requestRateWindow = 5 * time.Minute

// requestRatesInBurnGroup: the per-code request rates are recorded in the
// burn-rate group, and the base records summed from them, when the base
// window is theirs; otherwise they stay in the availability group.
//
// Only for a spec without service (the apiserver's dashboards read these
// records; a service gets none) whose errors are matchers on the code
// label, the only one besides the resource that the per-code rates keep.
func (o optimized) requestRatesInBurnGroup() bool {
	if o.Identity || o.BaseWindow != requestRateWindow {
		return false
	}
	for _, m := range o.Errors {
		if m.Name != mixinCodeLabel {
			return false
		}
	}
	return true
}

// requestRates records, per SLI, the request rates by code and resource.
func (o optimized) requestRates(l *ruleList) {
	for i, s := range o.SLOs {
		e := pql.SumBy([]string{o.ClusterLabel, mixinCodeLabel, mixinResourceLabel}, pql.Call("rate", pql.Range(pql.Vec(o.Counter, o.SLIs[i].Requests), requestRateWindow)))
		l.record(o.RequestRateRecord, e, o.SLILabels(s.Name))
	}
}

func (o optimized) histograms() ([]rulefmt.Rule, error) {
	var l ruleList
	for i, s := range o.SLOs {
		var q parser.Expr
		if o.Native {
			q = slomodel.LatencyTerms{Model: o.Model, Window: quantileWindow}.Quantile(mixinQuantile, o.SLIs[i].Latency, []string{o.ClusterLabel, mixinResourceLabel})
		} else {
			rate := pql.Call("rate", pql.Range(pql.Vec(o.Bucket, o.SLIs[i].Latency), quantileWindow))
			q = pql.Call("histogram_quantile", pql.Num(mixinQuantile), pql.SumBy([]string{o.ClusterLabel, "le", mixinResourceLabel}, rate))
		}
		lbls := o.SLILabels(s.Name)
		lbls["quantile"] = strconv.FormatFloat(mixinQuantile, 'f', -1, 64)
		l.record(o.QuantileRecord, pql.Bin(parser.GTR, q, pql.Num(0)), lbls)
	}
	return l.rules, l.err
}
