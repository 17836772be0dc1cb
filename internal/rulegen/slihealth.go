package rulegen

import (
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// sliHealth builds the SLI-health alerts of a spec with a service: per SLO,
// one alert rule per way its inputs can break while events flow. Each is
// "events flow" unless "the input is there", so an idle service stays
// silent.
func (o optimized) sliHealth() ([]rulefmt.Rule, error) {
	var l ruleList
	cl := o.ClusterLabel
	by := []string{cl}
	rateOf := func(metric string, ms pql.Sel, by []string) parser.Expr {
		return pql.SumBy(by, pql.Call("rate", pql.Range(pql.Vec(metric, ms), o.BaseWindow)))
	}
	present := func(metric string, ms pql.Sel, by []string) parser.Expr {
		return pql.SumBy(by, pql.Vec(metric, ms))
	}
	flowing := func(e parser.Expr) parser.Expr { return pql.Bin(parser.GTR, e, pql.Num(0)) }
	unless := func(l, r parser.Expr, on []string) parser.Expr {
		return onMatching(parser.LUNLESS, l, r, parser.CardManyToMany, on)
	}
	add := func(i int, problem string, th slo.Threshold, e parser.Expr) {
		labels, annotations := o.HealthAlert(i, problem, th)
		l.alert(rulefmt.Rule{Alert: o.HealthAlertName(), For: model.Duration(slomodel.HealthFor), Labels: labels, Annotations: annotations}, e)
	}
	none := slo.Threshold{}
	for i, s := range o.SLOs {
		sli := o.SLIs[i]
		if s.Kind == slo.KindRaw {
			// Raw queries are the user's: burnrate cannot know which series
			// they should find or what else measures the same traffic, so
			// it checks only that they agree with each other while the
			// errors query has events (an idle service, or one with no
			// errors, says nothing).
			errs, total := pql.SumBy(by, sli.RawErrors), pql.SumBy(by, sli.RawTotal)
			add(i, slomodel.ProblemNoTotal, none, unless(flowing(errs), total, by))
			add(i, slomodel.ProblemErrorsExceedTotal, none,
				onMatching(parser.GTR, pql.SumBy(by, sli.RawErrors), pql.Bin(parser.MUL, pql.Num(1+slomodel.HealthTolerance), pql.SumBy(by, sli.RawTotal)), parser.CardOneToOne, by))
			continue
		}
		if s.Kind.HasErrors() && len(sli.Own) > 0 {
			add(i, slomodel.ProblemNoRequests, none,
				unless(flowing(rateOf(o.Counter, o.Service, by)), present(o.Counter, sli.Requests, by), by))
		}
		if !s.Kind.HasLatency() {
			continue
		}
		switch {
		case s.Kind.HasErrors():
			// The ratio divides slow requests from the histogram by requests
			// from the counter: both must be there and count the same.
			add(i, slomodel.ProblemNoHistogram, none,
				unless(flowing(rateOf(o.Counter, sli.Requests, by)), present(o.Count, sli.Latency, by), by))
			diff := pql.Call("abs", pql.Bin(parser.SUB, rateOf(o.Count, sli.Latency, by), rateOf(o.Counter, sli.Requests, by)))
			add(i, slomodel.ProblemCountDiverges, none,
				pql.Bin(parser.GTR, diff, pql.Bin(parser.MUL, pql.Num(slomodel.HealthTolerance), rateOf(o.Counter, sli.Requests, by))))
		case len(sli.Own) > 0:
			add(i, slomodel.ProblemNoHistogram, none,
				unless(flowing(rateOf(o.Count, o.Service.And(o.NonStreaming...), by)), present(o.Count, sli.Latency, by), by))
		}
		for _, t := range s.Latency {
			tby, ms := by, sli.Latency
			if len(t.Partition) > 0 {
				tby = []string{cl, o.Latency.PartitionLabel}
				ms = ms.And(pql.OneOf(o.Latency.PartitionLabel, t.Partition))
			}
			add(i, slomodel.ProblemBucketMissing, t,
				unless(flowing(rateOf(o.Count, ms, tby)), present(o.Bucket, ms.And(pql.Le(t.Seconds)), tby), tby))
		}
	}
	return l.rules, l.err
}
