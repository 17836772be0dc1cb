package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// queryRaw asks for the range selector at the end of the range, to the
// millisecond, and turns the matrix into series with the name apart.
func TestQueryRaw(t *testing.T) {
	var query, at string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		query, at = r.Form.Get("query"), r.Form.Get("time")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[
			{"metric":{"__name__":"up","job":"kube-apiserver","instance":"a"},"values":[[1700000000.5,"1"],[1700000005.5,"0"]]}]}}`))
	}))
	defer srv.Close()
	c, err := api.NewClient(api.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Unix(1700000000, 0)
	to := from.Add(10*time.Second + 1234567*time.Nanosecond)
	got, err := queryRaw(context.Background(), v1.NewAPI(c), `{__name__="up"}`, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if query != `{__name__="up"}[11s]` || at != "1700000010.001" {
		t.Errorf("asked for %q at %s, want {__name__=\"up\"}[11s] at 1700000010.001", query, at)
	}
	want := []series{{name: "up", labels: map[string]string{"job": "kube-apiserver", "instance": "a"}, samples: []sample{{1700000000.5, 1}, {1700000005.5, 0}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// --keep slo reads fewer names than all, and of the buckets only those at
// the thresholds the rules read.
func TestSelectors(t *testing.T) {
	all, slo := selectors("all"), selectors("slo")
	if len(all) != len(recordedNames) || len(slo) != len(sloNames) || len(slo) >= len(all) {
		t.Fatalf("all %d selectors, slo %d; want %d and %d", len(all), len(slo), len(recordedNames), len(sloNames))
	}
	want := `{__name__=~"apiserver_request_sli_duration_seconds_bucket",job="kube-apiserver",le=~"(1|5|30)(\\.0)?|\\+Inf|"}`
	if slo[1] != want {
		t.Errorf("slo bucket selector %s, want %s", slo[1], want)
	}
	if slo[0] != `{__name__=~"apiserver_request_total",job="kube-apiserver"}` {
		t.Errorf("slo counter selector %s", slo[0])
	}
}

// nativeHistograms: auto turns native histograms on from kube-apiserver
// 1.37, whose NativeHistograms gate is on by default; on and off force
// it; anything else is an error.
func TestNativeHistograms(t *testing.T) {
	for _, tc := range []struct {
		flag, version string
		want, err     bool
	}{
		{"auto", "v1.34.2", false, false},
		{"auto", "v1.36.3", false, false},
		{"auto", "v1.37.0", true, false},
		{"auto", "v1.37.2", true, false},
		{"auto", "v1.40.0-alpha.1", true, false},
		{"auto", "v2.0.0", true, false},
		{"auto", "latest", false, true},
		{"on", "v1.34.2", true, false},
		{"off", "v1.37.2", false, false},
		{"yes", "v1.37.2", false, true},
	} {
		got, err := nativeHistograms(tc.flag, tc.version)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("nativeHistograms(%q, %q) = %v, %v; want %v, error %v", tc.flag, tc.version, got, err, tc.want, tc.err)
		}
	}
}

// TestKeepsWhatTheRunbookReads: both selections (--keep all and slo) keep
// every raw metric the runbook's drill-down queries read, so that diagnose
// can run each step on a recording, but those sloLeftOut names.
// (etcd-slower-long was recorded before this test, with an slo selection
// that left out all of etcd's histogram and the LIST, APF and client
// counters.)
func TestKeepsWhatTheRunbookReads(t *testing.T) {
	m, err := slomodel.New(slo.Default(), slomodel.ProfileOptimized)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := runbook.New(m)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := rb.Queries(5 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	p := parser.NewParser(parser.Options{})
	for _, q := range qs {
		e, err := p.ParseExpr(q.PromQL)
		if err != nil {
			t.Fatalf("%v\n%s", err, q.PromQL)
		}
		parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" && !strings.Contains(vs.Name, ":") {
				read[vs.Name] = true
			}
			return nil
		})
	}
	if len(read) < 10 {
		t.Fatalf("the runbook reads %d raw metrics: %v", len(read), read)
	}
	for _, tc := range []struct {
		keep  string
		names []string
	}{{"all", recordedNames}, {"slo", sloNames}} {
		for name := range read {
			if _, ok := sloLeftOut[name]; ok && tc.keep == "slo" {
				continue
			}
			if !slices.ContainsFunc(tc.names, func(re string) bool { return regexp.MustCompile("^(?:" + re + ")$").MatchString(name) }) {
				t.Errorf("--keep %s leaves out %s, which the runbook reads", tc.keep, name)
			}
		}
	}
}
