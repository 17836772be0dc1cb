package diagnose

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/slomodel"
)

// HealthFinding is an input of an SLO that is broken now: one of the
// SLO's SLI-health checks (rulegen.HealthChecks, the checks the
// SLI-health alert fires on after slomodel.HealthFor) returns a series.
// Until it is fixed the SLO's burn rate is wrong, whatever it says.
type HealthFinding struct {
	SLO string `json:"slo"`
	// Problem is one of slomodel's Problem* names: bucket-missing,
	// no-histogram, count-diverges, no-requests, no-total,
	// errors-exceed-total.
	Problem string `json:"problem"`
	// Threshold is the threshold in seconds whose bucket is missing.
	Threshold float64 `json:"threshold_seconds,omitempty"`
	// Labels are the broken series' labels: the cluster, and the
	// partition label for a partitioned threshold.
	Labels      map[string]string `json:"labels"`
	Summary     string            `json:"summary"`
	Description string            `json:"description"`
	Query       string            `json:"query"`
}

// HealthError is an SLI-health check whose query failed.
type HealthError struct {
	SLO     string `json:"slo"`
	Problem string `json:"problem"`
	Query   string `json:"query"`
	Reason  string `json:"reason"`
}

// healthCheck is one SLI-health check, ready to run.
type healthCheck struct {
	slo, problem         string
	threshold            float64
	query                string
	summary, description string
}

// healthChecks are the SLI-health checks of every SLO of model m, their
// selectors narrowed to cluster when it is not empty.
func healthChecks(m *slomodel.Model, cluster string) []healthCheck {
	var cm *labels.Matcher
	if cluster != "" {
		cm = labels.MustNewMatcher(labels.MatchEqual, m.ClusterLabel, cluster)
	}
	var out []healthCheck
	for i, o := range m.SLOs {
		for _, c := range rulegen.HealthChecks(m, i) {
			rewrite(c.Expr, 0, 0, cm) // ranges stay the base window's
			_, as := m.HealthAlert(i, c.Problem, c.Threshold)
			out = append(out, healthCheck{slo: o.Name, problem: c.Problem, threshold: c.Threshold.Seconds,
				query: c.Expr.String(), summary: as["summary"], description: as["description"]})
		}
	}
	return out
}

// runHealth runs the plan's SLI-health checks at ts, at most par at once.
func (r *Report) runHealth(ctx context.Context, c *Client, p *Plan, ts time.Time, par int) {
	checks := healthChecks(p.model, p.Cluster)
	found := make([][]HealthFinding, len(checks))
	failed := make([]*HealthError, len(checks))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, hc := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rows, err := c.query(ctx, hc.query, ts)
			if err != nil {
				failed[i] = &HealthError{SLO: hc.slo, Problem: hc.problem, Query: hc.query, Reason: err.Error()}
				return
			}
			for _, row := range rows {
				found[i] = append(found[i], HealthFinding{SLO: hc.slo, Problem: hc.problem, Threshold: hc.threshold, Labels: row.Labels,
					Summary: hc.summary, Description: hc.description, Query: hc.query})
			}
		}()
	}
	wg.Wait()
	r.Health = []HealthFinding{}
	for i := range checks {
		r.Health = append(r.Health, found[i]...)
		if failed[i] != nil {
			r.HealthErrors = append(r.HealthErrors, *failed[i])
		}
	}
}

// healthText is a finding as the text report lists it.
func (f HealthFinding) text(clusterLabel string) string {
	s := "[" + f.SLO + "] " + f.Problem
	if f.Threshold != 0 {
		s += " at " + strconv.FormatFloat(f.Threshold, 'g', -1, 64) + "s"
	}
	if ls := labelsText(f.Labels, clusterLabel); ls != "{}" {
		s += " " + ls
	}
	return s
}
