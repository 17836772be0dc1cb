package ruletest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// promtool runs `go tool promtool test rules ARGS...` from the module root,
// the promtool version pinned in go.mod, and returns its stdout and exit
// code. It is skipped with -short.
func promtool(t *testing.T, args ...string) (stdout string, code int) {
	t.Helper()
	if testing.Short() {
		t.Skip("comparing with promtool is skipped in -short mode")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	cmd := exec.Command("go", append([]string{"tool", "promtool", "test", "rules"}, args...)...)
	cmd.Dir = root
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &exitErr) && exitErr.ExitCode() == 1:
		return out.String(), 1
	default:
		t.Fatalf("go tool promtool %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errOut.String())
		return "", 0
	}
}

// promtoolVerdicts splits promtool's stdout into one block per test file
// and reports for each whether it printed SUCCESS.
func promtoolVerdicts(stdout string) map[string]bool {
	verdicts := map[string]bool{}
	const marker = "Processing test file: "
	for _, block := range strings.Split(stdout, marker)[1:] {
		file, rest, _ := strings.Cut(block, "\n")
		verdicts[file] = strings.Contains(rest, "  SUCCESS\n")
	}
	return verdicts
}

// TestPromtoolAgrees runs every fixture through promtool and checks its
// verdict against the table, which TestMainFixtures checks against Main.
func TestPromtoolAgrees(t *testing.T) {
	paths := make([]string, len(fixtures))
	for i, fx := range fixtures {
		p, err := filepath.Abs(filepath.Join("testdata", fx.file))
		if err != nil {
			t.Fatal(err)
		}
		paths[i] = p
	}
	stdout, code := promtool(t, paths...)
	verdicts := promtoolVerdicts(stdout)
	anyFailed := false
	for i, fx := range fixtures {
		passed, ok := verdicts[paths[i]]
		if !ok {
			t.Errorf("%s: no verdict from promtool in:\n%s", fx.file, stdout)
			continue
		}
		anyFailed = anyFailed || !passed
		if passed != fx.promtoolPasses {
			t.Errorf("%s: promtool passed = %v, want %v", fx.file, passed, fx.promtoolPasses)
		}
		if ours := fx.code == exitPassed; fx.code != exitBadInput && ours != passed {
			t.Errorf("%s: promtool passed = %v, Main passed = %v", fx.file, passed, ours)
		}
	}
	if wantCode := map[bool]int{false: 0, true: 1}[anyFailed]; code != wantCode {
		t.Errorf("promtool exit code %d, want %d", code, wantCode)
	}
}

// TestPromtoolAgreesOnRun checks that --run selects the same test groups.
func TestPromtoolAgreesOnRun(t *testing.T) {
	file, err := filepath.Abs("testdata/fail_mixed.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		run  string
		code int
	}{
		{run: "^passes$", code: 0},
		{run: "^fails$", code: 1},
		{run: "nomatch", code: 0},
	} {
		_, pcode := promtool(t, "--run", tt.run, file)
		code, stdout, stderr := runMain(t, "--run", tt.run, file)
		if pcode != tt.code || code != tt.code {
			t.Errorf("--run %s: promtool exit code %d, Main %d, want %d\nstdout:\n%s\nstderr:\n%s", tt.run, pcode, code, tt.code, stdout, stderr)
		}
	}
}
