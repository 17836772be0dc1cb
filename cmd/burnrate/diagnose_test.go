package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/burnrate/burnrate/internal/runbook"
)

// emptyVector is the Prometheus API's answer with no series.
const emptyVector = `{"status":"success","data":{"resultType":"vector","result":[]}}`

const oneVector = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[0,"1"]}]}}`

// fakeProm answers every query through h; it is closed with the test.
func fakeProm(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

// downURL is the address of a port nothing listens on.
func downURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// TestPrometheusFaults: a Prometheus that is down, fails, refuses the
// credentials or hangs gives a clear error and its own exit code, for both
// verbs, quickly.
func TestPrometheusFaults(t *testing.T) {
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		url     func(t *testing.T) string
		extra   []string
		code    int
		message string
	}{
		{"down", downURL, nil, exitUnreachable, "cannot connect to Prometheus"},
		{"500", func(t *testing.T) string {
			return fakeProm(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) })
		}, nil, exitServer, "HTTP 500 Internal Server Error: boom"},
		{"502 from a proxy", func(t *testing.T) string {
			return fakeProm(t, func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
			})
		}, nil, exitServer, "HTTP 502 Bad Gateway"},
		{"401", func(t *testing.T) string {
			return fakeProm(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer right" {
					http.Error(w, "Unauthorized", http.StatusUnauthorized)
					return
				}
				w.Write([]byte(oneVector))
			})
		}, []string{"--bearer-token-file", token}, exitAuth, "Prometheus refused the credentials"},
		{"slow", func(t *testing.T) string {
			return fakeProm(t, func(w http.ResponseWriter, r *http.Request) {
				r.ParseForm() // the server notices the client hanging up only once the body is read
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
			})
		}, []string{"--query-timeout", "200ms"}, exitTimeout, "did not answer in time"},
		{"not Prometheus", func(t *testing.T) string {
			return fakeProm(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>hello</html>")) })
		}, nil, exitServer, "Prometheus answered with an error"},
	}
	for _, tt := range tests {
		for _, verb := range []string{"diagnose", "lint"} {
			t.Run(tt.name+"/"+verb, func(t *testing.T) {
				args := append([]string{verb, "--prometheus", tt.url(t)}, tt.extra...)
				start := time.Now()
				code, stdout, stderr := runCLI(args...)
				if code != tt.code {
					t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, stderr)
				}
				if !strings.Contains(stderr, tt.message) || !strings.HasPrefix(stderr, "burnrate "+verb+": ") {
					t.Errorf("stderr %q, want it to say %q", stderr, tt.message)
				}
				if stdout != "" {
					t.Errorf("stdout %q, want nothing", stdout)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("took %s", d)
				}
			})
		}
	}
}

// etcdHangs is a Prometheus that has every metric and hangs on the etcd
// step's queries.
func etcdHangs(t *testing.T) string {
	return fakeProm(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.FormValue("query")
		switch {
		case q == "vector(1)":
			w.Write([]byte(oneVector))
		case strings.Contains(q, "etcd_request_duration_seconds_bucket") && !strings.HasPrefix(q, "count by (__name__)"):
			<-r.Context().Done()
		case strings.HasPrefix(q, "count by (__name__)"):
			// Every metric is scraped.
			var rows []string
			for _, m := range []string{"apiserver_request:burnrate1h", "etcd_request_duration_seconds_bucket", "apiserver_request_total"} {
				rows = append(rows, `{"metric":{"__name__":"`+m+`"},"value":[0,"1"]}`)
			}
			w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[` + strings.Join(rows, ",") + `]}}`))
		default:
			w.Write([]byte(emptyVector))
		}
	})
}

// TestDiagnoseSlowQueries: when Prometheus answers the first queries but
// hangs on some steps, those steps are reported as failed, the others still
// run, and the exit code is 1.
func TestDiagnoseSlowQueries(t *testing.T) {
	url := etcdHangs(t)
	code, stdout, stderr := runCLI("diagnose", "--prometheus", url, "--query-timeout", "300ms")
	if code != exitFail {
		t.Errorf("exit %d, want %d; stderr %s", code, exitFail, stderr)
	}
	if !strings.Contains(stdout, "etcd-latency             failed") || !strings.Contains(stdout, "did not answer in time") {
		t.Errorf("the slow step is not reported as failed:\n%s", stdout)
	}
	if !strings.Contains(stdout, "errors                   empty") {
		t.Errorf("the other steps did not run:\n%s", stdout)
	}
	if !strings.Contains(stderr, fmt.Sprintf("1 of %d steps failed", len(runbook.Steps))) {
		t.Errorf("stderr %q", stderr)
	}
}

// TestDiagnoseNotScraped: a Prometheus without the metrics says so per
// step, in text and JSON.
func TestDiagnoseNotScraped(t *testing.T) {
	url := fakeProm(t, func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("query") == "vector(1)" {
			w.Write([]byte(oneVector))
			return
		}
		w.Write([]byte(emptyVector))
	})
	code, stdout, stderr := runCLI("diagnose", "--prometheus", url, "--cluster", "prod-1", "--window", "3d", "--time", "2026-11-01T00:00:00Z")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"cluster=prod-1 at 2026-11-01T00:00:00Z, window 3d",
		// Neither burnrate's records nor the mixin's: the burn would be
		// computed from the raw series, which are missing too.
		"Burn computed from raw series.",
		"not scraped: apiserver_request_sli_duration_seconds_bucket, apiserver_request_sli_duration_seconds_count, apiserver_request_total has no series: step sli skipped",
		"not scraped: etcd_request_duration_seconds_bucket has no series: step etcd-latency skipped",
		"not scraped, or nothing happened yet: apiserver_flowcontrol_rejected_requests_total has no series: step apf-rejections skipped",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, stderr = runCLI("diagnose", "--prometheus", url, "--output", "json")
	if code != exitOK {
		t.Fatalf("json: exit %d: %s", code, stderr)
	}
	var r struct {
		Steps []struct{ Step, Status, Reason string }
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("json output: %v\n%s", err, stdout)
	}
	if len(r.Steps) != len(runbook.Steps) || r.Steps[1].Step != "sli" || r.Steps[1].Status != "skipped" {
		t.Errorf("json steps: %+v", r.Steps)
	}
}

func TestDiagnoseLintUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"diagnose"}, exitUsage, "--prometheus is required"},
		{[]string{"lint"}, exitUsage, "--prometheus is required"},
		{[]string{"diagnose", "--prometheus", "http://x", "--window", "2d"}, exitUsage, "window 2d is not one of the alert's windows"},
		{[]string{"diagnose", "--prometheus", "http://x", "--window", "soon"}, exitUsage, `--window "soon"`},
		{[]string{"diagnose", "--prometheus", "http://x", "--output", "yaml"}, exitUsage, `--output "yaml"`},
		{[]string{"diagnose", "--prometheus", "http://x", "--time", "yesterday"}, exitUsage, `--time "yesterday"`},
		{[]string{"diagnose", "--prometheus", "http://x", "--header", "nocolon"}, exitUsage, `want "Name: value"`},
		{[]string{"diagnose", "--prometheus", "http://x", "spec.yaml"}, exitUsage, "the spec goes in --spec"},
		{[]string{"lint", "--prometheus", "http://x", "a.yaml", "b.yaml"}, exitUsage, "one spec at a time"},
		{[]string{"lint", "--prometheus", "http://x", "no-such-spec.yaml"}, exitFail, "no-such-spec.yaml"},
		{[]string{"lint", "--prometheus", "http://x", "../../examples/checkout.yaml"}, exitFail, "../../examples/checkout.yaml:5: service: lint checks the kube-apiserver's series"},
		{[]string{"diagnose", "--prometheus", "http://x", "--spec", "../../examples/report-job.yaml", "--window", "1h"}, exitUsage, "window 1h is not one of the alert's windows (6h, 30m, 1d, 2h)"},
		{[]string{"diagnose", "--prometheus", "http://x", "--bearer-token-file", "/no/such/file"}, exitUsage, "/no/such/file"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.msg)
			}
		})
	}
	for _, verb := range []string{"diagnose", "lint"} {
		code, _, stderr := runCLI(verb, "--help")
		if code != exitOK || !strings.Contains(stderr, verbExitCodes(verb)) || !strings.Contains(stderr, "--prometheus") {
			t.Errorf("%s --help: exit %d\n%s", verb, code, stderr)
		}
	}
}
