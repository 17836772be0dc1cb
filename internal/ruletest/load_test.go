package ruletest

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/burnrate/burnrate/internal/promtest"
)

// TestInputLoaderMatchesLazyLoader loads the input series of every test
// group of the passing fixtures and of the generated rule tests step by step
// with inputLoader and with promqltest.LazyLoader, and compares what the two
// storages hold after every step.
func TestInputLoaderMatchesLazyLoader(t *testing.T) {
	files, err := filepath.Glob("testdata/pass_*.yml")
	if err != nil {
		t.Fatal(err)
	}
	generated, _ := filepath.Glob("../../rules/*.test.yaml")
	files = append(files, generated...)
	if testing.Short() && len(generated) > 0 {
		files = append(files[:len(files)-len(generated)], generated[0])
	}
	groups := 0
	for _, f := range files {
		s, err := loadSuite(f, nil)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, g := range s.groups {
			groups++
			t.Run(f+"/"+g.name, func(t *testing.T) {
				compareLoaders(t, g)
			})
		}
	}
	if groups == 0 {
		t.Fatal("no test groups")
	}
}

func compareLoaders(t *testing.T, g *groupPlan) {
	p := newParser()
	fast := newInputLoader(g, p)
	if fast == nil {
		t.Fatal("newInputLoader fell back to LazyLoader")
	}
	defer fast.Close()
	ll, err := promqltest.NewLazyLoader(g.load, promqltest.LazyLoaderOpts{
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		StartTime:            g.tg.StartTimestamp.Time,
		Parser:               p,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ll.Close()

	// Step on up to the last input sample, past the last eval_time.
	last := g.mint.Add(g.maxEval)
	for _, s := range fast.defs {
		if n := len(s.t); n > 0 {
			if end := time.UnixMilli(s.t[n-1]); end.After(last) {
				last = end
			}
		}
	}
	for ts := g.mint; !ts.After(last); ts = ts.Add(g.suite.evalInterval) {
		var errFast, errLazy error
		fast.WithSamplesTill(ts, func(err error) { errFast = err })
		ll.WithSamplesTill(ts, func(err error) { errLazy = err })
		if errFast != nil || errLazy != nil {
			t.Fatalf("at %v: inputLoader: %v, LazyLoader: %v", ts, errFast, errLazy)
		}
		if ts.Sub(g.mint)%(10*g.suite.evalInterval) != 0 && ts.Add(g.suite.evalInterval).Before(last) {
			continue // compare every 10th step and the last
		}
		want, got := dump(t, ll.Storage()), dump(t, fast.Storage())
		if len(want) == 0 && ts.After(g.mint.Add(g.maxEval)) {
			t.Fatal("LazyLoader loaded nothing")
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("at %v: storages differ (-LazyLoader +inputLoader):\n%s", ts, diff)
		}
	}
}

// dump lists every series in st with all its samples.
func dump(t *testing.T, st storage.Storage) map[string]string {
	t.Helper()
	q, err := st.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".*"))
	out := map[string]string{}
	var it chunkenc.Iterator
	for ss.Next() {
		s := ss.At()
		var b strings.Builder
		it = s.Iterator(it)
		for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
			switch vt {
			case chunkenc.ValFloat:
				ts, v := it.At()
				fmt.Fprintf(&b, "%d:%v ", ts, math.Float64bits(v))
			default:
				ts, h := it.AtFloatHistogram(nil)
				fmt.Fprintf(&b, "%d:%s ", ts, h)
			}
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		out[s.Labels().String()] = b.String()
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestInputLoaderFallsBack(t *testing.T) {
	for _, tt := range []struct {
		series, values string
	}{
		{`foo{a="x@st y"}`, `1 2 3`}, // LazyLoader reads it as an "@st" line
		{`foo@st`, `1`},
		{`foo{a="b"}`, `1 2 oops`}, // does not parse
	} {
		g := &groupPlan{
			suite: &suite{evalInterval: time.Minute},
			tg:    promtest.Group{Interval: 60000, InputSeries: []promtest.InputSeries{{Series: tt.series, Values: tt.values}}},
		}
		if l := newInputLoader(g, newParser()); l != nil {
			l.Close()
			t.Errorf("%s %s: newInputLoader did not fall back to LazyLoader", tt.series, tt.values)
		}
	}
}
