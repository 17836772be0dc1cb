package testgen

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/output"
	"github.com/burnrate/burnrate/internal/promtest"
	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/ruletest"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/internal/testkit/synth"
	"github.com/burnrate/burnrate/slo"
)

// manySpec is a spec of one service with n SLOs, one per handler, taking
// turns at the kinds errors, latency and errors-and-latency, with the SRE
// workbook's four window pairs.
func manySpec(tb testing.TB, n int) *slo.Spec {
	tb.Helper()
	var b strings.Builder
	b.WriteString(`name: many
service: many
selector: 'job="many"'
clusterLabel: cluster
objective: 0.99
period: 30d
requests: {metric: http_requests_total, errors: 'code=~"5.."'}
latency: {metric: http_request_duration_seconds}
alert:
  name: ManyBurn
  summary: s
  description: d
  windows:
    - {long: 1h, short: 5m, factor: 14.4, severity: critical, for: 2m}
    - {long: 6h, short: 30m, factor: 6, severity: critical, for: 15m}
    - {long: 1d, short: 2h, factor: 3, severity: warning, for: 1h}
    - {long: 3d, short: 6h, factor: 1, severity: warning, for: 3h}
slos:
`)
	kinds := []string{"errors", "latency", "errors-and-latency"}
	for i := range n {
		k := kinds[i%len(kinds)]
		lat := ""
		if k != "errors" {
			lat = ", latency: [{seconds: 0.3}]"
		}
		// Names of four digits: the output of n SLOs grows with n, not
		// with the length of their names.
		fmt.Fprintf(&b, "  - {name: h%04d, kind: %s, selector: 'handler=\"/h%04d\"'%s}\n", i, k, i, lat)
	}
	s, err := slo.Parse("many.yaml", []byte(b.String()))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// generated is a spec's rule file and test files, rendered and encoded as
// generate writes them.
type generated struct {
	rules []rulefmt.RuleGroup
	files map[string][]byte
}

func generate(tb testing.TB, s *slo.Spec) generated {
	tb.Helper()
	g := generated{files: map[string][]byte{}}
	var err error
	if g.rules, err = rulegen.Rules(s, slomodel.ProfileOptimized); err != nil {
		tb.Fatal(err)
	}
	ruleFile := s.Name + ".rules.yaml"
	if g.files[ruleFile], err = encode.RuleFile(g.rules, ""); err != nil {
		tb.Fatal(err)
	}
	tests, err := Tests(mustModel(tb, s, slomodel.ProfileOptimized), ruleFile)
	if err != nil {
		tb.Fatal(err)
	}
	for _, tf := range tests {
		if g.files[tf.Name], err = tf.File.Marshal(""); err != nil {
			tb.Fatal(err)
		}
	}
	return g
}

// TestScale200 generates a spec of 200 SLOs: its rules pass promtool's
// check with every lint fatal, the output is within generate's limit, and
// the records test passes in-process and under promtool. The window-pair
// and SLI-health tests (about 10 MiB in all at 200 SLOs) run with
// -scale.all only: in-process they take minutes on 2 shared cores.
func TestScale200(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: -short: 200 SLOs' generated tests take minutes")
	}
	start := time.Now()
	g := generate(t, manySpec(t, 200))
	t.Logf("200 SLOs: %d rules, %d files, generated in %s", countRules(g.rules), len(g.files), time.Since(start).Round(time.Millisecond))
	dir := t.TempDir()
	var tests []string
	written := 0
	for name, data := range g.files {
		written += len(data)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".records.test.yaml") || *scaleAll && strings.HasSuffix(name, ".test.yaml") {
			tests = append(tests, p)
		}
	}
	// generate refuses a run of more than output.MaxBytes.
	if written > output.MaxBytes {
		t.Errorf("200 SLOs write %d bytes, more than generate's limit of %d", written, output.MaxBytes)
	}
	t.Logf("200 SLOs: %.1f MiB written", float64(written)/(1<<20))
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := runIn(root, "go", "tool", "promtool", "check", "rules", "--lint=all", "--lint-fatal", filepath.Join(dir, "many.rules.yaml")); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	start = time.Now()
	report, err := ruletest.RunFiles(context.Background(), tests, ruletest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	groups := 0
	for _, fr := range report.Files {
		for _, gr := range fr.Groups {
			groups++
			for _, fail := range gr.Failures {
				t.Errorf("%s: %s", filepath.Base(fr.File), fail)
			}
		}
	}
	t.Logf("burnrate test: %d groups in %d files passed in %s", groups, len(tests), time.Since(start).Round(time.Millisecond))
	if groups == 0 {
		t.Fatal("no test group ran")
	}
	if out, err := promtoolTest(t, filepath.Join(dir, "many.records.test.yaml")); err != nil {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
}

func countRules(groups []rulefmt.RuleGroup) int {
	n := 0
	for _, g := range groups {
		n += len(g.Rules)
	}
	return n
}

// BenchmarkScale measures, for 1, 10, 100 and 1,000 SLOs (the spec's
// limit), what generating costs (rules, tests, encoding: wall and CPU
// time, output) and, up to 100 SLOs, what one evaluation of the rules
// costs on three days of traffic of every SLO (history recorded first, as
// Prometheus would have, then every group evaluated once with query
// statistics), as the README's table shows. It fails when the scale goals
// do not hold: 1,000 SLOs write at most ten times what 100 write, and
// take at most five seconds of CPU to generate (CPU, not wall time: on a
// shared machine the wall time measures the neighbours).
//
//	go test ./internal/testgen -run '^$' -bench Scale -benchtime 1x
//	go test ./internal/testgen -run '^$' -bench Scale -benchtime 1x -scale.cost=false  # generation only
func BenchmarkScale(b *testing.B) {
	written := map[int]int{}
	cpu := map[int]time.Duration{}
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run("slos="+strconv.Itoa(n), func(b *testing.B) {
			s := manySpec(b, n)
			var g generated
			cpu0 := cpuTime(b)
			for b.Loop() {
				g = generate(b, s)
			}
			gen := b.Elapsed() / time.Duration(b.N)
			cpu[n] = (cpuTime(b) - cpu0) / time.Duration(b.N)
			bytes := 0
			for _, d := range g.files {
				bytes += len(d)
			}
			written[n] = bytes
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(gen), "ms/generate")
			b.ReportMetric(ms(cpu[n]), "cpu-ms/generate")
			b.ReportMetric(float64(countRules(g.rules)), "rules")
			b.ReportMetric(float64(bytes)/1024, "KiB-written")
			if !*scaleCost || n > 100 {
				b.Logf("| %d | %.1f | %.1f | %d | %d |", n, ms(gen), ms(cpu[n]), countRules(g.rules), bytes/1024)
				return
			}
			samples, evalTime, series := ruleCost(b, g, n)
			b.ReportMetric(float64(samples), "samples/eval")
			b.ReportMetric(float64(evalTime.Microseconds())/1000, "ms/eval")
			b.Logf("| %d | %.1f | %.1f | %d | %d | %d | %d | %.1f |", n, ms(gen), ms(cpu[n]), countRules(g.rules), bytes/1024, series, samples, ms(evalTime))
		})
	}
	if len(cpu) == 4 {
		b.Logf("CPU time to generate 1, 10, 100 and 1,000 SLOs: %s, %s, %s and %s", cpu[1].Round(time.Millisecond), cpu[10].Round(time.Millisecond), cpu[100].Round(time.Millisecond), cpu[1000].Round(time.Millisecond))
	}
	if written[100] > 0 && written[1000] > 0 {
		r := float64(written[1000]) / float64(written[100])
		b.Logf("1,000 SLOs write %.2f times what 100 write (goal: at most 10); generating them took %s of CPU (goal: at most 5s)", r, cpu[1000].Round(time.Millisecond))
		if r > 10 {
			b.Errorf("1,000 SLOs write %d bytes, %.2f times the %d of 100 SLOs: want at most 10 times", written[1000], r, written[100])
		}
		if cpu[1000] > 5*time.Second {
			b.Errorf("1,000 SLOs took %s of CPU to generate, want at most 5s", cpu[1000].Round(time.Millisecond))
		}
	}
}

// cpuTime is the CPU time (user and system) the process has used so far.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var scaleAll = flag.Bool("scale.all", false, "TestScale200: run the 200 SLOs' window-pair and SLI-health tests too (more than 10 minutes)")

var scaleCost = flag.Bool("scale.cost", true, "BenchmarkScale: measure the rule cost too (minutes at 100 SLOs)")

// manyTraffic is three days of steady traffic of n SLOs of manySpec,
// scraped every minute: 100 requests a second per handler, 0.5% of them
// 5xx and 2% slower than 300 ms.
type manyTraffic struct{ n int }

const manyMinutes = 3*24*60 + 10

func (m manyTraffic) Each(fn func(labels.Labels, int64, float64) error) error {
	for i := range m.n {
		h := fmt.Sprintf("/h%04d", i)
		base := []string{"cluster", "c1", "job", "many", "handler", h}
		for _, c := range []struct {
			ls     labels.Labels
			perMin float64
		}{
			{labels.FromStrings(append([]string{"__name__", "http_requests_total", "code", "200"}, base...)...), 5970},
			{labels.FromStrings(append([]string{"__name__", "http_requests_total", "code", "500"}, base...)...), 30},
			{labels.FromStrings(append([]string{"__name__", "http_request_duration_seconds_count"}, base...)...), 6000},
			{labels.FromStrings(append([]string{"__name__", "http_request_duration_seconds_bucket", "le", "0.3"}, base...)...), 5880},
			{labels.FromStrings(append([]string{"__name__", "http_request_duration_seconds_bucket", "le", "+Inf"}, base...)...), 6000},
		} {
			for minute := range manyMinutes {
				if err := fn(c.ls, int64(minute)*60_000, float64(minute)*c.perMin); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// ruleCost loads n SLOs' traffic, records the base-window records over the
// whole history (every other rule reads them over a range), and evaluates
// every rule once at the end: the samples that evaluation touches, its
// wall time, and the input series.
func ruleCost(b *testing.B, g generated, n int) (samples int64, took time.Duration, series int) {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	all := filepath.Join(dir, "many.rules.yaml")
	if err := os.WriteFile(all, g.files["many.rules.yaml"], 0o644); err != nil {
		b.Fatal(err)
	}
	var base []rulefmt.RuleGroup
	for _, gr := range g.rules {
		var keep []rulefmt.Rule
		for _, r := range gr.Rules {
			if strings.HasSuffix(r.Record, ":rate5m") && strings.Contains(r.Record, "_sli_") {
				keep = append(keep, r)
			}
		}
		if len(keep) > 0 {
			gr.Rules = keep
			base = append(base, gr)
		}
	}
	data, err := encode.RuleFile(base, "")
	if err != nil {
		b.Fatal(err)
	}
	history := filepath.Join(dir, "history.rules.yaml")
	if err := os.WriteFile(history, data, 0o644); err != nil {
		b.Fatal(err)
	}
	db, ls, err := synth.OpenLoaded(ctx, manyTraffic{n})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	start, end := time.UnixMilli(ls.MinTime), time.UnixMilli(ls.MaxTime)
	if _, err := synth.EvaluateStorage(ctx, history, db, synth.EvalOptions{Start: start, End: end.Add(-time.Minute), DiscardSteps: true}); err != nil {
		b.Fatal(err)
	}
	tr, err := synth.EvaluateStorage(ctx, all, db, synth.EvalOptions{Start: end, End: end, DiscardSteps: true})
	if err != nil {
		b.Fatal(err)
	}
	return tr.Stats.Total.TotalSamples, tr.Stats.EvalTime, ls.Series
}

// runIn runs a command in dir and returns its combined output.
func runIn(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestHealthTestsGrowLinearly: the SLI-health tests of 10 and 100 SLOs
// have as many groups (each breaks as many SLOs as it can), so the file
// grows linearly with the SLOs (it grew with their square: a group per
// breakage, each with every SLO's series); and 30 SLOs' file, every SLO
// broken at once in each group, passes in-process.
func TestHealthTestsGrowLinearly(t *testing.T) {
	health := func(n int) (*promtest.File, []byte) {
		t.Helper()
		tests, err := Tests(mustModel(t, manySpec(t, n), slomodel.ProfileOptimized), "many.rules.yaml")
		if err != nil {
			t.Fatal(err)
		}
		for _, tf := range tests {
			if strings.HasSuffix(tf.Name, ".sli-health.test.yaml") {
				data, err := tf.File.Marshal("")
				if err != nil {
					t.Fatal(err)
				}
				return tf.File, data
			}
		}
		t.Fatalf("%d SLOs: no SLI-health test file", n)
		return nil, nil
	}
	f10, d10 := health(10)
	f100, d100 := health(100)
	if len(f10.Tests) != len(f100.Tests) {
		t.Errorf("SLI-health groups: %d for 10 SLOs, %d for 100, want as many", len(f10.Tests), len(f100.Tests))
	}
	if r := float64(len(d100)) / float64(len(d10)); r > 10.5 {
		t.Errorf("SLI-health tests of 100 SLOs are %.1f times those of 10 (%d and %d bytes), want at most 10.5", r, len(d100), len(d10))
	}
	if testing.Short() {
		return
	}
	g := generate(t, manySpec(t, 30))
	dir := t.TempDir()
	for name, data := range g.files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	report, err := ruletest.RunFiles(context.Background(), []string{filepath.Join(dir, "many.sli-health.test.yaml")}, ruletest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	failuresAreErrors(t, report)
}
