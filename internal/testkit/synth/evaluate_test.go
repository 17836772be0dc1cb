package synth

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/burnrate/burnrate/internal/testkit/reference"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/prometheus/model/labels"
)

// sliceSource is a SeriesSource over a fixed list of samples.
type sliceSource []struct {
	lset labels.Labels
	t    int64
	v    float64
}

func (s sliceSource) Each(fn func(labels.Labels, int64, float64) error) error {
	for _, x := range s {
		if err := fn(x.lset, x.t, x.v); err != nil {
			return err
		}
	}
	return nil
}

// TestEvaluateSliceSource checks the generic load path and the recorded
// values against hand-computed ones.
func TestEvaluateSliceSource(t *testing.T) {
	var src sliceSource
	ok := labels.FromStrings(labels.MetricName, "apiserver_request_total", "job", "kube-apiserver", "cluster", "x", "code", "200")
	bad := labels.FromStrings(labels.MetricName, "apiserver_request_total", "job", "kube-apiserver", "cluster", "x", "code", "500")
	for i := range 31 {
		ms := int64(i) * 60_000
		src = append(src, struct {
			lset labels.Labels
			t    int64
			v    float64
		}{ok, ms, float64(990 * i)}, struct {
			lset labels.Labels
			t    int64
			v    float64
		}{bad, ms, float64(10 * i)})
	}
	tr, err := Evaluate(context.Background(), "testdata/simple_rules.yaml", src, EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Stats.Load.Series != 2 || tr.Stats.Load.Samples != 62 || tr.Stats.Load.MinTime != 0 || tr.Stats.Load.MaxTime != 30*60_000 {
		t.Errorf("load stats %+v", tr.Stats.Load)
	}
	if len(tr.Steps) != 31 {
		t.Fatalf("%d steps, want 31", len(tr.Steps))
	}
	if s := tr.Steps[0]; s.Time != time.UnixMilli(0).UTC() || len(s.Records) != 1 {
		t.Errorf("first step: %+v (want one record: no rate yet)", s)
	}
	last := tr.Steps[30]
	want := map[string]float64{
		`cluster:apiserver_request_errors:ratio_rate5m{cluster="x"}`: 0.01,
		`cluster:apiserver_request_total:sum{cluster="x"}`:           1000 * 30,
	}
	if diff := cmp.Diff(want, last.Records, cmpopts.EquateApprox(1e-12, 0)); diff != "" {
		t.Errorf("records at 30m (-want +got):\n%s", diff)
	}
	if v, ok := last.Record("cluster:apiserver_request_total:sum", "cluster", "x"); !ok || v != 30000 {
		t.Errorf("Record() = %v, %v", v, ok)
	}
}

// simpleCluster has two clusters; every apiserver of c1 answers 20% of its
// requests with 5xx from 2h to 3h.
func simpleCluster() Cluster {
	return Cluster{
		Clusters: []string{"c1", "c2"}, Instances: 2, Resources: 2, Duration: 4 * time.Hour,
		Flat: true, Fractional: true, ErrorRatio: 0.01,
		Faults: []Fault{{Kind: FaultErrors, Match: Selector{Clusters: []string{"c1"}}, From: 2 * time.Hour, To: 3 * time.Hour, Ratio: 0.2}},
	}
}

func TestEvaluateSimple(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: evaluates rules over a simulated cluster; make check runs it")
	}
	c := simpleCluster()
	cc := c.WithDefaults()
	start := cc.Start
	tr, err := Evaluate(context.Background(), "testdata/simple_rules.yaml", c, EvalOptions{
		Start: start.Add(10 * time.Minute), Interval: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := int((4*time.Hour-10*time.Minute)/time.Minute) + 1; len(tr.Steps) != want {
		t.Fatalf("%d steps, want %d", len(tr.Steps), want)
	}

	// Expected error ratio: rate(...[5m]) at ts uses the samples at ts-4m30s
	// .. ts, i.e. the 9 scrape intervals ending at ts-4m .. ts. Traffic is
	// constant and the same series have the same timestamps, so the ratio
	// of the sums of rates is the mean ratio over those intervals; an
	// interval (a, b] is faulty if it lies within [2h, 3h].
	from, to := start.Add(2*time.Hour), start.Add(3*time.Hour)
	faultRatio := 0.2 + 0.8*0.01
	expRatio := func(cluster string, ts time.Time) float64 {
		if cluster != "c1" {
			return 0.01
		}
		faulty := 0
		for i := range 9 {
			b := ts.Add(-time.Duration(i) * 30 * time.Second)
			a := b.Add(-30 * time.Second)
			if !a.Before(from) && !b.After(to) {
				faulty++
			}
		}
		return (float64(faulty)*faultRatio + float64(9-faulty)*0.01) / 9
	}
	// The sum of counters is computed from the generated samples.
	samples := collect(t, c)

	var want []Step
	activeAt := time.Time{}
	for _, s := range tr.Steps {
		ts := s.Time
		w := Step{Time: ts, Records: map[string]float64{}}
		for _, cl := range []string{"c1", "c2"} {
			w.Records[seriesKey("cluster:apiserver_request_errors:ratio_rate5m", "cluster", cl)] = expRatio(cl, ts)
			w.Records[seriesKey("cluster:apiserver_request_total:sum", "cluster", cl)] = samples.sum(t, ts, match(MetricRequestTotal, "cluster", cl))
		}
		if r := expRatio("c1", ts); r > 0.05 {
			if activeAt.IsZero() {
				activeAt = ts
			}
			state := "pending"
			if ts.Sub(activeAt) >= 5*time.Minute {
				state = "firing"
			}
			w.Alerts = []Alert{{
				Name:        "APIServerErrorsHigh",
				State:       state,
				Labels:      `{alertname="APIServerErrorsHigh", cluster="c1", severity="critical"}`,
				Annotations: map[string]string{"summary": "Cluster c1 answers too many requests with 5xx."},
				ActiveAt:    activeAt,
				Value:       r,
			}}
		} else {
			activeAt = time.Time{}
		}
		want = append(want, w)
	}
	if diff := cmp.Diff(want, tr.Steps, cmpopts.EquateApprox(1e-9, 0), cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}

	// The same, worked out by hand: pending from 2h1m (2 of 9 intervals
	// faulty: ratio 0.054), firing from 2h6m, last firing at 3h3m (3 of 9
	// faulty: 0.076), gone at 3h4m (1 of 9: 0.032).
	states := map[time.Duration]string{}
	for _, s := range tr.Steps {
		for _, a := range s.Alerts {
			states[s.Time.Sub(start)] = a.State
		}
	}
	for _, tt := range []struct {
		at    time.Duration
		state string
	}{
		{2 * time.Hour, ""},
		{2*time.Hour + time.Minute, "pending"},
		{2*time.Hour + 5*time.Minute, "pending"},
		{2*time.Hour + 6*time.Minute, "firing"},
		{3*time.Hour + 3*time.Minute, "firing"},
		{3*time.Hour + 4*time.Minute, ""},
	} {
		if states[tt.at] != tt.state {
			t.Errorf("alert at %v: %q, want %q", tt.at, states[tt.at], tt.state)
		}
	}
}

func TestEvaluateDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: evaluates rules over a simulated cluster; make check runs it")
	}
	c := simpleCluster()
	c.Flat, c.Fractional, c.Duration = false, false, 2*time.Hour
	var runs [2]*Trace
	for i := range runs {
		tr, err := Evaluate(context.Background(), "testdata/simple_rules.yaml", c, EvalOptions{Interval: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		runs[i] = tr
	}
	if diff := cmp.Diff(runs[0].Steps, runs[1].Steps, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("two runs differ (-first +second):\n%s", diff)
	}
}

func TestEvaluateStats(t *testing.T) {
	c := simpleCluster()
	c.Duration = time.Hour
	var streamed int
	tr, err := Evaluate(context.Background(), "testdata/simple_rules.yaml", c, EvalOptions{
		DiscardSteps: true,
		OnStep:       func(Step) error { streamed++; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	st := tr.Stats
	if len(tr.Steps) != 0 || streamed != 61 || st.Steps != 61 || len(st.StepSamples) != 61 {
		t.Errorf("steps kept %d, streamed %d, counted %d, step samples %d; want 0, 61, 61, 61", len(tr.Steps), streamed, st.Steps, len(st.StepSamples))
	}
	if n, _ := c.SeriesCount(); st.Load.Series != n {
		t.Errorf("loaded %d series, want %d", st.Load.Series, n)
	}
	var names []string
	var total QueryStats
	for _, g := range st.Groups {
		names = append(names, g.Name)
		var sum QueryStats
		for _, r := range g.Rules {
			sum.add(r.QueryStats)
			if r.Queries != 61 {
				t.Errorf("%s/%s: %d queries, want 61", g.Name, r.Name, r.Queries)
			}
		}
		if sum != g.QueryStats {
			t.Errorf("group %s: %+v, rules sum to %+v", g.Name, g.QueryStats, sum)
		}
		total.add(g.QueryStats)
	}
	if want := []string{"simple-sli", "simple-alerts"}; !cmp.Equal(names, want) {
		t.Errorf("groups %v, want %v", names, want)
	}
	if total != st.Total || st.Total.TotalSamples <= 0 {
		t.Errorf("total %+v, groups sum to %+v", st.Total, total)
	}
	var perStep int64
	for _, n := range st.StepSamples {
		perStep += n
	}
	if perStep != st.Total.TotalSamples {
		t.Errorf("step samples sum to %d, total is %d", perStep, st.Total.TotalSamples)
	}
	// The alert reads one recorded series per cluster and step, from the
	// second step on (the first has no rate yet).
	if g := st.Groups[1]; g.Rules[0].Kind != "alerting" || g.TotalSeries != 2*60 {
		t.Errorf("alert group stats %+v", g)
	}
}

func TestEvaluateErrors(t *testing.T) {
	c := Cluster{Instances: 1, Resources: 1, Duration: 10 * time.Minute}
	_, err := Evaluate(context.Background(), "testdata/bad_rules.yaml", c, EvalOptions{})
	if err == nil || !strings.Contains(err.Error(), `group "bad", rule 2 (bad:many_to_many)`) {
		t.Errorf("Evaluate() error = %v, want the failing rule named", err)
	}

	tr, err := Evaluate(context.Background(), "testdata/bad_rules.yaml", c, EvalOptions{ContinueOnError: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tr.Steps {
		if len(s.Errors) != 1 || !strings.Contains(s.Errors[0], "many-to-many") {
			t.Fatalf("step %s: errors %q", s.Time, s.Errors)
		}
		if _, ok := s.Record("ok:apiserver_request_total:count"); !ok {
			t.Fatalf("step %s: the good rule recorded nothing", s.Time)
		}
	}

	if _, err := Evaluate(context.Background(), "testdata/missing.yaml", c, EvalOptions{}); err == nil {
		t.Errorf("missing rule file: no error")
	}
	if _, err := Evaluate(context.Background(), "testdata/simple_rules.yaml", Cluster{Verbs: []string{"nope"}}, EvalOptions{}); err == nil {
		t.Errorf("invalid cluster: no error")
	}
	stop := errors.New("stop")
	if _, err := Evaluate(context.Background(), "testdata/simple_rules.yaml", c, EvalOptions{OnStep: func(Step) error { return stop }}); !errors.Is(err, stop) {
		t.Errorf("OnStep error: got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Evaluate(ctx, "testdata/simple_rules.yaml", c, EvalOptions{}); err == nil {
		t.Errorf("cancelled context: no error")
	}
}

// TestEvaluateReference runs the kubernetes-mixin rules over three hours of
// a small cluster in which c1 burns its error budget from 1h on.
func TestEvaluateReference(t *testing.T) {
	for _, file := range []string{"apiserver-slo-rules.aa38e2b.yaml", "apiserver-slo-rules.pr1283.yaml"} {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			if testing.Short() && strings.Contains(file, "pr1283") {
				t.Skip("short mode")
			}
			path := reference.File(t, file)
			c := Cluster{
				Clusters: []string{"c1", "c2"}, Instances: 1, Resources: 2, Duration: 3 * time.Hour,
				Faults: []Fault{{Kind: FaultErrors, Match: Selector{Clusters: []string{"c1"}}, From: time.Hour, Ratio: 0.5}},
			}
			tr, err := Evaluate(context.Background(), path, c, EvalOptions{})
			if err != nil {
				t.Fatal(err)
			}
			last := tr.Steps[len(tr.Steps)-1]
			for _, cl := range []string{"c1", "c2"} {
				for _, verb := range []string{"read", "write"} {
					for _, w := range []string{"5m", "30m", "1h", "2h", "6h", "1d", "3d"} {
						v, ok := last.Record("apiserver_request:burnrate"+w, "cluster", cl, "verb", verb)
						if !ok || math.IsNaN(v) || v <= 0 {
							t.Errorf("apiserver_request:burnrate%s{cluster=%q, verb=%q} = %v, %v at the end", w, cl, verb, v, ok)
						}
						if cl == "c1" && w == "5m" && v < 0.5 {
							t.Errorf("c1 %s burn rate 5m = %v, want >= 0.5", verb, v)
						}
						if cl == "c2" && v > 0.1 {
							t.Errorf("c2 %s burn rate %s = %v, want < 0.1", verb, w, v)
						}
					}
				}
			}
			fired := map[string]bool{}
			for _, s := range tr.Steps {
				for _, a := range s.Alerts {
					if a.State == "firing" {
						fired[a.Labels] = true
					}
				}
			}
			want := `{alertname="KubeAPIErrorBudgetBurn", cluster="c1", long="1h", severity="critical", short="5m"}`
			if !fired[want] {
				t.Errorf("%s never fired; fired: %v", want, fired)
			}
			for l := range fired {
				if strings.Contains(l, `cluster="c2"`) {
					t.Errorf("c2 alert fired: %s", l)
				}
			}
			if tr.Stats.Total.TotalSamples == 0 || len(tr.Stats.Groups) != 4 {
				t.Errorf("stats: %+v", tr.Stats.Total)
			}
		})
	}
}
