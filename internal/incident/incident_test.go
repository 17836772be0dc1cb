package incident

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/series"
)

var testEnv = Env{ClusterLabel: "cluster", Cluster: "prod-1", APIServer: map[string]string{"job": "kube-apiserver"}}

func library(t *testing.T) []Scenario {
	t.Helper()
	scs, err := Library(testEnv)
	if err != nil {
		t.Fatal(err)
	}
	return scs
}

func TestLibrary(t *testing.T) {
	scs := library(t)
	want := []string{"aggregated-api-unreachable", "failing-webhook", "slow-etcd", "expensive-list-client", "bad-instance", "fresh-apiserver"}
	var got []string
	for _, sc := range scs {
		got = append(got, sc.Name)
		if len(sc.Culprits) == 0 || len(sc.Quiet) == 0 {
			t.Errorf("%s: want culprits and quiet steps", sc.Name)
		}
		for st, ls := range sc.Culprits {
			if ls["cluster"] != "prod-1" {
				t.Errorf("%s: culprit of %s lacks the cluster label: %v", sc.Name, st, ls)
			}
		}
		for _, s := range sc.Series {
			if s.Labels["cluster"] != "prod-1" {
				t.Errorf("%s: series %s lacks the cluster label", sc.Name, s.Key())
			}
			for k, v := range s.Labels {
				if v == "" {
					t.Errorf("%s: series %s has an empty label %s", sc.Name, s.Key(), k)
				}
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scenarios (-want +got):\n%s", diff)
	}
	// Two renderings are identical: the library is deterministic.
	again := library(t)
	if diff := cmp.Diff(scs, again, cmp.Comparer(func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) })); diff != "" {
		t.Errorf("a second rendering differs:\n%s", diff)
	}
}

// TestBurn checks the scenario arithmetic the comments state: the share of
// bad requests per SLI during the fault, from the series themselves.
func TestBurn(t *testing.T) {
	want := map[string]map[string]float64{ // scenario → SLI → bad share in the fault phase (approximate)
		"aggregated-api-unreachable": {"read": 0.0249, "write": 0.0003},
		"failing-webhook":            {"read": 0.0002, "write": 0.3203},
		"slow-etcd":                  {"read": 0.0698, "write": 0.1203},
		"expensive-list-client":      {"read": 0.0472, "write": 0.0003},
		"bad-instance":               {"read": 0.3298, "write": 0.1002},
		"fresh-apiserver":            {"read": 0.1051, "write": 0},
	}
	thresholds := map[string]float64{"": 1, "resource": 1, "namespace": 5, "cluster": 30}
	for _, sc := range library(t) {
		t.Run(sc.Name, func(t *testing.T) {
			total, bad := map[string]float64{}, map[string]float64{}
			for _, s := range sc.Series {
				sli := map[string]string{"GET": "read", "LIST": "read", "POST": "write", "PUT": "write", "PATCH": "write", "DELETE": "write"}[s.Labels["verb"]]
				if sli == "" || s.Labels["subresource"] == "log" {
					continue
				}
				v := s.Values[1]
				switch {
				case s.Name == MetricRequests:
					total[sli] += v
					if strings.HasPrefix(s.Labels["code"], "5") {
						bad[sli] += v
					}
				case s.Name == MetricSLI+"_count":
					bad[sli] += v
				case s.Name == MetricSLI+"_bucket":
					th := thresholds[s.Labels["scope"]]
					if sli == "write" {
						th = 1
					}
					if s.Labels["le"] == series.Le(th) {
						bad[sli] -= v
					}
				}
			}
			for sli, w := range want[sc.Name] {
				got := bad[sli] / total[sli]
				if math.Abs(got-w) > 0.0005 {
					t.Errorf("%s: bad share %.4f, want %.4f", sli, got, w)
				}
			}
		})
	}
}

func TestSamples(t *testing.T) {
	sc := Scenario{Phases: []Phase{{"a", 3 * time.Minute}, {"b", 2 * time.Minute}}}
	nan := math.NaN()
	tests := []struct {
		name string
		s    Series
		want []float64
	}{
		{"counter", Series{Type: Counter, Values: []float64{60, 30}}, []float64{0, 60, 120, 180, 210, 240}},
		{"counter with a start", Series{Type: Histogram, Values: []float64{0, 60}, Start: 1}, []float64{1, 1, 1, 1, 61, 121}},
		{"counter created by the fault", Series{Type: Counter, Values: []float64{nan, 120}}, []float64{nan, nan, nan, 0, 120, 240}},
		{"gauge", Series{Type: Gauge, Values: []float64{0, 1}}, []float64{0, 0, 0, 1, 1, 1}},
		{"gauge appearing", Series{Type: Gauge, Values: []float64{nan, 1}}, []float64{nan, nan, nan, 1, 1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := sc.Samples(tc.s)
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	good := func() Scenario {
		return Scenario{
			Name:   "x",
			Phases: []Phase{{"healthy", time.Minute}, {"fault", time.Minute}},
			Series: []Series{{Name: "up", Type: Gauge, Values: []float64{1, 1}}},
			Fires:  []Firing{{"read", time.Hour, 5 * time.Minute}},
			Cause:  runbook.StepErrors,
			Culprits: map[runbook.Step]map[string]string{
				runbook.StepErrors: {"code": "500"},
			},
		}
	}
	tests := []struct {
		name   string
		change func(*Scenario)
		want   string
	}{
		{"ok", func(*Scenario) {}, ""},
		{"one phase", func(s *Scenario) { s.Phases = s.Phases[:1] }, "want a healthy phase and a fault phase"},
		{"odd phase", func(s *Scenario) { s.Phases[1].Duration = 90 * time.Second }, "not a positive multiple"},
		{"twice", func(s *Scenario) { s.Series = append(s.Series, s.Series[0]) }, "defined twice"},
		{"values", func(s *Scenario) { s.Series[0].Values = []float64{1} }, "has 1 values for 2 phases"},
		{"counter disappears", func(s *Scenario) {
			s.Series = []Series{{Name: "c_total", Type: Counter, Values: []float64{1, math.NaN()}}}
		}, "disappears"},
		{"no alert", func(s *Scenario) { s.Fires = nil }, "name the alerts"},
		{"unknown step", func(s *Scenario) { s.Quiet = []runbook.Step{"nope"} }, `unknown quiet step "nope"`},
		{"cause without culprit", func(s *Scenario) { s.Cause = runbook.StepSlow }, `its cause, step "slow", has no culprit`},
		{"culprit and quiet", func(s *Scenario) {
			s.Culprits = map[runbook.Step]map[string]string{runbook.StepSLI: {}}
			s.Quiet = []runbook.Step{runbook.StepSLI}
		}, "both has a culprit and finds nothing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := good()
			tc.change(&sc)
			err := sc.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLibraryRejectsEnv(t *testing.T) {
	tests := []struct {
		name string
		env  Env
		want string
	}{
		{"no cluster label", Env{Cluster: "c"}, "must not be empty"},
		{"cluster label collides", Env{ClusterLabel: "instance", Cluster: "c"}, `cluster label "instance"`},
		{"selector label collides", Env{ClusterLabel: "cluster", Cluster: "c", APIServer: map[string]string{"verb": "x"}}, `apiserver label "verb"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Library(tc.env); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestOpenMetrics parses every scenario's OpenMetrics text with the parser
// `promtool tsdb create-blocks-from openmetrics` uses, and checks that it
// holds exactly the scenario's samples.
func TestOpenMetrics(t *testing.T) {
	start := time.Unix(1_750_000_000, 0)
	for _, sc := range library(t) {
		t.Run(sc.Name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := sc.WriteOpenMetrics(&buf, start); err != nil {
				t.Fatal(err)
			}
			want := map[string]map[int64]float64{}
			for _, s := range sc.Series {
				ls := labels.FromMap(s.Labels)
				key := labels.NewBuilder(ls).Set(labels.MetricName, s.Name).Labels().String()
				want[key] = map[int64]float64{}
				for k, v := range sc.Samples(s) {
					if !math.IsNaN(v) {
						want[key][start.Add(time.Duration(k)*ScrapeInterval).UnixMilli()] = v
					}
				}
			}
			got := map[string]map[int64]float64{}
			p := textparse.NewOpenMetricsParser(buf.Bytes(), labels.NewSymbolTable())
			for {
				e, err := p.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
				if e != textparse.EntrySeries {
					continue
				}
				_, ts, v := p.Series()
				var ls labels.Labels
				p.Labels(&ls)
				// The parser writes whole bucket bounds as Prometheus 3 does
				// (10.0); map them back.
				if le := ls.Get("le"); le != "" {
					f, err := strconv.ParseFloat(le, 64)
					if err != nil {
						t.Fatalf("le %q: %v", le, err)
					}
					ls = labels.NewBuilder(ls).Set("le", series.Le(f)).Labels()
				}
				if ts == nil {
					t.Fatalf("sample of %s without a timestamp", ls)
				}
				if got[ls.String()] == nil {
					got[ls.String()] = map[int64]float64{}
				}
				got[ls.String()][*ts] = v
			}
			// cmp.Diff is slow on a quarter of a million samples; compare
			// by hand and report the first few differences.
			var diffs []string
			for key, samples := range want {
				for ts, v := range samples {
					g, ok := got[key][ts]
					if !ok || math.Abs(g-v) > 1e-9*math.Max(1, math.Abs(v)) {
						diffs = append(diffs, fmt.Sprintf("%s @%d: want %v, got %v (present %v)", key, ts, v, g, ok))
					}
				}
				if len(got[key]) != len(samples) {
					diffs = append(diffs, fmt.Sprintf("%s: want %d samples, got %d", key, len(samples), len(got[key])))
				}
			}
			for key := range got {
				if _, ok := want[key]; !ok {
					diffs = append(diffs, "unexpected series "+key)
				}
			}
			if len(diffs) > 0 {
				sort.Strings(diffs)
				t.Errorf("%d differences, e.g.:\n%s", len(diffs), strings.Join(diffs[:min(5, len(diffs))], "\n"))
			}
			if !strings.Contains(buf.String(), "# TYPE aggregator_unavailable_apiservice_total unknown\n") && sc.Name == "aggregated-api-unreachable" {
				t.Error("the unavailable-APIService counter should be written as unknown beside the gauge of the same family name")
			}
		})
	}
}

// TestPerScrape: rates per second become short increases per scrape.
func TestPerScrape(t *testing.T) {
	tests := []struct{ perSecond, want float64 }{
		{20, 1200},
		{1.0 / 600, 0.1},
		{10.0 / 3 * 0.08, 16},
		{1.0 / 7, 8.571428571},
		{0, 0},
	}
	for _, tc := range tests {
		if got := perScrape(tc.perSecond); got != tc.want {
			t.Errorf("perScrape(%v) = %v, want %v", tc.perSecond, got, tc.want)
		}
	}
}
