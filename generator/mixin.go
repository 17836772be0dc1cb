package generator

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

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
	// mixinAllSLIs is the SLI label value of the availability record over every SLI.
	mixinAllSLIs = "all"
)

var mixinCodeClasses = []string{"2..", "3..", "4..", "5.."}

// mixinSpec holds what every mixin rule needs, parsed once.
type mixinSpec struct {
	*slo.Spec
	api, lat, errs sel
	slos           []sel
	days           int
	period         string        // "30d"
	periodRange    time.Duration // 30d
	counter        string        // apiserver_request_total
	base           string        // apiserver_request
	bucket, count  string        // apiserver_request_sli_duration_seconds_bucket, _count
}

func newMixinSpec(s *slo.Spec) (*mixinSpec, error) {
	m := &mixinSpec{Spec: s}
	var err error
	if m.api, err = matchers("selector", s.Selector); err != nil {
		return nil, err
	}
	if m.lat, err = matchers("latency.selector", s.Latency.Selector); err != nil {
		return nil, err
	}
	if m.errs, err = matchers("requests.errors", s.Requests.Errors); err != nil {
		return nil, err
	}
	for i, o := range s.SLOs {
		ms, err := matchers(fmt.Sprintf("slos[%d].selector", i), o.Selector)
		if err != nil {
			return nil, err
		}
		m.slos = append(m.slos, ms)
	}
	days, whole := s.PeriodDays()
	if !whole || days < 1 {
		return nil, fmt.Errorf("period %s: the %s profile counts the SLO period in whole days; use e.g. 30d", s.Period, ProfileMixin)
	}
	m.days = days
	m.period = fmt.Sprintf("%dd", days)
	m.periodRange = time.Duration(days) * 24 * time.Hour
	m.counter = s.Requests.Metric
	m.base = strings.TrimSuffix(s.Requests.Metric, "_total")
	m.bucket = s.Latency.Metric + "_bucket"
	m.count = s.Latency.Metric + "_count"
	return m, nil
}

func mixinRules(s *slo.Spec) (*RuleFile, error) {
	m, err := newMixinSpec(s)
	if err != nil {
		return nil, err
	}
	return buildGroups([]groupBuilder{
		{"kube-apiserver-availability.rules", "3m", m.availability},
		{"kube-apiserver-burnrate.rules", "", m.burnrates},
		{"kube-apiserver-histogram.rules", "", m.histograms},
		{"kube-apiserver-slos", "", m.alerts},
	})
}

func (m *mixinSpec) sli(name string) map[string]string { return map[string]string{m.SLILabel: name} }

// partitioned reports whether SLO i has one threshold per partition (the
// mixin's read shape) rather than a single one (its write shape).
func (m *mixinSpec) partitioned(i int) bool { return len(m.SLOs[i].Latency[0].Partition) > 0 }

// thresholdSel is the partition and le matchers of threshold t.
func (m *mixinSpec) thresholdSel(t slo.Threshold) sel {
	var out sel
	if len(t.Partition) > 0 {
		out = append(out, oneOf(m.Latency.PartitionLabel, t.Partition))
	}
	return append(out, le(t.Seconds))
}

// overPeriod is `avg_over_time(metric[period]) * 24 * days`, the mixin's
// estimate of a period's increase from hourly increases.
func (m *mixinSpec) overPeriod(metric string) parser.Expr {
	avg := call("avg_over_time", rng(vec(metric, nil), m.periodRange))
	return bin(parser.MUL, bin(parser.MUL, avg, num(24)), num(float64(m.days)))
}

func (m *mixinSpec) availability() ([]Rule, error) {
	var l ruleList
	cl := m.ClusterLabel
	part := m.Latency.PartitionLabel
	codeVerb1h := "code_verb:" + m.counter + ":increase1h"
	codeVerbP := "code_verb:" + m.counter + ":increase" + m.period
	codeP := "code:" + m.counter + ":increase" + m.period
	bucket1h := "cluster_verb_scope_le:" + m.bucket + ":increase1h"
	bucketP := "cluster_verb_scope_le:" + m.bucket + ":increase" + m.period
	count1h := "cluster_verb_scope:" + m.count + ":increase1h"
	countP := "cluster_verb_scope:" + m.count + ":increase" + m.period

	l.record(codeVerbP, m.overPeriod(codeVerb1h), nil)
	for i, o := range m.SLOs {
		l.record(codeP, sumBy([]string{cl, mixinCodeLabel}, vec(codeVerbP, m.slos[i])), m.sli(o.Name))
	}
	byBucket := []string{cl, mixinVerbLabel, part, "le"}
	l.record(bucket1h, sumBy(byBucket, call("increase", rng(vec(m.bucket, nil), time.Hour))), nil)
	l.record(bucketP, sumBy(byBucket, m.overPeriod(bucket1h)), nil)
	inf := sel{eq("le", "+Inf")}
	byCount := []string{cl, mixinVerbLabel, part}
	l.record(count1h, sumBy(byCount, vec(bucket1h, inf)), nil)
	l.record(countP, sumBy(byCount, vec(bucketP, inf)), nil)

	by := []string{cl}
	// slow is an SLI's requests over the period minus those within threshold.
	slow := func(i int) parser.Expr {
		var fast []parser.Expr
		for _, t := range m.SLOs[i].Latency {
			fast = append(fast, sumBy(by, orZero(vec(bucketP, m.slos[i].and(m.thresholdSel(t)...)))))
		}
		var within parser.Expr = fast[0]
		if len(fast) > 1 {
			within = paren(sumOf(fast...))
		}
		return bin(parser.SUB, sumBy(by, vec(countP, m.slos[i])), within)
	}
	errorsOf := func(ms sel) parser.Expr { return sumBy(by, orZero(vec(codeP, ms.and(m.errs...)))) }
	availability := func(bad parser.Expr, total sel) parser.Expr {
		return bin(parser.SUB, num(1), bin(parser.DIV, paren(bad), sumBy(by, vec(codeP, total))))
	}
	availabilityName := m.base + ":availability" + m.period

	// Every SLI together; the mixin lists the last SLI (write) first.
	var slowAll []parser.Expr
	for i := len(m.SLOs) - 1; i >= 0; i-- {
		slowAll = append(slowAll, paren(slow(i)))
	}
	l.record(availabilityName, availability(sumOf(append(slowAll, errorsOf(nil))...), nil), m.sli(mixinAllSLIs))
	for i, o := range m.SLOs {
		var s parser.Expr = slow(i)
		if !m.partitioned(i) {
			s = paren(s)
		}
		mine := sel{eq(m.SLILabel, o.Name)}
		l.record(availabilityName, availability(sumOf(s, errorsOf(mine)), mine), m.sli(o.Name))
	}

	for i, o := range m.SLOs {
		e := sumBy([]string{cl, mixinCodeLabel, mixinResourceLabel}, call("rate", rng(vec(m.counter, m.api.and(m.slos[i]...)), 5*time.Minute)))
		l.record("code_resource:"+m.counter+":rate5m", e, m.sli(o.Name))
	}
	for _, code := range mixinCodeClasses {
		ms := m.api.and(re(mixinVerbLabel, mixinAllVerbs), re(mixinCodeLabel, code))
		l.record(codeVerb1h, sumBy([]string{cl, mixinCodeLabel, mixinVerbLabel}, call("increase", rng(vec(m.counter, ms), time.Hour))), nil)
	}
	return l.rules, l.err
}

// windows is every long and short window, deduplicated and sorted by name,
// as jsonnet's std.set orders them (1d, 1h, 2h, 30m, 3d, 5m, 6h).
func (m *mixinSpec) windows() []slo.Duration {
	out := m.Spec.Windows()
	slices.SortFunc(out, func(a, b slo.Duration) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func (m *mixinSpec) burnrates() ([]Rule, error) {
	var l ruleList
	by := []string{m.ClusterLabel}
	for i, o := range m.SLOs {
		for _, w := range m.windows() {
			d := time.Duration(w)
			rateOf := func(metric string, ms sel) parser.Expr {
				return sumBy(by, call("rate", rng(vec(metric, ms), d)))
			}
			latSel := m.api.and(m.slos[i]...).and(m.lat...)
			var within parser.Expr
			if m.partitioned(i) {
				var terms []parser.Expr
				for j, t := range o.Latency {
					var term parser.Expr = rateOf(m.bucket, latSel.and(m.thresholdSel(t)...))
					if j == 0 {
						term = paren(orZero(term))
					}
					terms = append(terms, term)
				}
				within = paren(sumOf(terms...))
			} else {
				within = rateOf(m.bucket, latSel.and(m.thresholdSel(o.Latency[0])...))
			}
			slow := paren(bin(parser.SUB, rateOf(m.count, latSel), within))
			bad := paren(bin(parser.ADD, slow, rateOf(m.counter, m.api.and(m.slos[i]...).and(m.errs...))))
			e := bin(parser.DIV, bad, rateOf(m.counter, m.api.and(m.slos[i]...)))
			l.record(m.base+":burnrate"+w.String(), e, m.sli(o.Name))
		}
	}
	return l.rules, l.err
}

func (m *mixinSpec) histograms() ([]Rule, error) {
	var l ruleList
	for i, o := range m.SLOs {
		ms := m.api.and(m.slos[i]...).and(m.lat...)
		rate := call("rate", rng(vec(m.bucket, ms), 5*time.Minute))
		q := call("histogram_quantile", num(mixinQuantile), sumBy([]string{m.ClusterLabel, "le", mixinResourceLabel}, rate))
		lbls := m.sli(o.Name)
		lbls["quantile"] = strconv.FormatFloat(mixinQuantile, 'f', -1, 64)
		l.record("cluster_quantile:"+m.Latency.Metric+":histogram_quantile", bin(parser.GTR, q, num(0)), lbls)
	}
	return l.rules, l.err
}

func (m *mixinSpec) alerts() ([]Rule, error) {
	var l ruleList
	cl := m.ClusterLabel
	// The mixin prints the factor with two decimals and the error budget
	// with five ("%.2f * %.5f"), which rounds both.
	budget := roundTo(1-m.Objective, 5)
	for _, w := range m.Alert.Windows {
		threshold := paren(bin(parser.MUL, num(roundTo(w.Factor, 2)), num(budget)))
		burn := func(d slo.Duration) parser.Expr {
			return bin(parser.GTR, sumBy([]string{cl}, vec(m.base+":burnrate"+d.String(), nil)), threshold)
		}
		l.alert(alertRule(m.Spec, w, m.Alert.RunbookURLPattern), andOn(burn(w.Long), burn(w.Short), []string{cl}))
	}
	return l.rules, l.err
}

// alertRule is the alert of window pair w, but for its expression: name,
// for, severity/long/short labels, and the annotations, with the runbook URL
// from pattern.
func alertRule(s *slo.Spec, w slo.Window, pattern string) Rule {
	description := s.Alert.Description
	if s.ShowMultiCluster {
		description = strings.TrimSuffix(description, ".") + " on cluster {{ $labels." + s.ClusterLabel + " }}."
	}
	return Rule{
		Alert:  s.Alert.Name,
		For:    model.Duration(w.For).String(),
		Labels: map[string]string{"severity": w.Severity, "long": w.Long.String(), "short": w.Short.String()},
		Annotations: map[string]string{
			"description": description,
			"summary":     s.Alert.Summary,
			"runbook_url": runbookURL(pattern, s.Alert.Name),
		},
	}
}

// runbookURL fills the pattern's %s with the lower-cased alert name.
func runbookURL(pattern, alert string) string {
	return strings.Replace(pattern, "%s", strings.ToLower(alert), 1)
}

// roundTo rounds v to n decimals the way printf's %.nf does.
func roundTo(v float64, n int) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', n, 64), 64)
	return r
}
