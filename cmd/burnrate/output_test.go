package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/burnrate/burnrate/internal/output"
)

// TestGenerateOutIsAFile: --out (or --runbooks) naming a file is a bad
// command line, said in those words, with no temporary file's name.
func TestGenerateOutIsAFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "rules.yaml")
	os.WriteFile(file, []byte("mine"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"generate", "--out", file}, "burnrate generate: --out " + file + " is a file; give a directory\n"},
		{[]string{"generate", "--check", "--out", file}, "burnrate generate: --out " + file + " is a file; give a directory\n"},
		{[]string{"generate", "--out", filepath.Join(dir, "rules"), "--runbooks", file}, "burnrate generate: --runbooks " + file + " is a file; give a directory\n"},
	} {
		code, _, stderr := runCLI(tc.args...)
		if code != exitUsage || stderr != tc.want {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
	if got, _ := os.ReadFile(file); string(got) != "mine" {
		t.Errorf("the file now holds %q", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want the file alone", len(entries))
	}
}

// TestGenerateConcurrentSpecs runs generate for two specs into one
// directory at the same time, four times: both specs' manifest entries
// survive (--check of each passes), and nothing hidden is left but the
// manifests.
func TestGenerateConcurrentSpecs(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: -short: eight generate runs")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "rules")
	specs := []string{"../../examples/checkout.yaml", "../../examples/orders.yaml"}
	for range 4 {
		var wg sync.WaitGroup
		for _, spec := range specs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if code, _, stderr := runCLI("generate", "--out", out, spec); code != exitOK {
					t.Errorf("generate %s: exit %d\n%s", spec, code, stderr)
				}
			}()
		}
		wg.Wait()
	}
	for _, spec := range specs {
		if code, stdout, stderr := runCLI("generate", "--check", "--out", out, spec); code != exitOK {
			t.Errorf("--check %s: exit %d\n%s%s", spec, code, stdout, stderr)
		}
	}
	manifest, err := os.ReadFile(filepath.Join(out, output.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range specs {
		if !strings.Contains(string(manifest), "\t"+spec+"\t") {
			t.Errorf("the manifest lost %s's entries:\n%s", spec, manifest)
		}
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), ".") && d.Name() != output.ManifestName {
			t.Errorf("left behind: %s", p)
		}
		return err
	})
}
