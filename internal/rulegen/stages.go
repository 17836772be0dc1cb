package rulegen

import (
	"slices"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/burnrate/burnrate/slo"
)

// The optimized profile builds every window from the base-window records,
// recorded at every evaluation of the burn-rate group (optimizedBurnInterval,
// 1m). The sum of a base record over window w at evaluation time t is the sum
// of its samples in (t-w, t] (range selectors are left-open since Prometheus
// 3: promql/engine.go, evaluator.matrixIterSlice, mint excluded). Reading that
// directly costs w/1m points per series: 4,320 for 3d, 43,200 for 30d.
//
// Long windows are staged instead. A stage record S_L holds the sum over L
// and is recorded at every evaluation, like the base records. The sum over
// w = n·L is then
//
//	S_L + S_L offset L + … + S_L offset (n-1)·L
//
// The term `S_L offset k·L` at t reads the sample of S_L at t-k·L exactly
// (t-k·L is itself an evaluation time of the group, since k·L is a whole
// number of intervals), which covers (t-(k+1)·L, t-k·L]: the terms tile
// (t-w, t] with no gap, no overlap and no lag at either edge, and every burn
// rate stays a ratio of sums. Each stage is built the same way from the next
// shorter one, the shortest from the base record, so no rule reads more
// than stageMaxTerms recorded points per series.
//
// Where S_L has no sample k·L ago (less history than the window: a fresh
// Prometheus, a new cluster), the term counts 0 (`or 0 * S_L`), as the
// sum over the base records counted only the samples that exist. A gap in
// the recorded history longer than the lookback delta (5m) at one of the
// offsets drops that whole term (up to L of history) until the offset has
// moved past the gap.

// stageMin is the shortest window recorded as a stage: shorter windows read
// at most 59 base samples directly.
const stageMin = time.Hour

// stageHelpers are stages added, shortest first and only while needed, when
// some stage or window would otherwise read more than stageMaxPoints
// recorded points per series: a spec whose windows stop at 30m gets 1h and
// 1d for its 30-day period (30 × 1d), a 365-day period 7d and 28d too.
var stageHelpers = []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 28 * 24 * time.Hour}

// stageMaxPoints bounds the recorded points per series that one stage or
// window reads where the helpers allow: the 1h stage's 60 base samples.
const stageMaxPoints = 60

// stagePlan lists the lengths of the staged sums, shortest first, and which
// of them the availability group records (the period, when no alert window
// is as long): the others are recorded in the burn-rate group.
type stagePlan struct {
	burn   []time.Duration
	period time.Duration // 0 when the period is a burn-rate stage or not staged
}

// stagePlan stages every window of stageMin or more and the period, with
// the helpers the bound needs.
func (o optimized) stagePlan() stagePlan {
	period := time.Duration(o.Period)
	windows := durations(o.WindowsShortestFirst())
	sums := slices.Clone(windows) // every window and the period, staged or not
	if !slices.Contains(sums, period) {
		sums = append(sums, period)
	}
	slices.Sort(sums)
	var stages []time.Duration
	for _, d := range sums {
		if d >= stageMin {
			stages = append(stages, d)
		}
	}
	for _, h := range stageHelpers {
		if h > sums[len(sums)-1] || slices.Contains(stages, h) || maxPoints(sums, stages) <= stageMaxPoints {
			continue
		}
		stages = append(stages, h)
		slices.Sort(stages)
	}
	p := stagePlan{burn: stages}
	if period >= stageMin && !slices.Contains(windows, period) {
		p.burn = slices.DeleteFunc(slices.Clone(stages), func(d time.Duration) bool { return d == period })
		p.period = period
	}
	return p
}

// maxPoints is the most recorded points per series that building any of
// sums or stages from the stages shorter than it reads: a stage term reads
// 1 (2 with its fallback), a direct piece one base sample per evaluation
// interval.
func maxPoints(sums, stages []time.Duration) int {
	most := 0
	for _, d := range slices.Concat(sums, stages) {
		n := 0
		for i, p := range decompose(d, shorter(stages, d)) {
			switch {
			case p.stage == 0:
				n += int(p.span / time.Duration(optimizedBurnInterval))
			case i == 0:
				n++
			default:
				n += 2
			}
		}
		most = max(most, n)
	}
	return most
}

// durations converts spec durations.
func durations(ws []slo.Duration) []time.Duration {
	out := make([]time.Duration, len(ws))
	for i, w := range ws {
		out[i] = time.Duration(w)
	}
	return out
}

// all lists every stage, shortest first.
func (p stagePlan) all() []time.Duration {
	if p.period == 0 {
		return p.burn
	}
	return append(slices.Clone(p.burn), p.period)
}

// piece is one term of a window's sum: stage record `stage` (or, when stage
// is 0, the base record summed over span) read offset by offset.
type piece struct {
	stage, span, offset time.Duration
}

// decompose splits window w into pieces, longest stage first, from the
// stages (shortest first) no longer than w; what no stage covers is read
// from the base record directly, oldest piece last. The pieces tile
// (t-w, t]: piece i covers (t-offset-len, t-offset].
func decompose(w time.Duration, stages []time.Duration) []piece {
	var out []piece
	off := time.Duration(0)
	for i := len(stages) - 1; i >= 0; i-- {
		for l := stages[i]; l <= w && off+l <= w; off += l {
			out = append(out, piece{stage: l, offset: off})
		}
	}
	if off < w {
		out = append(out, piece{span: w - off, offset: off})
	}
	return out
}

// stagedSum is the sum of base record rec over window w built from the
// stages shorter than or equal to w (see decompose); a term with no sample
// that long ago counts 0 where the newest term has one.
func (o optimized) stagedSum(rec string, w time.Duration, stages []time.Duration) parser.Expr {
	return o.stagedSumOf(rec, w, stages, o.Own)
}

// stagedSumOf is stagedSum of the series of rec that sel selects.
func (o optimized) stagedSumOf(rec string, w time.Duration, stages []time.Duration, sel pql.Sel) parser.Expr {
	ps := decompose(w, stages)
	term := func(p piece) parser.Expr {
		if p.stage != 0 {
			v := pql.Vec(o.SumRecord(rec, p.stage), sel)
			v.OriginalOffset = p.offset
			return v
		}
		v := pql.Vec(rec, sel)
		v.OriginalOffset = p.offset
		return pql.Call("sum_over_time", pql.Range(v, p.span))
	}
	terms := []parser.Expr{term(ps[0])}
	for _, p := range ps[1:] {
		terms = append(terms, pql.Paren(pql.Bin(parser.LOR, term(p), pql.Bin(parser.MUL, pql.Num(0), term(ps[0])))))
	}
	return pql.SumOf(terms...)
}

// shorter lists the stages strictly shorter than d.
func shorter(stages []time.Duration, d time.Duration) []time.Duration {
	i, _ := slices.BinarySearch(stages, d)
	return stages[:i]
}

// stageRecords records the stages, shortest first, each for bad events and
// for all events, from the stages of stagePlan.all shorter than it.
func (o optimized) stageRecords(l *ruleList, stages []time.Duration) {
	all := o.stagePlan().all()
	for _, d := range stages {
		for _, rec := range []string{o.BadRecord, o.EventsRecord} {
			l.record(o.SumRecord(rec, d), o.stagedSum(rec, d, shorter(all, d)), nil)
		}
	}
}

// windowSum is the sum of base record rec over window w: its stage record
// when w is a stage, else built from the stages no longer than w.
func (o optimized) windowSum(rec string, w time.Duration) parser.Expr {
	return o.windowSumOf(rec, w, o.Own)
}

// windowSumOf is windowSum of the series of rec that sel selects.
func (o optimized) windowSumOf(rec string, w time.Duration, sel pql.Sel) parser.Expr {
	all := o.stagePlan().all()
	if slices.Contains(all, w) {
		return pql.Vec(o.SumRecord(rec, w), sel)
	}
	return o.stagedSumOf(rec, w, shorter(all, w), sel)
}
