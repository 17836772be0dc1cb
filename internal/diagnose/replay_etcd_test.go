package diagnose

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/burnrate/burnrate/internal/runbook"
)

// TestReplayEtcdRanking: on the recordings of a slow etcd, Step 8 leads
// with etcd's latency over all requests, and its ranking of operations
// names first one that the slow writes make (an etcd write, or the read of
// the object a write changes, of the resource the lab writes), never a
// rarely called one: the per-operation p99 it replaced named `list
// mutatingwebhookconfigurations` and `get jobs` first.
func TestReplayEtcdRanking(t *testing.T) {
	env, recs := replayServer(t)
	c, err := NewClient(Config{URL: env.URL, QueryTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if rec.Name != "etcd-slow" && rec.Name != "etcd-slower" {
			continue
		}
		t.Run(rec.Version+"/"+rec.Name, func(t *testing.T) {
			if w, _ := wantFor(rec); w.first != runbook.StepEtcdLatency {
				t.Skipf("no etcd culprit expected on this recording (replayWantsAt)")
			}
			r := diagnoseScenario(t, env, rec.Cluster, 5*time.Minute)
			if len(r.Culprits) == 0 || r.Culprits[0].Step != runbook.StepEtcdLatency {
				t.Fatalf("first culprit %v, want %s", r.Culprits, runbook.StepEtcdLatency)
			}
			res := r.Step(runbook.StepEtcdTime)
			if res == nil || res.Status != StatusFound {
				t.Fatalf("step %s found nothing", runbook.StepEtcdTime)
			}
			first := res.Rows[0].Labels
			t.Logf("%s ranks first %v (%.3g s/s, %.0f%%)", runbook.StepEtcdTime, first, res.Rows[0].Value, 100*res.Rows[0].Share)
			if op := first["operation"]; !slices.Contains([]string{"create", "update", "delete", "get"}, op) || first["resource"] != labResource {
				t.Errorf("first operation %v: not one of the writes of %s", first, labResource)
			}
			// The operation is called at least a tenth as often as the most
			// called one: a rarely called operation does not lead.
			calls := func(q string) float64 {
				rows, err := c.query(context.Background(), q, e2eEnd)
				if err != nil || len(rows) != 1 {
					t.Fatalf("%s: %v %v", q, rows, err)
				}
				return rows[0].Value
			}
			sel := fmt.Sprintf(`cluster=%q`, rec.Cluster)
			op := calls(fmt.Sprintf(`sum(rate(etcd_request_duration_seconds_count{%s,operation=%q,resource=%q}[5m]))`, sel, first["operation"], first["resource"]))
			most := calls(fmt.Sprintf(`max(sum by (operation, group, resource) (rate(etcd_request_duration_seconds_count{%s}[5m])))`, sel))
			if op < most/10 {
				t.Errorf("first operation %v is called %.3g/s, under a tenth of the most called (%.3g/s)", first, op, most)
			}
			// The ranking it replaced, the p99 per operation and resource,
			// leads with a rarely called one on etcd-slow (get jobs; on
			// etcd-slower with list configmaps, which is called often).
			if rec.Name != "etcd-slow" {
				return
			}
			old, err := c.query(context.Background(), fmt.Sprintf(`topk(1, histogram_quantile(0.99, sum by (operation, group, resource, le) (rate(etcd_request_duration_seconds_bucket{%s}[5m]))))`, sel), e2eEnd)
			if err != nil || len(old) != 1 {
				t.Fatalf("old ranking: %v %v", old, err)
			}
			ls := old[0].Labels
			oldOp := calls(fmt.Sprintf(`sum(rate(etcd_request_duration_seconds_count{%s,operation=%q,group=%q,resource=%q}[5m]))`, sel, ls["operation"], ls["group"], ls["resource"]))
			t.Logf("the p99 per operation ranked first %v, called %.3g/s (the most called: %.3g/s)", ls, oldOp, most)
			if oldOp >= most/10 {
				t.Errorf("the p99 per operation ranks first %v, called %.3g/s: the recording no longer shows what the ranking by time fixes", ls, oldOp)
			}
		})
	}
}
