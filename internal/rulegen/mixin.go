package rulegen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// The kubernetes-mixin profile renders the rule groups the mixin renders for
// its apiserver SLOs, knob for knob, including its known quirks (the README
// lists them). The mixin hard-codes some things its _config does not expose;
// they are constants here.
const (
	// mixinAllVerbs is the verb filter of code_verb:…:increase1h, fixed in the mixin.
	mixinAllVerbs = "LIST|GET|POST|PUT|PATCH|DELETE"
	// mixinVerbLabel, mixinCodeLabel and mixinResourceLabel are the raw
	// series' labels the mixin aggregates by.
	mixinVerbLabel     = "verb"
	mixinCodeLabel     = "code"
	mixinResourceLabel = "resource"
	// mixinQuantile is the quantile of the histogram records.
	mixinQuantile = 0.99
)

var mixinCodeClasses = []string{"2..", "3..", "4..", "5.."}

// mixin renders the kubernetes-mixin profile's rules from the model.
type mixin struct {
	*slomodel.Model
	days        int
	period      string        // "30d"
	periodRange time.Duration // 30d
}

func mixinGroups(model *slomodel.Model) ([]groupBuilder, error) {
	days, whole := model.PeriodDays()
	if !whole || days < 1 {
		return nil, fmt.Errorf("period %s: the %s profile counts the SLO period in whole days; use e.g. 30d", model.Period, slomodel.ProfileMixin)
	}
	m := mixin{Model: model, days: days, period: fmt.Sprintf("%dd", days), periodRange: time.Duration(days) * 24 * time.Hour}
	return []groupBuilder{
		{"kube-apiserver-availability.rules", mixinAvailabilityInterval, m.availability},
		{"kube-apiserver-burnrate.rules", 0, m.burnrates},
		{"kube-apiserver-histogram.rules", 0, m.histograms},
		{"kube-apiserver-slos", 0, m.alerts},
	}, nil
}

// mixinAvailabilityInterval is the interval of the mixin's availability group.
const mixinAvailabilityInterval = model.Duration(3 * time.Minute)

// partitioned reports whether SLO i has one threshold per partition (the
// mixin's read shape) rather than a single one (its write shape).
func (m mixin) partitioned(i int) bool { return len(m.SLOs[i].Latency[0].Partition) > 0 }

// thresholdSel is the partition and le matchers of threshold t.
func (m mixin) thresholdSel(t slo.Threshold) pql.Sel {
	var out pql.Sel
	if len(t.Partition) > 0 {
		out = append(out, pql.OneOf(m.Latency.PartitionLabel, t.Partition))
	}
	return append(out, pql.Le(t.Seconds))
}

// overPeriod is `avg_over_time(metric[period]) * 24 * days`, the mixin's
// estimate of a period's increase from hourly increases.
func (m mixin) overPeriod(metric string) parser.Expr {
	avg := pql.Call("avg_over_time", pql.Range(pql.Vec(metric, nil), m.periodRange))
	return pql.Bin(parser.MUL, pql.Bin(parser.MUL, avg, pql.Num(24)), pql.Num(float64(m.days)))
}

func (m mixin) availability() ([]rulefmt.Rule, error) {
	var l ruleList
	cl := m.ClusterLabel
	part := m.Latency.PartitionLabel
	codeVerb1h := "code_verb:" + m.Counter + ":increase1h"
	codeVerbP := "code_verb:" + m.Counter + ":increase" + m.period
	codeP := "code:" + m.Counter + ":increase" + m.period
	bucket1h := "cluster_verb_scope_le:" + m.Bucket + ":increase1h"
	bucketP := "cluster_verb_scope_le:" + m.Bucket + ":increase" + m.period
	count1h := "cluster_verb_scope:" + m.Count + ":increase1h"
	countP := "cluster_verb_scope:" + m.Count + ":increase" + m.period

	l.record(codeVerbP, m.overPeriod(codeVerb1h), nil)
	for i, o := range m.SLOs {
		l.record(codeP, pql.SumBy([]string{cl, mixinCodeLabel}, pql.Vec(codeVerbP, m.SLIs[i].Own)), m.SLILabels(o.Name))
	}
	byBucket := []string{cl, mixinVerbLabel, part, "le"}
	l.record(bucket1h, pql.SumBy(byBucket, pql.Call("increase", pql.Range(pql.Vec(m.Bucket, nil), time.Hour))), nil)
	l.record(bucketP, pql.SumBy(byBucket, m.overPeriod(bucket1h)), nil)
	inf := pql.Sel{pql.Eq("le", "+Inf")}
	byCount := []string{cl, mixinVerbLabel, part}
	l.record(count1h, pql.SumBy(byCount, pql.Vec(bucket1h, inf)), nil)
	l.record(countP, pql.SumBy(byCount, pql.Vec(bucketP, inf)), nil)

	by := []string{cl}
	// slow is an SLI's requests over the period minus those within threshold.
	slow := func(i int) parser.Expr {
		var fast []parser.Expr
		for _, t := range m.SLOs[i].Latency {
			fast = append(fast, pql.SumBy(by, pql.OrZero(pql.Vec(bucketP, m.SLIs[i].Own.And(m.thresholdSel(t)...)))))
		}
		var within parser.Expr = fast[0]
		if len(fast) > 1 {
			within = pql.Paren(pql.SumOf(fast...))
		}
		return pql.Bin(parser.SUB, pql.SumBy(by, pql.Vec(countP, m.SLIs[i].Own)), within)
	}
	errorsOf := func(ms pql.Sel) parser.Expr { return pql.SumBy(by, pql.OrZero(pql.Vec(codeP, ms.And(m.Errors...)))) }
	availability := func(bad parser.Expr, total pql.Sel) parser.Expr {
		return pql.Bin(parser.SUB, pql.Num(1), pql.Bin(parser.DIV, pql.Paren(bad), pql.SumBy(by, pql.Vec(codeP, total))))
	}
	availabilityName := m.AvailabilityRecord

	// Every SLI together; the mixin lists the last SLI (write) first.
	var slowAll []parser.Expr
	for i := len(m.SLOs) - 1; i >= 0; i-- {
		slowAll = append(slowAll, pql.Paren(slow(i)))
	}
	l.record(availabilityName, availability(pql.SumOf(append(slowAll, errorsOf(nil))...), nil), m.SLILabels(slomodel.AllSLIs))
	for i, o := range m.SLOs {
		var s parser.Expr = slow(i)
		if !m.partitioned(i) {
			s = pql.Paren(s)
		}
		mine := pql.Sel{pql.Eq(m.SLILabel, o.Name)}
		l.record(availabilityName, availability(pql.SumOf(s, errorsOf(mine)), mine), m.SLILabels(o.Name))
	}

	for i, o := range m.SLOs {
		e := pql.SumBy([]string{cl, mixinCodeLabel, mixinResourceLabel}, pql.Call("rate", pql.Range(pql.Vec(m.Counter, m.SLIs[i].Requests), 5*time.Minute)))
		l.record(m.RequestRateRecord, e, m.SLILabels(o.Name))
	}
	for _, code := range mixinCodeClasses {
		ms := m.Service.And(pql.Re(mixinVerbLabel, mixinAllVerbs), pql.Re(mixinCodeLabel, code))
		l.record(codeVerb1h, pql.SumBy([]string{cl, mixinCodeLabel, mixinVerbLabel}, pql.Call("increase", pql.Range(pql.Vec(m.Counter, ms), time.Hour))), nil)
	}
	return l.rules, l.err
}

// windows is every long and short window, deduplicated and sorted by name,
// as jsonnet's std.set orders them (1d, 1h, 2h, 30m, 3d, 5m, 6h).
func (m mixin) windows() []slo.Duration {
	out := m.Spec.Windows()
	slices.SortFunc(out, func(a, b slo.Duration) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func (m mixin) burnrates() ([]rulefmt.Rule, error) {
	var l ruleList
	by := []string{m.ClusterLabel}
	for i, o := range m.SLOs {
		for _, w := range m.windows() {
			d := time.Duration(w)
			rateOf := func(metric string, ms pql.Sel) parser.Expr {
				return pql.SumBy(by, pql.Call("rate", pql.Range(pql.Vec(metric, ms), d)))
			}
			latSel := m.SLIs[i].Latency
			var within parser.Expr
			if m.partitioned(i) {
				var terms []parser.Expr
				for j, t := range o.Latency {
					var term parser.Expr = rateOf(m.Bucket, latSel.And(m.thresholdSel(t)...))
					if j == 0 {
						term = pql.Paren(pql.OrZero(term))
					}
					terms = append(terms, term)
				}
				within = pql.Paren(pql.SumOf(terms...))
			} else {
				within = rateOf(m.Bucket, latSel.And(m.thresholdSel(o.Latency[0])...))
			}
			slow := pql.Paren(pql.Bin(parser.SUB, rateOf(m.Count, latSel), within))
			bad := pql.Paren(pql.Bin(parser.ADD, slow, rateOf(m.Counter, m.SLIs[i].Requests.And(m.Errors...))))
			e := pql.Bin(parser.DIV, bad, rateOf(m.Counter, m.SLIs[i].Requests))
			l.record(m.BurnRateRecord(w), e, m.SLILabels(o.Name))
		}
	}
	return l.rules, l.err
}

func (m mixin) histograms() ([]rulefmt.Rule, error) {
	var l ruleList
	for i, o := range m.SLOs {
		rate := pql.Call("rate", pql.Range(pql.Vec(m.Bucket, m.SLIs[i].Latency), 5*time.Minute))
		q := pql.Call("histogram_quantile", pql.Num(mixinQuantile), pql.SumBy([]string{m.ClusterLabel, "le", mixinResourceLabel}, rate))
		lbls := m.SLILabels(o.Name)
		lbls["quantile"] = strconv.FormatFloat(mixinQuantile, 'f', -1, 64)
		l.record(m.QuantileRecord, pql.Bin(parser.GTR, q, pql.Num(0)), lbls)
	}
	return l.rules, l.err
}

func (m mixin) alerts() ([]rulefmt.Rule, error) {
	var l ruleList
	cl := m.ClusterLabel
	// The mixin prints the factor with two decimals and the error budget
	// with five ("%.2f * %.5f"), which rounds both (Profile.RoundedThresholds).
	for _, w := range m.Alert.Windows {
		threshold := pql.Paren(pql.Bin(parser.MUL, pql.Num(m.ThresholdFactor(w)), pql.Num(m.Budget)))
		burn := func(d slo.Duration) parser.Expr {
			return pql.Bin(parser.GTR, pql.SumBy([]string{cl}, pql.Vec(m.BurnRateRecord(d), nil)), threshold)
		}
		l.alert(m.AlertRule(w), pql.AndOn(burn(w.Long), burn(w.Short), m.AlertOn()))
	}
	return l.rules, l.err
}
