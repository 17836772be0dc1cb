package sloth

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/ruletest"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/internal/testgen"
	"github.com/burnrate/burnrate/slo"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// k8sSpec is equivalenceSpec as a PrometheusServiceLevel resource.
const k8sSpec = `apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata:
  name: myservice
spec:
  service: "myservice"
  labels:
    owner: "myteam"
  slos:
    - name: "requests-availability"
      objective: 99.9
      sli:
        events:
          errorQuery: sum(rate(http_requests_total{job="myservice",code=~"(5..|429)"}[{{.window}}]))
          totalQuery: sum(rate(http_requests_total{job="myservice"}[{{.window}}]))
      alerting:
        name: MyServiceHighErrorRate
        pageAlert:
          labels:
            severity: critical
        ticketAlert:
          labels:
            severity: warning
    - name: "checkout-success"
      objective: 99
      sli:
        events:
          errorQuery: sum(rate(checkout_attempts_total{job="myservice",outcome="fail"}[{{ .window }}]))
          totalQuery: sum(rate(checkout_attempts_total{job="myservice"}[{{ .window }}]))
      alerting:
        name: MyServiceHighErrorRate
        pageAlert:
          labels:
            severity: critical
        ticketAlert:
          labels:
            severity: warning
`

// TestConvert pins the conversion of the equivalence test's spec (golden
// file; go test -update rewrites it) and requires the PrometheusServiceLevel
// form of it to convert to the same spec, with the same warnings.
func TestConvert(t *testing.T) {
	prom, err := Convert("sloth.yaml", []byte(equivalenceSpec), Options{})
	if err != nil {
		t.Fatal(err)
	}
	k8s, err := Convert("sloth.yaml", []byte(k8sSpec), Options{})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "myservice.burnrate.yaml")
	if *update {
		if err := os.WriteFile(golden, prom.Spec, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), string(prom.Spec)); d != "" {
		t.Errorf("prometheus/v1 (-golden +got):\n%s", d)
	}
	if d := cmp.Diff(string(prom.Spec), string(k8s.Spec)); d != "" {
		t.Errorf("PrometheusServiceLevel differs from prometheus/v1 (-prom +k8s):\n%s", d)
	}
	if len(prom.Warnings) != 1 || !strings.HasPrefix(prom.Warnings[0], "sloth.yaml:3: labels:") {
		t.Errorf("warnings %q, want one for the labels at line 3", prom.Warnings)
	}
	if len(k8s.Warnings) != 1 || !strings.HasPrefix(k8s.Warnings[0], "sloth.yaml:7: labels:") {
		t.Errorf("warnings %q, want one for the labels at line 7", k8s.Warnings)
	}
	// The converted spec generates rules whose generated tests pass.
	spec, err := slo.Parse("myservice.yaml", prom.Spec)
	if err != nil {
		t.Fatal(err)
	}
	passGeneratedTests(t, spec)
	// 28 days: Sloth's factors for it (2% of 672h in 1h: 13.44).
	p28, err := Convert("sloth.yaml", []byte(equivalenceSpec), Options{Period: 28 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"factor: 13.44\n", "factor: 5.6\n", "factor: 2.8\n", "factor: 0.9333333333\n", "period: 28d\n"} {
		if !strings.Contains(string(p28.Spec), f) {
			t.Errorf("28d spec lacks %q:\n%s", f, p28.Spec)
		}
	}
}

// TestRefusals edits the equivalence test's spec and expects exactly the
// errors given, each at the line of the text in at.
func TestRefusals(t *testing.T) {
	type want struct{ at, msg string } // at: text on the error's line; "" for no line
	for _, tc := range []struct {
		name   string
		edits  []string // old, new, …
		suffix string   // appended to the spec
		opts   Options
		want   []want
	}{
		{
			name:  "SLI plugin and raw error ratio",
			edits: []string{"      events:\n        error_query: sum(rate(http", "      plugin:\n        id: x\n      events:\n        error_query: sum(rate(http", "      events:\n        error_query: sum(rate(checkout", "      raw:\n        error_ratio_query: x\n      events:\n        error_query: sum(rate(checkout"},
			want: []want{
				{"      plugin:", "slos[0].sli.plugin: SLI plugins are Go code run by Sloth; burnrate cannot read their queries. Write the plugin's queries as sli.events (error_query, total_query) first"},
				{"      raw:", "slos[1].sli.raw: an error ratio query has no total to weigh the windows by, which burnrate's long windows need; write it as sli.events, an error_query and a total_query"},
			},
		},
		{
			name:  "two alert names",
			edits: []string{"[{{ .window }}]))\n    alerting:\n      name: MyServiceHighErrorRate", "[{{ .window }}]))\n    alerting:\n      name: CheckoutFails"},
			want: []want{
				{"name: CheckoutFails", `slos[1].alerting.name "CheckoutFails": burnrate names one alert per spec (the slo label tells the SLOs apart) and this service's SLOs name "MyServiceHighErrorRate" and "CheckoutFails"; choose one with --alert-name`},
			},
		},
		{
			name:  "a query that keeps a label, a template action",
			edits: []string{`total_query: sum(rate(http`, `total_query: sum by (handler) (rate(http`, `error_query: sum(rate(checkout_attempts_total{job="myservice",outcome="fail"}[{{ .window }}]))`, `error_query: sum(rate(checkout_attempts_total{job="{{.service}}",outcome="fail"}[{{ .window }}]))`},
			want: []want{
				{"sum by (handler)", "slos[0].sli.events.total_query: Sloth keeps every label this query returns and alerts per label set; burnrate sums the query by cluster alone. Aggregate it with sum(...) or sum by (cluster) (...) in the Sloth spec first, which is what Sloth's examples do"},
				{`{{.service}}`, "slos[1].sli.events.error_query: uses Go template actions other than {{.window}}; burnrate replaces only the window"},
			},
		},
		{
			name:  "severities that differ, plugins",
			edits: []string{"          severity: warning\n", "          severity: slack\n", "  - name: \"checkout-success\"\n", "  - name: \"checkout-success\"\n    plugins:\n      chain: []\n"},
			want: []want{
				{"plugins:", "slos[1].plugins: SLO plugins change Sloth's rules in ways burnrate cannot follow; remove them, or keep this SLO on Sloth"},
				{"ticket_alert:", `slos[1].alerting.ticket_alert: severity (or disable) "warning" differs from the first SLO's "slack"; burnrate's window pairs, and their severities, are the same for every SLO of a spec`},
			},
		},
		{
			name: "period without Sloth windows",
			opts: Options{Period: 7 * 24 * time.Hour},
			want: []want{{"", "period 7d: Sloth v0.16.0 has built-in alert windows for 30d and 28d only (others come from --slo-period-windows-path, which burnrate import does not read); use --period 30d or 28d"}},
		},
		{
			name:   "a second document",
			suffix: "---\nversion: prometheus/v1\n",
			want:   []want{{"version: prometheus/v1\n", "a second document: burnrate import reads one Sloth spec (one service) per file; split the file"}},
		},
		{
			name:  "OpenSLO",
			edits: []string{`version: "prometheus/v1"`, `version: "openslo/v1alpha"`},
			want:  []want{{"openslo", `version "openslo/v1alpha": burnrate import reads Sloth's prometheus/v1 specs (and PrometheusServiceLevel resources); for OpenSLO, convert with Sloth first`}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := equivalenceSpec
			for i := 0; i+1 < len(tc.edits); i += 2 {
				if !strings.Contains(text, tc.edits[i]) {
					t.Fatalf("spec has no %q", tc.edits[i])
				}
				text = strings.Replace(text, tc.edits[i], tc.edits[i+1], 1)
			}
			text += tc.suffix
			_, err := Convert("s.yaml", []byte(text), tc.opts)
			if err == nil {
				t.Fatal("Convert accepted the spec")
			}
			var lines []string
			for _, w := range tc.want {
				if w.at == "" {
					lines = append(lines, "s.yaml: "+w.msg)
					continue
				}
				lines = append(lines, "s.yaml:"+lineOf(t, text, w.at)+": "+w.msg)
			}
			if got, want := err.Error(), strings.Join(lines, "\n"); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// lineOf is the number of the line of text where at begins (its last
// occurrence, which the edits put there).
func lineOf(t *testing.T, text, at string) string {
	t.Helper()
	i := strings.LastIndex(text, at)
	if i < 0 {
		t.Fatalf("no %q in the spec", at)
	}
	return strconv.Itoa(strings.Count(text[:i], "\n") + 1)
}

// passGeneratedTests writes spec's rules and generated tests and runs them
// in-process (not with -short: a 30-day spec's tests take minutes).
func passGeneratedTests(t *testing.T, spec *slo.Spec) {
	t.Helper()
	if testing.Short() {
		t.Log("slow: the converted spec's generated tests are left to make check")
		return
	}
	dir := t.TempDir()
	m, err := slomodel.New(spec, slomodel.ProfileOptimized)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := rulegen.RuleGroups(m)
	if err != nil {
		t.Fatal(err)
	}
	data, err := encode.RuleFile(groups, "")
	if err != nil {
		t.Fatal(err)
	}
	ruleFile := spec.Name + ".rules.yaml"
	if err := os.WriteFile(filepath.Join(dir, ruleFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	tests, err := testgen.Tests(m, ruleFile)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, tf := range tests {
		data, err := tf.File.Marshal("")
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, tf.Name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	report, err := ruletest.RunFiles(context.Background(), paths, ruletest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	groupsRun := 0
	for _, fr := range report.Files {
		for _, g := range fr.Groups {
			groupsRun++
			for _, fail := range g.Failures {
				t.Errorf("%s: %s", filepath.Base(fr.File), fail)
			}
		}
	}
	if groupsRun == 0 {
		t.Error("no generated test group ran")
	}
}

// slothSpec is a Sloth prometheus/v1 spec of service myservice with one
// SLO per SLI, each an error query and a total query.
func slothSpec(slis ...[2]string) string {
	var b strings.Builder
	b.WriteString("version: prometheus/v1\nservice: myservice\nslos:\n")
	for i, s := range slis {
		fmt.Fprintf(&b, "  - name: slo%d\n    objective: 99\n    sli:\n      events:\n        error_query: %s\n        total_query: %s\n    alerting:\n      name: MyServiceBurn\n", i, strconv.Quote(s[0]), strconv.Quote(s[1]))
	}
	return b.String()
}

// TestLatencyKind converts Sloth SLIs and expects the kind each becomes:
// latency where the SLI is a histogram's events over a bucket bound, with
// the spec's selector, the SLO's own and the threshold; raw for a counter
// ratio; and a refusal, at the SLO's line and with the reason it is no
// latency SLI, where the raw kind would not generate either.
func TestLatencyKind(t *testing.T) {
	const (
		count  = `sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))`
		bucket = `sum(rate(http_request_duration_seconds_bucket{job="myservice",le="0.5"}[{{.window}}]))`
	)
	latency := [2]string{count + " - " + bucket, count}
	type slo1 struct {
		kind     string
		selector string // the SLO's own
		seconds  float64
	}
	for _, tc := range []struct {
		name     string
		slis     [][2]string
		selector string // the spec's
		want     []slo1
		warn     int    // warnings expected
		refused  string // a substring of the error; "" when accepted
		also     string // another
	}{
		{name: "count minus bucket over count (the issue's SLI)", slis: [][2]string{latency},
			selector: `job="myservice"`, want: []slo1{{"latency", "", 0.5}}, warn: 1},
		{name: "Sloth's kube-apiserver example: parentheses, le first, a negative matcher",
			slis:     [][2]string{{"(\n  sum(rate(apiserver_request_duration_seconds_count{verb!=\"WATCH\"}[{{.window}}]))\n  -\n  sum(rate(apiserver_request_duration_seconds_bucket{le=\"0.4\",verb!=\"WATCH\"}[{{.window}}]))\n)\n", `sum(rate(apiserver_request_duration_seconds_count{verb!="WATCH"}[{{.window}}]))`}},
			selector: `verb!="WATCH"`, want: []slo1{{"latency", "", 0.4}}, warn: 1},
		{name: "summed by the cluster label: exact, no warning",
			slis:     [][2]string{{`sum by (cluster) (rate(h_count{job="a"}[{{ .window }}])) - sum(rate(h_bucket{job="a",le="1"}[{{.window}}])) by (cluster)`, `sum by (cluster) (rate(h_count{job="a"}[{{.window}}]))`}},
			selector: `job="a"`, want: []slo1{{"latency", "", 1}}},
		{name: "increase, and the Prometheus 3 spelling of a whole bound",
			slis:     [][2]string{{`sum(increase(h_count{job="a"}[{{.window}}])) - sum(increase(h_bucket{job="a",le="2.0"}[{{.window}}]))`, `sum(increase(h_count{job="a"}[{{.window}}]))`}},
			selector: `job="a"`, want: []slo1{{"latency", "", 2}}, warn: 1},
		{name: "two thresholds on one histogram: shared matchers are the spec's selector",
			slis: [][2]string{
				{`sum(rate(h_count{job="a",handler="/x"}[{{.window}}])) - sum(rate(h_bucket{job="a",handler="/x",le="0.1"}[{{.window}}]))`, `sum(rate(h_count{job="a",handler="/x"}[{{.window}}]))`},
				{`sum(rate(http_requests_total{job="a",code=~"5.."}[{{.window}}]))`, `sum(rate(http_requests_total{job="a"}[{{.window}}]))`},
				{`sum(rate(h_count{job="a",handler!="/x"}[{{.window}}])) - sum(rate(h_bucket{job="a",handler!="/x",le="2.5"}[{{.window}}]))`, `sum(rate(h_count{job="a",handler!="/x"}[{{.window}}]))`},
			},
			selector: `job="a"`, want: []slo1{{"latency", `handler="/x"`, 0.1}, {"raw", "", 0}, {"latency", `handler!="/x"`, 2.5}}, warn: 2},
		// The same with the second latency SLI over all of the job's
		// requests, the first one's too: generate refuses it (the tests
		// cannot make one burn alone), so the import does.
		{name: "two latency SLIs on one histogram, one over the other's requests",
			slis: [][2]string{
				{`sum(rate(h_count{job="a",handler="/x"}[{{.window}}])) - sum(rate(h_bucket{job="a",handler="/x",le="0.1"}[{{.window}}]))`, `sum(rate(h_count{job="a",handler="/x"}[{{.window}}]))`},
				{`sum(rate(h_count{job="a"}[{{.window}}])) - sum(rate(h_bucket{job="a",le="2.5"}[{{.window}}]))`, `sum(rate(h_count{job="a"}[{{.window}}]))`},
			},
			refused: `both read the latency of the same requests (a request labelled {handler="/x", job="a"} is in both)`},
		{name: "a counter ratio stays raw",
			slis: [][2]string{{`sum(rate(http_requests_total{job="a",code=~"5.."}[{{.window}}]))`, `sum(rate(http_requests_total{job="a"}[{{.window}}]))`}},
			want: []slo1{{"raw", "", 0}}},
		{name: "le by regular expression", slis: [][2]string{{count + ` - sum(rate(http_request_duration_seconds_bucket{job="myservice",le=~"0.5"}[{{.window}}]))`, count}},
			refused: `s.yaml:8: slos[0].sli.events: burnrate generate would refuse the converted SLO (kind raw): slos[0].raw: `,
			also:    `. It is no latency SLI either: the bucket is not chosen by a literal le="…" matcher`},
		{name: "le spelled as no client writes it", slis: [][2]string{{count + ` - sum(rate(http_request_duration_seconds_bucket{job="myservice",le="0.50"}[{{.window}}]))`, count}},
			refused: `le="0.50" is not spelled as the bucket's label ("0.5")`},
		{name: "le +Inf", slis: [][2]string{{count + ` - sum(rate(http_request_duration_seconds_bucket{job="myservice",le="+Inf"}[{{.window}}]))`, count}},
			refused: `le="+Inf" is not a positive, finite bucket bound`},
		{name: "the bucket selects other series", slis: [][2]string{{count + ` - sum(rate(http_request_duration_seconds_bucket{job="other",le="0.5"}[{{.window}}]))`, count}},
			refused: "the three selectors do not have the same matchers (other than le on the bucket)"},
		{name: "the total reads another histogram", slis: [][2]string{{latency[0], `sum(rate(grpc_duration_seconds_count{job="myservice"}[{{.window}}]))`}},
			refused: "the total query reads grpc_duration_seconds_count, not http_request_duration_seconds_count"},
		{name: "another histogram's bucket", slis: [][2]string{{count + ` - sum(rate(grpc_duration_seconds_bucket{job="myservice",le="0.5"}[{{.window}}]))`, count}},
			refused: "subtracts grpc_duration_seconds_bucket from http_request_duration_seconds_count, not from grpc_duration_seconds_count"},
		{name: "a fixed range instead of the window", slis: [][2]string{{count + ` - sum(rate(http_request_duration_seconds_bucket{job="myservice",le="0.5"}[5m]))`, count}},
			refused: "the subtracted term is not a rate over the window {{.window}}"},
		{name: "rate and increase mixed", slis: [][2]string{{count + ` - sum(increase(http_request_duration_seconds_bucket{job="myservice",le="0.5"}[{{.window}}]))`, count}},
			refused: "not all use the same function"},
		{name: "sums by different labels", slis: [][2]string{{count + ` - sum by (cluster) (rate(http_request_duration_seconds_bucket{job="myservice",le="0.5"}[{{.window}}]))`, count}},
			refused: "the three sums are not all by the same labels (nothing, or cluster)"},
		{name: "an offset", slis: [][2]string{{count + ` - sum(rate(http_request_duration_seconds_bucket{job="myservice",le="0.5"}[{{.window}}] offset 1m))`, count}},
			refused: "a rate without offset or @"},
		{name: "bucket minus count", slis: [][2]string{{bucket + " - " + count, count}},
			refused: ". It is no latency SLI either: the subtracted term is not a sum of the rate of a _bucket series"},
		{name: "no matcher to select the histogram by", slis: [][2]string{{`sum(rate(h_count[{{.window}}])) - sum(rate(h_bucket{le="0.5"}[{{.window}}]))`, `sum(rate(h_count[{{.window}}]))`}},
			refused: `s.yaml:8: slos[0].sli.events: the latency queries of histogram h share no label matcher, and a burnrate spec selects its histogram with at least one (its selector); add the matcher that picks this service's series, e.g. job="myservice", to every query that reads h_count or h_bucket`},
		{name: "two histograms", slis: [][2]string{latency, {`sum(rate(h_count{job="a"}[{{.window}}])) - sum(rate(h_bucket{job="a",le="1"}[{{.window}}]))`, `sum(rate(h_count{job="a"}[{{.window}}]))`}},
			refused: "s.yaml:16: slos[1].sli.events: a latency SLI of histogram h, while slos[0]'s is of http_request_duration_seconds; a burnrate spec reads one latency histogram"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Convert("s.yaml", []byte(slothSpec(tc.slis...)), Options{})
			if tc.refused != "" {
				if err == nil {
					t.Fatalf("accepted; want a refusal with %q:\n%s", tc.refused, res.Spec)
				}
				if !strings.Contains(err.Error(), tc.refused) || !strings.Contains(err.Error(), tc.also) {
					t.Fatalf("refused with\n%v\nwant %q and %q in it", err, tc.refused, tc.also)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			spec, err := slo.Parse("converted.yaml", res.Spec)
			if err != nil {
				t.Fatal(err)
			}
			if spec.Selector != tc.selector {
				t.Errorf("selector %q, want %q", spec.Selector, tc.selector)
			}
			for i, w := range tc.want {
				o := spec.SLOs[i]
				got := slo1{kind: string(o.Kind), selector: o.Selector}
				if len(o.Latency) == 1 {
					got.seconds = o.Latency[0].Seconds
				}
				if got != w {
					t.Errorf("slos[%d]: %+v, want %+v\n%s", i, got, w, res.Spec)
				}
			}
			if len(res.Warnings) != tc.warn {
				t.Errorf("%d warnings, want %d: %q", len(res.Warnings), tc.warn, res.Warnings)
			}
		})
	}
}

// TestPairsThatCannotFire: a window pair whose factor times the error
// budget is an error ratio of 100% or more never fires in Sloth; burnrate
// refuses such a pair, so the import leaves it out (with a warning) when
// it can fire for no SLO, and refuses the SLO at its objective's line when
// it can fire for another SLO of the spec.
func TestPairsThatCannotFire(t *testing.T) {
	counter := [2]string{`sum(rate(http_requests_total{job="a",code=~"5.."}[{{.window}}]))`, `sum(rate(http_requests_total{job="a"}[{{.window}}]))`}
	objectives := func(spec string, obj ...string) string {
		for i, o := range obj {
			spec = strings.Replace(spec, fmt.Sprintf("  - name: slo%d\n    objective: 99\n", i), fmt.Sprintf("  - name: slo%d\n    objective: %s\n", i, o), 1)
		}
		return spec
	}
	for _, tc := range []struct {
		name    string
		spec    string
		factors []float64
		warn    []string
		err     string
	}{
		{"90%: the 1h/5m pair needs 144%", objectives(slothSpec(counter), "90"), []float64{6, 3, 1},
			[]string{"s.yaml: Sloth's window pair 1h/5m (factor 14.4) can fire at no SLO's objective (at 0.9 it needs an error ratio of 144%); left out"}, ""},
		{"50%: only 3d/6h is left", objectives(slothSpec(counter), "50"), []float64{1}, nil, ""},
		{"10%, ticket alert disabled: no pair can fire", strings.Replace(objectives(slothSpec(counter), "10"), "      name: MyServiceBurn\n", "      name: MyServiceBurn\n      ticket_alert:\n        disable: true\n", 1), nil, nil,
			"s.yaml: no window pair of Sloth's can fire at these objectives (each needs an error ratio above 100%), so there is no alert to convert"},
		{"90% beside 99.9%", objectives(slothSpec(counter, counter), "99.9", "90"), nil, nil,
			"s.yaml:13: slos[1].objective: Sloth's window pair 1h/5m (factor 14.4) can never fire at 0.9 (it needs an error ratio of 144%), while it can at slos[0]'s 0.999; burnrate refuses a pair that cannot fire and gives every SLO of a spec the same pairs, so put this SLO in a Sloth file of its own"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Convert("s.yaml", []byte(tc.spec), Options{})
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("got %v\nwant %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			spec, err := slo.Parse("converted.yaml", res.Spec)
			if err != nil {
				t.Fatal(err)
			}
			var factors []float64
			for _, w := range spec.Alert.Windows {
				factors = append(factors, w.Factor)
			}
			if !slices.Equal(factors, tc.factors) {
				t.Errorf("factors %v, want %v", factors, tc.factors)
			}
			if tc.warn != nil && !slices.Equal(res.Warnings, tc.warn) {
				t.Errorf("warnings %q, want %q", res.Warnings, tc.warn)
			}
		})
	}
}
