package sloth

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/internal/testkit/synth"
	"github.com/burnrate/burnrate/slo"
)

// slothModule is the Sloth whose rules the import must match.
const slothModule = "github.com/slok/sloth/cmd/sloth@v0.16.0"

// equivalenceSpec is a Sloth prometheus/v1 spec with two SLOs on two
// counters at two objectives, and severities for both alerts
// (testdata/myservice.sloth.yaml; cmd/burnrate's import test reads it too).
var equivalenceSpec = func() string {
	b, err := os.ReadFile(filepath.Join("testdata", "myservice.sloth.yaml"))
	if err != nil {
		panic(err)
	}
	return string(b)
}()

// latencySpec is a Sloth spec whose second SLO is a latency SLI, the
// share of requests slower than 500 ms (testdata/latency.sloth.yaml).
var latencySpec = func() string {
	b, err := os.ReadFile(filepath.Join("testdata", "latency.sloth.yaml"))
	if err != nil {
		panic(err)
	}
	return string(b)
}()

// phase is a stretch of steady traffic: the share of the requests of each
// SLO's counter that fail, and of the histogram's requests that are slower
// than 500 ms.
type phase struct {
	minutes          int
	availErr, chkErr float64
	slow             float64
}

// equivalencePhases burn each SLO's budget at speeds that cross Sloth's
// four window pairs: a fast burn of the 99.9% SLO (3% errors, 20x its
// budget, for 90 minutes: both page pairs), then a slow burn of the 99%
// SLO (4%, 4x its budget, for 18 hours: the ticket pairs, not the page
// pairs), with healthy traffic around them.
var equivalencePhases = []phase{
	{360, 0.0005, 0.002, 0},
	{90, 0.03, 0.002, 0},
	{360, 0.0005, 0.002, 0},
	{1080, 0.0005, 0.04, 0},
	{240, 0.0005, 0.002, 0},
}

// latencyPhases burn the latency SLO (99%) fast (30% slow, 30x its budget,
// for 90 minutes: both page pairs) and slowly (4% for 18 hours: the ticket
// pairs), after a fast burn of the availability SLO.
var latencyPhases = []phase{
	{360, 0.0005, 0, 0.002},
	{90, 0.03, 0, 0.002},
	{360, 0.0005, 0, 0.002},
	{90, 0.0005, 0, 0.3},
	{360, 0.0005, 0, 0.002},
	{1080, 0.0005, 0, 0.04},
	{240, 0.0005, 0, 0.002},
}

// trafficSource writes the phases as counters scraped every minute.
type trafficSource struct{ phases []phase }

func (s trafficSource) Each(fn func(labels.Labels, int64, float64) error) error {
	type counter struct {
		ls   labels.Labels
		rate func(p phase) float64 // per second
	}
	const availRPS, chkRPS, histRPS = 50.0, 10.0, 20.0
	hist := func(name, le string, share func(p phase) float64) counter {
		ls := labels.FromStrings("__name__", "http_request_duration_seconds_"+name, "cluster", "c1", "job", "myservice")
		if le != "" {
			ls = labels.FromStrings("__name__", "http_request_duration_seconds_"+name, "cluster", "c1", "job", "myservice", "le", le)
		}
		return counter{ls, func(p phase) float64 { return histRPS * share(p) }}
	}
	all := func(phase) float64 { return 1 }
	counters := []counter{
		hist("count", "", all),
		hist("bucket", "+Inf", all),
		hist("bucket", "0.5", func(p phase) float64 { return 1 - p.slow }),
		hist("bucket", "0.1", func(p phase) float64 { return (1 - p.slow) / 2 }),
		{labels.FromStrings("__name__", "http_requests_total", "cluster", "c1", "job", "myservice", "code", "200"), func(p phase) float64 { return availRPS * (1 - p.availErr) }},
		{labels.FromStrings("__name__", "http_requests_total", "cluster", "c1", "job", "myservice", "code", "503"), func(p phase) float64 { return availRPS * p.availErr }},
		{labels.FromStrings("__name__", "checkout_attempts_total", "cluster", "c1", "job", "myservice", "outcome", "ok"), func(p phase) float64 { return chkRPS * (1 - p.chkErr) }},
		{labels.FromStrings("__name__", "checkout_attempts_total", "cluster", "c1", "job", "myservice", "outcome", "fail"), func(p phase) float64 { return chkRPS * p.chkErr }},
	}
	for _, c := range counters {
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

// networkFailure matches what the go command prints when it cannot reach
// the module proxy.
var networkFailure = regexp.MustCompile(`dial tcp|no such host|connection refused|i/o timeout|TLS handshake|network is unreachable|proxy.golang.org`)

// runSloth runs Sloth v0.16.0 itself on the spec (go run keeps its
// dependencies apart from ours) and returns its rule file's path. It
// skips when the module proxy cannot be reached, unless CI=true.
func runSloth(t *testing.T, dir, spec string) string {
	t.Helper()
	in, out := filepath.Join(dir, "sloth.yaml"), filepath.Join(dir, "sloth.rules.yaml")
	if err := os.WriteFile(in, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", slothModule, "generate", "-i", in, "-o", out)
	cmd.Dir = dir // outside our module: go run pkg@version ignores go.mod anyway
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	start := time.Now()
	err := cmd.Run()
	t.Logf("go run %s generate: %s (build, from the module cache when warm, and run)", slothModule, time.Since(start).Round(100*time.Millisecond))
	if err != nil {
		if networkFailure.Match(buf.Bytes()) && os.Getenv("CI") != "true" {
			t.Skipf("SKIP: cannot fetch %s from the Go module proxy (set CI=true to fail instead): %s", slothModule, lastLine(buf.String()))
		}
		t.Fatalf("go run %s generate: %v\n%s", slothModule, err, buf.String())
	}
	return out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// alertKey is one SLO's alert of one severity.
type alertKey struct{ slo, severity string }

// firing lists, per alert (SLO and severity), the steps at which it
// fires; sloLabel names the SLO label: Sloth's sloth_slo, burnrate's slo.
func firing(t *testing.T, tr *synth.Trace, sloLabel string) map[alertKey][]bool {
	t.Helper()
	out, err := synth.Firing(tr, "MyServiceHighErrorRate", func(ls labels.Labels) alertKey { return alertKey{ls.Get(sloLabel), ls.Get("severity")} })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEquivalentToSloth converts Sloth specs, renders them with
// burnrate, runs Sloth v0.16.0 on the same specs, and evaluates both rule
// sets on the same synthetic series: every alert (SLO and severity) starts
// and stops firing at the same evaluations, within one step at an
// evaluation interval of the base window and within three at 1m (see
// below), and each alert the scenario aims at fires. The specs: two SLOs
// on two counters at two objectives (35.5 hours), and a counter SLO with a
// latency SLO that the import makes kind latency (48 hours).
func TestEquivalentToSloth(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: -short: builds Sloth v0.16.0 with go run")
	}
	for _, tc := range []struct {
		name   string
		spec   string
		phases []phase
		kinds  []slo.Kind // of the converted SLOs
		need   []alertKey // alerts Sloth must fire
		never  []alertKey // and must not
	}{
		{
			name: "two counters", spec: equivalenceSpec, phases: equivalencePhases,
			kinds: []slo.Kind{slo.KindRaw, slo.KindRaw},
			need:  []alertKey{{"requests-availability", "critical"}, {"requests-availability", "warning"}, {"checkout-success", "warning"}},
			// The slow burn should stay below the page pairs.
			never: []alertKey{{"checkout-success", "critical"}},
		},
		{
			name: "a latency SLO", spec: latencySpec, phases: latencyPhases,
			kinds: []slo.Kind{slo.KindRaw, slo.KindLatency},
			need:  []alertKey{{"requests-availability", "critical"}, {"requests-latency", "critical"}, {"requests-latency", "warning"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			res, err := Convert("sloth.yaml", []byte(tc.spec), Options{})
			if err != nil {
				t.Fatal(err)
			}
			spec, err := slo.Parse("imported.yaml", res.Spec)
			if err != nil {
				t.Fatal(err)
			}
			for i, k := range tc.kinds {
				if spec.SLOs[i].Kind != k {
					t.Fatalf("slos[%d] converted to kind %s, want %s:\n%s", i, spec.SLOs[i].Kind, k, res.Spec)
				}
			}
			groups, err := rulegen.Rules(spec, slomodel.ProfileOptimized)
			if err != nil {
				t.Fatal(err)
			}
			data, err := encode.RuleFile(groups, "")
			if err != nil {
				t.Fatal(err)
			}
			ours := filepath.Join(dir, "burnrate.rules.yaml")
			if err := os.WriteFile(ours, data, 0o644); err != nil {
				t.Fatal(err)
			}
			theirs := runSloth(t, dir, tc.spec)

			src := trafficSource{tc.phases}
			// Every minute, burnrate's evaluation interval, its long windows are
			// sums of base-window (5m) rates: a window of W covers the data of
			// W+4m, centred 2m before Sloth's rate over W, so its burn crosses a
			// threshold up to 2 evaluations later (measured: 2 and 3 of 1m). At
			// an interval of the base window the 5m rates tile each window as
			// Sloth's rate over it does, and the alerts agree within one step:
			// what differs is the base-window smoothing, not the windows, factors,
			// objectives or severities.
			for _, c := range []struct {
				interval time.Duration
				bound    int
			}{{5 * time.Minute, 1}, {time.Minute, 3}} {
				t.Run(c.interval.String(), func(t *testing.T) {
					compareAlerts(t, theirs, ours, src, c.interval, c.bound, tc.need, tc.never)
				})
			}
		})
	}
}

// compareAlerts evaluates both rule files every interval and requires
// every alert's changes of state at the same steps, within bound.
func compareAlerts(t *testing.T, theirs, ours string, src synth.SeriesSource, interval time.Duration, bound int, need, never []alertKey) {
	ctx := context.Background()
	eval := func(file string) *synth.Trace {
		start := time.Now()
		tr, err := synth.Evaluate(ctx, file, src, synth.EvalOptions{Interval: interval})
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(file), err)
		}
		t.Logf("%s: %d evaluations in %s", filepath.Base(file), len(tr.Steps), time.Since(start).Round(time.Millisecond))
		return tr
	}
	slothTrace, ourTrace := eval(theirs), eval(ours)
	want, got := firing(t, slothTrace, "sloth_slo"), firing(t, ourTrace, "slo")

	for _, k := range need {
		if want[k] == nil {
			t.Errorf("Sloth never fires %v: the scenario does not exercise it", k)
		}
	}
	for _, k := range never {
		if want[k] != nil {
			t.Errorf("Sloth fires %v, which the scenario should not", k)
		}
	}
	synth.SameFiring(t, "Sloth", want, got, bound, interval)
}
