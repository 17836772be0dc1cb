package testgen

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/promtest"
	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/series"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// TestDroppedBucketFailsTheRecordsTest: the records test of each example
// spec passes, and fails once the threshold buckets are taken out of its
// input: absentAsZero reads a missing bucket as no slow request, so a test
// that wrote whatever bucket the rules read would pass either way.
func TestDroppedBucketFailsTheRecordsTest(t *testing.T) {
	for _, name := range []string{"checkout", "payments-grpc", "report-job"} {
		t.Run(name, func(t *testing.T) {
			s, err := slo.Load(filepath.Join("..", "..", "examples", name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var les []string
			for _, o := range s.SLOs {
				for _, th := range o.Latency {
					les = append(les, `le="`+series.Le(th.Seconds)+`"`)
				}
			}
			if len(les) == 0 {
				t.Fatal("the example has no threshold")
			}
			dir := t.TempDir()
			rf, err := rulegen.Rules(s, slomodel.ProfileOptimized)
			if err != nil {
				t.Fatal(err)
			}
			data, err := encode.RuleFile(rf, "")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "r.rules.yaml"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			tests, err := Tests(mustModel(t, s, slomodel.ProfileOptimized), "r.rules.yaml")
			if err != nil {
				t.Fatal(err)
			}
			records := tests[0].File
			if !strings.HasSuffix(tests[0].Name, ".records.test.yaml") {
				t.Fatalf("first test file %s, want the records test", tests[0].Name)
			}
			run := func(f *promtest.File) bool {
				return runTest(t, filepath.Join(dir, "t.test.yaml"), f, "").Failed()
			}
			if run(records) {
				t.Fatal("the records test fails with every bucket in its input")
			}
			dropped, kept := 0, 0
			for i := range records.Tests {
				var in []promtest.InputSeries
				for _, is := range records.Tests[i].InputSeries {
					drop := false
					for _, le := range les {
						drop = drop || strings.Contains(is.Series, le)
					}
					if drop {
						dropped++
						continue
					}
					kept++
					in = append(in, is)
				}
				records.Tests[i].InputSeries = in
			}
			if dropped == 0 || kept == 0 {
				t.Fatalf("dropped %d series, kept %d; the input should have both", dropped, kept)
			}
			if !run(records) {
				t.Errorf("the records test passes without the threshold buckets %v", les)
			}
		})
	}
}

// TestManySLOsRecordsTest: with 70 SLOs (past the 64 at which each SLO's
// error share, 0.25/2^i, used to underflow into an invalid file) every SLO
// gets its own share, and the records test passes.
func TestManySLOsRecordsTest(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: the records test of 70 SLOs; make check runs it")
	}
	var b strings.Builder
	b.WriteString(`name: many
service: many
selector: 'job="many"'
clusterLabel: cluster
objective: 0.99
period: 30d
requests: {metric: http_requests_total, errors: 'code=~"5.."'}
alert:
  name: ManyBurn
  summary: s
  description: d
  windows:
    - {long: 1h, short: 5m, factor: 14.4, severity: critical, for: 2m}
slos:
`)
	const n = 70
	for i := range n {
		b.WriteString("  - {name: s" + strconv.Itoa(i) + ", selector: 'handler=\"h" + strconv.Itoa(i) + "\"'}\n")
	}
	s, err := slo.Parse("many.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[float64]int{}
	for i := range n {
		v := math.Round(shareOf(i)*requestsOf(i)) / requestsOf(i)
		if !(v > 0 && v < 1) {
			t.Fatalf("share of SLO %d: %v", i, v)
		}
		if j, dup := seen[slomodel.RoundTo(v, 4)]; dup {
			t.Fatalf("SLOs %d and %d get the same share %v", j, i, v)
		}
		seen[slomodel.RoundTo(v, 4)] = i
	}
	dir := t.TempDir()
	rf, err := rulegen.Rules(s, slomodel.ProfileOptimized)
	if err != nil {
		t.Fatal(err)
	}
	data, err := encode.RuleFile(rf, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "r.rules.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	tests, err := Tests(mustModel(t, s, slomodel.ProfileOptimized), "r.rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	failuresAreErrors(t, runTest(t, filepath.Join(dir, tests[0].Name), tests[0].File, ""))
}
