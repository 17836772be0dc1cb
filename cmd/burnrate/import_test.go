package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportSloth runs burnrate import sloth on a Sloth spec from the
// command line: the spec written to -o (flags after the file too) is the
// golden conversion, warnings go to stderr, and each failure has its exit
// code and says why.
func TestImportSloth(t *testing.T) {
	dir := t.TempDir()
	golden, err := os.ReadFile("../../internal/sloth/testdata/myservice.burnrate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../../internal/sloth/testdata/myservice.sloth.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec := string(b)
	in := filepath.Join(dir, "sloth.yaml")
	if err := os.WriteFile(in, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(spec, "      events:\n        error_query: sum(rate(http", "      plugin:\n        id: x\n      events:\n        error_query: sum(rate(http", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.yaml")
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		stdout     string // a substring, "" for empty
		stderr     string
		wantOutput bool
	}{
		{"to a file, flags after the file", []string{"import", "sloth", in, "-o", out}, exitOK, out + " written", in + ":3: labels:", true},
		{"to stdout", []string{"import", "--period", "30d", "sloth", in}, exitOK, "name: myservice\n", "warning: " + in + ":3: labels:", false},
		{"unconvertible", []string{"import", "sloth", bad}, exitFail, "", bad + ":9: slos[0].sli.plugin: SLI plugins", false},
		{"no file", []string{"import", "sloth"}, exitUsage, "", "Usage: burnrate import sloth", false},
		{"unknown format", []string{"import", "pyrra", in}, exitUsage, "", `unknown format "pyrra"`, false},
		{"unreadable file", []string{"import", "sloth", filepath.Join(dir, "none.yaml")}, exitUsage, "", "no such file", false},
		{"bad period", []string{"import", "--period", "month", "sloth", in}, exitUsage, "", `--period "month"`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(out)
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, &stdout, &stderr); code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if tc.stdout == "" && stdout.Len() > 0 || !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout %q, want %q in it", stdout.String(), tc.stdout)
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q, want %q in it", stderr.String(), tc.stderr)
			}
			got, err := os.ReadFile(out)
			if tc.wantOutput {
				if err != nil {
					t.Fatal(err)
				}
				// The header names the file as given.
				want := strings.Replace(string(golden), "from sloth.yaml.", "from "+in+".", 1)
				if string(got) != want {
					t.Errorf("-o wrote\n%s\nwant\n%s", got, want)
				}
			} else if err == nil {
				t.Errorf("%s written on %s", out, tc.name)
			}
		})
	}
}
