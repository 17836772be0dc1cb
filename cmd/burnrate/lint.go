package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/burnrate/burnrate/internal/diagnose"
)

func runLint(args []string, stdout, stderr io.Writer) int {
	var f promFlags
	var verbose bool
	var lookback time.Duration
	fs := f.flagSet("lint", "burnrate lint --prometheus URL [flags] [SPEC]", `Checks that the series the spec's SLOs need exist in Prometheus (default
spec: the embedded kube-apiserver spec): for each SLI the request counter,
its error series, the latency histogram and the bucket of every latency
threshold (kube-prometheus' metricRelabelings drop many buckets, and
helm-charts#5514 dropped le="30"). Then it evaluates every recording rule
of the optimized profile and names those that come out empty, so the
alerts built on them never fire. Exit 1 when any check fails.`, stderr)
	fs.BoolVar(&verbose, "v", false, "also print the checks that passed")
	fs.DurationVar(&lookback, "lookback", time.Hour, "a series counts as present if it has a sample this long before --time")
	specs, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(specs) > 1 {
		fmt.Fprintf(stderr, "burnrate lint: one spec at a time, got %d\n", len(specs))
		return exitUsage
	}
	at, err := f.check()
	if err != nil {
		fmt.Fprintf(stderr, "burnrate lint: %v\n", err)
		return exitUsage
	}
	path := ""
	if len(specs) == 1 {
		path = specs[0]
	}
	s, err := lintSpec(path)
	if err != nil {
		fmt.Fprintf(stderr, "burnrate lint: %v\n", err)
		return exitFail
	}
	c, err := diagnose.NewClient(f.cfg)
	if err != nil {
		fmt.Fprintf(stderr, "burnrate lint: %v\n", err)
		return exitUsage
	}
	r, err := diagnose.Lint(context.Background(), c, s, diagnose.LintOptions{Cluster: f.cluster, Time: at, Lookback: lookback})
	if err != nil {
		fmt.Fprintf(stderr, "burnrate lint: %v\n", err)
		return promExit(err)
	}
	if f.output == "json" {
		err = r.WriteJSON(stdout)
	} else {
		err = r.WriteText(stdout, verbose)
	}
	if err != nil {
		fmt.Fprintf(stderr, "burnrate lint: %v\n", err)
		return exitFail
	}
	if r.Errors() > 0 {
		return exitFail
	}
	return exitOK
}
