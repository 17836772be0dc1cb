package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
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
