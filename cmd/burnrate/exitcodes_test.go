package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/burnrate/burnrate/slo"
)

// TestExitCodes runs, for every cell of the exit-code table, a command line
// that must end with that code.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, slo.DefaultYAML(), 0o644)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(strings.Replace(string(slo.DefaultYAML()), "objective: 0.99", "objective: 2", 1)), 0o644)
	out := filepath.Join(dir, "rules")

	empty := func(t *testing.T) string {
		return fakeProm(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(emptyVector)) })
	}
	status := func(code int) func(t *testing.T) string {
		return func(t *testing.T) string {
			return fakeProm(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", code) })
		}
	}
	hangs := func(t *testing.T) string {
		return fakeProm(t, func(w http.ResponseWriter, r *http.Request) { r.ParseForm(); <-r.Context().Done() })
	}
	passing := filepath.Join("..", "..", "internal", "ruletest", "testdata", "pass_basic.yml")
	failing := filepath.Join("..", "..", "internal", "ruletest", "testdata", "fail_value.yml")

	type cell struct {
		verb string
		code int
	}
	cases := map[cell]func(t *testing.T) []string{
		{"generate", exitOK}:    func(t *testing.T) []string { return []string{"generate", "--out", out, good} },
		{"generate", exitFail}:  func(t *testing.T) []string { return []string{"generate", "--out", out, bad} },
		{"generate", exitUsage}: func(t *testing.T) []string { return []string{"generate", "--nope"} },
		{"test", exitOK}:        func(t *testing.T) []string { return []string{"test", passing} },
		{"test", exitFail}:      func(t *testing.T) []string { return []string{"test", failing} },
		{"test", exitUsage}:     func(t *testing.T) []string { return []string{"test", filepath.Join(dir, "missing.yml")} },
		{"diagnose", exitOK}:    func(t *testing.T) []string { return []string{"diagnose", "--prometheus", empty(t)} },
		{"diagnose", exitFail}: func(t *testing.T) []string {
			return []string{"diagnose", "--prometheus", etcdHangs(t), "--query-timeout", "300ms"}
		},
		{"diagnose", exitUsage}:       func(t *testing.T) []string { return []string{"diagnose", "--prometheus", "not-a-url"} },
		{"diagnose", exitUnreachable}: func(t *testing.T) []string { return []string{"diagnose", "--prometheus", downURL(t)} },
		{"diagnose", exitAuth}: func(t *testing.T) []string {
			return []string{"diagnose", "--prometheus", status(http.StatusForbidden)(t)}
		},
		{"diagnose", exitServer}: func(t *testing.T) []string {
			return []string{"diagnose", "--prometheus", status(http.StatusBadGateway)(t)}
		},
		{"diagnose", exitTimeout}: func(t *testing.T) []string {
			return []string{"diagnose", "--prometheus", hangs(t), "--query-timeout", "200ms"}
		},
		{"lint", exitFail}:        func(t *testing.T) []string { return []string{"lint", "--prometheus", empty(t)} },
		{"lint", exitUsage}:       func(t *testing.T) []string { return []string{"lint", "--prometheus", "localhost:9090"} },
		{"lint", exitUnreachable}: func(t *testing.T) []string { return []string{"lint", "--prometheus", downURL(t)} },
		{"lint", exitAuth}: func(t *testing.T) []string {
			return []string{"lint", "--prometheus", status(http.StatusUnauthorized)(t)}
		},
		{"lint", exitServer}: func(t *testing.T) []string {
			return []string{"lint", "--prometheus", status(http.StatusInternalServerError)(t)}
		},
		{"lint", exitTimeout}: func(t *testing.T) []string {
			return []string{"lint", "--prometheus", hangs(t), "--query-timeout", "200ms"}
		},
	}
	// lint's 0 needs a Prometheus holding every series the rules read: the
	// end-to-end test TestDiagnoseLintE2E runs it against a real one.
	covered := map[cell]bool{{"lint", exitOK}: true}
	for _, e := range exitCodes {
		for verb, meaning := range map[string]string{"generate": e.generate, "test": e.test, "diagnose": e.diagnose, "lint": e.lint} {
			c := cell{verb, e.code}
			if meaning == "" {
				if cases[c] != nil {
					t.Errorf("%s exits %d in this test, but the table has no meaning for it", verb, e.code)
				}
				continue
			}
			if covered[c] {
				continue
			}
			args := cases[c]
			if args == nil {
				t.Errorf("no command line pins %s's exit code %d (%s)", verb, e.code, meaning)
				continue
			}
			t.Run(verb+"/"+strings.Fields(meaning)[0]+"/"+string(rune('0'+e.code)), func(t *testing.T) {
				a := args(t)
				start := time.Now()
				if code, stdout, stderr := runCLI(a...); code != e.code {
					t.Errorf("burnrate %s: exit %d, want %d (%s)\nstdout: %.500s\nstderr: %.500s", strings.Join(a, " "), code, e.code, meaning, stdout, stderr)
				}
				if d := time.Since(start); d > 10*time.Second {
					t.Errorf("took %s", d)
				}
			})
		}
	}
}

// TestExitCodesInREADME: the README's exit-code table is the one the code
// has.
func TestExitCodesInREADME(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := exitCodeTable(); !strings.Contains(string(data), want) {
		t.Errorf("README.md does not hold the exit-code table; paste this under \"Exit codes\":\n%s", want)
	}
}
