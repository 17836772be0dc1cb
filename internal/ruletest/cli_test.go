package ruletest

import (
	"strings"
	"testing"
)

func TestMainUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		wantStdout string
		wantStderr string
	}{
		{name: "help", args: []string{"--help"}, code: 0, wantStdout: "Usage: burnrate test [--run REGEX]... [--parallel N] FILE..."},
		{name: "short help", args: []string{"-h"}, code: 0, wantStdout: "-run name"},
		{name: "no files", args: nil, code: 2, wantStderr: "burnrate test: no test files given"},
		{name: "unknown flag", args: []string{"--bogus", "testdata/pass_basic.yml"}, code: 2, wantStderr: "flag provided but not defined: -bogus"},
		{name: "bad regexp", args: []string{"--run", "(", "testdata/pass_basic.yml"}, code: 2, wantStderr: "burnrate test: --run: error parsing regexp"},
		{name: "missing flag value", args: []string{"testdata/pass_basic.yml", "--run"}, code: 2, wantStderr: "flag needs an argument: -run"},
		{name: "bad parallel", args: []string{"--parallel", "x", "testdata/pass_basic.yml"}, code: 2, wantStderr: "invalid value"},
		{name: "file after --", args: []string{"--", "-not-a-flag.yml"}, code: 2, wantStderr: "burnrate test: -not-a-flag.yml: reading test file: "},
		{name: "parallel", args: []string{"--parallel", "1", "testdata/pass_parallel.yml"}, code: 0, wantStdout: "PASS: 4 test groups in 1 file"},
		{name: "two files", args: []string{"testdata/pass_basic.yml", "testdata/fail_value.yml"}, code: 1, wantStdout: "FAIL: 1 of 3 test groups failed, in 1 of 2 files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantStdout, stdout)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, stderr)
			}
			if tt.wantStderr == "" && stderr != "" {
				t.Errorf("unexpected stderr:\n%s", stderr)
			}
		})
	}
}
