package testgen

import (
	"fmt"
	"maps"
	"math"
	"time"

	"github.com/prometheus/common/model"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/burnrate/burnrate/internal/promtest"
	"github.com/burnrate/burnrate/internal/series"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// healthTests renders the SLI-health tests of a spec with a service: with
// every input there no SLI-health alert fires; with one input broken (a
// threshold bucket dropped, the histogram gone or counting other requests,
// the SLO's series relabelled out of its selector) the alert fires for the
// SLO and the problem that the input predicts, `for` after the breakage
// starts and not before. The expected alerts come from the input series
// (which selectors match them, at what rate), not from the rules.
func (t *tester) healthTests() (*promtest.File, error) {
	const (
		pending = 5 * time.Minute  // within `for`: nothing fires yet
		firing  = 20 * time.Minute // `for` after the first evaluation with a rate
	)
	all := map[int]load{}
	for i := range t.SLOs {
		all[i] = steady(1000, 0, 0, t.parts(i))
	}
	var groups []promtest.Group
	add := func(name string, br breakage) {
		sc := scenario{phases: []phase{{minutes(firing), all}}, broken: br}
		in, raw := t.inputSeries(sc)
		groups = append(groups, promtest.Group{
			Name: name, Interval: model.Duration(time.Minute), InputSeries: in,
			AlertRuleTests: []promtest.AlertTest{
				{EvalTime: model.Duration(pending), Alertname: t.HealthAlertName(), ExpAlerts: []promtest.ExpAlert{}},
				{EvalTime: model.Duration(firing), Alertname: t.HealthAlertName(), ExpAlerts: t.predictHealth(raw)},
			},
		})
	}
	add("every input of every SLO is there: no SLI-health alert", breakage{slo: -1})
	for i, o := range t.SLOs {
		for j, th := range o.Latency {
			add(fmt.Sprintf("%s: the bucket at its threshold %ss is missing", o.Name, num64(th.Seconds)), breakage{slo: i, noBucket: j + 1})
		}
		if o.Kind == slo.KindErrorsAndLatency {
			add(fmt.Sprintf("%s: requests flow but the latency histogram has no series", o.Name), breakage{slo: i, noHistogram: true})
			add(fmt.Sprintf("%s: the histogram counts 1.5x the requests of the counter", o.Name), breakage{slo: i, countScale: 1.5})
			add(fmt.Sprintf("%s: the histogram counts 1.05x the requests of the counter, within the tolerance", o.Name), breakage{slo: i, countScale: 1.05})
		}
		if stray, ok := t.strayLabels(i); ok {
			add(fmt.Sprintf("%s: its series no longer match its selector", o.Name), breakage{slo: i, stray: stray})
		}
	}
	return t.file(time.Minute, groups), nil
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
		// (handler!="/healthz") does not match.
		for _, v := range []string{m.Value, "x", "", "other", "burnrate-unmatched"} {
			if m.Matches(v) {
				continue
			}
			ls := t.seriesLabels(i)
			ls[m.Name] = v
			if v == "" {
				delete(ls, m.Name)
			}
			if matches(t.Service.And(t.NonStreaming...), ls) {
				return ls, true
			}
		}
	}
	return nil, false
}

func matches(sel pql.Sel, ls map[string]string) bool {
	for _, m := range sel {
		if !m.Matches(ls[m.Name]) {
			return false
		}
	}
	return true
}

// predictHealth lists the SLI-health alerts the input series call for, by
// the conditions the README states: events flow (a positive rate) and an
// input the SLO reads is missing, or the histogram's count and the counter
// differ by more than the tolerance.
func (t *tester) predictHealth(raw []*series.Series) []promtest.ExpAlert {
	type agg struct {
		rate    float64
		present bool
	}
	sum := func(metric string, sel pql.Sel) agg {
		var a agg
		for _, s := range raw {
			if s.Name == metric && matches(sel, s.Labels) {
				a.present = true
				a.rate += s.Values[0]
			}
		}
		return a
	}
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
		} else if len(sli.Own) > 0 {
			if sum(count, t.Service.And(t.NonStreaming...)).rate > 0 && !sum(count, sli.Latency).present {
				alert(i, slomodel.ProblemNoHistogram, slo.Threshold{}, nil)
			}
		}
		for _, th := range o.Latency {
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
