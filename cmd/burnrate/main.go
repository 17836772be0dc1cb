// Command burnrate generates Prometheus multiwindow, multi-burn-rate SLO
// rules from a spec, and runs rule unit tests.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// Exit codes shared by every verb.
const (
	exitOK    = 0
	exitFail  = 1 // bad spec, failed write, stale file, failing test
	exitUsage = 2 // bad command line or unreadable test input
)

// exitCodes is the one list of what each verb's exit codes mean: the help
// text and the README's table are made from it (TestExitCodesInREADME), and
// TestExitCodes runs one command line for every cell.
var exitCodes = []struct {
	code                           int
	generate, test, diagnose, lint string
}{
	{exitOK, "files written, or all up to date (--check)", "every test passed", "report printed", "no finding"},
	{exitFail, "bad spec, a file could not be written (nothing changed), or a file is out of date (--check)", "a test failed", "a step failed (the others are reported)", "a finding (missing series or bucket), or a bad spec"},
	{exitUsage, "bad command line", "bad command line, or test input that cannot be read (file:line)", "bad command line (e.g. --prometheus not an http(s) URL)", "bad command line"},
	{exitUnreachable, "", "", "Prometheus unreachable", "same as diagnose"},
	{exitAuth, "", "", "Prometheus refused the credentials (401/403)", "same as diagnose"},
	{exitServer, "", "", "Prometheus answered with a server error (5xx) or is not the Prometheus API", "same as diagnose"},
	{exitTimeout, "", "", "Prometheus did not answer within --query-timeout", "same as diagnose"},
}

// verbExitCodes lists one verb's exit codes for its help text.
func verbExitCodes(verb string) string {
	var b strings.Builder
	b.WriteString("Exit codes:\n")
	for _, e := range exitCodes {
		m := map[string]string{"generate": e.generate, "test": e.test, "diagnose": e.diagnose, "lint": e.lint}[verb]
		if m == "same as diagnose" {
			m = e.diagnose
		}
		if m != "" {
			fmt.Fprintf(&b, "  %d  %s\n", e.code, m)
		}
	}
	return b.String()
}

// exitCodeTable renders exitCodes as the README's Markdown table.
func exitCodeTable() string {
	var b strings.Builder
	b.WriteString("| code | generate | test | diagnose | lint |\n| --- | --- | --- | --- | --- |\n")
	dash := func(s string) string {
		if s == "" {
			return "—"
		}
		return s
	}
	for _, e := range exitCodes {
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s |\n", e.code, dash(e.generate), dash(e.test), dash(e.diagnose), dash(e.lint))
	}
	return b.String()
}

type verb struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) int
}

func verbs() []verb {
	return []verb{
		{"generate", "write rule files from specs (default: the embedded kube-apiserver spec)", runGenerate},
		{"test", "run promtool-format rule unit tests in-process", runTest},
		{"spec", "print the embedded kube-apiserver spec, a starting point for your own", runSpec},
		{"diagnose", "run the runbook's drill-down queries against a Prometheus and report the culprits", runDiagnose},
		{"lint", "check that a Prometheus has every series and bucket the spec's rules need", runLint},
		{"import", "convert a Sloth spec (prometheus/v1 or PrometheusServiceLevel) to a burnrate spec", runImport},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return exitOK
	case "-version", "--version", "version":
		fmt.Fprintf(stdout, "burnrate %s\n", version())
		return exitOK
	}
	for _, v := range verbs() {
		if v.name == args[0] {
			return v.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "burnrate: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `burnrate generates Prometheus SLO burn-rate rules, their tests and runbooks.

Usage:
  burnrate <command> [flags] [arguments]

Commands:
`)
	for _, v := range verbs() {
		fmt.Fprintf(w, "  %-9s %s\n", v.name, v.summary)
	}
	fmt.Fprint(w, `
Flags:
  --help     this text; "burnrate <command> --help" explains a command
  --version  print the version

Exit codes:
`)
	for _, e := range exitCodes {
		sep := fmt.Sprintf("  %d  ", e.code)
		for _, c := range [][2]string{{"generate", e.generate}, {"test", e.test}, {"diagnose", e.diagnose}, {"lint", e.lint}} {
			if c[1] != "" {
				fmt.Fprintf(w, "%s%s: %s\n", sep, c[0], c[1])
				sep = "     "
			}
		}
	}
}

// version is the module version when built with "go install", else the VCS
// revision, else "devel".
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			return "devel-" + s.Value
		}
	}
	return "devel"
}
