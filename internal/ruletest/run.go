package ruletest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"

	"github.com/burnrate/burnrate/internal/promtest"
)

// run evaluates the rule files over the group's input series, loaded by ll,
// step by step up to the largest eval_time, and checks every assertion the
// way promtool does. p is the parser the rule files are loaded with.
// Assertion failures and rule evaluation errors are returned as failures; the
// error is non-nil only for bad input that planning could not detect, or when
// ctx ends.
func (g *groupPlan) run(ctx context.Context, ll loader, p parser.Parser) (failures []Failure, err error) {
	s := g.suite
	opts := &rules.ManagerOptions{
		QueryFunc:    rules.EngineQueryFunc(ll.QueryEngine(), ll.Storage()),
		AppendableV2: ll.Storage(),
		Context:      ctx,
		NotifyFunc:   func(context.Context, string, ...*rules.Alert) {},
		Logger:       promslog.NewNopLogger(),
		Parser:       p,
	}
	m := rules.NewManager(opts)
	groupMap, errs := m.LoadGroups(time.Duration(g.tg.Interval), labels.FromMap(g.tg.ExternalLabels), g.tg.ExternalURL, nil, false, s.ruleFiles...)
	if len(errs) > 0 {
		return nil, &inputError{File: s.path, Err: fmt.Errorf("loading rule files: %w", errors.Join(dedupErrors(errs)...))}
	}
	ruleGroups := s.orderRuleGroups(groupMap)
	for _, rg := range ruleGroups {
		for _, r := range rg.Rules() {
			if ar, ok := r.(*rules.AlertingRule); ok {
				// Without this the ALERTS and ALERTS_FOR_STATE series are
				// not written, as in promtool.
				ar.SetRestored(true)
			}
		}
	}

	// Alert assertions are checked while evaluating, at the step that covers
	// their eval_time, since only the current alert state is available.
	alertTests := map[time.Duration][]promtest.AlertTest{}
	var alertTimes []time.Duration
	for _, at := range g.tg.AlertRuleTests {
		t := time.Duration(at.EvalTime)
		if _, ok := alertTests[t]; !ok {
			alertTimes = append(alertTimes, t)
		}
		alertTests[t] = append(alertTests[t], at)
	}
	slices.Sort(alertTimes)

	step := s.evalInterval
	maxt := g.mint.Add(g.maxEval)
	next := 0
	for ts := g.mint; !ts.After(maxt); ts = ts.Add(step) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		offset := ts.Sub(g.mint)
		var evalFailures []Failure
		ll.WithSamplesTill(ts, func(err error) {
			if err != nil {
				failures = append(failures, g.failure(offset, "loading input samples failed: "+err.Error()))
				return
			}
			for _, rg := range ruleGroups {
				rg.Eval(ctx, ts)
				for _, r := range rg.Rules() {
					if rerr := r.LastError(); rerr != nil {
						f := g.failure(offset, fmt.Sprintf("rule evaluation failed (group %q); the test group stops here: %v", rg.Name(), rerr))
						f.Rule = r.Name()
						evalFailures = append(evalFailures, f)
					}
				}
			}
		})
		if len(evalFailures) > 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return append(failures, evalFailures...), nil
		}
		for next < len(alertTimes) && offset <= alertTimes[next] && alertTimes[next] < offset+step {
			failures = append(failures, g.checkAlerts(ruleGroups, alertTests[alertTimes[next]])...)
			next++
		}
	}

	for _, et := range g.exprTests {
		if f, failed := g.checkExpr(ctx, ll, et); failed {
			failures = append(failures, f)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return failures, nil
}

// orderRuleGroups orders rule groups as promtool does: by position in
// group_eval_order, unlisted groups counting as position 0. promtool breaks
// ties in map order, that is randomly; here they keep the load order.
func (s *suite) orderRuleGroups(groupMap map[string]*rules.Group) []*rules.Group {
	groups := make([]*rules.Group, 0, len(groupMap))
	for _, rg := range groupMap {
		groups = append(groups, rg)
	}
	rank := func(rg *rules.Group) int {
		if r, ok := s.loadRank[rules.GroupKey(rg.File(), rg.Name())]; ok {
			return r
		}
		return math.MaxInt
	}
	sort.Slice(groups, func(i, j int) bool {
		oi, oj := s.evalOrder[groups[i].Name()], s.evalOrder[groups[j].Name()]
		if oi != oj {
			return oi < oj
		}
		return rank(groups[i]) < rank(groups[j])
	})
	return groups
}

// alertValue is a firing alert as promtool compares it.
type alertValue struct {
	Labels      labels.Labels
	Annotations labels.Labels
}

func sortAlerts(as []alertValue) {
	sort.Slice(as, func(i, j int) bool {
		if c := labels.Compare(as[i].Labels, as[j].Labels); c != 0 {
			return c < 0
		}
		return labels.Compare(as[i].Annotations, as[j].Annotations) < 0
	})
}

// checkAlerts compares the firing alerts of the current step with the
// alert_rule_test entries that share one eval_time.
func (g *groupPlan) checkAlerts(ruleGroups []*rules.Group, tests []promtest.AlertTest) []Failure {
	wanted := map[string]bool{}
	for _, at := range tests {
		wanted[at.Alertname] = true
	}
	// An alert name may be used by several rules, in several groups.
	got := map[string][]alertValue{}
	for _, rg := range ruleGroups {
		for _, r := range rg.Rules() {
			ar, ok := r.(*rules.AlertingRule)
			if !ok || !wanted[ar.Name()] {
				continue
			}
			for _, a := range ar.ActiveAlerts() {
				if a.State == rules.StateFiring {
					got[ar.Name()] = append(got[ar.Name()], alertValue{Labels: a.Labels.Copy(), Annotations: a.Annotations.Copy()})
				}
			}
		}
	}

	var failures []Failure
	for _, at := range tests {
		var exp []alertValue
		for _, ea := range at.ExpAlerts {
			lbls := make(map[string]string, len(ea.ExpLabels)+1)
			for k, v := range ea.ExpLabels {
				lbls[k] = v
			}
			lbls[labels.AlertName] = at.Alertname
			exp = append(exp, alertValue{Labels: labels.FromMap(lbls), Annotations: labels.FromMap(ea.ExpAnnotations)})
		}
		act := slices.Clone(got[at.Alertname])
		sortAlerts(exp)
		sortAlerts(act)
		if alertsEqual(exp, act) {
			continue
		}
		f := g.failure(time.Duration(at.EvalTime), "firing alerts differ (-expected +got):\n"+cmp.Diff(alertViews(exp), alertViews(act)))
		f.Alertname = at.Alertname
		failures = append(failures, f)
	}
	return failures
}

func alertsEqual(a, b []alertValue) bool {
	return slices.EqualFunc(a, b, func(x, y alertValue) bool {
		return labels.Equal(x.Labels, y.Labels) && labels.Equal(x.Annotations, y.Annotations)
	})
}

// alert is the printable form of a firing alert, for diffs.
type alert struct {
	Labels      map[string]string
	Annotations map[string]string
}

func alertViews(as []alertValue) []alert {
	out := make([]alert, 0, len(as))
	for _, a := range as {
		out = append(out, alert{Labels: a.Labels.Map(), Annotations: a.Annotations.Map()})
	}
	return out
}

// checkExpr runs one promql_expr_test against the final state of the storage:
// input series plus everything the rules wrote.
func (g *groupPlan) checkExpr(ctx context.Context, ll loader, et preparedExprTest) (Failure, bool) {
	newFailure := func(msg string) Failure {
		f := g.failure(time.Duration(et.EvalTime), msg)
		f.Expr = et.Expr
		return f
	}
	act, err := instantQuery(ctx, ll, et.Expr, g.mint.Add(time.Duration(et.EvalTime)))
	if err != nil {
		return newFailure("query failed: " + err.Error()), true
	}
	exp := slices.Clone(et.exp)
	bySeries := func(a, b sampleValue) int { return labels.Compare(a.Labels, b.Labels) }
	slices.SortStableFunc(exp, bySeries)
	slices.SortStableFunc(act, bySeries)

	// Exact float comparison, as cmp.Equal does by default; fuzzy_compare
	// allows one ULP either way.
	opts := []cmp.Option{cmp.Comparer(labels.Equal)}
	if g.suite.fuzzy {
		opts = append(opts, cmp.Comparer(func(x, y float64) bool {
			return x == y || math.Nextafter(x, math.Inf(-1)) == y || math.Nextafter(x, math.Inf(1)) == y
		}))
	}
	if cmp.Equal(exp, act, opts...) {
		return Failure{}, false
	}
	expViews, actViews := sampleViews(exp), sampleViews(act)
	diff := cmp.Diff(expViews, actViews)
	if diff == "" {
		// The printed forms agree, so a value compares unequal to itself.
		diff = fmt.Sprintf("expected: %s\ngot:      %s\n(the values print the same but compare unequal: NaN never equals NaN)\n",
			samplesString(exp, expViews), samplesString(act, actViews))
	}
	return newFailure("samples differ (-expected +got):\n" + diff), true
}

// sample is the printable form of a sample, for diffs. Value holds the float
// with enough digits to tell any two float64 apart, or the histogram.
type sample struct {
	Labels map[string]string
	Value  string
}

func sampleViews(ss []sampleValue) []sample {
	out := make([]sample, 0, len(ss))
	for _, smp := range ss {
		var value []string
		if smp.Histogram == "" || smp.Value != 0 {
			value = append(value, strconv.FormatFloat(smp.Value, 'g', -1, 64))
		}
		if smp.Histogram != "" {
			value = append(value, smp.Histogram)
		}
		out = append(out, sample{Labels: smp.Labels.Map(), Value: strings.Join(value, " ")})
	}
	return out
}

// samplesString prints samples as "<labels> <value>, ...".
func samplesString(ss []sampleValue, views []sample) string {
	parts := make([]string, len(ss))
	for i := range ss {
		parts[i] = ss[i].Labels.String() + " " + views[i].Value
	}
	return strings.Join(parts, ", ")
}

// instantQuery evaluates expr at t and returns the result as samples; a
// scalar becomes one sample without labels, like in promtool.
func instantQuery(ctx context.Context, ll loader, expr string, t time.Time) ([]sampleValue, error) {
	q, err := ll.QueryEngine().NewInstantQuery(ctx, ll.Storage(), nil, expr, t)
	if err != nil {
		return nil, err
	}
	// Close hands the result's memory back to the engine, so copy it first.
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, res.Err
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		var out []sampleValue
		for _, smp := range v {
			out = append(out, sampleValue{
				Labels:    smp.Metric.Copy(),
				Value:     smp.F,
				Histogram: promqltest.HistogramTestExpression(smp.H),
			})
		}
		return out, nil
	case promql.Scalar:
		return []sampleValue{{Labels: labels.EmptyLabels(), Value: v.V}}, nil
	default:
		return nil, fmt.Errorf("result is a %s, not an instant vector or a scalar", res.Value.Type())
	}
}

// failure starts a Failure located in this test group.
func (g *groupPlan) failure(evalTime time.Duration, msg string) Failure {
	return Failure{File: g.suite.path, Group: g.name, EvalTime: evalTime, Message: msg}
}

// formatDuration prints d like the eval_time fields are written.
func formatDuration(d time.Duration) string {
	if d >= 0 && d%time.Millisecond == 0 {
		return model.Duration(d).String()
	}
	return d.String()
}
