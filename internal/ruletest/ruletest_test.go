package ruletest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/common/model"
)

func TestEveryFixtureIsListed(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, fx := range fixtures {
		listed[fx.file] = true
	}
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s is not in the fixtures table", f)
		}
	}
	if len(files) != len(fixtures) {
		t.Errorf("%d files in testdata, %d fixtures listed", len(files), len(fixtures))
	}
}

func TestRunFilesReport(t *testing.T) {
	report, err := RunFiles(context.Background(), []string{"testdata/fail_mixed.yml", "testdata/pass_parallel.yml"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !report.Failed() {
		t.Error("Report.Failed() = false, want true")
	}
	got := report.Files
	want := []FileResult{
		{File: "testdata/fail_mixed.yml", Groups: []GroupResult{
			{Name: "passes"},
			{Name: "fails", Failures: []Failure{{
				File:     "testdata/fail_mixed.yml",
				Group:    "fails",
				EvalTime: 10 * time.Minute,
				Expr:     "job:requests:rate5m",
			}}},
		}},
		{File: "testdata/pass_parallel.yml", Groups: []GroupResult{
			{Name: "p1"}, {Name: "p2"}, {Name: "p3"}, {Name: "unnamed#3"},
		}},
	}
	ignore := cmpopts.IgnoreFields(GroupResult{}, "Elapsed")
	ignoreMsg := cmpopts.IgnoreFields(Failure{}, "Message")
	if diff := cmp.Diff(want, got, ignore, ignoreMsg, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if got[0].Failed() == false || got[1].Failed() {
		t.Errorf("FileResult.Failed() = %v, %v; want true, false", got[0].Failed(), got[1].Failed())
	}
	f := got[0].Groups[1].Failures[0]
	if !strings.HasPrefix(f.Message, "samples differ (-expected +got):\n") {
		t.Errorf("Message = %q", f.Message)
	}
	s := f.String()
	for _, w := range []string{"testdata/fail_mixed.yml", `test group "fails"`, "eval_time 10m", "expr job:requests:rate5m", "samples differ"} {
		if !strings.Contains(s, w) {
			t.Errorf("Failure.String() lacks %q:\n%s", w, s)
		}
	}
}

// TestForBoundary checks every step around the point where an alert with
// `for: 5m` turns from pending to firing: up is 0 from 10m, so the alert is
// pending from 10m and fires from 15m on.
func TestForBoundary(t *testing.T) {
	rules, err := filepath.Abs("testdata/rules/for.yml")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "rule_files: [%q]\ntests:\n", rules)
	for minute := 8; minute <= 20; minute++ {
		fmt.Fprintf(&b, `  - name: at-%dm
    input_series:
      - series: up{instance="db1"}
        values: 1x9 0x20
    alert_rule_test:
      - eval_time: %dm
        alertname: InstanceDown
        exp_alerts:
          - exp_labels: {instance: db1, severity: page}
            exp_annotations: {summary: db1 is down}
`, minute, minute)
	}
	file := writeFile(t, "for_test.yml", b.String())
	report, err := RunFiles(context.Background(), []string{file}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var failing []string
	for _, g := range report.Files[0].Groups {
		if g.Failed() {
			failing = append(failing, g.Name)
		}
	}
	want := []string{"at-8m", "at-9m", "at-10m", "at-11m", "at-12m", "at-13m", "at-14m"}
	if !slices.Equal(failing, want) {
		t.Errorf("groups expecting a firing alert that failed: %v, want %v", failing, want)
	}
}

func TestRunSelection(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		groups string // in the summary line
	}{
		{args: []string{"--run", "^passes$", "testdata/fail_mixed.yml"}, code: 0, groups: "PASS: 1 test group in 1 file"},
		{args: []string{"--run", "^fails$", "testdata/fail_mixed.yml"}, code: 1, groups: "FAIL: 1 of 1 test group failed"},
		{args: []string{"--run", "pass", "--run", "fail", "testdata/fail_mixed.yml"}, code: 1, groups: "FAIL: 1 of 2 test groups failed"},
		{args: []string{"-run=^p[13]$", "testdata/pass_parallel.yml"}, code: 0, groups: "PASS: 2 test groups in 1 file"},
		// Like promtool, --run matches the name as written: "" for the unnamed group.
		{args: []string{"--run", "^$", "testdata/pass_parallel.yml"}, code: 0, groups: "PASS: 1 test group in 1 file"},
		// Like promtool, nothing selected is a pass.
		{args: []string{"--run", "nomatch", "testdata/fail_mixed.yml"}, code: 0, groups: "PASS: 0 test groups in 1 file"},
		// Groups that are not selected are not checked either, as in promtool.
		{args: []string{"--run", "nomatch", "testdata/bad_series.yml"}, code: 0, groups: "PASS: 0 test groups in 1 file"},
		// Flags may follow the files.
		{args: []string{"testdata/fail_mixed.yml", "--run", "^passes$"}, code: 0, groups: "PASS: 1 test group in 1 file"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runMain(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.groups) {
				t.Errorf("stdout lacks %q:\n%s", tt.groups, stdout)
			}
		})
	}

	report, err := RunFiles(context.Background(), []string{"testdata/pass_parallel.yml"}, Options{Run: regexp.MustCompile("^$")})
	if err != nil {
		t.Fatal(err)
	}
	if got := report.Files[0].Groups; len(got) != 1 || got[0].Name != "unnamed#3" {
		t.Errorf("groups selected by ^$: %+v, want only unnamed#3", got)
	}
}

func TestParallelMatchesSequential(t *testing.T) {
	files := []string{
		"testdata/pass_parallel.yml", "testdata/fail_labels.yml", "testdata/pass_for.yml",
		"testdata/fail_mixed.yml", "testdata/pass_basic.yml", "testdata/fail_value.yml",
	}
	seq, err := RunFiles(context.Background(), files, Options{Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	par, err := RunFiles(context.Background(), files, Options{Parallel: 8})
	if err != nil {
		t.Fatal(err)
	}
	// Diffs from go-cmp vary in white space from run to run.
	normMsg := cmp.Transformer("normalizeSpace", func(f Failure) Failure {
		f.Message = normalizeSpace(f.Message)
		return f
	})
	if diff := cmp.Diff(seq, par, cmpopts.IgnoreFields(GroupResult{}, "Elapsed"), normMsg); diff != "" {
		t.Errorf("Parallel 8 differs from Parallel 1 (-sequential +parallel):\n%s", diff)
	}
	var names []string
	for _, f := range par.Files {
		for _, g := range f.Groups {
			names = append(names, g.Name)
		}
	}
	want := []string{
		"p1", "p2", "p3", "unnamed#3", "wrong-sample-labels", "wrong-alert-labels", "for-boundary",
		"keep-firing-for", "passes", "fails", "high-error-rate", "quiet", "wrong-value",
	}
	if !slices.Equal(names, want) {
		t.Errorf("groups in report order: %v, want %v", names, want)
	}
}

func TestBadInputAcrossFiles(t *testing.T) {
	files := []string{"testdata/pass_basic.yml", "testdata/bad_series.yml", "testdata/bad_expr.yml", "testdata/no_such_file.yml"}
	report, err := RunFiles(context.Background(), files, Options{})
	if err == nil {
		t.Fatalf("RunFiles succeeded with bad input: %+v", report)
	}
	if report != nil {
		t.Errorf("report = %+v, want nil on bad input", report)
	}
	var ie *inputError
	if !errors.As(err, &ie) {
		t.Errorf("error %v is not an inputError", err)
	}
	for _, w := range []string{"testdata/bad_series.yml:6: ", "testdata/bad_expr.yml:7: ", "testdata/no_such_file.yml: reading test file: "} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if strings.Contains(err.Error(), "pass_basic") {
		t.Errorf("error mentions a good file:\n%v", err)
	}
	code, stdout, stderr := runMain(t, files...)
	if code != exitBadInput || stdout != "" || strings.Count(stderr, "\n") != 3 {
		t.Errorf("Main = %d, want %d with three error lines and no results\nstdout:\n%s\nstderr:\n%s", code, exitBadInput, stdout, stderr)
	}
}

func TestWarnings(t *testing.T) {
	rules, err := filepath.Abs("testdata/rules/for.yml")
	if err != nil {
		t.Fatal(err)
	}
	typo := writeFile(t, "typo_test.yml", fmt.Sprintf(`rule_files: [%q]
tests:
  - name: misspelled
    input_series:
      - series: up
        values: 1x5
    alert_rule_test:
      - eval_time: 5m
        alertname: InstanceDwon
        exp_alerts: []
`, rules))
	tests := []struct {
		file string
		want []string
	}{
		{file: "testdata/pass_group_order.yml"},
		{file: "testdata/pass_order_warning.yml", want: []string{`rule groups "sli", "alerts" have no fixed evaluation order`}},
		{file: typo, want: []string{`no alerting rule named "InstanceDwon"`}},
	}
	for _, tt := range tests {
		report, err := RunFiles(context.Background(), []string{tt.file}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := report.Files[0].Warnings
		if len(got) != len(tt.want) {
			t.Errorf("%s: warnings %q, want %d", tt.file, got, len(tt.want))
			continue
		}
		for i, w := range tt.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: warning %q lacks %q", tt.file, got[i], w)
			}
		}
	}
	code, _, stderr := runMain(t, "testdata/pass_order_warning.yml")
	if code != 0 || !strings.Contains(stderr, "burnrate test: warning: testdata/pass_order_warning.yml: rule groups") {
		t.Errorf("Main = %d, stderr:\n%s", code, stderr)
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	report, err := RunFiles(ctx, []string{"testdata/pass_basic.yml"}, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("RunFiles with a cancelled context = %+v, %v; want context.Canceled", report, err)
	}
}

func TestCompactDuration(t *testing.T) {
	for in, want := range map[string]string{"1m": "1m", "5m": "5m", "1h": "1h", "90m": "1h30m", "30s": "30s", "1d": "1d", "10s": "10s"} {
		d, err := model.ParseDuration(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := compactDuration(d); got != want {
			t.Errorf("compactDuration(%s) = %q, want %q", in, got, want)
		}
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
