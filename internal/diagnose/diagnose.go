package diagnose

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/burnrate/burnrate/internal/runbook"
)

// Sample is one row of a query result.
type Sample struct {
	Labels map[string]string `json:"labels"`
	Value  float64           `json:"value"`
	// Share is the row's part of the step's total, for steps whose rows
	// add up (rates); 0 for quantiles and ratios.
	Share float64 `json:"share,omitempty"`
}

type v1Vector []Sample

func toVector(v model.Value) (v1Vector, error) {
	switch v := v.(type) {
	case model.Vector:
		out := make(v1Vector, 0, len(v))
		for _, s := range v {
			ls := map[string]string{}
			for k, x := range s.Metric {
				ls[string(k)] = string(x)
			}
			out = append(out, Sample{Labels: ls, Value: float64(s.Value)})
		}
		return out, nil
	case *model.Scalar:
		return v1Vector{{Labels: map[string]string{}, Value: float64(v.Value)}}, nil
	}
	return nil, fmt.Errorf("unexpected result type %s", v.Type())
}

// Status of a step.
const (
	StatusFound   = "found"   // rows
	StatusEmpty   = "empty"   // no rows: nothing found
	StatusSkipped = "skipped" // a metric it reads is not scraped
	StatusFailed  = "failed"  // the query failed or timed out
)

// StepResult is one drill-down step's outcome.
type StepResult struct {
	Step    runbook.Step `json:"step"`
	Section Section      `json:"section"`
	Query   string       `json:"query"`
	Status  string       `json:"status"`
	// Reason says why a step was skipped or failed.
	Reason string `json:"reason,omitempty"`
	// Rows are the top rows, largest first.
	Rows []Sample `json:"rows,omitempty"`
	// Total is the number of rows before the cut.
	Total   int           `json:"total"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Burn is one SLI's burn rate over one window, as a factor of the budget.
type Burn struct {
	SLI    string  `json:"sli"`
	Window string  `json:"window"`
	Factor float64 `json:"factor"`
}

// Culprit is a finding with the runbook section it points to.
type Culprit struct {
	Step   runbook.Step      `json:"step"`
	Labels map[string]string `json:"labels"`
	Value  float64           `json:"value"`
	Share  float64           `json:"share,omitempty"`
	// Section is where the runbook goes on from this finding, with its fix.
	Section Section `json:"section"`
}

// Report is the outcome of Diagnose.
type Report struct {
	Prometheus string    `json:"prometheus"`
	Cluster    string    `json:"cluster,omitempty"`
	Time       time.Time `json:"time"`
	Window     string    `json:"window"`
	// Source says where the burn rates come from: burnrate's records, the
	// kubernetes-mixin's, or the raw series (runbook.Source).
	Source string `json:"source"`
	// Burns holds every SLI's burn factor per window, fastest first.
	Burns []Burn `json:"burns"`
	// SLI is the SLI that burns fastest over Window, Term the term that
	// burns most of it (errors or slow), TermShare its share.
	SLI       string  `json:"sli,omitempty"`
	SLIFactor float64 `json:"sli_factor,omitempty"`
	Term      string  `json:"term,omitempty"`
	TermShare float64 `json:"term_share,omitempty"`
	// Culprits come in the runbook's order of reasoning: the failing or
	// slow requests first, then what each step found.
	Culprits []Culprit `json:"culprits"`
	// Outside lists every row of the steps that find failures the SLI
	// does not count (runbook.Step.Outside), whichever SLI burns.
	Outside []Culprit    `json:"outside_sli"`
	Steps   []StepResult `json:"steps"`
	// Health lists the SLOs' inputs that are broken now (the SLI-health
	// checks that find a series); while one is, that SLO's burn rate is
	// wrong. HealthErrors are the checks whose query failed.
	Health       []HealthFinding `json:"sli_health"`
	HealthErrors []HealthError   `json:"sli_health_errors,omitempty"`
	Elapsed      time.Duration   `json:"elapsed_ns"`
	// outsideSteps: the runbook has steps that find failures outside the
	// SLI (the kube-apiserver's); a service's has none.
	outsideSteps bool
}

// Failed counts the steps and SLI-health checks that failed.
func (r *Report) Failed() int {
	n := len(r.HealthErrors)
	for _, s := range r.Steps {
		if s.Status == StatusFailed {
			n++
		}
	}
	return n
}

// Step returns the result of step st.
func (r *Report) Step(st runbook.Step) *StepResult {
	for i := range r.Steps {
		if r.Steps[i].Step == st {
			return &r.Steps[i]
		}
	}
	return nil
}

// Options tune Diagnose.
type Options struct {
	// Time is the evaluation time (default now).
	Time time.Time
	// Top is the number of rows kept per step (default 3).
	Top int
	// Parallel is the number of queries in flight (default 4).
	Parallel int
}

// Diagnose checks that Prometheus answers, then runs every step of plan p.
// A failure to reach Prometheus at all is returned as an *Error; a step
// that fails is reported in its result and the others still run.
func Diagnose(ctx context.Context, c *Client, p *Plan, o Options) (*Report, error) {
	start := time.Now()
	if o.Time.IsZero() {
		o.Time = time.Now()
	}
	if o.Top <= 0 {
		o.Top = 3
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if err := c.Ping(ctx); err != nil {
		return nil, err
	}
	r := &Report{Prometheus: c.url, Cluster: p.Cluster, Time: o.Time.UTC(), Window: model.Duration(p.Window).String()}
	src := c.source(ctx, p, o.Time)
	sp, err := p.withSource(src)
	if err != nil {
		return nil, err
	}
	p, r.Source = sp, src.String()

	// Which metrics exist: one query for every name the steps read.
	var names []string
	for _, st := range p.Steps {
		names = append(names, st.Metrics...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	present, probeErr := c.present(ctx, names, p, o.Time)

	r.Steps = make([]StepResult, len(p.Steps))
	sem := make(chan struct{}, o.Parallel)
	var wg sync.WaitGroup
	for i, st := range p.Steps {
		res := &r.Steps[i]
		*res = StepResult{Step: st.Step, Section: st.Section, Query: st.Query}
		if probeErr == nil {
			var missing []string
			if st.expr != nil {
				missing = missingMetrics(st.expr, present)
				slices.Sort(missing)
				missing = slices.Compact(missing)
			} else {
				for _, m := range st.Metrics {
					if !present[m] {
						missing = append(missing, m)
					}
				}
			}
			if len(missing) > 0 {
				res.Status = StatusSkipped
				res.Reason = notScraped(missing, st.Entry.Eventual())
				continue
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t := time.Now()
			rows, err := c.query(ctx, st.Query, o.Time)
			res.Elapsed = time.Since(t)
			if err != nil {
				res.Status, res.Reason = StatusFailed, err.Error()
				return
			}
			res.Total = len(rows)
			if len(rows) == 0 {
				res.Status = StatusEmpty
				return
			}
			res.Status = StatusFound
			res.Rows = top(rows, st, o.Top)
		}()
	}
	wg.Wait()
	if p.model != nil {
		r.runHealth(ctx, c, p, o.Time, o.Parallel)
	}
	r.explain(p)
	r.Elapsed = time.Since(start)
	return r, nil
}

// notScraped says why a step that reads the missing metrics is skipped;
// eventual says that they may have no series because nothing happened
// yet (see runbook.Step.Eventual).
func notScraped(missing []string, eventual bool) string {
	if eventual {
		return "not scraped, or nothing happened yet: " + strings.Join(missing, ", ") + " has no series"
	}
	return "not scraped: " + strings.Join(missing, ", ") + " has no series"
}

// present reports which of names have a series (in the cluster) at ts.
func (c *Client) present(ctx context.Context, names []string, p *Plan, ts time.Time) (map[string]bool, error) {
	var in []*labels.Matcher
	if p.Cluster != "" {
		in = append(in, labels.MustNewMatcher(labels.MatchEqual, p.Spec.ClusterLabel, p.Cluster))
	}
	q := seriesCount(namesSelector(names, in...), p.Window, labels.MetricName)
	rows, err := c.query(ctx, q.String(), ts)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, r := range rows {
		out[r.Labels[labels.MetricName]] = true
	}
	return out, nil
}

// top sorts rows by value, largest first, sets shares for additive steps,
// and keeps n.
func top(rows v1Vector, st PlannedStep, n int) []Sample {
	sum := 0.0
	for _, r := range rows {
		if !math.IsNaN(r.Value) {
			sum += r.Value
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i].Value, rows[j].Value
		if math.IsNaN(a) != math.IsNaN(b) {
			return !math.IsNaN(a)
		}
		if a != b {
			return a > b
		}
		return labels.FromMap(rows[i].Labels).String() < labels.FromMap(rows[j].Labels).String()
	})
	if st.Entry.Adds() && sum > 0 {
		for i := range rows {
			rows[i].Share = rows[i].Value / sum
		}
	}
	if len(rows) > n && st.Step != runbook.StepSLI && st.Step != runbook.StepTerms {
		rows = rows[:n]
	}
	return rows
}

// explain fills the burn table, the verdict and the culprits.
func (r *Report) explain(p *Plan) {
	s := p.Spec
	sliLabel := s.SLILabel
	if st := r.Step(runbook.StepSLI); st != nil && st.Status == StatusFound {
		// The SLI and terms steps keep every row (see top).
		for _, row := range st.Rows {
			r.Burns = append(r.Burns, Burn{SLI: row.Labels[sliLabel], Window: row.Labels["window"], Factor: row.Value})
		}
		slices.SortStableFunc(r.Burns, func(a, b Burn) int {
			if c := strings.Compare(a.SLI, b.SLI); c != 0 {
				return c
			}
			x, _ := model.ParseDuration(a.Window)
			y, _ := model.ParseDuration(b.Window)
			return int(x - y)
		})
		for _, b := range r.Burns {
			if b.Window == r.Window && (r.SLI == "" || b.Factor > r.SLIFactor) {
				r.SLI, r.SLIFactor = b.SLI, b.Factor
			}
		}
	}
	if st := r.Step(runbook.StepTerms); st != nil && st.Status == StatusFound && r.SLI != "" {
		sum := 0.0
		var best Sample
		for _, row := range st.Rows {
			if row.Labels[sliLabel] != r.SLI {
				continue
			}
			sum += row.Value
			if row.Value > best.Value {
				best = row
			}
		}
		if sum > 0 {
			r.Term, r.TermShare = best.Labels["term"], best.Value/sum
		}
	}
	r.Culprits = r.culprits(p)
	for _, st := range p.Steps {
		if !st.Entry.Outside() {
			continue
		}
		r.outsideSteps = true
		if res := r.Step(st.Step); res != nil && res.Status == StatusFound {
			for _, row := range res.Rows {
				if row.Value > 0 {
					r.Outside = append(r.Outside, Culprit{Step: st.Step, Labels: row.Labels, Value: row.Value, Share: row.Share, Section: st.Section})
				}
			}
		}
	}
}

// burning is the burn factor from which an SLI burns its budget: faster
// than it can last the SLO period.
const burning = 1

// culprits names the cause first, as an engineer following the runbook
// finds it:
//
//  1. an apiserver instance that stands out from the others (its own node
//     or etcd path explains everything it serves);
//  2. when an SLI burns, the cause in the section that the failing or slow
//     requests route to (the webhook, the APIService, etcd, the flooding
//     flow), followed by those requests;
//  3. every other finder that found something, in runbook order, and the
//     ranking steps of the sections the requests lead to whose first row
//     stands out.
//
// A zero-valued row is never a culprit; without a burn, failing or slow
// requests are not either (a healthy cluster has some).
func (r *Report) culprits(p *Plan) []Culprit {
	var out []Culprit
	named := map[runbook.Step]bool{}
	add := func(st runbook.Step, to Section) {
		res := r.Step(st)
		if named[st] || res == nil || res.Status != StatusFound || !(res.Rows[0].Value > 0) {
			return
		}
		named[st] = true
		row := res.Rows[0]
		out = append(out, Culprit{Step: st, Labels: row.Labels, Value: row.Value, Share: row.Share, Section: to})
	}
	section := func(st runbook.Step) Section { return p.section(st) }

	// 1. An instance stands out only from other instances: with a single
	// apiserver its row says nothing about which one is bad, and would
	// name it on every incident.
	for _, st := range p.Steps {
		if st.Entry.Culprit() == runbook.CulpritWhenStandsOut {
			if res := r.Step(st.Step); res != nil && len(res.Rows) > 1 && r.standsOut(st.Step) {
				add(st.Step, st.Section)
			}
		}
	}

	// 2. The requests, when an SLI burns: the term that burns most, then
	// the other if it burns a fifth or more; each with the section its
	// route leads to, and the cause found there before it.
	first := []runbook.Step{runbook.StepErrors, runbook.StepSlow}
	if r.Term == "slow" {
		first = []runbook.Step{runbook.StepSlow, runbook.StepErrors}
	}
	routed := map[int]bool{}
	if r.SLIFactor >= burning {
		for i, st := range first {
			res := r.Step(st)
			if res == nil || res.Status != StatusFound || !(res.Rows[0].Value > 0) || (i > 0 && r.TermShare > 0.8) {
				continue
			}
			to := r.route(p, st, res.Rows[0].Labels)
			routed[section(to).Number] = true
			switch {
			case to == st:
			case p.entry(to).Culprit() == runbook.CulpritDrilldown:
				// A service's requests route to the drill-downs by each
				// label: every one whose first row stands out names
				// where they concentrate, in the spec's label order.
				for _, o := range p.Steps {
					if o.Section.Number == section(to).Number && r.names(p, o.Step) {
						add(o.Step, o.Section)
					}
				}
			case r.names(p, to):
				add(to, section(to))
			}
			add(st, section(to))
		}
	}

	// 3. Every finder that found something (they find nothing on a
	// healthy cluster), in runbook order, and the ranking steps of the
	// sections the requests lead to when their first row stands out.
	for _, st := range p.Steps {
		switch st.Entry.Culprit() {
		case runbook.CulpritNever, runbook.CulpritRequests, runbook.CulpritWhenStandsOut:
			continue
		}
		if st.Finder || (routed[st.Section.Number] && r.standsOut(st.Step)) {
			add(st.Step, st.Section)
		}
	}
	return out
}

// names reports whether step st, which a failing or slow request routes
// to, names a cause: a finder or a ranking step that found a non-zero row,
// an instance step only when its first instance stands out from others, a
// service's drill-down when its first row stands out (or is alone).
func (r *Report) names(p *Plan, st runbook.Step) bool {
	res := r.Step(st)
	if res == nil || res.Status != StatusFound || !(res.Rows[0].Value > 0) {
		return false
	}
	switch p.entry(st).Culprit() {
	case runbook.CulpritWhenStandsOut:
		return len(res.Rows) > 1 && r.standsOut(st)
	case runbook.CulpritDrilldown:
		return r.standsOut(st)
	}
	return true
}

// standsOut reports whether a ranking step's first row is well above the
// second (twice), so that it names one culprit rather than the usual
// biggest.
func (r *Report) standsOut(st runbook.Step) bool {
	res := r.Step(st)
	if res == nil || res.Status != StatusFound || len(res.Rows) == 0 {
		return false
	}
	if len(res.Rows) == 1 {
		return true
	}
	return res.Rows[0].Value >= 2*res.Rows[1].Value
}

// route is the step whose runbook section a failing or slow request row of
// step st points to, by the step's routes in the runbook; st itself if it
// has none that matches.
func (r *Report) route(p *Plan, st runbook.Step, ls map[string]string) runbook.Step {
	rows := func(other runbook.Step) []map[string]string {
		res := r.Step(other)
		if res == nil {
			return nil
		}
		out := make([]map[string]string, len(res.Rows))
		for i, row := range res.Rows {
			out[i] = row.Labels
		}
		return out
	}
	if to, ok := p.entry(st).Route(ls, rows); ok {
		return to
	}
	return st
}

// labelsText prints labels without the cluster label, sorted.
func labelsText(ls map[string]string, drop ...string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(ls)) {
		if slices.Contains(drop, k) {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%q", k, ls[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
