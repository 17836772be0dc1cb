package testgen

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/burnrate/burnrate/internal/promtest"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// nativeSpec is a service with an SLO of each kind that reads the
// histogram, each on requests of its own, at thresholds that are bounds of
// no exponential schema (0.3 s) and of every one (1 s); FORM is replaced.
const nativeSpec = `name: shop
service: shop
selector: 'job="shop"'
clusterLabel: cluster
period: 30d
requests: {metric: http_requests_total, errors: 'code=~"5.."'}
latency: {metric: http_request_duration_seconds, form: FORM}
slos:
  - {name: availability, kind: errors, objective: 0.999, selector: 'handler="a"'}
  - {name: fast, kind: latency, objective: 0.99, selector: 'handler="f"', latency: [{seconds: 0.3}]}
  - {name: both, kind: errors-and-latency, objective: 0.999, selector: 'handler="b"', latency: [{seconds: 1}]}
alert:
  name: ShopErrorBudgetBurn
  summary: s
  description: d
  windows:
    - {long: 1h, short: 5m, factor: 14.4, severity: critical, for: 2m}
    - {long: 6h, short: 30m, factor: 6, severity: critical, for: 15m}
`

// TestNativeHistograms generates the rules and tests of specs whose
// histogram is native (latency.form native or nhcb) and runs every test
// file in-process and, without -short, under promtool, whose lint must
// pass the rules too: the window-pair, records and SLI-health tests hold
// for the rules that read histogram_count and histogram_fraction, on input
// written as native histograms, with no classic series left in either.
func TestNativeHistograms(t *testing.T) {
	apiserver := strings.Replace(string(slo.DefaultYAML()), "  partitionLabel: scope\n", "  partitionLabel: scope\n  form: native\n", 1)
	tests := []struct {
		name, spec string
		schema     string // in every histogram the tests write
	}{
		{"service, native", strings.Replace(nativeSpec, "FORM", "native", 1), "schema:1 "},
		{"service, nhcb", strings.Replace(nativeSpec, "FORM", "nhcb", 1), "schema:-53 "},
		{"shared histogram, native", strings.Replace(sharedSpec, "http_request_duration_seconds}", "http_request_duration_seconds, form: native}", 1), "schema:1 "},
		{"shared histogram, nhcb", strings.Replace(sharedSpec, "http_request_duration_seconds}", "http_request_duration_seconds, form: nhcb}", 1), "schema:-53 "},
		// The SLO of the lower threshold has the higher objective: the
		// other's window tests would make it burn too (tester.spills), and
		// are left out.
		{"shared histogram, lower threshold stricter, nhcb", strings.NewReplacer("http_request_duration_seconds}", "http_request_duration_seconds, form: nhcb}", "objective: 0.99, latency: [{seconds: 0.3}]", "objective: 0.999, latency: [{seconds: 0.3}]", "objective: 0.999, latency: [{seconds: 1}]", "objective: 0.99, latency: [{seconds: 1}]").Replace(sharedSpec), "schema:-53 "},
		{"kube-apiserver, native", apiserver, "schema:1 "},
		{"kube-apiserver, nhcb", strings.Replace(apiserver, "form: native", "form: nhcb", 1), "schema:-53 "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := slo.Parse("spec.yaml", []byte(tt.spec))
			if err != nil {
				t.Fatal(err)
			}
			if !s.Latency.Form.IsNative() {
				t.Fatalf("form %q: the spec's edit missed", s.Latency.Form)
			}
			m, err := slomodel.New(s, slomodel.ProfileOptimized)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			paths := generateInto(t, dir, m)
			rules := filepath.Join(dir, m.Name+".rules.yaml")
			for _, p := range append([]string{rules}, paths...) {
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				for _, classic := range []string{m.Bucket, m.Count} {
					if strings.Contains(string(data), classic) {
						t.Errorf("%s reads or writes %s, which a native histogram does not have", filepath.Base(p), classic)
					}
				}
				if p != rules && strings.Contains(string(data), m.Histogram+"{") && !strings.Contains(string(data), tt.schema) {
					t.Errorf("%s writes no histogram with %q", filepath.Base(p), tt.schema)
				}
			}
			run := paths
			if testing.Short() {
				// -short: the services' records and SLI-health tests
				// (the burn rates the alerts compare); every file of
				// every spec without it.
				run = nil
				for _, p := range paths {
					for _, suffix := range []string{".records.test.yaml", ".sli-health.test.yaml"} {
						if strings.HasPrefix(tt.name, "service,") && strings.HasSuffix(p, suffix) {
							run = append(run, p)
						}
					}
				}
			}
			if len(run) > 0 {
				report := runFiles(t, run...)
				failuresAreErrors(t, report)
				if len(report.Files) != len(run) {
					t.Errorf("%d files run, want %d", len(report.Files), len(run))
				}
			}
			if testing.Short() {
				return
			}
			root, err := filepath.Abs("../..")
			if err != nil {
				t.Fatal(err)
			}
			if out, err := runIn(root, "go", "tool", "promtool", "check", "rules", "--lint=all", "--lint-fatal", rules); err != nil {
				t.Errorf("promtool check rules: %v\n%s", err, out)
			}
			if out, err := promtoolTest(t, paths...); err != nil {
				t.Errorf("promtool test rules: %v\n%s", err, out)
			}
		})
	}
}

// TestNativeLayout: the test histograms' buckets put no threshold inside a
// bucket, at the coarsest schema that can, and a spec whose thresholds no
// schema separates is refused with the reason.
func TestNativeLayout(t *testing.T) {
	spec := func(form slo.HistogramForm, seconds ...float64) *slo.Spec {
		s := &slo.Spec{Latency: slo.Latency{Form: form}}
		for _, sec := range seconds {
			s.SLOs = append(s.SLOs, slo.SLO{Kind: slo.KindLatency, Latency: []slo.Threshold{{Seconds: sec}}})
		}
		return s
	}
	tests := []struct {
		name    string
		spec    *slo.Spec
		schema  int32
		wantErr string
	}{
		{"powers of two are bounds of schema 0", spec(slo.FormNative, 0.25, 1), 0, ""},
		{"kube-apiserver's 1s, 5s and 30s", spec(slo.FormNative, 1, 5, 30), 1, ""},
		{"0.3s", spec(slo.FormNative, 0.3), 1, ""},
		{"0.5s and 0.6s need schema 2", spec(slo.FormNative, 0.5, 0.6), 2, ""},
		{"custom buckets at the thresholds", spec(slo.FormNHCB, 0.3, 5), -53, ""},
		{"thresholds closer than any schema's buckets", spec(slo.FormNative, 1, 1.001), 0, "even schema 8 has no whole bucket between some two of the bounds 1, 1.001, 2, 2.002"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := newNativeLayout(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.schema != tt.schema {
				t.Errorf("schema %d, want %d", l.schema, tt.schema)
			}
			if l.custom {
				return
			}
			// A bucket below the lowest bound, and each bound's bucket
			// above it and below the next.
			if _, upper := exponentialBucket(l.schema, l.bottom); upper > l.bounds[0] {
				t.Errorf("the bucket below every bound ends at %v, above %v", upper, l.bounds[0])
			}
			for j, b := range l.bounds {
				lower, upper := exponentialBucket(l.schema, l.above[b])
				if lower < b || j+1 < len(l.bounds) && upper > l.bounds[j+1] {
					t.Errorf("bound %v: bucket (%v, %v] is not above it and below the next", b, lower, upper)
				}
			}
		})
	}
}

// TestNativeIdle: a native histogram that counts no request in the base
// window gives histogram_fraction NaN (promql/quantile.go,
// HistogramFraction); the slow-request record is then 0, not NaN, so that
// the sums over long windows that hold it stay numbers. The service had
// traffic before: the burn rate over 1h still reads it.
func TestNativeIdle(t *testing.T) {
	for _, form := range []string{"native", "nhcb"} {
		t.Run(form, func(t *testing.T) {
			s, err := slo.Parse("spec.yaml", []byte(strings.Replace(nativeSpec, "FORM", form, 1)))
			if err != nil {
				t.Fatal(err)
			}
			m, err := slomodel.New(s, slomodel.ProfileOptimized)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			generateInto(t, dir, m)
			h := "{{schema:0 count:%s sum:%s buckets:[%s]}}"
			if form == "nhcb" {
				h = "{{schema:-53 count:%s sum:%s custom_values:[0.3] buckets:[%s]}}"
			}
			// 10 requests a minute for 10 minutes, 1 of them slow, then none.
			busy := fmt.Sprintf(h, "10", "3", "9 1") + "+" + fmt.Sprintf(h, "10", "3", "9 1") + "x9"
			idle := fmt.Sprintf(h, "110", "33", "99 11") + "x20"
			if form == "native" {
				// Schema 0: 0.25 < 0.3 <= 0.5, 9 fast requests in
				// (0.125, 0.25], 1 slow one in (0.5, 1].
				busy = "{{schema:0 count:10 sum:3 offset:-2 buckets:[9 0 1]}}+{{schema:0 count:10 sum:3 offset:-2 buckets:[9 0 1]}}x9"
				idle = "{{schema:0 count:110 sum:33 offset:-2 buckets:[99 0 11]}}x20"
			}
			slow := "cluster_service_slo:slo_sli_slow:rate5m" + `{slo="fast"}`
			f := &promtest.File{RuleFiles: []string{m.Name + ".rules.yaml"}, EvaluationInterval: model.Duration(time.Minute), Tests: []promtest.Group{{
				Name: "idle after traffic", Interval: model.Duration(time.Minute),
				InputSeries: []promtest.InputSeries{{Series: `http_request_duration_seconds{cluster="c1",handler="f",job="shop"}`, Values: busy + " " + idle}},
				PromQLExprTests: []promtest.ExprTest{
					{Expr: "round(" + slow + " * 60, 0.001)", EvalTime: model.Duration(5 * time.Minute), ExpSamples: []promtest.ExpSample{{Labels: `{cluster="c1", service="shop", slo="fast"}`, Value: 1}}},
					{Expr: slow, EvalTime: model.Duration(25 * time.Minute), ExpSamples: []promtest.ExpSample{{Labels: `{__name__="cluster_service_slo:slo_sli_slow:rate5m", cluster="c1", service="shop", slo="fast"}`, Value: 0}}},
					{Expr: `round(slo:burnrate1h{slo="fast"}, 0.0001)`, EvalTime: model.Duration(25 * time.Minute), ExpSamples: []promtest.ExpSample{{Labels: `{cluster="c1", service="shop", slo="fast"}`, Value: 0.1}}},
				},
			}}}
			failuresAreErrors(t, runTest(t, filepath.Join(dir, "idle.test.yaml"), f, ""))
		})
	}
}

// TestNativeRecordsOrder: the records tests give a native histogram's
// lower threshold the larger share of slow requests whatever the order of
// the SLOs, since no native histogram holds more requests above a higher
// bound than above a lower one. Listed higher threshold first, the SLO at
// 0.3s read the other's share (0.125, not 0.0625) and the test failed.
func TestNativeRecordsOrder(t *testing.T) {
	spec := strings.NewReplacer(
		"http_request_duration_seconds}", "http_request_duration_seconds, form: native}",
		"  - {name: fast, kind: latency, objective: 0.99, latency: [{seconds: 0.3}]}\n  - {name: slow, kind: latency, objective: 0.999, latency: [{seconds: 1}]}\n",
		"  - {name: slow, kind: latency, objective: 0.999, latency: [{seconds: 1}]}\n  - {name: fast, kind: latency, objective: 0.99, latency: [{seconds: 0.3}]}\n",
	).Replace(sharedSpec)
	s, err := slo.Parse("spec.yaml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	if s.SLOs[1].Name != "slow" || !s.Latency.Form.IsNative() {
		t.Fatal("the spec's edit missed")
	}
	m, err := slomodel.New(s, slomodel.ProfileOptimized)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range generateInto(t, t.TempDir(), m) {
		if strings.HasSuffix(p, ".records.test.yaml") {
			failuresAreErrors(t, runFiles(t, p))
		}
	}
}
