// Command burnrate generates Prometheus multiwindow, multi-burn-rate SLO
// rules from a spec, and runs rule unit tests.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// Exit codes shared by every verb.
const (
	exitOK    = 0
	exitFail  = 1 // bad spec, failed write, stale file, failing test
	exitUsage = 2 // bad command line or unreadable test input
)

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

Exit codes: 0 success, 1 failure (bad spec, stale file, failing test, lint
finding, failed diagnose step), 2 usage error; diagnose and lint: 3 Prometheus
unreachable, 4 unauthorized (401/403), 5 Prometheus server error (5xx),
6 Prometheus timed out.
`)
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
