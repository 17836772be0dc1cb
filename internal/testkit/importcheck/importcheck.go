// Package importcheck proves in tests that an imported spec generates:
// its rule file, tests and incident tests are rendered as burnrate
// generate renders them and, unless -short, pass under promtool test rules
// (the version in go.mod).
package importcheck

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/burnrate/burnrate/generator"
	"github.com/burnrate/burnrate/slo"
)

// Generate renders spec (file data) into a temporary directory as
// burnrate generate does and, unless -short, runs its tests with promtool;
// it returns the rule file's path.
func Generate(t *testing.T, data []byte) string {
	t.Helper()
	s, err := slo.Parse("imported.yaml", data)
	if err != nil {
		t.Fatalf("the imported spec does not load: %v\n%s", err, data)
	}
	res, err := generator.Generate([]generator.Input{{Name: "imported.yaml", Spec: s}}, generator.Options{})
	if err != nil {
		t.Fatalf("the imported spec fails generate: %v\n%s", err, data)
	}
	dir := t.TempDir()
	var rules string
	var files []string
	for _, f := range res.Files {
		if f.Kind != generator.KindRules && f.Kind != generator.KindTest {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		if f.Kind == generator.KindRules {
			rules = p
		} else {
			files = append(files, p)
		}
	}
	if testing.Short() {
		return rules // the tests of a 30-day spec take a minute on a busy machine
	}
	cmd := exec.Command("go", append([]string{"tool", "promtool", "test", "rules"}, files...)...)
	cmd.Dir = moduleRoot(t)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("go tool promtool test rules: %v\n%s", err, strings.TrimSpace(out.String()))
	}
	return rules
}

// moduleRoot is the directory of burnrate's go.mod.
func moduleRoot(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot find the module root")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}
