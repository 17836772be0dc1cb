package slo

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

func TestDefaultIsValid(t *testing.T) {
	s := Default()
	if got := len(s.SLOs); got != 2 {
		t.Errorf("default spec has %d SLOs, want read and write", got)
	}
	if got := time.Duration(s.Period); got != 30*24*time.Hour {
		t.Errorf("period = %v, want 30d", got)
	}
	if got := len(s.Alert.Windows); got != 4 {
		t.Errorf("default spec has %d window pairs, want 4", got)
	}
}

// lineWith returns the 1-based number of the first line of text containing s.
func lineWith(t *testing.T, text, s string) int {
	t.Helper()
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("no line contains %q", s)
	return 0
}

// TestBadSpecs edits the default spec one way each and expects exactly one
// error, at the line of the edit, saying what is wrong.
func TestBadSpecs(t *testing.T) {
	base := string(DefaultYAML())
	tests := []struct {
		name     string
		old, new string // the edit
		at       string // text on the line the error must name; default: the edit's first line
		want     string // fragment of the message
	}{
		{"invalid YAML", "slos:\n", "slos: [\n", "slos: [", "invalid YAML"},
		{"unknown field", "objective: 0.99\n", "objective: 0.99\ncolour: blue\n", "colour: blue", `unknown field "colour"`},
		{"objective above 1", "objective: 0.99", "objective: 1.2", "", "outside (0, 1)"},
		{"objective of 1", "objective: 0.99", "objective: 1", "", "outside (0, 1)"},
		{"window that is not a duration", "long: 1h,", "long: 1hour,", "", `"1hour" is not a Prometheus duration`},
		{"short window not shorter", "short: 5m,", "short: 1h,", "", "must be shorter than the long window"},
		{"factor zero", "factor: 14.4", "factor: 0", "", "factor must be a positive number"},
		{"negative factor", "factor: 6,", "factor: -6,", "", "factor must be a positive number"},
		{"selector not PromQL", `selector: 'job="kube-apiserver"'`, `selector: 'job=kube-apiserver'`, "", "does not parse as PromQL"},
		{"errors selector not PromQL", `errors: 'code=~"5.."'`, `errors: 'code=~"5..'`, "", "does not parse as PromQL"},
		{"threshold not a number", "seconds: 5", "seconds: five", "", `slos[0].latency[1].seconds: expected a number such as 1, got "five"`},
		{"duplicate SLO name", "- name: write", "- name: read", "", `SLO name "read" is already used`},
		{"runbook pattern without %s", "#alert-name-%s", "#alert-name", "runbookURLPattern: https", "must contain %s"},
		{"duplicate window pair", "{long: 6h, short: 30m,", "{long: 1h, short: 5m,", "{long: 1h, short: 5m, factor: 6", "already alert.windows[0]"},
		{"bad cluster label", "clusterLabel: cluster", "clusterLabel: k8s-cluster", "", "not a label name"},
		{"base window longer than a short window", "baseWindow: 5m", "baseWindow: 10m", "", "the base window 10m is longer than alert.windows[0].short (5m)"},
		{"window not a multiple of the base window", "baseWindow: 5m", "baseWindow: 2m", "{long: 1h, short: 5m,", "5m is not a multiple of the base window 2m"},
		{"extra verbs for a missing SLO", "fixes:\n", "fixes:\n  extraVerbs: {delete: [DELETECOLLECTION]}\n", "extraVerbs", `no SLO named "delete"`},
		{"threshold without partition", "      - partition: [namespace]\n", "      - partition: []\n", "partition: []", "needs the partition label values"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(base, tc.old) {
				t.Fatalf("default spec has no %q", tc.old)
			}
			text := strings.Replace(base, tc.old, tc.new, 1)
			line := strings.Count(base[:strings.Index(base, tc.old)], "\n") + 1 // where the edit starts
			if tc.at != "" {
				line = lineWith(t, text, tc.at)
			}
			_, err := Parse("bad.yaml", []byte(text))
			if err == nil {
				t.Fatal("Parse accepted the spec")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != 1 {
				t.Fatalf("want exactly one error, got %d:\n%v", len(lines), err)
			}
			prefix := fmt.Sprintf("bad.yaml:%d: ", line)
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q does not start with %q", err, prefix)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Errorf("error is %T, want *slo.Error", err)
			}
		})
	}
}

func TestEmptySpec(t *testing.T) {
	for _, text := range []string{"", "# nothing\n", "---\n", "~\n", "null\n---\n"} {
		_, err := Parse("empty.yaml", []byte(text))
		want := "empty.yaml:1: the spec is empty; start from the embedded one (burnrate spec prints it)"
		if err == nil || err.Error() != want {
			t.Errorf("Parse(%q): got %v, want %s", text, err, want)
		}
	}
}

func TestSeveralProblemsAreAllReported(t *testing.T) {
	text := strings.NewReplacer("objective: 0.99", "objective: 2", "factor: 14.4", "factor: 0").Replace(string(DefaultYAML()))
	_, err := Parse("two.yaml", []byte(text))
	if err == nil {
		t.Fatal("Parse accepted the spec")
	}
	if n := len(strings.Split(err.Error(), "\n")); n != 2 {
		t.Errorf("want 2 errors, got %d:\n%v", n, err)
	}
}

func TestPathString(t *testing.T) {
	tests := []struct {
		p    Path
		want string
	}{
		{Path{"alert", "windows", 2, "factor"}, "alert.windows[2].factor"},
		{Path{"slos", 0}, "slos[0]"},
		{Path{"name"}, "name"},
	}
	for _, tc := range tests {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.p, got, tc.want)
		}
	}
}

// TestServiceDefaults: a spec with a service may leave out the SLI label,
// the service label, the runbook URL, each SLO's kind and the blocks its
// kinds do not read; Parse fills in what the generators need.
func TestServiceDefaults(t *testing.T) {
	const head = `name: svc
service: svc
selector: 'job="svc"'
clusterLabel: cluster
period: 30d
alert:
  name: SvcBurn
  summary: s
  description: d
  windows:
    - {long: 1h, short: 5m, factor: 14.4, severity: critical, for: 2m}
`
	tests := []struct {
		name, body string
		kinds      []Kind
		err        string
	}{
		{"errors only, no latency block", `objective: 0.999
requests: {metric: http_requests_total, errors: 'code=~"5.."'}
slos: [{name: availability}]
`, []Kind{KindErrors}, ""},
		{"latency only, no requests block", `latency: {metric: task_seconds}
slos: [{name: fast, kind: latency, objective: 0.95, latency: [{seconds: 30}]}]
`, []Kind{KindLatency}, ""},
		{"thresholds make errors-and-latency", `objective: 0.99
requests: {metric: grpc_server_handled_total, errors: 'grpc_code=~"Unavailable|Internal"'}
latency: {metric: grpc_server_handling_seconds}
slos: [{name: calls, latency: [{seconds: 0.5}]}]
`, []Kind{KindErrorsAndLatency}, ""},
		{"latency kind without the latency block", `objective: 0.99
slos: [{name: fast, kind: latency, latency: [{seconds: 0.3}]}]
`, nil, `latency.metric: write the metric's name, e.g. http_request_duration_seconds (the histogram's name without _bucket)`},
		{"no objective anywhere", `requests: {metric: http_requests_total, errors: 'code=~"5.."'}
slos: [{name: availability}]
`, nil, "objective: want a fraction strictly between 0 and 1, the share of good events, e.g. 0.99 for 99%"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("svc.yaml", []byte(head+tc.body))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var kinds []Kind
			for _, o := range s.SLOs {
				kinds = append(kinds, o.Kind)
			}
			if !slices.Equal(kinds, tc.kinds) || s.SLILabel != "slo" || s.ServiceLabel != "service" || s.Runbook.URLPattern != "" || len(s.Fixes.ExtraVerbs) != 0 {
				t.Errorf("kinds %v, sliLabel %q, serviceLabel %q, runbook URL %q, extra verbs %v; want kinds %v, slo, service, no URL, no verbs",
					kinds, s.SLILabel, s.ServiceLabel, s.Runbook.URLPattern, s.Fixes.ExtraVerbs, tc.kinds)
			}
		})
	}
}

// TestDurationString: a whole number of days is spelt in days (Prometheus
// spells 7d as 1w and 28d as 4w), and every other duration as Prometheus
// does; each spelling parses back to the same duration.
func TestDurationString(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"0s", "0s"}, {"30s", "30s"}, {"5m", "5m"}, {"1h30m", "1h30m"}, {"1d", "1d"}, {"36h", "1d12h"},
		{"7d", "7d"}, {"1w", "7d"}, {"14d", "14d"}, {"28d", "28d"}, {"4w", "28d"}, {"30d", "30d"}, {"1y", "365d"}, {"8d1m", "8d1m"},
	} {
		d, err := model.ParseDuration(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		got := Duration(d).String()
		if got != tc.want {
			t.Errorf("%s prints as %s, want %s", tc.in, got, tc.want)
		}
		if back, err := model.ParseDuration(got); err != nil || back != d {
			t.Errorf("%s parses back as %v, %v", got, back, err)
		}
	}
}

// TestLoadNoSpecFile: a directory or a missing path given as the spec says
// so, and what to pass instead.
func TestLoadNoSpecFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ path, want string }{
		{dir, dir + ": a directory, not a spec file; pass the spec files in it, e.g. " + filepath.Join(dir, "*.yaml")},
		{filepath.Join(dir, "none.yaml"), filepath.Join(dir, "none.yaml") + ": no such file; pass the path of a spec file (burnrate spec prints the embedded one, a starting point)"},
	} {
		if _, err := Load(tc.path); err == nil || err.Error() != tc.want {
			t.Errorf("Load(%s): got %v\nwant %s", tc.path, err, tc.want)
		}
	}
}
