package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/burnrate/burnrate/internal/importspec"
	"github.com/burnrate/burnrate/internal/openslo"
	"github.com/burnrate/burnrate/internal/pyrra"
)

// importedSpec is one spec an import wrote, with the name of its file.
type importedSpec struct {
	name string
	data []byte
}

const importOpenSLOUsage = `Usage: burnrate import openslo [flags] FILE...

Reads OpenSLO objects (openslo/v1alpha, openslo/v1, openslo.com/v2alpha; any
number per file, references across the files given) and writes one burnrate
spec per service. Each object is first read and validated by the OpenSLO
SDK. An SLO's objectives become SLOs (a ratioMetric whose good or bad query
adds one matcher to total: kind raw; good a histogram bucket and total its
_count, or a thresholdMetric on a histogram's buckets: kind latency); its
rolling time window the period; its AlertPolicies' burn-rate
AlertConditions the window pairs (lookbackWindow the long window, a twelfth
of it the short one, threshold the factor, alertAfter the for, severity).
What burnrate cannot render as OpenSLO means it (calendar windows,
time slices, composite SLOs, sources other than Prometheus, raw ratios) is
an error at its line; the written spec always passes burnrate generate.

Flags:
`

const importPyrraUsage = `Usage: burnrate import pyrra [flags] FILE...

Reads Pyrra v0.10.1 ServiceLevelObjective resources (pyrra.dev/v1alpha1) and
writes one burnrate spec per resource (its name the service and the SLO): a
ratio indicator whose errors add one matcher to total becomes an SLO of kind
raw, a latency indicator (a bucket over its _count) one of kind latency,
target the objective, window the period, and Pyrra's four window pairs for
that window, with their factors, for and severities (alerting.severities),
the alert's window pairs; alerting.name stays the alert's name. grouping
becomes drill-down labels (burnrate alerts on the SLO as a whole, per
cluster; grouping by the cluster label alone is exact). latencyNative and
bool_gauge are refused at their line.

Flags:
`

// runImportOther runs burnrate import openslo and burnrate import pyrra.
func runImportOther(format string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("import "+format, flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the spec to `FILE` (replaced whole, or left as it was on failure) instead of stdout; only when the files make one spec")
	dir := fs.String("dir", "", "write each spec to `DIR`/<name>.yaml, for files that make several")
	cluster := fs.String("cluster-label", "cluster", "the burnrate spec's clusterLabel")
	alertName := fs.String("alert-name", "", "the burn-rate alert's name (default <Service>ErrorBudgetBurn); only when the files make one spec")
	fs.Usage = func() {
		if format == "openslo" {
			fmt.Fprint(fs.Output(), importOpenSLOUsage)
		} else {
			fmt.Fprint(fs.Output(), importPyrraUsage)
		}
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), "\nExit codes:\n  0  spec(s) written (warnings on stderr)\n  1  a file cannot be converted (file:line), or the output cannot be written\n  2  bad command line, or a FILE cannot be read\n")
	}
	files, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(files) == 0 || (*out != "" && *dir != "") {
		fs.Usage()
		return exitUsage
	}
	var specs []importedSpec
	var warnings []string
	switch format {
	case "openslo":
		in, ok := readInputs(files, stderr)
		if !ok {
			return exitUsage
		}
		res, err := openslo.Convert(in, openslo.Options{ClusterLabel: *cluster, AlertName: *alertName})
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			return exitFail
		}
		for _, s := range res.Specs {
			specs = append(specs, importedSpec{s.Name, s.Data})
		}
		warnings = res.Warnings
	default:
		in, ok := readInputs(files, stderr)
		if !ok {
			return exitUsage
		}
		if *alertName != "" {
			fmt.Fprintf(stderr, "burnrate import pyrra: the alert's name is the resource's alerting.name (default ErrorBudgetBurn, as Pyrra's)\n")
			return exitUsage
		}
		res, err := pyrra.Convert(in, pyrra.Options{ClusterLabel: *cluster})
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			return exitFail
		}
		for _, s := range res.Specs {
			specs = append(specs, importedSpec{s.Name, s.Data})
		}
		warnings = res.Warnings
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	switch {
	case *dir != "":
		for _, s := range specs {
			path := filepath.Join(*dir, s.name+".yaml")
			if err := writeWhole(path, s.data); err != nil {
				fmt.Fprintf(stderr, "burnrate import: %v\n", err)
				return exitFail
			}
			fmt.Fprintf(stdout, "%s written\n", path)
		}
	case len(specs) > 1:
		fmt.Fprintf(stderr, "burnrate import: the files make %d specs (one per service); write them with --dir DIR\n", len(specs))
		return exitUsage
	case *out != "":
		if err := writeWhole(*out, specs[0].data); err != nil {
			fmt.Fprintf(stderr, "burnrate import: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(stdout, "%s written\n", *out)
	default:
		stdout.Write(specs[0].data)
	}
	return exitOK
}

// readInputs reads the files an import converts; a file that cannot be
// read is reported on stderr.
func readInputs(files []string, stderr io.Writer) ([]importspec.Input, bool) {
	var in []importspec.Input
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintf(stderr, "burnrate import: %v\n", err)
			return nil, false
		}
		in = append(in, importspec.Input{File: f, Data: data})
	}
	return in, true
}
