package pyrra

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/burnrate/burnrate/internal/testkit/importcheck"
	"github.com/burnrate/burnrate/internal/testkit/peers"
	"github.com/burnrate/burnrate/internal/testkit/synth"
)

// runPyrra writes the rules Pyrra v0.10.1 generates for the resource in
// file, with Pyrra's own packages (internal/testkit/peers); it skips when
// the module proxy cannot be reached, unless CI=true.
func runPyrra(t *testing.T, file string) string {
	t.Helper()
	start := time.Now()
	out, err := peers.Pyrra(t.TempDir(), file)
	if errors.Is(err, peers.ErrUnreachable) && os.Getenv("CI") != "true" {
		t.Skipf("SKIP: cannot fetch Pyrra v0.10.1 from the Go module proxy (set CI=true to fail instead): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Pyrra v0.10.1's rules for %s: %s (go mod tidy, build and run)", filepath.Base(file), time.Since(start).Round(100*time.Millisecond))
	return out
}

// phase is a stretch of steady traffic: the share of requests that fail
// and the share slower than 0.5s.
type phase struct {
	minutes    int
	errs, slow float64
}

// phases burn each SLO's budget (errors 99.5%, latency 99% within 0.5s)
// fast (20x and 15x for 90 minutes: the 1h/5m pair) and then slowly (3x
// and 2.5x for 18 hours: the 1d/2h and 4d/6h pairs, not the page pairs),
// with healthy traffic around them: 36 hours.
var phases = []phase{
	{360, 0.0005, 0.001},
	{90, 0.10, 0.15},
	{360, 0.0005, 0.001},
	{1080, 0.015, 0.025},
	{270, 0.0005, 0.001},
}

type traffic struct{ phases []phase }

func (s traffic) Each(fn func(labels.Labels, int64, float64) error) error {
	const rps = 20.0
	base := []string{"cluster", "c1", "job", "checkout"}
	series := []struct {
		ls   labels.Labels
		rate func(p phase) float64
	}{
		{labels.FromStrings(append(base, "__name__", "http_requests_total", "code", "200")...), func(p phase) float64 { return rps * (1 - p.errs) }},
		{labels.FromStrings(append(base, "__name__", "http_requests_total", "code", "500")...), func(p phase) float64 { return rps * p.errs }},
		{labels.FromStrings(append(base, "__name__", "http_request_duration_seconds_bucket", "le", "0.5")...), func(p phase) float64 { return rps * (1 - p.slow) }},
		{labels.FromStrings(append(base, "__name__", "http_request_duration_seconds_bucket", "le", "+Inf")...), func(p phase) float64 { return rps }},
		{labels.FromStrings(append(base, "__name__", "http_request_duration_seconds_count")...), func(p phase) float64 { return rps }},
	}
	for _, c := range series {
		v, minute := 0.0, 0
		for _, p := range s.phases {
			for range p.minutes {
				if err := fn(c.ls, int64(minute)*60_000, v); err != nil {
					return err
				}
				v += c.rate(p) * 60
				minute++
			}
		}
	}
	return nil
}

// TestEquivalentToPyrra converts each Pyrra SLO, renders it with
// burnrate, generates Pyrra v0.10.1's rules for the same resource with
// Pyrra's own packages, and evaluates both over the same 36 hours of
// synthetic series every 5 minutes: each burn-rate alert (by severity)
// starts and stops firing at the same evaluations within one step, and
// both severities fire.
func TestEquivalentToPyrra(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: -short: builds Pyrra v0.10.1's packages with go run")
	}
	const interval, bound = 5 * time.Minute, 1
	for _, c := range []struct {
		name       string
		severities []string
	}{
		{"errors", []string{"critical", "warning"}},
		{"latency", []string{"critical", "ticket"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join("testdata", c.name+".pyrra.yaml")
			res, err := convertFile(t, file)
			if err != nil {
				t.Fatal(err)
			}
			ours := importcheck.Generate(t, res.Specs[0].Data)
			theirs := runPyrra(t, file)
			eval := func(f string) *synth.Trace {
				start := time.Now()
				tr, err := synth.Evaluate(context.Background(), f, traffic{phases}, synth.EvalOptions{Interval: interval})
				if err != nil {
					t.Fatalf("%s: %v", filepath.Base(f), err)
				}
				t.Logf("%s: %d evaluations in %s", filepath.Base(f), len(tr.Steps), time.Since(start).Round(time.Millisecond))
				return tr
			}
			want, got := firingBySeverity(t, eval(theirs)), firingBySeverity(t, eval(ours))
			for _, sev := range c.severities {
				if want[sev] == nil {
					t.Errorf("Pyrra never fires severity %s: the scenario does not exercise it", sev)
				}
			}
			synth.SameFiring(t, "Pyrra", want, got, bound, interval)
		})
	}
}

// firingBySeverity lists, per severity, the steps at which the burn-rate
// alert (ErrorBudgetBurn, any window pair) fires.
func firingBySeverity(t *testing.T, tr *synth.Trace) map[string][]bool {
	t.Helper()
	out, err := synth.Firing(tr, "ErrorBudgetBurn", func(ls labels.Labels) string { return ls.Get("severity") })
	if err != nil {
		t.Fatal(err)
	}
	return out
}
