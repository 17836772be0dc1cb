package synth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/stats"
)

// EvalOptions configure Evaluate. The zero value is usable.
type EvalOptions struct {
	// Start and End bound the evaluation timestamps (both included). Zero
	// values default to the first and last sample time of the source.
	Start, End time.Time
	// Interval is the evaluation interval of every group; the interval
	// field of groups in the rule file is ignored, as promtool does.
	// query_offset and limit are honoured. Default 1m.
	Interval time.Duration
	// MaxSamples is the engine's limit of samples in memory per query.
	// Default 50e6.
	MaxSamples int
	// Timeout is the engine's per-query timeout. Default 1m.
	Timeout time.Duration
	// LookbackDelta is the engine's lookback delta. Default 5m.
	LookbackDelta time.Duration
	// Parser configures the PromQL parser, e.g. to enable experimental
	// functions. Default parser.Options{}, as promtool without flags.
	Parser parser.Options
	// ContinueOnError records rule evaluation errors in Step.Errors and
	// goes on. By default the first error ends the evaluation.
	ContinueOnError bool
	// OnStep, if not nil, is called with every step as soon as it is
	// evaluated; an error ends the evaluation.
	OnStep func(Step) error
	// DiscardSteps leaves Trace.Steps empty, e.g. for long benchmarks that
	// only need Trace.Stats or consume steps through OnStep.
	DiscardSteps bool
}

func (o EvalOptions) withDefaults() EvalOptions {
	if o.Interval == 0 {
		o.Interval = time.Minute
	}
	if o.MaxSamples == 0 {
		o.MaxSamples = 50_000_000
	}
	if o.Timeout == 0 {
		o.Timeout = time.Minute
	}
	return o
}

// Trace is the result of Evaluate.
type Trace struct {
	// Steps holds one entry per evaluation timestamp, in time order.
	Steps []Step
	// Stats holds query statistics and timings.
	Stats Stats
}

// Step is what the rules produced at one evaluation timestamp.
type Step struct {
	// Time is the evaluation timestamp (UTC).
	Time time.Time
	// Records maps every sample written by a recording rule at this step,
	// keyed by its label set as SeriesString writes it, e.g.
	// `apiserver_request:burnrate1h{cluster="c1", verb="read"}`, to its
	// value. The map is never nil. Values may be NaN; compare traces with
	// cmpopts.EquateNaNs() (or EquateApprox). Native histogram results are
	// not recorded.
	Records map[string]float64
	// Alerts holds every pending or firing alert, sorted by name, then
	// labels. Nil if there are none.
	Alerts []Alert
	// Errors holds rule evaluation errors of this step (only with
	// EvalOptions.ContinueOnError).
	Errors []string
}

// Record returns the value of the recorded series with this metric name and
// label pairs (name, value, ...), and whether it exists.
func (s Step) Record(name string, labelPairs ...string) (float64, bool) {
	v, ok := s.Records[seriesKey(name, labelPairs...)]
	return v, ok
}

// Alert is an alert instance at a step.
type Alert struct {
	// Name is the alert name.
	Name string
	// State is "pending" or "firing".
	State string
	// Labels are the alert's labels, alertname included, in Prometheus text
	// form, e.g. `{alertname="X", cluster="c1", severity="critical"}`.
	Labels string
	// Annotations are the expanded annotations; nil if there are none.
	Annotations map[string]string
	// ActiveAt is when the alert became pending (UTC).
	ActiveAt time.Time
	// Value is the value of the alert expression at this step.
	Value float64
}

// QueryStats sum up PromQL query statistics (see
// github.com/prometheus/prometheus/util/stats.QuerySamples).
type QueryStats struct {
	// Queries is the number of queries run.
	Queries int
	// TotalSamples is the number of samples touched: what the engine counts
	// against its work, with overlapping windows counted every time.
	TotalSamples int64
	// SamplesRead counts evaluator input, reusing reads across overlapping
	// windows within one query.
	SamplesRead int64
	// TotalSeries is the number of series touched (summed over selectors).
	TotalSeries int64
	// PeakSamples is the largest peak of samples in memory of one query.
	PeakSamples int
}

func (q *QueryStats) add(o QueryStats) {
	q.Queries += o.Queries
	q.TotalSamples += o.TotalSamples
	q.SamplesRead += o.SamplesRead
	q.TotalSeries += o.TotalSeries
	q.PeakSamples = max(q.PeakSamples, o.PeakSamples)
}

func (q *QueryStats) addSamples(s *stats.QuerySamples) {
	q.Queries++
	if s == nil {
		return
	}
	q.TotalSamples += s.TotalSamples
	q.SamplesRead += s.SamplesRead
	q.TotalSeries += s.TotalSeries
	q.PeakSamples = max(q.PeakSamples, s.PeakSamples)
}

// RuleStats are the statistics of one rule over all steps.
type RuleStats struct {
	// Name is the record or alert name.
	Name string
	// Kind is "recording" or "alerting".
	Kind string
	// Index is the position of the rule in its group, from 0.
	Index int
	QueryStats
	// EvalTime is the wall time spent evaluating the rule, appends included.
	EvalTime time.Duration
}

// GroupStats are the statistics of one group over all steps: the sums of
// its rules.
type GroupStats struct {
	Name string
	QueryStats
	EvalTime time.Duration
	Rules    []RuleStats
}

// Stats describe an evaluation.
type Stats struct {
	// Load describes the raw samples loaded.
	Load LoadStats
	// Groups holds the statistics per group, in file order.
	Groups []GroupStats
	// Total sums up the groups.
	Total QueryStats
	// StepSamples holds the samples touched (TotalSamples) per step.
	StepSamples []int64
	// Steps is the number of evaluation steps.
	Steps int
	// EvalTime is the wall time of the evaluation loop.
	EvalTime time.Duration
}

// Evaluate loads src into a fresh Storage, evaluates the rule file over it
// and returns every recorded sample and every alert per step.
//
// At every timestamp from opts.Start to opts.End, opts.Interval apart, the
// groups are evaluated one after the other in file order (rules.Group.Eval),
// so a group sees what the groups before it recorded at the same
// timestamp. Alerting rules behave as restored, so they write ALERTS and
// ALERTS_FOR_STATE, as promtool's do. Unless opts.ContinueOnError is set,
// the first failed rule ends the evaluation with an error naming the group,
// rule and time.
func Evaluate(ctx context.Context, ruleFile string, src SeriesSource, opts EvalOptions) (_ *Trace, err error) {
	opts = opts.withDefaults()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	db, ls, err := OpenLoaded(ctx, src)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("synth: closing storage: %w", cerr)
		}
	}()
	if opts.Start.IsZero() {
		opts.Start = time.UnixMilli(ls.MinTime)
	}
	if opts.End.IsZero() {
		opts.End = time.UnixMilli(ls.MaxTime)
	}
	tr, err := EvaluateStorage(ctx, ruleFile, db, opts)
	if tr != nil {
		tr.Stats.Load = ls
	}
	return tr, err
}

// EvaluateStorage evaluates the rule file over the samples already in db,
// writing the recorded series into it, like Evaluate. opts.Start and
// opts.End are required. db must accept appends at opts.Start after holding
// samples up to opts.End (a Storage does).
func EvaluateStorage(ctx context.Context, ruleFile string, db storage.Storage, opts EvalOptions) (*Trace, error) {
	opts = opts.withDefaults()
	if opts.Start.IsZero() || opts.End.IsZero() {
		return nil, errors.New("synth: evaluation start and end are required")
	}
	if opts.Interval <= 0 {
		return nil, fmt.Errorf("synth: evaluation interval %v <= 0", opts.Interval)
	}
	ev, err := newEvaluator(ruleFile, db, opts)
	if err != nil {
		return nil, err
	}
	return ev.run(ctx)
}

// tracedRule wraps a rule to capture its output and its query statistics.
// Group.Eval handles it as any rule; it does not notify (there is nothing to
// notify).
type tracedRule struct {
	rules.Rule
	ev    *evaluator
	stats *RuleStats
	last  promql.Vector
	step  QueryStats // statistics of the current step
}

// Eval implements rules.Rule.
func (r *tracedRule) Eval(ctx context.Context, queryOffset time.Duration, ts time.Time, _ rules.QueryFunc, u *url.URL, limit int) (promql.Vector, error) {
	vec, err := r.Rule.Eval(ctx, queryOffset, ts, r.ev.queryFunc(&r.step), u, limit)
	r.last = vec
	if err != nil {
		r.last = nil
	}
	return vec, err
}

type evaluator struct {
	opts   EvalOptions
	db     storage.Storage
	engine *promql.Engine
	groups []*rules.Group
	traced [][]*tracedRule
	stats  []GroupStats
}

func newEvaluator(ruleFile string, db storage.Storage, opts EvalOptions) (*evaluator, error) {
	logger := promslog.NewNopLogger()
	p := parser.NewParser(opts.Parser)
	rgs, errs := rulefmt.ParseFile(ruleFile, false, model.UTF8Validation, p, logger)
	if len(errs) > 0 {
		return nil, fmt.Errorf("synth: loading rules: %w", errors.Join(errs...))
	}
	ev := &evaluator{
		opts: opts,
		db:   db,
		engine: promql.NewEngine(promql.EngineOpts{
			Logger:                   logger,
			MaxSamples:               opts.MaxSamples,
			Timeout:                  opts.Timeout,
			LookbackDelta:            opts.LookbackDelta,
			EnableAtModifier:         true,
			EnableNegativeOffset:     true,
			NoStepSubqueryIntervalFn: func(int64) int64 { return opts.Interval.Milliseconds() },
			Parser:                   p,
		}),
	}
	mopts := &rules.ManagerOptions{
		QueryFunc:    rules.EngineQueryFunc(ev.engine, db),
		NotifyFunc:   func(context.Context, string, ...*rules.Alert) {},
		Context:      context.Background(),
		AppendableV2: db,
		Queryable:    db,
		Logger:       logger,
		Parser:       p,
	}
	rules.NewManager(mopts) // fills in the defaults of mopts that NewGroup needs

	for _, rg := range rgs.Groups {
		gs := GroupStats{Name: rg.Name, Rules: make([]RuleStats, len(rg.Rules))}
		ev.stats = append(ev.stats, gs)
	}
	for gi, rg := range rgs.Groups {
		var rs []rules.Rule
		var traced []*tracedRule
		for ri, r := range rg.Rules {
			expr, err := p.ParseExpr(r.Expr)
			if err != nil {
				return nil, fmt.Errorf("synth: %s: group %q, rule %d: %w", ruleFile, rg.Name, ri+1, err)
			}
			lset := rules.FromMaps(rg.Labels, r.Labels)
			var rule rules.Rule
			st := &ev.stats[gi].Rules[ri]
			st.Index = ri
			if r.Alert != "" {
				rule = rules.NewAlertingRule(r.Alert, expr, time.Duration(r.For), time.Duration(r.KeepFiringFor),
					lset, labels.FromMap(r.Annotations), labels.EmptyLabels(), "", true, logger.With("alert", r.Alert))
				st.Name, st.Kind = r.Alert, rules.KindAlerting
			} else {
				rule = rules.NewRecordingRule(r.Record, expr, lset)
				st.Name, st.Kind = r.Record, rules.KindRecording
			}
			tr := &tracedRule{Rule: rule, ev: ev, stats: st}
			traced = append(traced, tr)
			rs = append(rs, tr)
		}
		ev.groups = append(ev.groups, rules.NewGroup(rules.GroupOptions{
			Name:        rg.Name,
			File:        ruleFile,
			Interval:    opts.Interval,
			Limit:       rg.Limit,
			Rules:       rs,
			Opts:        mopts,
			QueryOffset: (*time.Duration)(rg.QueryOffset),
		}))
		ev.traced = append(ev.traced, traced)
	}
	return ev, nil
}

// queryFunc returns a rules.QueryFunc that adds the statistics of every
// query to qs.
func (ev *evaluator) queryFunc(qs *QueryStats) rules.QueryFunc {
	return func(ctx context.Context, q string, t time.Time) (promql.Vector, error) {
		query, err := ev.engine.NewInstantQuery(ctx, ev.db, promql.NewPrometheusQueryOpts(false, 0, nil), q, t)
		if err != nil {
			return nil, err
		}
		defer query.Close()
		res := query.Exec(ctx)
		qs.addSamples(query.Stats().Samples)
		if res.Err != nil {
			return nil, res.Err
		}
		switch v := res.Value.(type) {
		case promql.Vector:
			return v, nil
		case promql.Scalar:
			return promql.Vector{promql.Sample{T: v.T, F: v.V, Metric: labels.EmptyLabels()}}, nil
		default:
			return nil, fmt.Errorf("rule result is a %s, not a vector or scalar", res.Value.Type())
		}
	}
}

func (ev *evaluator) run(ctx context.Context) (*Trace, error) {
	began := time.Now()
	tr := &Trace{}
	for ts := ev.opts.Start.UTC(); !ts.After(ev.opts.End); ts = ts.Add(ev.opts.Interval) {
		step := Step{Time: ts, Records: map[string]float64{}}
		var stepSamples int64
		for gi, g := range ev.groups {
			g.Eval(ctx, ts)
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("synth: evaluating at %s: %w", ts.Format(time.RFC3339), err)
			}
			for _, r := range ev.traced[gi] {
				r.stats.add(r.step)
				r.stats.EvalTime += r.GetEvaluationDuration()
				stepSamples += r.step.TotalSamples
				r.step = QueryStats{}
				if err := r.LastError(); err != nil {
					err = fmt.Errorf("group %q, rule %d (%s) at %s: %w", g.Name(), r.stats.Index+1, r.Name(), ts.Format(time.RFC3339), err)
					if !ev.opts.ContinueOnError {
						return nil, fmt.Errorf("synth: evaluating %s: %w", g.File(), err)
					}
					step.Errors = append(step.Errors, err.Error())
					continue
				}
				ev.collect(r, &step)
			}
		}
		slices.SortStableFunc(step.Alerts, func(a, b Alert) int {
			return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Labels, b.Labels))
		})
		tr.Stats.StepSamples = append(tr.Stats.StepSamples, stepSamples)
		tr.Stats.Steps++
		if ev.opts.OnStep != nil {
			if err := ev.opts.OnStep(step); err != nil {
				return nil, fmt.Errorf("synth: step %s: %w", ts.Format(time.RFC3339), err)
			}
		}
		if !ev.opts.DiscardSteps {
			tr.Steps = append(tr.Steps, step)
		}
	}
	tr.Stats.EvalTime = time.Since(began)
	for gi := range ev.stats {
		gs := &ev.stats[gi]
		for _, rs := range gs.Rules {
			gs.QueryStats.add(rs.QueryStats)
			gs.EvalTime += rs.EvalTime
		}
		tr.Stats.Total.add(gs.QueryStats)
	}
	tr.Stats.Groups = ev.stats
	return tr, nil
}

// collect adds the output of r at this step to step.
func (ev *evaluator) collect(r *tracedRule, step *Step) {
	switch rule := r.Rule.(type) {
	case *rules.RecordingRule:
		for _, s := range r.last {
			if s.H != nil {
				continue
			}
			step.Records[SeriesString(s.Metric)] = s.F
		}
	case *rules.AlertingRule:
		for _, a := range rule.ActiveAlerts() {
			al := Alert{
				Name:     rule.Name(),
				State:    a.State.String(),
				Labels:   a.Labels.String(),
				ActiveAt: a.ActiveAt.UTC(),
				Value:    a.Value,
			}
			if !a.Annotations.IsEmpty() {
				al.Annotations = a.Annotations.Map()
			}
			step.Alerts = append(step.Alerts, al)
		}
	}
}

// seriesKey returns the Records key of a series.
func seriesKey(name string, labelPairs ...string) string {
	return SeriesString(labels.FromStrings(append([]string{labels.MetricName, name}, labelPairs...)...))
}

// SeriesString formats a label set the way Step.Records keys are written:
// the metric name followed by the other labels, sorted, in braces, e.g.
// `up{instance="a", job="b"}`; just the name if there are no other labels.
func SeriesString(ls labels.Labels) string {
	name := ls.Get(labels.MetricName)
	rest := ls.DropMetricName()
	if name != "" && rest.IsEmpty() {
		return name
	}
	return name + rest.String()
}
