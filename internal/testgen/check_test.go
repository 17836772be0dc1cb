package testgen

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// TestCheck edits the embedded spec into one that slo.Parse accepts but a
// profile cannot render, and expects slomodel.New (the one place a spec is
// checked) and rulegen.Rules to refuse it with the same file:line error.
func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		edits   []string // old, new, …
		at      string   // text on the error's line
		want    string   // the error after "spec.yaml:<line>: "
	}{
		{
			name: "mixin without a partition label", profile: slomodel.ProfileMixin,
			edits: []string{"  partitionLabel: scope\n", "", "      - partition: [resource, \"\"]\n        seconds: 1\n      - partition: [namespace]\n        seconds: 5\n      - partition: [cluster]\n        seconds: 30\n", "      - seconds: 1\n"},
			at:    "latency:",
			want:  "latency.partitionLabel: the kubernetes-mixin profile groups the latency histogram by this label, as the mixin groups by scope, even when no SLO has partitions; set it, e.g. partitionLabel: scope",
		},
		{
			name: "mixin with a service", profile: slomodel.ProfileMixin,
			edits: []string{"name: kube-apiserver\n", "name: kube-apiserver\nservice: api\n"},
			at:    "service: api",
			want:  "service: the kubernetes-mixin profile renders the mixin's kube-apiserver rules, whose names and labels carry no service; remove service, or use the optimized profile",
		},
		{
			name: "mixin with an errors-only SLO", profile: slomodel.ProfileMixin,
			edits: []string{"  - name: write\n", "  - name: write\n    kind: errors\n", "PATCH|DELETE\"'\n    latency:\n      - seconds: 1\n", "PATCH|DELETE\"'\n"},
			at:    "kind: errors",
			want:  "slos[1].kind: the kubernetes-mixin profile renders errors-and-latency SLOs only, as the mixin does; use the optimized profile for kind errors",
		},
		{
			name: "mixin with a native histogram", profile: slomodel.ProfileMixin,
			edits: []string{"  partitionLabel: scope\n", "  partitionLabel: scope\n  form: nhcb\n"},
			at:    "form: nhcb",
			want:  "latency.form: nhcb: the kubernetes-mixin profile renders the mixin's rules, which read the classic histogram's _bucket and _count series only; use the optimized profile for a native histogram, or keep classic buckets (always_scrape_classic_histograms: true) and write form: classic",
		},
		{
			name: "mixin with a low-traffic guard", profile: slomodel.ProfileMixin,
			edits: []string{"    - {long: 3d, short: 6h, factor: 1, severity: warning, for: 3h}\n", "    - {long: 3d, short: 6h, factor: 1, severity: warning, for: 3h}\n  minRequests: 100\n"},
			at:    "minRequests:",
			want:  "alert.minRequests: the kubernetes-mixin profile renders the mixin's alerts as they are, and the mixin has no low-traffic guard; remove minRequests, or use the optimized profile",
		},
		{
			name: "two SLOs counting the errors of the same requests", profile: slomodel.ProfileOptimized,
			edits: []string{"  - name: write\n", "  - name: gets\n    kind: errors\n    selector: 'verb=\"GET\"'\n  - name: write\n"},
			at:    "    selector: 'verb=\"GET\"'",
			want:  "slos[1].selector: SLOs \"read\" and \"gets\" both count the errors of the same requests (a request labelled {job=\"kube-apiserver\", verb=\"GET\"} is in both), so no alert test can make one burn while the other stays quiet; give them selectors that select different requests (e.g. handler=\"/checkout\" in one and handler!=\"/checkout\" in the other), or make one of them kind latency",
		},
		{
			name: "two SLOs reading the latency of the same requests through different selectors", profile: slomodel.ProfileOptimized,
			edits: []string{"  - name: write\n", "  - name: gets\n    kind: latency\n    selector: 'verb=\"GET\"'\n    latency:\n      - seconds: 0.5\n  - name: write\n"},
			at:    "    selector: 'verb=\"GET\"'",
			want:  "slos[1].selector: SLOs \"read\" and \"gets\" both read the latency of the same requests (a request labelled {job=\"kube-apiserver\", verb=\"GET\"} is in both), so no alert test can make one burn while the other stays quiet; give them selectors that select different requests (e.g. handler=\"/checkout\" in one and handler!=\"/checkout\" in the other), or give both the same selector (one histogram, two thresholds)",
		},
		{
			name: "mixin with a period of part days", profile: slomodel.ProfileMixin,
			edits: []string{"period: 30d", "period: 30d12h"},
			at:    "period:",
			want:  "period: 30d12h: the kubernetes-mixin profile counts the SLO period in whole days; use e.g. 30d",
		},
		{
			name: "mixin with a budget five decimals write as 0", profile: slomodel.ProfileMixin,
			edits: []string{"objective: 0.99\n", "objective: 0.999996\n"},
			at:    "objective:",
			want:  "objective: 0.999996: the kubernetes-mixin profile writes the error budget with five decimals, as the mixin does, and this budget (4e-06) comes out as 0, so every alert would fire on a single error; use an objective below 0.999995, or the optimized profile",
		},
		{
			name: "histogram thresholds float64 cannot test", profile: slomodel.ProfileOptimized,
			edits: []string{"objective: 0.99\n", "objective: 0.9999999999\n"},
			at:    "objective:",
			want:  "objective: 0.9999999999: SLO read's lowest alert threshold (factor × error budget) is 1e-10, too small a share of requests to test: the generated tests need 1e+12 requests a minute (50 bad ones at half the threshold) for up to 9182 minutes, which takes the histogram's counters past 2^53, where float64 stops counting single requests and count − bucket is no longer exact; use an objective of at most 0.999999999 for it, or higher factors\nspec.yaml:8: objective: 0.9999999999: SLO write's lowest alert threshold (factor × error budget) is 1e-10, too small a share of requests to test: the generated tests need 1e+12 requests a minute (50 bad ones at half the threshold) for up to 9182 minutes, which takes the histogram's counters past 2^53, where float64 stops counting single requests and count − bucket is no longer exact; use an objective of at most 0.999999999 for it, or higher factors",
		},
		{
			name: "histogram thresholds below what float64 rates resolve", profile: slomodel.ProfileOptimized,
			edits: []string{"objective: 0.99\n", "objective: 0.9999999999999\n"},
			at:    "objective:",
			want:  "objective: 0.9999999999999: SLO read's lowest alert threshold (factor × error budget) is 1e-13, too small a share of requests to test: slow requests are rate(count) − rate(bucket), and float64 rates cannot tell a share below 3.6e-13 of the request rate from rounding; use an objective of at most 0.999999999 for it, or higher factors\nspec.yaml:8: objective: 0.9999999999999: SLO write's lowest alert threshold (factor × error budget) is 1e-13, too small a share of requests to test: slow requests are rate(count) − rate(bucket), and float64 rates cannot tell a share below 3.6e-13 of the request rate from rounding; use an objective of at most 0.999999999 for it, or higher factors",
		},
		{
			name: "low-traffic guard the alert tests cannot pass", profile: slomodel.ProfileOptimized,
			edits: []string{"    - {long: 3d, short: 6h, factor: 1, severity: warning, for: 3h}\n", "    - {long: 3d, short: 6h, factor: 1, severity: warning, for: 3h}\n  minRequests: 100000000000\n"},
			at:    "minRequests:",
			want:  "alert.minRequests: 100000000000: more than the generated alert tests can pass: they write at least 2 × minRequests × the base window in minutes requests a minute, so that the first base rate already passes the guard, and for SLO read the generated tests need 1e+12 requests a minute (so that every short window passes alert.minRequests) for up to 9182 minutes, which takes the histogram's counters past 2^53, where float64 stops counting single requests and count − bucket is no longer exact; use a minRequests of at most 10000000000",
		},
		{
			name: "base window the tests cannot sample", profile: slomodel.ProfileOptimized,
			edits: []string{"baseWindow: 5m", "baseWindow: 1m"},
			at:    "baseWindow:",
			want:  "baseWindow: 1m: the generated tests write one sample a minute, and rate() over a base window needs two samples in it, so it must be a whole number of minutes, 2m or more; use e.g. 5m",
		},
		{
			name: "SLI label the runbook uses", profile: slomodel.ProfileOptimized,
			edits: []string{"sliLabel: verb", "sliLabel: job"},
			at:    "sliLabel:",
			want:  `sliLabel: "job" is a label the runbook's drill-down queries group by or set; choose another name, e.g. sli`,
		},
		{
			name: "cluster label the runbook uses", profile: slomodel.ProfileOptimized,
			edits: []string{"clusterLabel: cluster", "clusterLabel: instance"},
			at:    "clusterLabel:",
			want:  `clusterLabel: "instance" is a label the runbook's drill-down queries group by or set; choose another name, e.g. cluster`,
		},
		{
			name: "selector on the metric name", profile: slomodel.ProfileOptimized,
			edits: []string{`selector: 'job="kube-apiserver"'`, `selector: 'job="kube-apiserver", __name__=~"apiserver_.+"'`},
			at:    "selector: 'job=",
			want:  `selector: the matcher __name__=~"apiserver_.+" would give every drill-down metric of the runbook a second name, which PromQL rejects; select the series by other labels, e.g. job="kube-apiserver"`,
		},
		{
			name: "selector no test series can match", profile: slomodel.ProfileMixin,
			edits: []string{`selector: 'verb=~"LIST|GET"'`, `selector: 'verb=~"LIST|GET", instance=~"[0-9]+"'`},
			at:    `selector: 'verb=~"LIST|GET"`,
			want:  `slos[0].selector: the generated tests need a value of instance that instance=~"[0-9]+" matches for their input series, and found none among the regular expression's alternatives, "" and "x"; write the matcher so that one of its alternatives matches itself, e.g. instance=~"a|b"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := string(slo.DefaultYAML())
			for i := 0; i+1 < len(tc.edits); i += 2 {
				if !strings.Contains(text, tc.edits[i]) {
					t.Fatalf("spec has no %q", tc.edits[i])
				}
				text = strings.Replace(text, tc.edits[i], tc.edits[i+1], 1)
			}
			s, err := slo.Parse("spec.yaml", []byte(text))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			line := 0
			for i, l := range strings.Split(text, "\n") {
				if strings.Contains(l, tc.at) {
					line = i + 1
					break
				}
			}
			want := fmt.Sprintf("spec.yaml:%d: %s", line, tc.want)
			_, err = slomodel.New(s, tc.profile)
			if err == nil || err.Error() != want {
				t.Fatalf("slomodel.New:\ngot  %v\nwant %s", err, want)
			}
			var se *slo.Error
			if !errors.As(err, &se) {
				t.Errorf("slomodel.New gave %T, want a *slo.Error", err)
			}
			if _, err := rulegen.Rules(s, tc.profile); err == nil || err.Error() != want {
				t.Errorf("Rules:\ngot  %v\nwant %s", err, want)
			}
		})
	}
	for _, p := range slomodel.Profiles {
		if _, err := slomodel.New(slo.Default(), p); err != nil {
			t.Errorf("slomodel.New(default spec, %s): %v", p, err)
		}
	}
}
