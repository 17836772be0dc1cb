package diagnose

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/slo"
)

func TestNewPlan(t *testing.T) {
	tests := []struct {
		name    string
		window  time.Duration
		cluster string
		// in and out are substrings of the errors step's query.
		in, out []string
	}{
		{"runbook as is", 0, "", []string{"[1h]"}, []string{"cluster="}},
		{"3d, one cluster", 72 * time.Hour, "prod-1", []string{"[3d]", `cluster="prod-1"`}, []string{"[1h]"}},
		{"short window", 5 * time.Minute, "", []string{"[5m]"}, []string{"[1h]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPlan(slo.Default(), tt.window, tt.cluster)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Steps) != len(runbook.Steps) {
				t.Fatalf("%d steps, want %d", len(p.Steps), len(runbook.Steps))
			}
			for i, st := range p.Steps {
				if st.Step != runbook.Steps[i] {
					t.Errorf("step %d is %s, want %s", i, st.Step, runbook.Steps[i])
				}
				if st.Step != runbook.StepProbe && !strings.HasPrefix(st.Section.Title, "Step ") {
					t.Errorf("step %s has no runbook section", st.Step)
				}
				if len(st.Metrics) == 0 && st.Step != runbook.StepProbe {
					t.Errorf("step %s reads no metric", st.Step)
				}
				if tt.cluster != "" && strings.Count(st.Query, `cluster="`+tt.cluster+`"`) < 1 {
					t.Errorf("step %s does not select the cluster: %s", st.Step, st.Query)
				}
			}
			q := p.Steps[3].Query
			for _, s := range tt.in {
				if !strings.Contains(q, s) {
					t.Errorf("errors query lacks %q: %s", s, q)
				}
			}
			for _, s := range tt.out {
				if strings.Contains(q, s) {
					t.Errorf("errors query has %q: %s", s, q)
				}
			}
		})
	}
	if _, err := NewPlan(slo.Default(), 48*time.Hour, ""); err == nil || !strings.Contains(err.Error(), "window 2d is not one of the alert's windows (1h, 5m, 6h, 30m, 1d, 2h, 3d)") {
		t.Errorf("2d window: %v", err)
	}
}

func TestSectionsHaveFixes(t *testing.T) {
	p, err := NewPlan(slo.Default(), 0, "")
	if err != nil {
		t.Fatal(err)
	}
	// The sections from Step 5 on, by a step of each: they say what fixes
	// what they find.
	for _, st := range []runbook.Step{
		runbook.StepInstanceErrors, runbook.StepAPIServices, runbook.StepWebhookErrors, runbook.StepEtcdLatency,
		runbook.StepListFetched, runbook.StepTerminations, runbook.StepAPFWork,
	} {
		s := p.section(st)
		if s.Fix == "" {
			t.Errorf("section %d (%q) has no fix", s.Number, s.Title)
		}
		if !strings.HasPrefix(s.URL, "https://github.com/burnrate/burnrate/blob/main/runbooks/kubernetes/KubeAPIErrorBudgetBurn.md#step-") {
			t.Errorf("section %d URL %q", s.Number, s.URL)
		}
	}
	// The anchor is GitHub's for the heading, whatever the section's number.
	url := regexp.MustCompile(`^https://github\.com/burnrate/burnrate/blob/main/runbooks/kubernetes/KubeAPIErrorBudgetBurn\.md#step-(\d+)-is-an-aggregated-api-down$`)
	s := p.section(runbook.StepAPIServices)
	if m := url.FindStringSubmatch(s.URL); m == nil || m[1] != strconv.Itoa(s.Number) || s.Title != "Step "+m[1]+": Is an aggregated API down?" {
		t.Errorf("aggregated API section %d %q at %q", s.Number, s.Title, s.URL)
	}
	// Each step's section is the one that holds it, as the page numbers it.
	for _, st := range p.Steps {
		sec, _ := p.runbook.SectionOf(st.Step)
		if st.Section.Number != sec.Number || st.Section.Title != sec.Heading || st.Section.Fix != sec.Fix {
			t.Errorf("step %s: section %+v, want %+v", st.Step, st.Section, sec)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want Kind
	}{
		{&url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, KindUnreachable},
		{&url.Error{Op: "Post", URL: "http://x", Err: &HTTPError{Code: 401}}, KindAuth},
		{&url.Error{Op: "Post", URL: "http://x", Err: &HTTPError{Code: 403}}, KindAuth},
		{&url.Error{Op: "Post", URL: "http://x", Err: &HTTPError{Code: 500}}, KindServer},
		{&url.Error{Op: "Post", URL: "http://x", Err: &HTTPError{Code: 404}}, KindServer},
		{fmt.Errorf("query: %w", context.DeadlineExceeded), KindTimeout},
		{&v1.Error{Type: v1.ErrTimeout, Msg: "query timed out"}, KindTimeout},
		{&v1.Error{Type: v1.ErrBadData, Msg: "parse error"}, KindOther},
		{&v1.Error{Type: v1.ErrBadResponse, Msg: "not json"}, KindServer},
		{errors.New("something"), KindOther},
	}
	for _, tt := range tests {
		if got := Classify(tt.err); got != tt.want {
			t.Errorf("Classify(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}

func TestRoute(t *testing.T) {
	p, err := NewPlan(slo.Default(), 0, "")
	if err != nil {
		t.Fatal(err)
	}
	r := &Report{Steps: []StepResult{{Step: runbook.StepAPIServices, Status: StatusFound, Rows: []Sample{{Labels: map[string]string{"name": "v3.projectcalico.org"}}}}}}
	tests := []struct {
		step runbook.Step
		ls   map[string]string
		// want is the step whose section the row routes to: the aggregated
		// API (Step 6 today), one instance or all (5), webhooks (7),
		// timeouts (10), LISTs (9), etcd (8).
		want runbook.Step
	}{
		{runbook.StepErrors, map[string]string{"code": "503", "group": "projectcalico.org", "verb": "LIST"}, runbook.StepAPIServices},
		{runbook.StepErrors, map[string]string{"code": "503", "group": "metrics.k8s.io", "verb": "GET"}, runbook.StepInstanceErrors},
		{runbook.StepErrors, map[string]string{"code": "500", "verb": "PUT"}, runbook.StepWebhookErrors},
		{runbook.StepErrors, map[string]string{"code": "504", "verb": "LIST"}, runbook.StepTerminations},
		{runbook.StepErrors, map[string]string{"code": "500", "verb": "GET"}, runbook.StepInstanceErrors},
		{runbook.StepSlow, map[string]string{"verb": "LIST", "scope": "cluster", "resource": "pods"}, runbook.StepListFetched},
		{runbook.StepSlow, map[string]string{"verb": "PUT", "scope": "resource", "resource": "leases"}, runbook.StepEtcdLatency},
		{runbook.StepSlow, map[string]string{"verb": "GET"}, runbook.StepAPIServices},
	}
	for _, tt := range tests {
		got := r.route(p, tt.step, tt.ls)
		if got != tt.want {
			t.Errorf("route(%s, %v) = %s, want %s", tt.step, tt.ls, got, tt.want)
		}
		if sec, want := p.section(got), p.section(tt.want); sec.Title != want.Title || sec.Fix == "" {
			t.Errorf("route(%s, %v) leads to %q (fix %q), want %q", tt.step, tt.ls, sec.Title, sec.Fix, want.Title)
		}
	}
}

// TestInstanceCulprit: an apiserver instance is named a culprit only when it
// stands out from other instances; a single apiserver's row is no culprit
// (on a one-instance cluster it would otherwise be named on every
// incident).
func TestInstanceCulprit(t *testing.T) {
	p, err := NewPlan(slo.Default(), 0, "")
	if err != nil {
		t.Fatal(err)
	}
	row := func(inst string, v float64) Sample {
		return Sample{Labels: map[string]string{"instance": inst}, Value: v}
	}
	tests := []struct {
		name string
		rows []Sample
		want bool
	}{
		{"one instance", []Sample{row("a", 5)}, false},
		{"one of three stands out", []Sample{row("a", 5), row("b", 1), row("c", 1)}, true},
		{"instances alike", []Sample{row("a", 5), row("b", 4), row("c", 4)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{Steps: []StepResult{{Step: runbook.StepInstanceLatency, Status: StatusFound, Rows: tc.rows}}}
			r.explain(p)
			got := slices.ContainsFunc(r.Culprits, func(c Culprit) bool { return c.Step == runbook.StepInstanceLatency })
			if got != tc.want {
				t.Errorf("instance named a culprit: %v, want %v (%+v)", got, tc.want, r.Culprits)
			}
		})
	}
}

// TestNewServicePlan: a spec with a service plans its own runbook's steps,
// each with its section (and no link: payments has no runbook.urlPattern,
// so its alerts carry no runbook_url), with the window and the cluster
// rewritten in every query.
func TestNewServicePlan(t *testing.T) {
	s, err := slo.Load("../../examples/payments-grpc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(s, 6*time.Hour, "eu-1")
	if err != nil {
		t.Fatal(err)
	}
	var got []runbook.Step
	for _, st := range p.Steps {
		got = append(got, st.Step)
		if !strings.Contains(st.Query, `cluster="eu-1"`) || strings.Contains(st.Query, "[1h]") {
			t.Errorf("step %s reads another cluster or window: %s", st.Step, st.Query)
		}
		if !strings.HasPrefix(st.Section.Title, "Step ") || st.Section.URL != "" {
			t.Errorf("step %s: section %q, link %q", st.Step, st.Section.Title, st.Section.URL)
		}
		if st.Entry.Outside() {
			t.Errorf("step %s finds failures outside the SLI", st.Step)
		}
	}
	want := []runbook.Step{runbook.StepProbe, runbook.StepSLI, runbook.StepTerms, runbook.StepErrors, runbook.StepSlow,
		"errors-by-grpc_method", "errors-by-grpc_code", "errors-by-instance", "slow-by-grpc_method", "slow-by-grpc_code", "slow-by-instance"}
	if !slices.Equal(got, want) {
		t.Errorf("steps %v, want %v", got, want)
	}
	if _, err := NewPlan(s, 24*time.Hour, ""); err == nil || !strings.Contains(err.Error(), "window 1d is not one of the alert's windows (1h, 5m, 6h, 30m, 3d)") {
		t.Errorf("1d: %v, want refused (payments has no 1d/2h pair)", err)
	}
}

// TestMissingMetrics: a step is held back only by the metrics it cannot
// do without: both sides of an `or` must miss, the right of `unless`
// never holds it back, every other operand does.
func TestMissingMetrics(t *testing.T) {
	present := map[string]bool{"a": true, "b": true}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{`rate(a[5m])`, nil},
		{`rate(x[5m])`, []string{"x"}},
		{`sum(rate(a[5m]) or rate(x[5m]))`, nil},
		{`sum(rate(x[5m]) or label_replace(rate(a[5m]), "s", "c", "", ""))`, nil},
		{`rate(x[5m]) or rate(y[5m])`, []string{"x", "y"}},
		{`a / x`, []string{"x"}},
		{`(a or x) > 10`, nil},
		{`(x or y) + b`, []string{"x", "y"}},
		{`a unless x`, nil},
		{`x unless a`, []string{"x"}},
		{`{__name__=~"x|y"}`, nil},
		{`vector(1)`, nil},
	} {
		expr, err := parser.NewParser(parser.Options{}).ParseExpr(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		if got := missingMetrics(expr, present); !slices.Equal(got, tc.want) {
			t.Errorf("%s: missing %v, want %v", tc.query, got, tc.want)
		}
	}
}
