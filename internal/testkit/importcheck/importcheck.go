// Package importcheck proves in tests that an imported spec generates:
// its rule file, tests and incident tests are rendered as burnrate
// generate renders them and, unless -short, pass under promtool test rules
// (the version in go.mod).
package importcheck

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/internal/testgen"
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
	m, err := slomodel.New(s, slomodel.ProfileOptimized)
	if err != nil {
		t.Fatalf("the imported spec fails generate's checks: %v\n%s", err, data)
	}
	groups, err := rulegen.RuleGroups(m)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ruleFile := s.Name + ".rules.yaml"
	rf, err := encode.RuleFile(groups, "")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rules := write(ruleFile, rf)
	tests, err := testgen.Tests(m, ruleFile)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, tf := range tests {
		b, err := tf.File.Marshal("")
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, write(tf.Name, b))
	}
	if tf, err := testgen.IncidentTests(m, ruleFile); err == nil {
		b, err := tf.File.Marshal("")
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, write(tf.Name, b))
	} else if !errors.Is(err, testgen.ErrIncidentsDoNotFit) {
		t.Fatal(err)
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
