package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/common/model"

	"github.com/burnrate/burnrate/internal/sloth"
)

// runImport converts another tool's SLO spec to a burnrate spec.
func runImport(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "openslo" || args[0] == "pyrra") {
		return runImportOther(args[0], args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the spec to `FILE` (replaced whole, or left as it was on failure) instead of stdout")
	period := fs.String("period", "30d", "the SLO period, as sloth generate --default-slo-period (Sloth's built-in windows: 30d, 28d)")
	cluster := fs.String("cluster-label", "cluster", "the burnrate spec's clusterLabel, which the raw queries are summed by")
	alertName := fs.String("alert-name", "", "the alert's name when the Sloth SLOs name theirs differently (burnrate has one per spec)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: burnrate import sloth [flags] FILE

Reads a Sloth v0.16.0 spec (version: prometheus/v1, or a sloth.slok.dev/v1
PrometheusServiceLevel resource) and writes the burnrate spec that renders
the same alerts: each SLO's events SLI (error_query, total_query) becomes an
SLO of kind latency where it is a histogram's _count minus one _bucket{le}
over its _count, else of kind raw; its objective a ratio, Sloth's page and
ticket windows the alert's window pairs with Sloth's burn-rate factors. What
changes no alert (extra labels, annotations) is dropped with a warning on
stderr; what would change one (plugins, raw error ratios, queries that keep
labels other than the cluster label, SLOs that disagree on severities) is an
error at its line. The spec is rendered as generate renders it before it
is written, so a spec import writes is one generate accepts.

Flags:
`)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), "\nExit codes:\n  0  spec written (warnings on stderr)\n  1  the Sloth spec cannot be converted (file:line), or the output cannot be written\n  2  bad command line, or FILE cannot be read\n")
	}
	// Flags may come before, between and after the format and the file.
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			return exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		pos, rest = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) != 2 || pos[0] != "sloth" {
		if len(pos) > 0 && pos[0] != "sloth" {
			fmt.Fprintf(stderr, "burnrate import: unknown format %q; burnrate imports sloth, openslo and pyrra\n", pos[0])
		}
		fs.Usage()
		return exitUsage
	}
	p, err := model.ParseDuration(*period)
	if err != nil {
		fmt.Fprintf(stderr, "burnrate import: --period %q: %v\n", *period, err)
		return exitUsage
	}
	file := pos[1]
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "burnrate import: %v\n", err)
		return exitUsage
	}
	res, err := sloth.Convert(file, data, sloth.Options{Period: time.Duration(p), ClusterLabel: *cluster, AlertName: *alertName})
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return exitFail
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if *out == "" {
		stdout.Write(res.Spec)
		return exitOK
	}
	if err := writeWhole(*out, res.Spec); err != nil {
		fmt.Fprintf(stderr, "burnrate import: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "%s written\n", *out)
	return exitOK
}

// writeWhole replaces path with data through a temporary file beside it,
// so that a failure leaves the old file as it was.
func writeWhole(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
