package runbook

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/promqltest"

	"github.com/burnrate/burnrate/slo"
)

// TestListStepsReadEtcd evaluates the LIST steps on the two forms of the
// apiserver_storage_list_* counters: without a storage label (up to
// v1.36: LISTs etcd served) and with one (v1.37: storage="etcd" and
// storage="watchcache", as lab/recordings/v1.37.2 holds them). The steps
// that say "from etcd" count etcd's rows only; list-heavy counts both.
func TestListStepsReadEtcd(t *testing.T) {
	rb, err := newSpec(slo.Default())
	if err != nil {
		t.Fatal(err)
	}
	qs, err := rb.Queries(5 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	query := map[Step]string{}
	for _, q := range qs {
		query[q.Step] = q.PromQL
	}
	// Per second: old and new etcd 1,200 fetched, 1,000 evaluated, 100
	// returned; new watch cache 3,000 fetched and evaluated, 3,000 returned.
	load := `load 1m
	apiserver_storage_list_fetched_objects_total{job="kube-apiserver",cluster="old",resource="configmaps"} 0+72000x10
	apiserver_storage_list_evaluated_objects_total{job="kube-apiserver",cluster="old",resource="configmaps"} 0+60000x10
	apiserver_storage_list_returned_objects_total{job="kube-apiserver",cluster="old",resource="configmaps"} 0+6000x10
	apiserver_storage_list_fetched_objects_total{job="kube-apiserver",cluster="new",resource="configmaps",storage="etcd"} 0+72000x10
	apiserver_storage_list_evaluated_objects_total{job="kube-apiserver",cluster="new",resource="configmaps",storage="etcd"} 0+60000x10
	apiserver_storage_list_returned_objects_total{job="kube-apiserver",cluster="new",resource="configmaps",storage="etcd"} 0+6000x10
	apiserver_storage_list_fetched_objects_total{job="kube-apiserver",cluster="new",resource="configmaps",storage="watchcache"} 0+180000x10
	apiserver_storage_list_evaluated_objects_total{job="kube-apiserver",cluster="new",resource="configmaps",storage="watchcache"} 0+180000x10
	apiserver_storage_list_returned_objects_total{job="kube-apiserver",cluster="new",resource="configmaps",storage="watchcache"} 0+180000x10
`
	for _, tc := range []struct {
		step     Step
		old, new float64
	}{
		{StepListFetched, 1200, 1200},
		{StepListFiltered, 900, 900},
		{StepListHeavy, 1200, 4200},
	} {
		t.Run(string(tc.step), func(t *testing.T) {
			q, ok := query[tc.step]
			if !ok {
				t.Fatalf("no query for step %s", tc.step)
			}
			script := load + fmt.Sprintf("\neval instant at 10m %s\n\t{cluster=\"new\", resource=\"configmaps\"} %g\n\t{cluster=\"old\", resource=\"configmaps\"} %g\n",
				strings.ReplaceAll(q, "\n", " "), tc.new, tc.old)
			promqltest.RunTest(t, script, promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery))
		})
	}
}
