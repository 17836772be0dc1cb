package diagnose

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/series"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// Finding severities.
const (
	SeverityError   = "error"   // a rule comes out empty or can never count what it should
	SeverityWarning = "warning" // something is missing that may only mean "nothing happened yet"
	SeverityOK      = "ok"
)

// Finding is one lint result.
type Finding struct {
	Severity string `json:"severity"`
	// SLO is the SLI's name, or "" for the spec as a whole.
	SLO string `json:"slo,omitempty"`
	// Check names what was checked: requests, errors, histogram, bucket, rule.
	Check   string `json:"check"`
	Message string `json:"message"`
	// Query is the PromQL that found it.
	Query string `json:"query,omitempty"`
}

// LintReport is the outcome of Lint.
type LintReport struct {
	Prometheus string    `json:"prometheus"`
	Spec       string    `json:"spec"`
	Cluster    string    `json:"cluster,omitempty"`
	Time       time.Time `json:"time"`
	Findings   []Finding `json:"findings"`
}

// Errors counts the findings of severity error.
func (r *LintReport) Errors() int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == SeverityError {
			n++
		}
	}
	return n
}

// LintOptions tune Lint.
type LintOptions struct {
	// Cluster limits every check to one value of the spec's cluster label.
	Cluster string
	// Time is the evaluation time (default now).
	Time time.Time
	// Lookback is how far back a series counts as present (default 1h).
	Lookback time.Duration
}

// Lint checks that the series spec s needs exist in Prometheus: per SLO the
// request counter, its error series, the latency histogram and the bucket
// of every threshold; then it evaluates every recording rule of the
// optimized profile and reports those that come out empty. A failure to
// reach Prometheus is returned as an *Error.
func Lint(ctx context.Context, c *Client, s *slo.Spec, o LintOptions) (*LintReport, error) {
	if o.Time.IsZero() {
		o.Time = time.Now()
	}
	if o.Lookback <= 0 {
		o.Lookback = time.Hour
	}
	if err := c.Ping(ctx); err != nil {
		return nil, err
	}
	r := &LintReport{Prometheus: c.url, Spec: s.Name, Cluster: o.Cluster, Time: o.Time.UTC()}
	l := &linter{c: c, s: s, o: o, r: r}
	if o.Cluster != "" {
		l.cm = labels.MustNewMatcher(labels.MatchEqual, s.ClusterLabel, o.Cluster)
	}
	if err := l.series(ctx); err != nil {
		return nil, err
	}
	if err := l.rules(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

type linter struct {
	c  *Client
	s  *slo.Spec
	o  LintOptions
	r  *LintReport
	cm *labels.Matcher
}

func (l *linter) add(sev, sloName, check, query, format string, args ...any) {
	l.r.Findings = append(l.r.Findings, Finding{Severity: sev, SLO: sloName, Check: check, Query: query, Message: fmt.Sprintf(format, args...)})
}

// sel selects metric{ms..., cluster}.
func (l *linter) sel(metric string, ms ...[]*labels.Matcher) *parser.VectorSelector {
	all := slices.Concat(ms...)
	if l.cm != nil {
		all = append(all, l.cm)
	}
	return pql.Vec(metric, all)
}

// count runs count by (by) (last_over_time(vs[lookback])) and returns the
// query and its rows.
func (l *linter) count(ctx context.Context, vs *parser.VectorSelector, by ...string) (string, v1Vector, error) {
	q := seriesCount(vs, l.o.Lookback, by...).String()
	rows, err := l.c.query(ctx, q, l.o.Time)
	return q, rows, err
}

func (l *linter) series(ctx context.Context) error {
	s := l.s
	m, err := slomodel.New(s, slomodel.ProfileOptimized)
	if err != nil {
		return err
	}
	part := s.Latency.PartitionLabel
	for i, o := range s.SLOs {
		req, hist := m.SLIs[i].Requests, m.SLIs[i].Latency
		q, rows, err := l.count(ctx, l.sel(s.Requests.Metric, req))
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			l.add(SeverityError, o.Name, "requests", q, "no series of %s for SLI %s: every rule of the SLI comes out empty and the alert never fires for it", s.Requests.Metric, o.Name)
			continue
		}
		l.add(SeverityOK, o.Name, "requests", q, "%s has series for SLI %s", s.Requests.Metric, o.Name)
		q, rows, err = l.count(ctx, l.sel(s.Requests.Metric, req, m.Errors))
		if err != nil {
			return err
		}
		switch {
		case len(rows) > 0:
			l.add(SeverityOK, o.Name, "errors", q, "error series (%s) exist for SLI %s", s.Requests.Errors, o.Name)
		case m.Profile.AbsentAsZero:
			l.add(SeverityWarning, o.Name, "errors", q, "no error series (%s) for SLI %s yet: fine if nothing failed; the rules count it as 0 (fixes.absentAsZero)", s.Requests.Errors, o.Name)
		default:
			l.add(SeverityError, o.Name, "errors", q, "no error series (%s) for SLI %s: without fixes.absentAsZero its error and burn-rate rules come out empty and the alert never fires", s.Requests.Errors, o.Name)
		}
		form := s.Latency.Form.OrDefault()
		held, fq, err := l.forms(ctx, l.sel(s.Latency.Metric+"_bucket", hist), l.sel(s.Latency.Metric, hist))
		if err != nil {
			return err
		}
		switch {
		case held.serves(form):
			l.add(SeverityOK, o.Name, "form", fq, "Prometheus holds %s for SLI %s as %s; the spec reads latency.form: %s", s.Latency.Metric, o.Name, held, form)
		case held.classic || held.native != "":
			l.add(SeverityError, o.Name, "form", fq, "the spec reads %s for SLI %s as latency.form: %s, but Prometheus holds it as %s, so the latency rules read nothing and slow requests never burn the budget; %s", s.Latency.Metric, o.Name, form, held, held.advice(form))
			continue
		case form.IsNative():
			l.add(SeverityError, o.Name, "histogram", fq, "no native histogram series %s for SLI %s: slow requests are never counted, so latency never burns the budget", s.Latency.Metric, o.Name)
			continue
		}
		if form.IsNative() {
			l.nativeThresholds(o, held, fq)
			continue
		}
		q, rows, err = l.count(ctx, l.sel(s.Latency.Metric+"_count", hist))
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			l.add(SeverityError, o.Name, "histogram", q, "no series of %s_count for SLI %s: slow requests are never counted, so latency never burns the budget", s.Latency.Metric, o.Name)
			continue
		}
		for _, t := range o.Latency {
			tm := hist
			what := "SLI " + o.Name
			if len(t.Partition) > 0 {
				var alts []string
				for _, v := range t.Partition {
					alts = append(alts, regexp.QuoteMeta(v))
				}
				tm = append(slices.Clone(hist), labels.MustNewMatcher(labels.MatchRegexp, part, strings.Join(alts, "|")))
				what += fmt.Sprintf(" %s=~%q", part, strings.Join(t.Partition, "|"))
			}
			cq, crows, err := l.count(ctx, l.sel(s.Latency.Metric+"_count", tm))
			if err != nil {
				return err
			}
			if len(crows) == 0 {
				l.add(SeverityWarning, o.Name, "histogram", cq, "no requests of %s in %s_count: nothing to check for the %ss threshold", what, s.Latency.Metric, series.Le(t.Seconds))
				continue
			}
			q, rows, err := l.count(ctx, l.sel(s.Latency.Metric+"_bucket", tm), "le")
			if err != nil {
				return err
			}
			var les []string
			found := false
			for _, row := range rows {
				le := row.Labels["le"]
				les = append(les, le)
				if v, err := strconv.ParseFloat(le, 64); err == nil && v == t.Seconds {
					found = true
				}
			}
			slices.SortFunc(les, func(a, b string) int {
				x, _ := strconv.ParseFloat(a, 64)
				y, _ := strconv.ParseFloat(b, 64)
				switch {
				case x < y:
					return -1
				case x > y:
					return 1
				}
				return 0
			})
			if found {
				l.add(SeverityOK, o.Name, "bucket", q, "bucket le=%q of %s_bucket exists for %s", series.Le(t.Seconds), s.Latency.Metric, what)
				continue
			}
			effect := "the slow-request rule counts none of these requests as slow (fixes.absentAsZero makes the missing bucket 0), so their latency never burns the budget"
			if !m.Profile.AbsentAsZero {
				effect = "the slow-request rule for it comes out empty, and so do the SLI's burn rates: the alert never fires for it"
			}
			l.add(SeverityError, o.Name, "bucket", q,
				"bucket le=%q of %s_bucket is missing for %s (the buckets scraped are %s): %s; keep the bucket in your metricRelabelings (kube-prometheus drops some by default) or pick a threshold that is a scraped bucket",
				series.Le(t.Seconds), s.Latency.Metric, what, strings.Join(les, ", "), effect)
		}
	}
	return nil
}

// rules evaluates each recording rule of the optimized profile and
// reports the ones that come out empty.
func (l *linter) rules(ctx context.Context) error {
	rf, err := rulegen.Rules(l.s, slomodel.ProfileOptimized)
	if err != nil {
		return err
	}
	prs := parser.NewParser(parser.Options{})
	for _, g := range rf {
		for _, rule := range g.Rules {
			if rule.Record == "" {
				continue
			}
			expr, err := prs.ParseExpr(rule.Expr)
			if err != nil {
				return fmt.Errorf("rule %s: %w", rule.Record, err)
			}
			rewrite(expr, 0, 0, l.cm)
			q := countOf(expr).String()
			rows, err := l.c.query(ctx, q, l.o.Time)
			if err != nil {
				return err
			}
			name := rule.Record
			if len(rule.Labels) > 0 {
				name += labels.FromMap(rule.Labels).String()
			}
			if len(rows) == 0 {
				l.add(SeverityError, l.sloOf(rule.Labels), "rule", "", "recording rule %s (group %s) comes out empty; rules and alerts that read it get nothing", name, g.Name)
			}
		}
	}
	return nil
}

func (l *linter) sloOf(ls map[string]string) string { return ls[l.s.SLILabel] }

// WriteJSON writes the report as indented JSON.
func (r *LintReport) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}

// WriteText writes one line per finding, errors first.
func (r *LintReport) WriteText(w io.Writer, verbose bool) error {
	var b strings.Builder
	where := ""
	if r.Cluster != "" {
		where = " cluster " + r.Cluster
	}
	fmt.Fprintf(&b, "burnrate lint: spec %s against %s%s at %s\n", r.Spec, r.Prometheus, where, r.Time.Format("2006-01-02T15:04:05Z"))
	for _, sev := range []string{SeverityError, SeverityWarning, SeverityOK} {
		if sev == SeverityOK && !verbose {
			continue
		}
		for _, f := range r.Findings {
			if f.Severity != sev {
				continue
			}
			slo := ""
			if f.SLO != "" {
				slo = " [" + f.SLO + "]"
			}
			fmt.Fprintf(&b, "%s%s %s: %s\n", f.Severity, slo, f.Check, f.Message)
		}
	}
	switch n := r.Errors(); n {
	case 0:
		b.WriteString("no errors\n")
	case 1:
		b.WriteString("1 error\n")
	default:
		fmt.Fprintf(&b, "%d errors\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
