package runbook

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// The runbook of a spec with a service: which SLO burns, errors or slow,
// then the failing or slow requests broken down by each label the spec
// declares in drilldown. It knows nothing of the service but its spec, so
// it says nothing of what lies behind it.

// ErrorsBy and SlowBy are the steps that break a service's failing and slow
// requests down by label l.
func ErrorsBy(l string) Step { return Step("errors-by-" + l) }
func SlowBy(l string) Step   { return Step("slow-by-" + l) }

// serviceTable is the Diagnosis of a service's runbook: the overview steps,
// the failing requests (when an SLO counts errors) and the slow ones (when
// one counts slow requests), each then broken down by every drill-down
// label in the spec's order.
func serviceTable(m *slomodel.Model) []section {
	errs, slow := m.Spec.ReadsRequests(), m.Spec.ReadsLatency()
	var tbl []section
	if errs || slow {
		// Raw SLOs name no metric the runbook knows of: no probe.
		tbl = append(tbl, section{
			Title: "Which metrics do you have?",
			Steps: []step{{
				ID: StepProbe, Query: (*build).probe, Culprit: CulpritNever,
				Reading: "This lists each metric the steps read, with its number of series. A missing metric is not scraped, or `{{.Spec.Selector}}` does not match it: the steps that read it show nothing. " +
					"The `{{.HealthAlertName}}` alert says when an SLO cannot be computed at all.",
			}},
		})
	}
	tbl = append(tbl, []section{
		{
			Title: "Which SLO burns, and how fast?",
			Steps: []step{{
				ID: StepSLI, Query: (*build).serviceBurnRates, Culprit: CulpritNever,
				Reading: "Each row is the burn rate of one SLO (`{{.SLILabel}}`) over one window (`window`), as a factor of that SLO's budget. Compare it with the factors in the table above. " +
					"Short windows above long ones: it is getting worse. Short windows below: it is recovering.",
			}},
			Next: `take the SLO with the highest burn to {{step "terms"}}.`,
		},
		{
			Title: "Errors or slowness?",
			Steps: []step{{
				ID: StepTerms, Query: (*build).serviceTerms, Adds: true, Culprit: CulpritNever,
				Reading: "This splits the burn rate of each SLO into terms. `term=\"errors\"` is failed requests, `term=\"slow\"` slow ones; an SLO has the terms its kind counts. " +
					"The terms of an SLO add up to its burn rate in {{step \"sli\"}}.",
			}},
			Next: serviceTermsNext(errs, slow),
		},
	}...)
	var by []string
	for _, l := range m.Spec.Drilldown {
		by = append(by, "`"+l+"`")
	}
	byText := "per SLO"
	if len(by) > 0 {
		byText += " and by " + strings.Join(by, ", ")
	}
	if errs {
		tbl = append(tbl, section{
			Title: "Which requests fail?",
			Steps: []step{{
				ID: StepErrors, Adds: true, Culprit: CulpritRequests,
				Query: func(b *build) parser.Expr { return b.serviceErrors(b.Spec.Drilldown...) },
				Probe: func(b *build) []string { return []string{b.Counter} },
				Reading: "Failed requests (`{{.Requests.Errors}}`) per second, " + byText + ". " +
					"No rows: nothing fails.",
				Routes: firstRoute(m.Spec.Drilldown, ErrorsBy, "failing requests", "Then see where the failures concentrate: {{link \"%s\"}}."),
			}},
		})
	}
	if slow {
		tbl = append(tbl, section{
			Title: "Which requests are slow?",
			Steps: []step{{
				ID: StepSlow, Adds: true, Culprit: CulpritRequests,
				Query: func(b *build) parser.Expr { return b.serviceSlow(b.Spec.Drilldown...) },
				Probe: sliHistogram,
				Reading: "Requests slower than their SLO's threshold, per second, " + byText + ". " +
					"No rows: nothing is slow.",
				Routes: firstRoute(m.Spec.Drilldown, SlowBy, "slow requests", "Then see where the slow requests concentrate: {{link \"%s\"}}."),
			}},
		})
	}
	drill := func(title, what string, id func(string) Step, q func(*build, string) parser.Expr, probe func(*build) []string) section {
		sec := section{
			Title: title,
			After: "One value far above the others (twice the next, or alone): the " + what + " concentrate there. Values alike: the cause is shared; go on to the next label.",
			Fix:   serviceFix,
		}
		for _, l := range m.Spec.Drilldown {
			sec.Steps = append(sec.Steps, step{
				ID: id(l), Adds: true, Culprit: CulpritDrilldown, Probe: probe,
				Query: func(b *build) parser.Expr { return q(b, l) },
				Reading: strings.ToUpper(what[:1]) + what[1:] + " per second by `" + l + "`, per SLO, of the requests that have the label. " +
					"No rows while the step above finds some: the metric has no `" + l + "` label.",
			})
		}
		return sec
	}
	if errs && len(m.Spec.Drilldown) > 0 {
		tbl = append(tbl, drill("Where do the failures concentrate?", "failures", ErrorsBy, (*build).serviceErrors1, func(b *build) []string { return []string{b.Counter} }))
	}
	if slow && len(m.Spec.Drilldown) > 0 {
		tbl = append(tbl, drill("Where do the slow requests concentrate?", "slow requests", SlowBy, (*build).serviceSlow1, func(b *build) []string {
			if b.Native {
				return []string{b.Histogram}
			}
			return []string{b.Bucket}
		}))
	}
	return tbl
}

// serviceFix is the fix of a drill-down section: what to do with the label
// value the failing or slow requests concentrate on.
const serviceFix = "one `instance`: take it out of rotation and replace it. One handler, method or code: look at what that request calls and what changed in it (a deploy, a feature flag, a dependency). " +
	"Everything alike: roll back the last change, add capacity, or fix the dependency every request shares."

// serviceTermsNext is the Next of the terms section, for the terms the
// spec's SLOs count.
func serviceTermsNext(errs, slow bool) string {
	switch {
	case errs && slow:
		return `the biggest term. Errors: {{step "errors"}}. Slow: {{step "slow"}}.`
	case errs:
		return `{{step "errors"}}.`
	case slow:
		return `{{step "slow"}}.`
	default:
		// Only raw SLOs: their queries are the user's, with no labels to
		// drill down by that the runbook could know.
		return "the SLO's errors query in the table above: run it without its outer aggregation, by the labels you suspect."
	}
}

// firstRoute sends the requests to the drill-down by the first label, whose
// section holds the drill-downs by every label; none without labels.
func firstRoute(ls []string, id func(string) Step, what, detail string) []route {
	if len(ls) == 0 {
		return nil
	}
	return []route{{To: id(ls[0]), Path: what, Detail: fmt.Sprintf(detail, id(ls[0]))}}
}

// budgetGroups groups the SLOs of the kinds keep accepts by budget, in the
// order of their first SLO: each group's SLOs share one selector and one
// division by the budget.
func (b *build) budgetGroups(keep func(slo.Kind) bool) []sloGroup {
	var out []sloGroup
	for _, s := range b.SLIs {
		if !keep(s.Kind) {
			continue
		}
		j := slices.IndexFunc(out, func(g sloGroup) bool { return g.budget == s.Budget })
		if j < 0 {
			out = append(out, sloGroup{budget: s.Budget})
			j = len(out) - 1
		}
		out[j].names = append(out[j].names, s.Name)
	}
	return out
}

type sloGroup struct {
	budget float64
	names  []string
}

// sel selects the recorded series of the group's SLOs.
func (g sloGroup) sel(b *build) pql.Sel {
	if len(g.names) == 1 {
		return b.Own.And(pql.Eq(b.SLILabel, g.names[0]))
	}
	var alts []string
	for _, n := range g.names {
		alts = append(alts, regexp.QuoteMeta(n))
	}
	return b.Own.And(pql.Re(b.SLILabel, strings.Join(alts, "|")))
}

func anyKind(slo.Kind) bool { return true }

// serviceBurnRates is every SLO's recorded burn rate per window of the
// alert's pairs, as a factor of its own budget, with the window as a label.
func (b *build) serviceBurnRates() parser.Expr {
	var e parser.Expr
	for _, win := range b.Spec.Windows() {
		for _, g := range b.budgetGroups(anyKind) {
			e = or(e, labelSet(pql.Bin(parser.DIV, pql.Vec(b.BurnRateRecord(win), g.sel(b)), pql.Num(g.budget)), "window", win.String()))
		}
	}
	return e
}

// serviceTerms is each SLO's burn rate as a sum of its terms, from the
// recorded base-window rates.
func (b *build) serviceTerms() parser.Expr {
	over := func(metric string, sel pql.Sel) parser.Expr {
		return pql.Call("sum_over_time", pql.Range(pql.Vec(metric, sel), b.w))
	}
	var e parser.Expr
	for _, g := range b.budgetGroups(slo.Kind.HasErrors) {
		errTerm := pql.Bin(parser.DIV, pql.Bin(parser.DIV, over(b.ErrorsRecord, g.sel(b)), over(b.EventsRecord, g.sel(b))), pql.Num(g.budget))
		e = or(e, labelSet(errTerm, "term", "errors"))
	}
	for _, g := range b.budgetGroups(slo.Kind.HasLatency) {
		// The slow record carries the partition label, if any: summed away.
		slowTerm := pql.Bin(parser.DIV, pql.Bin(parser.DIV,
			pql.SumBy(b.JoinOn(), over(b.SlowRecord, g.sel(b))), over(b.EventsRecord, g.sel(b))), pql.Num(g.budget))
		e = or(e, labelSet(slowTerm, "term", "slow"))
	}
	return e
}

// serviceErrors is the rate of failed requests of every SLO that counts
// them, by the cluster and ls, with the SLO as a label; rows above 0,
// largest first.
func (b *build) serviceErrors(ls ...string) parser.Expr {
	return b.serviceErrorsWhere(nil, ls...)
}

// serviceErrorsWhere is serviceErrors of the requests that match extra too.
func (b *build) serviceErrorsWhere(extra pql.Sel, ls ...string) parser.Expr {
	var e parser.Expr
	for _, s := range b.SLIs {
		if !s.Kind.ReadsCounter() {
			continue // a raw SLO's errors are its own query, not the counter's
		}
		e = or(e, labelSet(pql.SumBy(b.by(ls...), b.rate(b.Counter, s.Requests.And(b.Errors...).And(extra...))), b.SLILabel, s.Name))
	}
	return sortDesc(gt0(pql.Paren(e)))
}

// hasLabel selects the series that carry label l: a drill-down by l leaves
// out the requests without it (a histogram without code), which would
// otherwise add up to one row that stands out by being alone.
func hasLabel(l string) pql.Sel {
	return pql.Sel{labels.MustNewMatcher(labels.MatchNotEqual, l, "")}
}

func (b *build) serviceErrors1(l string) parser.Expr { return b.serviceErrorsWhere(hasLabel(l), l) }

// serviceSlow is the rate of requests slower than their SLO's threshold,
// of every SLO that counts them, by the cluster and ls (and the partition
// label of a per-partition threshold), with the SLO as a label; rows above
// 0, largest first.
func (b *build) serviceSlow(ls ...string) parser.Expr {
	return b.serviceSlowWhere(nil, ls...)
}

// serviceSlowWhere is serviceSlow of the requests that match extra too.
func (b *build) serviceSlowWhere(extra pql.Sel, ls ...string) parser.Expr {
	part := b.Latency.PartitionLabel
	var e parser.Expr
	for _, s := range b.SLIs {
		if !s.Kind.HasLatency() {
			continue
		}
		for _, t := range s.SLO.Latency {
			by := b.by(ls...)
			ms := s.Latency.And(extra...)
			if len(t.Partition) > 0 {
				ms = ms.And(pql.OneOf(part, t.Partition))
				if !slices.Contains(by, part) {
					by = append(by, part)
				}
			}
			e = or(e, labelSet(paren(b.lat(b.w).Slow(ms, t, by)), b.SLILabel, s.Name))
		}
	}
	return sortDesc(gt0(pql.Paren(e)))
}

func (b *build) serviceSlow1(l string) parser.Expr { return b.serviceSlowWhere(hasLabel(l), l) }

// sloLine is a row of a service page's table of SLOs.
type sloLine struct {
	Name, Kind, Objective, Budget, Bad, Events string
}

// serviceSLOs is the table of SLOs of a service's page.
func (r *Runbook) serviceSLOs() []sloLine {
	var out []sloLine
	for _, s := range r.SLIs {
		sel := func(sel pql.Sel) string {
			var ms []string
			for _, m := range sel {
				ms = append(ms, m.String())
			}
			return strings.Join(ms, ",")
		}
		var bad []string
		events := "`" + r.Counter + "{" + sel(s.Requests) + "}`"
		if s.Kind.HasErrors() {
			bad = append(bad, "it fails (`"+r.Spec.Requests.Errors+"`)")
		}
		if s.Kind.HasLatency() {
			var ths []string
			for _, t := range s.SLO.Latency {
				th := strconv.FormatFloat(t.Seconds, 'f', -1, 64) + "s"
				if len(t.Partition) > 0 {
					var vals []string
					for _, v := range t.Partition {
						if v == "" {
							v = "none"
						}
						vals = append(vals, v)
					}
					th += " for " + r.Latency.PartitionLabel + " " + strings.Join(vals, " or ")
				}
				ths = append(ths, th)
			}
			bad = append(bad, "it is slower than "+strings.Join(ths, "; "))
		}
		if s.Kind == slo.KindLatency {
			events = "`" + r.Count + "{" + sel(s.Latency) + "}`"
			if r.Native {
				events = "`histogram_count(" + r.Histogram + "{" + sel(s.Latency) + "})`"
			}
		}
		if s.Kind == slo.KindRaw {
			bad = []string{"the errors query counts it: `" + s.SLO.Raw.Errors + "`"}
			events = "`" + s.SLO.Raw.Total + "`"
		}
		out = append(out, sloLine{
			Name: s.Name, Kind: string(s.Kind),
			Objective: pctText(s.Objective), Budget: pctText(s.Budget),
			Bad: strings.Join(bad, ", or "), Events: events,
		})
	}
	return out
}

func pctText(f float64) string {
	return strconv.FormatFloat(slomodel.RoundTo(f*100, 4), 'f', -1, 64) + "%"
}

// urgencyGroup is the urgency table of the SLOs that share a budget.
type urgencyGroup struct {
	SLOs    string
	Budget  string
	Urgency urgency
}

// serviceUrgency is one urgency table per budget, in SLO order.
func (r *Runbook) serviceUrgency() []urgencyGroup {
	var out []urgencyGroup
	for _, g := range newBuild(r.Model, r.Window, r.table).budgetGroups(anyKind) {
		var names []string
		for _, n := range g.names {
			names = append(names, "`"+n+"`")
		}
		out = append(out, urgencyGroup{SLOs: strings.Join(names, ", "), Budget: pctText(g.budget), Urgency: r.urgencyFor(g.budget)})
	}
	return out
}
