package openslo

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/burnrate/burnrate/internal/testkit/importcheck"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func convertFiles(t *testing.T, files ...string) (*Result, error) {
	t.Helper()
	var in []Input
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, Input{File: f, Data: data})
	}
	return Convert(in, Options{})
}

// TestConvert converts an OpenSLO file of each version (written for these
// tests: every kind, inline and referenced objects, ratio and threshold
// metrics, several objectives, target and targetPercent, alert policies)
// to the golden spec, which generates rules whose generated tests pass.
func TestConvert(t *testing.T) {
	for _, c := range []struct {
		file     string
		warnings int
	}{
		{"v1-checkout.yaml", 2},
		{"v1alpha-orders.yaml", 2},
		{"v2alpha-search.yaml", 2},
	} {
		t.Run(c.file, func(t *testing.T) {
			res, err := convertFiles(t, filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Specs) != 1 {
				t.Fatalf("%d specs, want 1", len(res.Specs))
			}
			if len(res.Warnings) != c.warnings {
				t.Errorf("%d warnings, want %d:\n%s", len(res.Warnings), c.warnings, strings.Join(res.Warnings, "\n"))
			}
			golden := filepath.Join("testdata", strings.TrimSuffix(c.file, ".yaml")+".burnrate.yaml")
			got := res.Specs[0].Data
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("spec differs from %s (-want +got; -update rewrites it):\n%s", golden, d)
			}
			importcheck.Generate(t, got)
		})
	}
}

// TestRefused: what cannot map is refused at its line, with the reason.
func TestRefused(t *testing.T) {
	file := filepath.Join("testdata", "refused-v1.yaml")
	_, err := convertFiles(t, file)
	if err == nil {
		t.Fatal("converted")
	}
	want := []struct {
		line int
		has  string
	}{
		{38, "calendar time window"},
		{59, "budgetingMethod Timeslices"},
		{8, `SLO "not-prometheus": data source type "Datadog"`},
		{112, "composite SLO"},
		{122, "raw ratioMetric"},
		{156, "thresholdMetric on a quantile"},
		{175, `"1M": months`},
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Errorf("%d errors, want %d:\n%s", len(lines), len(want), err)
	}
	for _, w := range want {
		prefix := file + ":" + itoa(w.line) + ": "
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, prefix) && strings.Contains(l, w.has)
		}
		if !found {
			t.Errorf("no error %q at line %d:\n%s", w.has, w.line, err)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
