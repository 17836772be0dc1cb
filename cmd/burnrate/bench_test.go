package main

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/burnrate/burnrate/internal/ruletest"
)

// BenchmarkRuleTests times `promtool test rules` (the v0.316.0 binary from
// go.mod's tool directive, run as a subprocess) and `burnrate test` (in
// process: ruletest.Main, which `burnrate test` runs) on the generated unit
// tests of each profile. It needs the generated files (make rules).
//
// Run it with `make bench-test-runner`, or
//
//	go test -run '^$' -bench RuleTests -benchtime 1x ./cmd/burnrate
//
// Each burnrate sub-benchmark also reports its time divided by the time of
// the promtool sub-benchmark just before it (metric burnrate/promtool) and
// logs both wall times. To profile burnrate alone:
//
//	go test -run '^$' -bench 'RuleTests/.*/burnrate' -benchtime 1x -cpuprofile cpu.out ./cmd/burnrate
//
// A benchmark fails when the two runners disagree on whether the files pass.
func BenchmarkRuleTests(b *testing.B) {
	root, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range []struct{ name, glob string }{
		{"kubernetes-mixin", "rules/kubernetes-mixin/*.test.yaml"},
		{"optimized", "rules/*.test.yaml"},
	} {
		files, err := filepath.Glob(filepath.Join(root, p.glob))
		if err != nil {
			b.Fatal(err)
		}
		for i, f := range files {
			files[i], _ = filepath.Rel(root, f)
		}
		b.Run(p.name, func(b *testing.B) {
			if len(files) == 0 {
				b.Skipf("no %s in %s; run `make rules` first", p.glob, root)
			}
			var (
				promtoolPerOp time.Duration // 0 when the promtool sub-benchmark did not run
				promtoolFail  bool
			)
			b.Run("promtool", func(b *testing.B) {
				bin := promtoolBinary(b, root)
				b.ResetTimer()
				for b.Loop() {
					promtoolFail = runPromtool(b, root, bin, files)
				}
				promtoolPerOp = b.Elapsed() / time.Duration(b.N)
			})
			b.Run("burnrate", func(b *testing.B) {
				b.Chdir(root)
				var failed bool
				for b.Loop() {
					var stderr bytes.Buffer
					switch code := ruletest.Main(files, io.Discard, &stderr); code {
					case 0, 1:
						failed = code == 1
					default:
						b.Fatalf("burnrate test exited %d:\n%s", code, stderr.Bytes())
					}
				}
				perOp := b.Elapsed() / time.Duration(b.N)
				if promtoolPerOp == 0 {
					b.Logf("burnrate test %v", perOp.Round(time.Millisecond))
					return
				}
				if failed != promtoolFail {
					b.Fatalf("verdicts differ: burnrate failed = %v, promtool failed = %v", failed, promtoolFail)
				}
				ratio := float64(perOp) / float64(promtoolPerOp)
				b.ReportMetric(ratio, "burnrate/promtool")
				b.Logf("%s: promtool test rules %v, burnrate test %v, ratio %.2f",
					p.name, promtoolPerOp.Round(time.Millisecond), perOp.Round(time.Millisecond), ratio)
			})
		})
	}
}

// promtoolBinary returns the path of the promtool binary `go tool promtool`
// runs, building it if needed, so that the timing excludes the go command.
func promtoolBinary(b *testing.B, root string) string {
	b.Helper()
	cmd := exec.Command("go", "tool", "-n", "promtool")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("go tool -n promtool: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// runPromtool runs `promtool test rules FILES...` in root and reports
// whether a test failed.
func runPromtool(b *testing.B, root, bin string, files []string) (failed bool) {
	b.Helper()
	cmd := exec.Command(bin, append([]string{"test", "rules"}, files...)...)
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return false
	case errors.As(err, &exitErr) && exitErr.ExitCode() == 1:
		return true
	default:
		b.Fatalf("%s test rules: %v\n%s%s", bin, err, stdout.Bytes(), stderr.Bytes())
		return false
	}
}
