package ruletest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace/noop"
)

// Exit codes of Main.
const (
	exitPassed   = 0
	exitFailed   = 1
	exitBadInput = 2
)

const usageText = `Usage: burnrate test [--run REGEX]... [--parallel N] FILE...

Run Prometheus rule unit-test files, the format of 'promtool test rules',
with the semantics of promtool from Prometheus v0.316.0.

Besides what promtool rejects, these count as bad input: a rule_files entry
matching no file, an input series defined twice, an eval_time after the last
step of the input series, and a promql_expr_test expr or exp_samples entry
that does not parse.

Exit status: 0 if every test passed, 1 if a test failed, 2 for bad input or
wrong usage.

Flags:
`

// runFlag collects repeated --run flags; like promtool they are joined with "|".
type runFlag []string

func (r *runFlag) String() string { return strings.Join(*r, "|") }

func (r *runFlag) Set(s string) error {
	*r = append(*r, s)
	return nil
}

// Main runs `burnrate test [--run REGEX] FILE...`; args are the arguments
// after the verb. It writes test results to stdout and warnings, bad input and
// usage errors to stderr, and returns the exit code: 0 all passed, 1 a test
// failed, 2 bad input or wrong usage.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("burnrate test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // printed below, to the right writer
	var runs runFlag
	fs.Var(&runs, "run", "run only the test groups whose `name` matches this regular expression; can be repeated")
	parallel := fs.Int("parallel", 0, "run at most `N` test groups at the same time (0: one per CPU)")
	printUsage := func(w io.Writer) {
		fmt.Fprint(w, usageText)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}

	files, err := parseArgs(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printUsage(stdout)
		return exitPassed
	case err != nil:
		// flag has printed the problem already.
		fmt.Fprintln(stderr, "Run 'burnrate test --help' for usage.")
		return exitBadInput
	case len(files) == 0:
		fmt.Fprintln(stderr, "burnrate test: no test files given")
		printUsage(stderr)
		return exitBadInput
	}

	opts := Options{Parallel: *parallel}
	if len(runs) > 0 {
		re, err := regexp.Compile(runs.String())
		if err != nil {
			fmt.Fprintf(stderr, "burnrate test: --run: %v\n", err)
			return exitBadInput
		}
		opts.Run = re
	}

	tuneProcess()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	report, err := RunFiles(ctx, files, opts)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(stderr, "burnrate test: "+line)
		}
		return exitBadInput
	}
	for _, f := range report.Files {
		for _, w := range f.Warnings {
			fmt.Fprintf(stderr, "burnrate test: warning: %s: %s\n", f.File, w)
		}
	}
	writeReport(stdout, report)
	if report.Failed() {
		return exitFailed
	}
	return exitPassed
}

// parseArgs parses flags, allowing them before, between and after the file
// arguments; everything after "--" is a file.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(files, rest...), nil
		}
		if len(rest) == 0 {
			return files, nil
		}
		files = append(files, rest[0])
		args = rest[1:]
	}
}

// writeReport prints every failure, then one status line per file and a
// summary.
func writeReport(w io.Writer, r *Report) {
	var groups, failedGroups, failedFiles int
	for _, f := range r.Files {
		failed := 0
		var elapsed time.Duration
		for _, g := range f.Groups {
			elapsed += g.Elapsed
			if !g.Failed() {
				continue
			}
			failed++
			for _, fl := range g.Failures {
				fmt.Fprintf(w, "--- FAIL: %s\n", fl)
			}
		}
		groups += len(f.Groups)
		failedGroups += failed
		if failed > 0 {
			failedFiles++
			fmt.Fprintf(w, "FAIL  %s: %d of %s failed\n", f.File, failed, plural(len(f.Groups), "test group"))
		} else {
			fmt.Fprintf(w, "ok    %s: %s passed (%s)\n", f.File, plural(len(f.Groups), "test group"), elapsed.Round(time.Millisecond))
		}
	}
	if failedGroups > 0 {
		fmt.Fprintf(w, "FAIL: %d of %s failed, in %d of %s\n",
			failedGroups, plural(groups, "test group"), failedFiles, plural(len(r.Files), "file"))
		return
	}
	fmt.Fprintf(w, "PASS: %s in %s\n", plural(groups, "test group"), plural(len(r.Files), "file"))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// indent prefixes every non-empty line of s with prefix and drops a trailing
// newline.
func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

// gcPercent is the garbage collector's target used by Main unless the GOGC
// environment variable is set. Rule evaluation allocates at a high rate
// while the live heap stays small, so collecting less often saves much CPU
// time for a modest amount of memory.
const gcPercent = 400

var tuneOnce sync.Once

// tuneProcess adjusts process-wide settings for a `burnrate test` process;
// none of them can change a test's outcome. The rule manager and the query
// engine open a tracing span for every rule evaluation and query; with no
// tracer provider installed, OpenTelemetry's global delegating tracer still
// allocates a span each time, while the no-op provider does not. Nothing
// reads spans back, so only the cost changes.
func tuneProcess() {
	tuneOnce.Do(func() {
		if os.Getenv("GOGC") == "" {
			debug.SetGCPercent(gcPercent)
		}
		otel.SetTracerProvider(noop.NewTracerProvider())
	})
}
