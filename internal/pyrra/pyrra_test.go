package pyrra

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/burnrate/burnrate/internal/testkit/importcheck"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func convertFile(t *testing.T, file string) (*Result, error) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return Convert([]Input{{File: file, Data: data}}, Options{})
}

// TestConvert converts a ratio and a latency SLO to the golden specs,
// which generate rules whose generated tests pass.
func TestConvert(t *testing.T) {
	for _, name := range []string{"errors", "latency"} {
		t.Run(name, func(t *testing.T) {
			res, err := convertFile(t, filepath.Join("testdata", name+".pyrra.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Specs) != 1 {
				t.Fatalf("%d specs, want 1", len(res.Specs))
			}
			golden := filepath.Join("testdata", name+".burnrate.yaml")
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
	file := filepath.Join("testdata", "refused.pyrra.yaml")
	_, err := convertFile(t, file)
	if err == nil {
		t.Fatal("converted")
	}
	want := []struct {
		line int
		has  string
	}{
		{11, "no native histograms yet"},
		{24, "bool_gauge counts the samples"},
		{40, "nothing to convert"},
		{53, "errors reads http_errors_total"},
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Errorf("%d errors, want %d:\n%s", len(lines), len(want), err)
	}
	for _, w := range want {
		prefix := file + ":" + strconv.Itoa(w.line) + ": "
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, prefix) && strings.Contains(l, w.has)
		}
		if !found {
			t.Errorf("no error %q at line %d:\n%s", w.has, w.line, err)
		}
	}
}

// TestWindows pins Pyrra's window pairs for 28 and 30 days (slo/rules.go,
// Windows).
func TestWindows(t *testing.T) {
	const day = 24 * time.Hour
	got := Windows(28 * day)
	if got[0].Long.Hours() != 1 || got[3].Long.Hours() != 96 || got[3].Short.Hours() != 6 {
		t.Errorf("28d: %+v", got)
	}
	got = Windows(30 * day)
	if got[0].Long.Minutes() != 64 || got[0].Short.Minutes() != 5 {
		t.Errorf("30d: %+v", got)
	}
}
