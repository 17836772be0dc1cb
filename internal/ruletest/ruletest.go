// Package ruletest runs Prometheus rule unit-test files, the format of
// `promtool test rules`, in process.
//
// The semantics follow promtool of Prometheus v0.316.0, whose rule manager
// and promqltest loader do the work: rule_files are resolved relative to the
// test file and may be globs; every rule group is evaluated every
// evaluation_interval (default 1m), in group_eval_order, from the test
// group's start (start_timestamp, default the Unix epoch) up to its largest
// eval_time; input_series use the expanding notation of promqltest's load
// command; a query may load at most 10000 samples, as in promtool; alerting
// rules count as restored, so the ALERTS series are written from the first
// step; alert_rule_test sees only firing alerts and adds the alertname label
// to the expected ones; promql_expr_test runs instant queries after the last
// step and compares floats exactly, or within one ULP with fuzzy_compare.
//
// On top of that, a few mistakes that promtool accepts, or reports only as
// failing tests, are rejected as bad input before anything runs: a
// rule_files entry that matches no file, an input series defined twice, an
// eval_time after the last step of the longest input series (counting
// trailing "_" steps), a promql_expr_test expression or expected sample
// that does not parse or is not an instant vector or scalar, and an
// alert_rule_test without alertname. Where promtool evaluates two rule
// groups in random order (they share a position in group_eval_order, with
// unlisted groups counting as the first position), this package uses file
// order and reports a warning. Apart from that, a test file passes here
// exactly when it passes promtool.
package ruletest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Options control RunFiles.
type Options struct {
	// Run selects the test groups to run by name, like promtool's --run; a
	// group without a name has the name "". Nil runs all groups.
	Run *regexp.Regexp
	// Parallel is the maximum number of test groups run at the same time;
	// 0 or less means runtime.GOMAXPROCS(0). Test groups are independent:
	// each has its own storage and rule manager.
	Parallel int
}

// Report is the outcome of running test files.
type Report struct {
	Files []FileResult
}

// Failed reports whether any test group failed.
func (r *Report) Failed() bool {
	for i := range r.Files {
		if r.Files[i].Failed() {
			return true
		}
	}
	return false
}

// FileResult is the outcome of one test file.
type FileResult struct {
	// File is the test file's path as given to RunFiles.
	File string
	// Groups holds the selected test groups in file order.
	Groups []GroupResult
	// Warnings are problems that do not decide the outcome.
	Warnings []string
}

// Failed reports whether a test group of the file failed.
func (f *FileResult) Failed() bool {
	for i := range f.Groups {
		if f.Groups[i].Failed() {
			return true
		}
	}
	return false
}

// GroupResult is the outcome of one test group (one entry of tests).
type GroupResult struct {
	// Name is the group's name, or "unnamed#N" for the N-th (from 0) entry
	// of tests when it has none, as in promtool's JUnit output.
	Name string
	// Failures lists the failed assertions and evaluation errors.
	Failures []Failure
	// Elapsed is how long the group took to run.
	Elapsed time.Duration
}

// Failed reports whether the group failed.
func (g *GroupResult) Failed() bool { return len(g.Failures) > 0 }

// Failure is one failed assertion, or an error that stopped a test group.
type Failure struct {
	File  string // test file
	Group string // test group name, as in GroupResult.Name
	// EvalTime is the eval_time of the assertion, or for evaluation errors
	// the step at which the error happened, relative to the group's start.
	EvalTime time.Duration
	// Alertname is set for an alert_rule_test failure.
	Alertname string
	// Expr is set for a promql_expr_test failure.
	Expr string
	// Rule is set when evaluating this rule failed.
	Rule string
	// Message says what went wrong. For mismatches it holds a diff of the
	// expected against the actual result (-expected +got).
	Message string
}

// String formats the failure as a header naming file, test group, eval_time
// and subject, followed by the indented message.
func (f Failure) String() string {
	subject := ""
	switch {
	case f.Alertname != "":
		subject = fmt.Sprintf(", alertname %s", f.Alertname)
	case f.Expr != "":
		subject = fmt.Sprintf(", expr %s", f.Expr)
	case f.Rule != "":
		subject = fmt.Sprintf(", rule %s", f.Rule)
	}
	return fmt.Sprintf("%s: test group %q, eval_time %s%s:\n%s",
		f.File, f.Group, formatDuration(f.EvalTime), subject, indent(f.Message, "    "))
}

// RunFiles runs the unit-test files and reports the outcome of every selected
// test group. All files are read and checked before any test runs. The error
// is non-nil, and the report nil, when any file is bad input (each problem
// names its file, and its line where known) or when ctx ends; failing tests
// are not errors, see Report.Failed.
func RunFiles(ctx context.Context, files []string, opts Options) (*Report, error) {
	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}

	// Files are read and checked in parallel; their errors are reported in
	// file order.
	suites := make([]*suite, len(files))
	loadErrs := make([]error, len(files))
	forEach(len(files), parallel, func(i int) {
		suites[i], loadErrs[i] = loadSuite(files[i], opts.Run)
	})
	if err := errors.Join(loadErrs...); err != nil {
		return nil, err
	}

	report := &Report{Files: make([]FileResult, len(suites))}
	type job struct {
		plan   *groupPlan
		result *GroupResult
	}
	var jobs []job
	for i, s := range suites {
		fr := &report.Files[i]
		fr.File = s.path
		fr.Warnings = s.warnings
		fr.Groups = make([]GroupResult, len(s.groups))
		for j, g := range s.groups {
			fr.Groups[j].Name = g.name
			jobs = append(jobs, job{plan: g, result: &fr.Groups[j]})
		}
	}

	// Workers take the test groups longest first (by an estimate of their
	// cost), so that no long group starts last while the other workers run
	// out of work. The order in which groups run cannot change any result:
	// each has its own storage, engine and rule manager.
	order := make([]int, len(jobs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return jobs[order[a]].plan.cost() > jobs[order[b]].plan.cost()
	})
	var (
		runErrs = make([]error, len(jobs)) // each job writes only its own slot
		closing sync.WaitGroup
	)
	forEach(len(order), parallel, func(n int) {
		if ctx.Err() != nil {
			return
		}
		i := order[n]
		jb := jobs[i]
		start := time.Now()
		var ll loader
		jb.result.Failures, ll, runErrs[i] = jb.plan.safeRun(ctx)
		jb.result.Elapsed = time.Since(start)
		if ll != nil {
			// Closing a storage mostly waits for the disk (syncing and
			// removing its files); the worker goes on with the next group.
			closing.Go(func() { jb.plan.closeLoader(ll, jb.result, &runErrs[i]) })
		}
	})
	closing.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("running rule tests: %w", err)
	}
	if err := errors.Join(runErrs...); err != nil {
		return nil, err
	}
	return report, nil
}

// forEach calls f(0), ..., f(n-1) on at most parallel goroutines, each
// taking the next index when done with one, and returns when all are done.
func forEach(n, parallel int, f func(i int)) {
	var (
		wg   sync.WaitGroup
		next atomic.Int64
	)
	for range min(parallel, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}

// safeRun opens the group's storage and runs the group, with a panic inside
// the Prometheus libraries turned into an error that names the test group
// instead of crashing the process. The caller closes the returned loader, if
// not nil, with closeLoader.
func (g *groupPlan) safeRun(ctx context.Context) (failures []Failure, ll loader, err error) {
	defer func() {
		if r := recover(); r != nil {
			failures, err = nil, g.internalError(r)
		}
	}()
	p := newParser()
	ll, err = g.newLoader(newExprCache(p))
	if err != nil {
		return nil, nil, &inputError{File: g.suite.path, Err: fmt.Errorf("test group %q: input_series: %w", g.name, err)}
	}
	failures, err = g.run(ctx, ll, p)
	return failures, ll, err
}

// closeLoader closes the storage of a group that has run, with result and
// runErr the outcome of safeRun. As in promtool, failing to close it fails
// the group; a panic is an internal error, as in safeRun.
func (g *groupPlan) closeLoader(ll loader, result *GroupResult, runErr *error) {
	defer func() {
		if r := recover(); r != nil {
			result.Failures, *runErr = nil, g.internalError(r)
		}
	}()
	if cerr := ll.Close(); cerr != nil && *runErr == nil {
		result.Failures = append(result.Failures, g.failure(0, "closing the test storage failed: "+cerr.Error()))
	}
}

func (g *groupPlan) internalError(r any) error {
	return fmt.Errorf("%s: test group %q: internal error: %v", g.suite.path, g.name, r)
}
