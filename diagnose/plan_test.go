package diagnose

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

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
	for _, n := range []int{5, 6, 7, 8, 9, 10, 11} {
		s := p.sections[n]
		if s.Fix == "" {
			t.Errorf("section %d (%q) has no fix", n, s.Title)
		}
		if !strings.HasPrefix(s.URL, "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubeapierrorbudgetburn#step-") {
			t.Errorf("section %d URL %q", n, s.URL)
		}
	}
	if got, want := p.sections[6].URL, "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubeapierrorbudgetburn#step-6-is-an-aggregated-api-down"; got != want {
		t.Errorf("section 6 URL %q, want %q", got, want)
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
	r := &Report{Steps: []StepResult{{Step: runbook.StepAPIServices, Status: StatusFound, Rows: []Sample{{Labels: map[string]string{"name": "v3.projectcalico.org"}}}}}}
	tests := []struct {
		step runbook.Step
		ls   map[string]string
		want int
	}{
		{runbook.StepErrors, map[string]string{"code": "503", "group": "projectcalico.org", "verb": "LIST"}, 6},
		{runbook.StepErrors, map[string]string{"code": "503", "group": "metrics.k8s.io", "verb": "GET"}, 5},
		{runbook.StepErrors, map[string]string{"code": "500", "verb": "PUT"}, 7},
		{runbook.StepErrors, map[string]string{"code": "504", "verb": "LIST"}, 10},
		{runbook.StepErrors, map[string]string{"code": "500", "verb": "GET"}, 5},
		{runbook.StepSlow, map[string]string{"verb": "LIST", "scope": "cluster"}, 9},
		{runbook.StepSlow, map[string]string{"verb": "PUT", "scope": "resource"}, 8},
	}
	for _, tt := range tests {
		if got := r.route(tt.step, tt.ls); got != tt.want {
			t.Errorf("route(%s, %v) = %d, want %d", tt.step, tt.ls, got, tt.want)
		}
	}
}

func TestAnchor(t *testing.T) {
	for in, want := range map[string]string{
		"Step 6: Is an aggregated API down?":               "step-6-is-an-aggregated-api-down",
		"Step 9: Expensive LISTs or a broken watch cache?": "step-9-expensive-lists-or-a-broken-watch-cache",
		"Step 1: Which SLI burns, and how fast?":           "step-1-which-sli-burns-and-how-fast",
	} {
		if got := anchor(in); got != want {
			t.Errorf("anchor(%q) = %q, want %q", in, got, want)
		}
	}
}
