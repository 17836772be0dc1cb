package rulegen

import (
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// HealthCheck is one way an SLO's inputs can break while events flow.
// Expr returns a series per cluster (per cluster and partition value for
// a partitioned threshold) where they are broken now: the SLI-health
// alert fires on it after slomodel.HealthFor, and diagnose reports it at
// once.
type HealthCheck struct {
	SLO     int    // the SLO's index in the spec
	Problem string // slomodel.Problem*
	// Threshold is the threshold whose bucket ProblemBucketMissing misses.
	Threshold slo.Threshold
	Expr      parser.Expr
}

// HealthChecks lists the SLI-health checks of SLO i, by its kind. Each is
// "events flow" unless "the input is there", so an idle service passes.
//
//   - raw: the total query has series while the errors query has events
//     (no-total), and the errors do not exceed the total by more than
//     slomodel.HealthTolerance (errors-exceed-total). The queries are the
//     user's: burnrate cannot know which series they should find.
//   - errors, errors-and-latency, with a selector of its own: the
//     service's counter has traffic and some series match the SLO
//     (no-requests).
//   - errors-and-latency: requests flow in the counter and the histogram
//     has series for the SLO (no-histogram), and its count is within the
//     tolerance of the counter's (count-diverges): the ratio divides slow
//     requests from the one by requests from the other.
//   - latency: the histogram has series for the SLO while requests flow
//     (no-histogram), by the request counter if the spec has one, and by
//     the service's histogram if the SLO has a selector of its own.
//     Without either nothing tells a histogram that is gone from a
//     service that serves nothing (a labelled histogram has no series
//     until its first observation).
//   - latency, errors-and-latency, classic histogram: per threshold (and
//     partition value), the bucket at the threshold is there while the
//     histogram counts events (bucket-missing).
//
// For a native histogram (latency.form native or nhcb) the histogram's
// count and presence are read from its one series (slomodel.LatencyTerms).
func HealthChecks(m *slomodel.Model, i int) []HealthCheck {
	cl := m.ClusterLabel
	by := []string{cl}
	rateOf := func(metric string, ms pql.Sel, by []string) parser.Expr {
		return pql.SumBy(by, pql.Call("rate", pql.Range(pql.Vec(metric, ms), m.BaseWindow)))
	}
	present := func(metric string, ms pql.Sel, by []string) parser.Expr {
		return pql.SumBy(by, pql.Vec(metric, ms))
	}
	flowing := func(e parser.Expr) parser.Expr { return pql.Bin(parser.GTR, e, pql.Num(0)) }
	unless := func(l, r parser.Expr, on []string) parser.Expr {
		return onMatching(parser.LUNLESS, l, r, parser.CardManyToMany, on)
	}
	var out []HealthCheck
	add := func(problem string, th slo.Threshold, e parser.Expr) {
		out = append(out, HealthCheck{SLO: i, Problem: problem, Threshold: th, Expr: e})
	}
	none := slo.Threshold{}
	s, sli := m.SLOs[i], m.SLIs[i]
	if s.Kind == slo.KindRaw {
		errs, total := pql.SumBy(by, sli.RawErrors), pql.SumBy(by, sli.RawTotal)
		add(slomodel.ProblemNoTotal, none, unless(flowing(errs), total, by))
		add(slomodel.ProblemErrorsExceedTotal, none,
			onMatching(parser.GTR, pql.SumBy(by, sli.RawErrors), pql.Bin(parser.MUL, pql.Num(1+slomodel.HealthTolerance), pql.SumBy(by, sli.RawTotal)), parser.CardOneToOne, by))
		return out
	}
	if s.Kind.HasErrors() && len(sli.Own) > 0 {
		add(slomodel.ProblemNoRequests, none,
			unless(flowing(rateOf(m.Counter, m.Service, by)), present(m.Counter, sli.Requests, by), by))
	}
	if !s.Kind.HasLatency() {
		return out
	}
	hist := slomodel.LatencyTerms{Model: m, Window: m.BaseWindow}
	if s.Kind.HasErrors() {
		add(slomodel.ProblemNoHistogram, none,
			unless(flowing(rateOf(m.Counter, sli.Requests, by)), hist.Present(sli.Latency, by), by))
		diff := pql.Call("abs", pql.Bin(parser.SUB, hist.Requests(sli.Latency, by), rateOf(m.Counter, sli.Requests, by)))
		add(slomodel.ProblemCountDiverges, none,
			pql.Bin(parser.GTR, diff, pql.Bin(parser.MUL, pql.Num(slomodel.HealthTolerance), rateOf(m.Counter, sli.Requests, by))))
	} else {
		var flows []parser.Expr
		if m.Counter != "" {
			flows = append(flows, flowing(rateOf(m.Counter, sli.Requests, by)))
		}
		if len(sli.Own) > 0 {
			flows = append(flows, flowing(hist.Requests(m.Service.And(m.NonStreaming...), by)))
		}
		if len(flows) > 0 {
			flow := flows[0]
			for _, f := range flows[1:] {
				flow = onMatching(parser.LOR, flow, f, parser.CardManyToMany, by)
			}
			if len(flows) > 1 {
				flow = pql.Paren(flow) // or binds looser than unless
			}
			add(slomodel.ProblemNoHistogram, none, unless(flow, hist.Present(sli.Latency, by), by))
		}
	}
	if m.Native {
		// A native histogram has no series per bound that could go
		// missing: histogram_fraction reads every bucket of the one
		// series, which no-histogram watches (slomodel.LatencyTerms).
		return out
	}
	for _, t := range s.Latency {
		tby, ms := by, sli.Latency
		if len(t.Partition) > 0 {
			tby = []string{cl, m.Latency.PartitionLabel}
			ms = ms.And(pql.OneOf(m.Latency.PartitionLabel, t.Partition))
		}
		add(slomodel.ProblemBucketMissing, t,
			unless(flowing(rateOf(m.Count, ms, tby)), present(m.Bucket, ms.And(pql.Le(t.Seconds)), tby), tby))
	}
	return out
}

// sliHealth builds the SLI-health alerts of a spec with a service: per
// SLO, one alert rule per health check (HealthChecks).
func (o optimized) sliHealth() ([]rulefmt.Rule, error) {
	var l ruleList
	for i := range o.SLOs {
		for _, c := range HealthChecks(o.Model, i) {
			labels, annotations := o.HealthAlert(i, c.Problem, c.Threshold)
			l.alert(rulefmt.Rule{Alert: o.HealthAlertName(), For: model.Duration(slomodel.HealthFor), Labels: labels, Annotations: annotations}, c.Expr)
		}
	}
	return l.rules, l.err
}
