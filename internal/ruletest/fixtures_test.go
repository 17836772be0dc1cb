package ruletest

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// fixture is a test file under testdata with the outcome expected from Main
// and from promtool.
type fixture struct {
	file string
	// code is Main's exit code: 0 passed, 1 a test failed, 2 bad input.
	code int
	// promtoolPasses is promtool's verdict. It differs from ours only for
	// the input checks promtool does not make.
	promtoolPasses bool
	// want are substrings of stdout (code 0 and 1) or stderr (code 2), after
	// normalizeSpace.
	want []string
}

var fixtures = []fixture{
	{file: "pass_basic.yml", code: 0, promtoolPasses: true, want: []string{"ok testdata/pass_basic.yml: 2 test groups passed"}},
	{file: "pass_for.yml", code: 0, promtoolPasses: true, want: []string{"2 test groups passed"}},
	{file: "pass_group_order.yml", code: 0, promtoolPasses: true},
	{file: "pass_order_warning.yml", code: 0, promtoolPasses: true},
	{file: "pass_notation.yml", code: 0, promtoolPasses: true},
	{file: "pass_fuzzy.yml", code: 0, promtoolPasses: true},
	{file: "pass_start_timestamp.yml", code: 0, promtoolPasses: true, want: []string{"2 test groups passed"}},
	{file: "pass_interval.yml", code: 0, promtoolPasses: true},
	{file: "pass_histogram.yml", code: 0, promtoolPasses: true},
	{file: "pass_parallel.yml", code: 0, promtoolPasses: true, want: []string{"4 test groups passed"}},

	{file: "fail_value.yml", code: 1, want: []string{
		`--- FAIL: testdata/fail_value.yml: test group "wrong-value", eval_time 10m, expr job:requests:rate5m:`,
		`samples differ (-expected +got)`, `- Value: "2",`, `+ Value: "1",`,
		`FAIL testdata/fail_value.yml: 1 of 1 test group failed`,
	}},
	{file: "fail_labels.yml", code: 1, want: []string{
		`test group "wrong-sample-labels", eval_time 10m, expr job:requests:rate5m:`,
		`- "job": "web",`, `+ "job": "api",`,
		`test group "wrong-alert-labels", eval_time 10m, alertname HighErrorRate:`,
		`firing alerts differ (-expected +got)`, `- "severity": "ticket",`, `+ "severity": "page",`,
		`2 of 2 test groups failed`,
	}},
	{file: "fail_missing_alert.yml", code: 1, want: []string{
		`test group "alert-does-not-fire", eval_time 10m, alertname HighErrorRate:`,
		`- Labels: map[string]string{"alertname": "HighErrorRate", "job": "api", "severity": "page"},`,
	}},
	{file: "fail_unexpected_alert.yml", code: 1, want: []string{
		`test group "alert-should-not-fire", eval_time 10m, alertname HighErrorRate:`,
		`+ Labels: map[string]string{"alertname": "HighErrorRate", "job": "api", "severity": "page"},`,
	}},
	{file: "fail_for_early.yml", code: 1, want: []string{`eval_time 14m, alertname InstanceDown:`}},
	{file: "fail_keep_firing.yml", code: 1, want: []string{`eval_time 25m, alertname ErrorsSeen:`}},
	{file: "fail_group_order.yml", code: 1, want: []string{`eval_time 10m, alertname ErrorsPresent:`}},
	{file: "fail_fuzzy.yml", code: 1, want: []string{`expr x + 0.2:`, `- Value: "0.3",`, `+ Value: "0.30000000000000004",`}},
	{file: "fail_eval_error.yml", code: 1, want: []string{
		`test group "many-to-many", eval_time 0s, rule ratio:`, `many-to-many matching not allowed`,
	}},
	{file: "fail_query_error.yml", code: 1, want: []string{`eval_time 5m, expr a / on() a:`, `query failed:`}},
	{file: "fail_nan.yml", code: 1, want: []string{`{__name__="x"} NaN`, `NaN never equals NaN`}},
	{file: "fail_max_samples.yml", code: 1, want: []string{
		`test group "over-the-limit", eval_time 3h, expr count_over_time(x[3h]):`,
		`query processing would load too many samples into memory`,
		`1 of 2 test groups failed`,
	}},
	{file: "fail_mixed.yml", code: 1, want: []string{`test group "fails"`, `FAIL testdata/fail_mixed.yml: 1 of 2 test groups failed`}},

	{file: "bad_series.yml", code: 2, want: []string{`testdata/bad_series.yml:6: `, `input_series[1]`, `"0+10x oops"`}},
	{file: "bad_unknown_field.yml", code: 2, want: []string{`testdata/bad_unknown_field.yml:9: `, `unknown field "severity" in an alert_rule_test entry`}},
	{file: "bad_missing_rule_file.yml", code: 2, promtoolPasses: true, want: []string{
		`testdata/bad_missing_rule_file.yml:1: `, `does_not_exist.yml: no such file`,
	}},
	{file: "bad_expr.yml", code: 2, want: []string{`testdata/bad_expr.yml:7: `, `expr "sum(rate(up[5m])" does not parse`}},
	{file: "bad_matrix_expr.yml", code: 2, want: []string{`testdata/bad_matrix_expr.yml:7: `, `evaluates to a matrix`}},
	{file: "bad_rule_file.yml", code: 2, want: []string{`testdata/bad_rule_file.yml:1: `, `rules/bad_expr.yml: 5:15: `, `could not parse expression`}},
	{file: "bad_eval_time.yml", code: 2, promtoolPasses: true, want: []string{
		`testdata/bad_eval_time.yml:10: `, `eval_time 11m is after the end of the input series (their last step is at 10m)`,
	}},
	{file: "bad_yaml.yml", code: 2, want: []string{`testdata/bad_yaml.yml:5: `, `did not find expected key`}},
	{file: "bad_alertname.yml", code: 2, want: []string{`testdata/bad_alertname.yml:7: `, `alertname is missing`}},
	{file: "bad_exp_labels.yml", code: 2, want: []string{`testdata/bad_exp_labels.yml:10: `, `labels "up{job="`}},
	{file: "bad_duration.yml", code: 2, want: []string{`testdata/bad_duration.yml:3: `, `"5 minutes"`}},
	{file: "bad_duplicate_series.yml", code: 2, promtoolPasses: true, want: []string{
		`testdata/bad_duplicate_series.yml:6: `, `already defined by input_series[0]`,
	}},
	{file: "bad_eval_order.yml", code: 2, want: []string{`testdata/bad_eval_order.yml:2: `, `group "sli" is listed twice`}},
	{file: "bad_start_timestamp.yml", code: 2, want: []string{`testdata/bad_start_timestamp.yml:3: `, `"yesterday"`}},
}

var spaceRE = regexp.MustCompile(`\s+`)

// normalizeSpace collapses runs of white space, including the non-breaking
// spaces go-cmp mixes into its diffs at random, into one space.
func normalizeSpace(s string) string {
	return spaceRE.ReplaceAllString(strings.ReplaceAll(s, "\u00a0", " "), " ")
}

func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestMainFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.file, func(t *testing.T) {
			t.Parallel()
			path := "testdata/" + fx.file
			code, stdout, stderr := runMain(t, path)
			if code != fx.code {
				t.Fatalf("Main(%s) = %d, want %d\nstdout:\n%s\nstderr:\n%s", path, code, fx.code, stdout, stderr)
			}
			got := stdout
			if fx.code == exitBadInput {
				got = stderr
				if stdout != "" {
					t.Errorf("bad input printed results to stdout:\n%s", stdout)
				}
				if !strings.HasPrefix(stderr, "burnrate test: "+path+":") || strings.Count(stderr, "\n") != 1 {
					t.Errorf("want exactly one error line naming %s, got:\n%s", path, stderr)
				}
			}
			for _, bad := range []string{"panic", "goroutine "} {
				if strings.Contains(stdout+stderr, bad) {
					t.Errorf("output contains %q:\n%s%s", bad, stdout, stderr)
				}
			}
			norm := normalizeSpace(got)
			for _, w := range fx.want {
				if !strings.Contains(norm, normalizeSpace(w)) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}
