package testgen

import (
	"context"
	"os"
	"testing"

	"github.com/burnrate/burnrate/internal/promtest"
	"github.com/burnrate/burnrate/internal/ruletest"
)

// writeTest writes f (under header) to path.
func writeTest(t *testing.T, path string, f *promtest.File, header string) {
	t.Helper()
	data, err := f.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runTest writes f to path and runs it with burnrate test's runner.
func runTest(t *testing.T, path string, f *promtest.File, header string) *ruletest.Report {
	t.Helper()
	writeTest(t, path, f, header)
	return runFiles(t, path)
}

// runFiles runs test files with burnrate test's runner.
func runFiles(t *testing.T, paths ...string) *ruletest.Report {
	t.Helper()
	report, err := ruletest.RunFiles(context.Background(), paths, ruletest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return report
}

// failuresAreErrors reports every failed assertion of report as a test
// error.
func failuresAreErrors(t *testing.T, report *ruletest.Report) {
	t.Helper()
	for _, fr := range report.Files {
		for _, g := range fr.Groups {
			for _, fail := range g.Failures {
				t.Errorf("burnrate test: %s", fail)
			}
		}
	}
}
