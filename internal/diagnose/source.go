package diagnose

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/slo"
)

// Where the burn rates come from: diagnose reads burnrate's records when
// the Prometheus has them; else the kubernetes-mixin's, for a cluster that
// still runs the mixin's rules; else it computes them from the raw series
// with the spec's selectors, for a Prometheus whose rules run elsewhere (a
// Thanos or Mimir ruler) or nowhere. Only the steps sli and terms read
// records; every other step reads raw series.

// source finds where plan p's burn rates are at ts: the first source whose
// marker record (runbook.Runbook.SourceMarker) has a series in the window.
// When the probe fails, it says records, and the steps report what is
// missing.
func (c *Client) source(ctx context.Context, p *Plan, ts time.Time) runbook.Source {
	for _, src := range []runbook.Source{runbook.SourceRecords, runbook.SourceMixin} {
		name, ok := p.runbook.SourceMarker(src, p.Window)
		if !ok {
			continue
		}
		ms := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, name)}
		if src == runbook.SourceRecords {
			// Every service's records share the names: only this spec's.
			ms = append(ms, p.runbook.Own...)
		}
		if p.Cluster != "" {
			ms = append(ms, labels.MustNewMatcher(labels.MatchEqual, p.Spec.ClusterLabel, p.Cluster))
		}
		rows, err := c.query(ctx, seriesCount(&parser.VectorSelector{LabelMatchers: ms}, p.Window).String(), ts)
		if err != nil {
			return runbook.SourceRecords
		}
		if len(rows) > 0 && rows[0].Value > 0 {
			return src
		}
	}
	return runbook.SourceRaw
}

// pairWindows lists the windows of every alert pair of s that has window w,
// long or short: computed from raw series, the burn table shows those.
func pairWindows(s *slo.Spec, w time.Duration) []slo.Duration {
	var out []slo.Duration
	for _, pair := range s.Alert.Windows {
		if time.Duration(pair.Long) != w && time.Duration(pair.Short) != w {
			continue
		}
		for _, d := range []slo.Duration{pair.Long, pair.Short} {
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	slices.Sort(out)
	return out
}

// withSource returns a copy of plan p whose steps sli and terms read their
// burn rates from src.
func (p *Plan) withSource(src runbook.Source) (*Plan, error) {
	if src == runbook.SourceRecords {
		return p, nil
	}
	sli, terms, err := p.runbook.BurnQueries(src, p.Window, pairWindows(p.Spec, p.Window))
	if err != nil {
		return nil, err
	}
	var cm *labels.Matcher
	if p.Cluster != "" {
		cm = labels.MustNewMatcher(labels.MatchEqual, p.Spec.ClusterLabel, p.Cluster)
	}
	out := *p
	out.Steps = slices.Clone(p.Steps)
	prs := parser.NewParser(parser.Options{})
	for i, st := range out.Steps {
		var q string
		switch st.Step {
		case runbook.StepSLI:
			q = sli
		case runbook.StepTerms:
			q = terms
		default:
			continue
		}
		expr, err := prs.ParseExpr(q)
		if err != nil {
			return nil, fmt.Errorf("runbook step %s from %s: %w", st.Step, src, err)
		}
		// The queries are built over the plan's window already: only the
		// cluster matcher is added.
		out.Steps[i].Metrics = rewrite(expr, 0, 0, cm)
		out.Steps[i].Query = expr.String()
		out.Steps[i].expr = expr
	}
	return &out, nil
}
