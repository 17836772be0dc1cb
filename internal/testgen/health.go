package testgen

import (
	"fmt"
	"maps"
	"math"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/burnrate/burnrate/internal/promtest"
	"github.com/burnrate/burnrate/internal/series"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// healthTests renders the SLI-health tests of a spec with a service: with
// every input there no SLI-health alert fires; with an input broken (a
// threshold bucket dropped, the histogram gone or counting other requests,
// the SLO's series relabelled out of its selector) the alert fires for the
// SLO and the problem that the input predicts, `for` after the breakage
// starts and not before. The expected alerts come from the input series
// (which selectors match them, at what rate), not from the rules.
//
// Every group holds every SLO's series, so that the SLOs not broken are
// seen to stay silent while events flow (with only a broken SLO's traffic
// the others would rightly fire no-requests). A group per breakage would
// make the file grow with the square of the SLOs; instead each group
// breaks as many SLOs as it can, each one way: the first breakage of every
// SLO, then the second, and so on (a breakage whose series would coincide
// with a series already in the group waits for a later group). The groups
// are as many as the most breakages of one SLO, and the file grows
// linearly.
func (t *tester) healthTests() (*promtest.File, error) {
	const (
		pending = 5 * time.Minute  // within `for`: nothing fires yet
		firing  = 20 * time.Minute // `for` after the first evaluation with a rate
	)
	all := map[int]load{}
	for i := range t.SLOs {
		all[i] = steady(1000, 0, 0, t.parts(i))
	}
	t.counted = t.uncountedLatency(all)
	defer func() { t.counted = nil }()
	var groups []promtest.Group
	add := func(name string, broken map[int]breakage) {
		sc := scenario{phases: []phase{{minutes(firing), all}}, broken: broken}
		in, raw := t.inputSeries(sc)
		groups = append(groups, promtest.Group{
			Name: name, Interval: model.Duration(time.Minute), InputSeries: in,
			AlertRuleTests: []promtest.AlertTest{
				{EvalTime: model.Duration(pending), Alertname: t.HealthAlertName(), ExpAlerts: []promtest.ExpAlert{}},
				{EvalTime: model.Duration(firing), Alertname: t.HealthAlertName(), ExpAlerts: t.predictHealth(raw)},
			},
		})
	}
	add("every input of every SLO is there: no SLI-health alert", nil)
	type broken struct {
		name string
		br   breakage
	}
	var each [][]broken // per SLO, its breakages in order
	for i, o := range t.SLOs {
		var bs []broken
		for j, th := range o.Latency {
			if t.native != nil {
				break // a native histogram has no bucket series to lose
			}
			bs = append(bs, broken{fmt.Sprintf("%s: the bucket at its threshold %ss is missing", o.Name, num64(th.Seconds)), breakage{noBucket: j + 1}})
		}
		if o.Kind == slo.KindLatency && (t.Counter != "" || len(t.SLIs[i].Own) > 0) {
			bs = append(bs, broken{fmt.Sprintf("%s: requests flow but the latency histogram has no series", o.Name), breakage{noHistogram: true}})
		}
		if o.Kind == slo.KindErrorsAndLatency {
			bs = append(bs,
				broken{fmt.Sprintf("%s: requests flow but the latency histogram has no series", o.Name), breakage{noHistogram: true}},
				broken{fmt.Sprintf("%s: the histogram counts 1.5x the requests of the counter", o.Name), breakage{countScale: 1.5}},
				broken{fmt.Sprintf("%s: the histogram counts 1.05x the requests of the counter, within the tolerance", o.Name), breakage{countScale: 1.05}})
		}
		if stray, ok := t.strayLabels(i); ok {
			bs = append(bs, broken{fmt.Sprintf("%s: its series no longer match its selector", o.Name), breakage{stray: stray}})
		}
		each = append(each, bs)
	}
	// The series keys of every SLO with its inputs intact, and of each
	// breakage: a group may not hold one key twice.
	whole := make([][]string, len(t.SLOs))
	for i := range t.SLOs {
		whole[i] = t.seriesKeys(i, all[i], nil)
	}
	next := make([]int, len(t.SLOs)) // per SLO, its first breakage not yet in a group
	for {
		keys := map[string]int{}
		for i := range t.SLOs {
			for _, k := range whole[i] {
				keys[k]++
			}
		}
		br := map[int]breakage{}
		var names []string
		for i := range t.SLOs {
			if next[i] == len(each[i]) {
				continue
			}
			b := each[i][next[i]]
			mine := t.seriesKeys(i, all[i], &b.br)
			for _, k := range whole[i] {
				keys[k]--
			}
			clash := false
			for _, k := range mine {
				if keys[k] > 0 {
					clash = true
				}
			}
			if clash {
				for _, k := range whole[i] {
					keys[k]++
				}
				continue
			}
			for _, k := range mine {
				keys[k]++
			}
			br[i] = b.br
			names = append(names, b.name)
			next[i]++
		}
		if len(br) == 0 {
			// What is left would coincide with another SLO's intact
			// series in every group: such a breakage cannot be told
			// apart from that SLO's traffic, and is left out.
			break
		}
		name := names[0]
		if len(names) > 1 {
			name = fmt.Sprintf("%d SLOs with one input broken each: %s", len(names), strings.Join(names, "; "))
		}
		add(name, br)
	}
	return t.file(time.Minute, groups), nil
}

// uncountedLatency lists the SLOs of kind latency, in a spec with a
// request counter, whose requests no counter series of the SLOs' intact
// inputs under loads counts: the SLI-health tests write them to the
// counter too, so that requests are seen to flow when their histogram is
// gone.
func (t *tester) uncountedLatency(loads map[int]load) map[int]bool {
	if t.Counter == "" {
		return nil
	}
	_, raw := t.inputSeries(scenario{phases: []phase{{1, loads}}})
	out := map[int]bool{}
	for i, o := range t.SLOs {
		if o.Kind != slo.KindLatency {
			continue
		}
		counted := false
		for _, s := range raw {
			if s.Name == t.Counter && t.SLIs[i].Requests.Matches(s.Labels) {
				counted = true
			}
		}
		if !counted {
			out[i] = true
		}
	}
	return out
}

// seriesKeys are the keys (metric and labels) of SLO i's input series under
// load l, with breakage br if not nil.
func (t *tester) seriesKeys(i int, l load, br *breakage) []string {
	sc := scenario{phases: []phase{{1, map[int]load{i: l}}}}
	if br != nil {
		sc.broken = map[int]breakage{i: *br}
	}
	_, raw := t.inputSeries(sc)
	keys := make([]string, len(raw))
	for k, s := range raw {
		keys[k] = s.Name + labels.FromMap(s.Labels).String()
	}
	return keys
}

// strayLabels are SLO i's series labels with one label of its own selector
// changed so that the selector no longer matches, while the service's
// selector still does.
func (t *tester) strayLabels(i int) (map[string]string, bool) {
	own := t.SLIs[i].Own
	if len(own) == 0 {
		return nil, false
	}
	for _, m := range own {
		// The matcher's own value first: it is what a negative matcher
		// (handler!="/healthz") does not match. Then a value of this SLO's
		// own, so that the SLOs' stray series differ and can be broken in
		// one group.
		for _, v := range []string{m.Value, "burnrate-unmatched-" + t.SLOs[i].Name, "x", "", "other", "burnrate-unmatched"} {
			if m.Matches(v) {
				continue
			}
			ls := t.seriesLabels(i)
			ls[m.Name] = v
			if v == "" {
				delete(ls, m.Name)
			}
			if t.Service.And(t.NonStreaming...).Matches(ls) {
				return ls, true
			}
		}
	}
	return nil, false
}

// seriesIndex sums the series a selector matches, by metric and, where the
// selector has an equality matcher, by that label's value, so that the
// predictions of a group of n SLOs take time linear in n.
type seriesIndex struct {
	byMetric map[string][]*series.Series
	byLabel  map[string][]*series.Series // metric, label and value, \xff-separated
	memo     map[string]agg
}

// agg is the summed rate (the first value) of the series a selector
// matches, and whether there are any.
type agg struct {
	rate    float64
	present bool
}

func newSeriesIndex(raw []*series.Series) *seriesIndex {
	x := &seriesIndex{byMetric: map[string][]*series.Series{}, byLabel: map[string][]*series.Series{}, memo: map[string]agg{}}
	for _, s := range raw {
		x.byMetric[s.Name] = append(x.byMetric[s.Name], s)
		for n, v := range s.Labels {
			k := s.Name + "\xff" + n + "\xff" + v
			x.byLabel[k] = append(x.byLabel[k], s)
		}
	}
	return x
}

func (x *seriesIndex) sum(metric string, sel pql.Sel) agg {
	var key strings.Builder
	key.WriteString(metric)
	candidates := x.byMetric[metric]
	for _, m := range sel {
		key.WriteString("\xff" + m.String())
		if m.Type == labels.MatchEqual && m.Value != "" {
			if c := x.byLabel[metric+"\xff"+m.Name+"\xff"+m.Value]; len(c) < len(candidates) {
				candidates = c
			}
		}
	}
	if a, ok := x.memo[key.String()]; ok {
		return a
	}
	var a agg
	for _, s := range candidates {
		if sel.Matches(s.Labels) {
			a.present = true
			a.rate += s.Values[0]
		}
	}
	x.memo[key.String()] = a
	return a
}

// predictHealth lists the SLI-health alerts the input series call for, by
// the conditions the README states: events flow (a positive rate) and an
// input the SLO reads is missing, or the histogram's count and the counter
// differ by more than the tolerance.
func (t *tester) predictHealth(raw []*series.Series) []promtest.ExpAlert {
	sum := newSeriesIndex(raw).sum
	exp := []promtest.ExpAlert{}
	alert := func(i int, problem string, th slo.Threshold, extra map[string]string) {
		ls, as := t.HealthAlert(i, problem, th)
		ls[t.ClusterLabel] = testCluster
		maps.Copy(ls, extra)
		exp = append(exp, promtest.ExpAlert{ExpLabels: ls, ExpAnnotations: as})
	}
	counter, count, bucket := t.Counter, t.Count, t.Bucket
	for i, o := range t.SLOs {
		sli := t.SLIs[i]
		if o.Kind.HasErrors() && len(sli.Own) > 0 {
			if sum(counter, t.Service).rate > 0 && !sum(counter, sli.Requests).present {
				alert(i, slomodel.ProblemNoRequests, slo.Threshold{}, nil)
			}
		}
		if !o.Kind.HasLatency() {
			continue
		}
		if o.Kind.HasErrors() {
			req, cnt := sum(counter, sli.Requests), sum(count, sli.Latency)
			if req.rate > 0 && !cnt.present {
				alert(i, slomodel.ProblemNoHistogram, slo.Threshold{}, nil)
			}
			if req.present && cnt.present && math.Abs(cnt.rate-req.rate) > slomodel.HealthTolerance*req.rate {
				alert(i, slomodel.ProblemCountDiverges, slo.Threshold{}, nil)
			}
		} else {
			// Requests flow by the counter, if the spec has one, or by the
			// service's histogram, if the SLO selects part of it.
			flows := t.Counter != "" && sum(counter, sli.Requests).rate > 0
			flows = flows || len(sli.Own) > 0 && sum(count, t.Service.And(t.NonStreaming...)).rate > 0
			if flows && !sum(count, sli.Latency).present {
				alert(i, slomodel.ProblemNoHistogram, slo.Threshold{}, nil)
			}
		}
		for _, th := range o.Latency {
			if t.native != nil {
				break // no bucket-missing check (rulegen.HealthChecks)
			}
			if len(th.Partition) == 0 {
				if sum(count, sli.Latency).rate > 0 && !sum(bucket, sli.Latency.And(pql.Le(th.Seconds))).present {
					alert(i, slomodel.ProblemBucketMissing, th, nil)
				}
				continue
			}
			pl := t.Latency.PartitionLabel
			for _, v := range th.Partition {
				ms := sli.Latency.And(pql.Eq(pl, v))
				if sum(count, ms).rate > 0 && !sum(bucket, ms.And(pql.Le(th.Seconds))).present {
					var extra map[string]string
					if v != "" {
						extra = map[string]string{pl: v}
					}
					alert(i, slomodel.ProblemBucketMissing, th, extra)
				}
			}
		}
	}
	return exp
}
