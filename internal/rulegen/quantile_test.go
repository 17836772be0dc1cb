package rulegen

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/internal/testkit/synth"
	"github.com/burnrate/burnrate/slo"
)

// TestQuantileRecordFeedsDashboards: the optimized profile records the
// per-resource p99 every 5m, its own rate window, and the mixin's
// dashboard panels, which read the record as it is
// (cluster_quantile:…{verb="read"} by resource), still find a value for
// every resource at every step of a range query at a dashboard's 1m and
// 15s steps, with Prometheus' default 5m lookback (Prometheus 3's lookback
// leaves out a sample exactly 5m old, which a record every 5m never needs).
// Recorded every 10m, the same panels would have gaps, which the test also
// shows, so that it can fail.
func TestQuantileRecordFeedsDashboards(t *testing.T) {
	m, err := slomodel.New(slo.Default(), slomodel.ProfileOptimized)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := RuleGroups(m)
	if err != nil {
		t.Fatal(err)
	}
	var hist *rulefmt.RuleGroup
	for i := range groups {
		if histogramGroup(groups[i].Name) {
			hist = &groups[i]
		}
	}
	if hist == nil {
		t.Fatal("no histogram group")
	}
	if got := time.Duration(hist.Interval); got != quantileWindow {
		t.Fatalf("histogram group interval %v, want %v, its rate window", got, quantileWindow)
	}
	data, err := encode.RuleFile([]rulefmt.RuleGroup{*hist}, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ruleFile := filepath.Join(dir, "histogram.rules.yaml")
	if err := os.WriteFile(ruleFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c := costCluster("small", 2, time.Hour).WithDefaults()
	ctx := context.Background()
	gaps := func(interval time.Duration) (steps, missing int) {
		t.Helper()
		db, _, err := synth.OpenLoaded(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		// Evaluations at a fixed offset within the interval, as
		// Prometheus schedules a group.
		first := c.Start.Add(10*time.Minute + 17*time.Second)
		end := c.End()
		if _, err := synth.EvaluateStorage(ctx, ruleFile, db, synth.EvalOptions{Start: first, End: end, Interval: interval, DiscardSteps: true}); err != nil {
			t.Fatal(err)
		}
		engine := promql.NewEngine(promql.EngineOpts{Logger: promslog.NewNopLogger(), MaxSamples: 50_000_000, Timeout: time.Minute})
		for _, step := range []time.Duration{time.Minute, 15 * time.Second} {
			q, err := engine.NewRangeQuery(ctx, db, nil, `count(`+m.QuantileRecord+`{verb="read"})`, first, end, step)
			if err != nil {
				t.Fatal(err)
			}
			res := q.Exec(ctx)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			mat, err := res.Matrix()
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			for ts := first; !ts.After(end); ts = ts.Add(step) {
				want++
			}
			steps += want
			var got int
			for _, s := range mat {
				for _, p := range s.Floats {
					// every resource of the cluster, at every step
					if int(p.F) == c.Resources {
						got++
					}
				}
			}
			missing += want - got
			q.Close()
		}
		return steps, missing
	}
	if steps, missing := gaps(quantileWindow); missing != 0 {
		t.Errorf("recorded every %v: %d of %d dashboard steps lack a resource's p99", quantileWindow, missing, steps)
	}
	if steps, missing := gaps(2 * quantileWindow); missing == 0 {
		t.Errorf("recorded every %v: all %d dashboard steps have every resource's p99, want gaps (the check cannot fail)", 2*quantileWindow, steps)
	}
}
