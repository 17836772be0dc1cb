package diagnose

// End-to-end tests against a real Prometheus v0.316.0 server holding the
// incident scenarios and the series burnrate's rules record (see package
// e2eprom for how it is built and filled). One server serves every test and
// benchmark of the package.

import (
	"bytes"
	"context"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/testkit/e2eprom"
	"github.com/burnrate/burnrate/slo"
)

const droppedCluster = e2eprom.DroppedCluster

var e2eEnd = e2eprom.End

var (
	e2eOnce   sync.Once
	e2eServer *e2eprom.Server
	e2eErr    error
	e2eSetup  time.Duration
)

func TestMain(m *testing.M) {
	code := m.Run()
	if e2eServer != nil {
		e2eServer.Stop()
	}
	if replayEnv != nil {
		replayEnv.Stop()
	}
	if serviceServer != nil {
		serviceServer.Stop()
	}
	stopSourceServers()
	os.Exit(code)
}

// sharedE2E starts the package's one server on first use; TestMain stops
// it.
func sharedE2E(tb testing.TB) *e2eprom.Server {
	tb.Helper()
	if testing.Short() {
		tb.Skip("slow: real Prometheus; make check runs it")
	}
	e2eOnce.Do(func() {
		start := time.Now()
		e2eServer, e2eErr = e2eprom.Start()
		e2eSetup = time.Since(start)
	})
	if e2eErr != nil {
		tb.Fatalf("e2e Prometheus: %v", e2eErr)
	}
	return e2eServer
}

// diagnoseScenario runs Diagnose for one scenario at its end.
func diagnoseScenario(tb testing.TB, env *e2eprom.Server, cluster string, window time.Duration) *Report {
	tb.Helper()
	return diagnoseSpec(tb, env.URL, slo.Default(), cluster, window, e2eEnd)
}

// diagnoseSpec runs diagnose on spec s's plan for cluster over window, at
// time at, against the Prometheus at url.
func diagnoseSpec(tb testing.TB, url string, s *slo.Spec, cluster string, window time.Duration, at time.Time) *Report {
	tb.Helper()
	c, err := NewClient(Config{URL: url, QueryTimeout: 10 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	p, err := NewPlan(s, window, cluster)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := Diagnose(context.Background(), c, p, Options{Time: at})
	if err != nil {
		tb.Fatalf("diagnose %s: %v", cluster, err)
	}
	return r
}

// reportText is report r as text, logged when t fails or runs verbose.
func reportText(t *testing.T, r *Report) *bytes.Buffer {
	t.Helper()
	var text bytes.Buffer
	if err := r.WriteText(&text, "cluster"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("report:\n%s", text.String())
		}
	})
	return &text
}

func TestE2EDiagnoseNamesTheCulprit(t *testing.T) {
	env := sharedE2E(t)
	t.Logf("e2e server set up in %s", e2eSetup.Round(time.Millisecond))
	for _, sc := range env.Scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			r := diagnoseScenario(t, env, sc.Name, sc.Window())
			var text bytes.Buffer
			if err := r.WriteText(&text, "cluster"); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if t.Failed() {
					t.Logf("report:\n%s", text.String())
				}
			}()
			if n := r.Failed(); n > 0 {
				t.Errorf("%d steps failed", n)
			}
			if want := sc.Culprits[runbook.StepSLI]["verb"]; r.SLI != want {
				t.Errorf("SLI = %q, want %q", r.SLI, want)
			}
			if want := sc.Culprits[runbook.StepTerms]["term"]; r.Term != want {
				t.Errorf("term = %q, want %q", r.Term, want)
			}
			for _, st := range runbook.Steps {
				want, ok := sc.Culprits[st]
				if !ok || st == runbook.StepSLI {
					continue
				}
				res := r.Step(st)
				if res == nil || len(res.Rows) == 0 {
					t.Errorf("step %s found nothing, want %v", st, want)
					continue
				}
				if got := res.Rows[0].Labels; !maps.Equal(got, want) {
					t.Errorf("step %s ranks %v first, want %v", st, got, want)
				}
			}
			for _, st := range sc.Quiet {
				res := r.Step(st)
				quiet := res.Status == StatusEmpty || (res.Status == StatusSkipped && strings.Contains(res.Reason, "nothing happened yet"))
				if !quiet {
					t.Errorf("step %s: %s %v, want nothing found", st, res.Status, res.Rows)
				}
			}
			// The first culprit names the cause; the failing or slow
			// request the scenario injects follows it (or is it).
			if len(r.Culprits) == 0 {
				t.Fatal("no culprits")
			}
			if c := r.Culprits[0]; c.Step != sc.Cause || !maps.Equal(c.Labels, sc.Culprits[sc.Cause]) {
				t.Errorf("first culprit = %s %v, want the cause %s %v", c.Step, c.Labels, sc.Cause, sc.Culprits[sc.Cause])
			}
			request := runbook.StepErrors
			if r.Term == "slow" {
				request = runbook.StepSlow
			}
			if !slices.ContainsFunc(r.Culprits[:min(3, len(r.Culprits))], func(c Culprit) bool {
				return c.Step == request && maps.Equal(c.Labels, sc.Culprits[request])
			}) {
				t.Errorf("the %s request %v is not among the first three culprits (the cause, an instance that stands out, then the request)", request, sc.Culprits[request])
			}
			if r.Culprits[0].Section.Title == "" || r.Culprits[0].Section.Fix == "" {
				t.Errorf("first culprit points to no runbook section with a fix: %+v", r.Culprits[0].Section)
			}
			if testing.Verbose() {
				t.Logf("report:\n%s", text.String())
			}
		})
	}
}

func TestE2EDiagnoseNotScraped(t *testing.T) {
	env := sharedE2E(t)
	r := diagnoseScenario(t, env, droppedCluster, 3*24*time.Hour)
	res := r.Step(runbook.StepEtcdLatency)
	if res.Status != StatusSkipped || !strings.Contains(res.Reason, "not scraped: etcd_request_duration_seconds_bucket") {
		t.Errorf("etcd step: %s %q, want skipped as not scraped", res.Status, res.Reason)
	}
	var text bytes.Buffer
	r.WriteText(&text, "cluster")
	if !strings.Contains(text.String(), "not scraped: etcd_request_duration_seconds_bucket has no series: step etcd-latency skipped") {
		t.Errorf("report does not say the etcd step was skipped:\n%s", text.String())
	}
	// The rest still runs and finds the aggregated API.
	if res := r.Step(runbook.StepAPIServices); res.Status != StatusFound || res.Rows[0].Labels["name"] != "v3.projectcalico.org" {
		t.Errorf("apiservices step: %s %v", res.Status, res.Rows)
	}
}

func TestE2ELint(t *testing.T) {
	env := sharedE2E(t)
	missingBucket := slo.Default()
	missingBucket.SLOs[1].Latency[0].Seconds = 2.5 // the scenarios have no le="2.5"
	tests := []struct {
		name    string
		spec    *slo.Spec
		cluster string
		// want lists substrings of the error findings, in any order; none
		// means no error.
		want []string
	}{
		{"all series", slo.Default(), "aggregated-api-unreachable", nil},
		{"dropped le=30", slo.Default(), droppedCluster, []string{`bucket le="30" of apiserver_request_sli_duration_seconds_bucket is missing for SLI read scope=~"cluster"`}},
		{"threshold without bucket", missingBucket, "slow-etcd", []string{`bucket le="2.5" of apiserver_request_sli_duration_seconds_bucket is missing for SLI write`}},
		{"unknown cluster", slo.Default(), "no-such-cluster", []string{"no series of apiserver_request_total for SLI read", "no series of apiserver_request_total for SLI write", "recording rule cluster_verb:apiserver_request_sli_events:rate5m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(Config{URL: env.URL})
			if err != nil {
				t.Fatal(err)
			}
			r, err := Lint(context.Background(), c, tt.spec, LintOptions{Cluster: tt.cluster, Time: e2eEnd})
			if err != nil {
				t.Fatal(err)
			}
			var text bytes.Buffer
			r.WriteText(&text, false)
			var errs []string
			for _, f := range r.Findings {
				if f.Severity == SeverityError {
					errs = append(errs, f.Message)
				}
			}
			if len(tt.want) == 0 && len(errs) > 0 {
				t.Errorf("errors found:\n%s", text.String())
			}
			for _, w := range tt.want {
				if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, w) }) {
					t.Errorf("no error finding containing %q:\n%s", w, text.String())
				}
			}
		})
	}
}

// BenchmarkDiagnose times one diagnose run per scenario against the e2e
// server (every step, window and cluster as in the e2e tests).
func BenchmarkDiagnose(b *testing.B) {
	env := sharedE2E(b)
	for _, sc := range env.Scenarios {
		b.Run(sc.Name, func(b *testing.B) {
			for b.Loop() {
				diagnoseScenario(b, env, sc.Name, sc.Window())
			}
		})
	}
}
