package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestImportSloth runs burnrate import sloth on a Sloth spec from the
// command line: the spec written to -o (flags after the file too) is the
// golden conversion, warnings go to stderr, and each failure has its exit
// code and says why.
func TestImportSloth(t *testing.T) {
	dir := t.TempDir()
	golden, err := os.ReadFile("../../internal/sloth/testdata/myservice.burnrate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../../internal/sloth/testdata/myservice.sloth.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec := string(b)
	in := filepath.Join(dir, "sloth.yaml")
	if err := os.WriteFile(in, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(spec, "      events:\n        error_query: sum(rate(http", "      plugin:\n        id: x\n      events:\n        error_query: sum(rate(http", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.yaml")
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		stdout     string // a substring, "" for empty
		stderr     string
		wantOutput bool
	}{
		{"to a file, flags after the file", []string{"import", "sloth", in, "-o", out}, exitOK, out + " written", in + ":3: labels:", true},
		{"to stdout", []string{"import", "--period", "30d", "sloth", in}, exitOK, "name: myservice\n", "warning: " + in + ":3: labels:", false},
		{"unconvertible", []string{"import", "sloth", bad}, exitFail, "", bad + ":9: slos[0].sli.plugin: SLI plugins", false},
		{"no file", []string{"import", "sloth"}, exitUsage, "", "Usage: burnrate import sloth", false},
		{"unknown format", []string{"import", "nagios", in}, exitUsage, "", `unknown format "nagios"`, false},
		{"unreadable file", []string{"import", "sloth", filepath.Join(dir, "none.yaml")}, exitUsage, "", "no such file", false},
		{"bad period", []string{"import", "--period", "month", "sloth", in}, exitUsage, "", `--period "month"`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(out)
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, &stdout, &stderr); code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if tc.stdout == "" && stdout.Len() > 0 || !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout %q, want %q in it", stdout.String(), tc.stdout)
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q, want %q in it", stderr.String(), tc.stderr)
			}
			got, err := os.ReadFile(out)
			if tc.wantOutput {
				if err != nil {
					t.Fatal(err)
				}
				// The header names the file as given.
				want := strings.Replace(string(golden), "from sloth.yaml.", "from "+in+".", 1)
				if string(got) != want {
					t.Errorf("-o wrote\n%s\nwant\n%s", got, want)
				}
			} else if err == nil {
				t.Errorf("%s written on %s", out, tc.name)
			}
		})
	}
}

// FuzzImportGenerates proves, for Sloth specs of two SLOs with any
// queries and objectives, that whatever burnrate import sloth accepts,
// burnrate generate accepts: an import that succeeds always generates.
// The seeds are Sloth's common SLIs (a counter ratio, a histogram's
// events over a bucket bound, in the shapes Sloth's examples write) and
// near misses; what the fuzzer finds is kept in testdata/fuzz.
func FuzzImportGenerates(f *testing.F) {
	const (
		ratioErr   = `sum(rate(http_requests_total{job="myservice",code=~"(5..|429)"}[{{.window}}]))`
		ratioTotal = `sum(rate(http_requests_total{job="myservice"}[{{.window}}]))`
		count      = `sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))`
		bucket     = `sum(rate(http_request_duration_seconds_bucket{job="myservice",le="0.5"}[{{.window}}]))`
	)
	f.Add(ratioErr, ratioTotal, count+" - "+bucket, count, 99.9, 99.0)
	f.Add(count+" - "+bucket, count, `(sum(rate(http_request_duration_seconds_count{job="myservice",handler="/a"}[{{.window}}])) - sum(rate(http_request_duration_seconds_bucket{job="myservice",handler="/a",le="1"}[{{.window}}])))`, `sum(rate(http_request_duration_seconds_count{job="myservice",handler="/a"}[{{.window}}]))`, 99.0, 95.0)
	f.Add(`sum by (cluster) (rate(h_count{verb!="WATCH"}[{{.window}}])) - sum by (cluster) (rate(h_bucket{verb!="WATCH",le="0.4"}[{{.window}}]))`, `sum by (cluster) (rate(h_count{verb!="WATCH"}[{{.window}}]))`, ratioErr, ratioTotal, 99.0, 99.5)
	f.Add(`sum(rate(h_count{cluster="a"}[{{.window}}])) - sum(rate(h_bucket{cluster="a",le="0.4"}[{{.window}}]))`, `sum(rate(h_count{cluster="a"}[{{.window}}]))`, ratioErr, ratioTotal, 99.0, 99.5)
	f.Add(`sum(rate(h_count{job=~".*"}[{{.window}}])) - sum(rate(h_bucket{job=~".*",le="0.4"}[{{.window}}]))`, `sum(rate(h_count{job=~".*"}[{{.window}}]))`, ratioErr, ratioTotal, 99.0, 99.5)
	f.Add(`sum(rate(h_count{job="a",job="b"}[{{.window}}])) - sum(rate(h_bucket{job="a",job="b",le="0.4"}[{{.window}}]))`, `sum(rate(h_count{job="a",job="b"}[{{.window}}]))`, ratioErr, ratioTotal, 99.0, 99.5)
	f.Add(`sum(rate(http_requests_total{job="a",code=~"5..",method="GET"}[{{.window}}]))`, `sum(rate(http_requests_total{job="a"}[{{.window}}]))`, `sum(rate(errors_total[{{.window}}]))`, `sum(rate(requests_total[{{.window}}]))`, 99.0, 99.5)
	f.Fuzz(func(t *testing.T, err0, total0, err1, total1 string, obj0, obj1 float64) {
		importThenGenerate(t, [][2]string{{err0, total0}, {err1, total1}}, []float64{obj0, obj1})
	})
}

// FuzzImportLatencyGenerates is FuzzImportGenerates for latency SLIs
// built from fuzzed parts, most of which import accepts: the histogram's
// name, one matcher (label, operator, value), the bucket's le, rate or
// increase, a sum by nothing or by the cluster label, beside a counter SLO.
func FuzzImportLatencyGenerates(f *testing.F) {
	f.Add("http_request_duration_seconds", "job", uint8(0), "myservice", "0.5", false, false, 99.0)
	f.Add("apiserver_request_duration_seconds", "verb", uint8(1), "WATCH", "1", true, true, 99.5)
	f.Add("h", "handler", uint8(2), "/api/.*", "2.5", false, true, 90.0)
	f.Add("h", "cluster", uint8(0), "eu", "1.0", false, false, 99.9)
	f.Add("h", "job", uint8(3), "", "0.005", true, false, 99.99)
	f.Fuzz(func(t *testing.T, metric, label string, op uint8, value, le string, increase, byCluster bool, obj float64) {
		ops := []string{"=", "!=", "=~", "!~"}
		m := label + ops[int(op)%len(ops)] + strconv.Quote(value)
		fn, sum := "rate", "sum"
		if increase {
			fn = "increase"
		}
		if byCluster {
			sum = "sum by (cluster)"
		}
		term := func(suffix, matchers string) string {
			return fmt.Sprintf("%s (%s(%s_%s{%s}[{{.window}}]))", sum, fn, metric, suffix, matchers)
		}
		latency := [2]string{term("count", m) + " - " + term("bucket", m+`,le=`+strconv.Quote(le)), term("count", m)}
		counter := [2]string{`sum(rate(http_requests_total{job="myservice",code=~"5.."}[{{.window}}]))`, `sum(rate(http_requests_total{job="myservice"}[{{.window}}]))`}
		importThenGenerate(t, [][2]string{counter, latency}, []float64{99.9, obj})
	})
}

// importThenGenerate writes a Sloth spec with one SLO per SLI (error and
// total query) at the objectives, imports it, and when import accepts it
// requires generate to accept the imported spec.
func importThenGenerate(t *testing.T, slis [][2]string, objectives []float64) {
	type events struct {
		ErrorQuery string `yaml:"error_query"`
		TotalQuery string `yaml:"total_query"`
	}
	type sloDoc struct {
		Name      string  `yaml:"name"`
		Objective float64 `yaml:"objective"`
		SLI       struct {
			Events events `yaml:"events"`
		} `yaml:"sli"`
		Alerting struct {
			Name string `yaml:"name"`
		} `yaml:"alerting"`
	}
	doc := struct {
		Version string   `yaml:"version"`
		Service string   `yaml:"service"`
		SLOs    []sloDoc `yaml:"slos"`
	}{Version: "prometheus/v1", Service: "myservice"}
	for i, q := range slis {
		var s sloDoc
		s.Name, s.Objective = fmt.Sprintf("slo%d", i), objectives[i]
		s.SLI.Events = events{q[0], q[1]}
		s.Alerting.Name = "MyServiceBurn"
		doc.SLOs = append(doc.SLOs, s)
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	in, spec := filepath.Join(dir, "sloth.yaml"), filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if run([]string{"import", "sloth", "-o", spec, in}, &stdout, &stderr) != exitOK {
		return // refused: nothing to prove
	}
	imported, _ := os.ReadFile(spec)
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"generate", "--out", filepath.Join(dir, "rules"), spec}, &stdout, &stderr); code != exitOK {
		t.Fatalf("import accepted the Sloth spec but generate exits %d:\n%s\nSloth spec:\n%s\nimported:\n%s", code, stderr.String(), data, imported)
	}
}
