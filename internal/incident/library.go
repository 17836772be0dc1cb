package incident

import (
	"fmt"
	"maps"
	"time"

	"github.com/burnrate/burnrate/internal/runbook"
)

// Metric names of the kube-apiserver's request counter and SLI latency
// histogram, which the scenarios' request series use.
const (
	MetricRequests = "apiserver_request_total"
	MetricSLI      = "apiserver_request_sli_duration_seconds"
)

// Bucket bounds (without +Inf) the scenarios write: the fewest of each
// histogram's Kubernetes buckets the rules and the drill-down steps need.
// The SLI histogram holds the thresholds 1, 5 and 30 (the burn rate's slow
// requests; the instance step's p99 of a healthy instance stays below 1s,
// the bad instance's above). The webhook and etcd histograms put each
// scenario's fast and slow latencies into different buckets (webhooks at
// 0.02-0.05s and 10s; etcd at 0.004-0.15s, 1.5s, 2.5s and 3s), so the
// culprit's p99 ranks first by a margin. No step reads the API Priority and
// Fairness buckets (its work is read from _sum): only +Inf.
var (
	sliBuckets     = []float64{1, 5, 30}
	webhookBuckets = []float64{0.1, 2.5, 25}
	etcdBuckets    = []float64{0.1, 2, 5}
	apfBuckets     = []float64{}
)

// Env is what the scenarios take from the spec they are rendered for.
type Env struct {
	// ClusterLabel and Cluster are the cluster label and its value, put on
	// every series.
	ClusterLabel, Cluster string
	// APIServer holds labels every kube-apiserver series carries, so that
	// the spec's selector matches them, e.g. job=kube-apiserver.
	APIServer map[string]string
	// SLILabel is the label of the recorded series and alerts that names the
	// SLI (read, write); culprits of runbook.StepSLI and runbook.StepTerms use it. Default
	// verb.
	SLILabel string
}

// Labels the scenarios set themselves; the cluster label must not be one of
// them, nor may Env.APIServer set one (except job, which only the other
// components' series set).
var ownLabels = []string{
	"instance", "verb", "group", "version", "resource", "subresource", "scope", "component", "code", "le",
	"name", "type", "operation", "rejected", "error_type", "rejection_code", "reason",
	"flow_schema", "priority_level", "job", "method", "host",
}

// OwnLabels lists the label names the scenarios set on their series.
func OwnLabels() []string { return append([]string(nil), ownLabels...) }

// Instances of the healthy cluster's apiservers.
const (
	apiserver0 = "10.0.1.10:6443"
	apiserver1 = "10.0.1.11:6443"
	apiserver2 = "10.0.1.12:6443"
)

// kind is one kind of request, served at the same rate by every instance.
type kind struct {
	verb, group, version, resource, subresource, scope string
	rate                                               float64 // per second per instance
	latency                                            []bin
	errors                                             map[string]float64
}

// The requests of the healthy cluster, per apiserver instance: 32.3 reads
// and 25 writes per second, and a streaming request the SLI leaves out.
var (
	reads = []kind{
		{"GET", "coordination.k8s.io", "v1", "leases", "", "resource", 20, fast(0.02), nil},
		{"GET", "", "v1", "pods", "", "resource", 5, fast(0.03), nil},
		{"LIST", "", "v1", "pods", "", "namespace", 2, fast(0.15), nil},
		// Some cluster-wide LISTs of pods are slow even when healthy.
		{"LIST", "", "v1", "pods", "", "cluster", 0.5, []bin{{0.99, 0.8}, {0.01, 40}}, nil},
		{"GET", "", "v1", "configmaps", "", "resource", 3, fast(0.02), nil},
		{"LIST", "", "v1", "secrets", "", "namespace", 1, fast(0.1), nil},
		// Clients fetch the OpenAPI v3 document of the aggregated group
		// projectcalico.org (kubectl, Argo CD): a non-resource GET, recorded
		// with no group, resource or scope (recordings/v1.34.2/aggregated-hang).
		// Requests to the group itself never appear here: the aggregator's
		// proxy is not instrumented.
		{"GET", "", "", "", "openapi/v3/", "", 0.8, fast(0.05), nil},
	}
	writes = []kind{
		{"PUT", "coordination.k8s.io", "v1", "leases", "", "resource", 8, fast(0.03), nil},
		{"PATCH", "", "v1", "pods", "status", "resource", 4, fast(0.05), nil},
		// A few events fail even when healthy.
		{"POST", "", "v1", "events", "", "resource", 4, fast(0.02), map[string]float64{"500": 0.002}},
		{"POST", "", "v1", "pods", "", "resource", 3, fast(0.15), nil},
		{"PUT", "", "v1", "configmaps", "", "resource", 3.5, fast(0.05), nil},
		{"PATCH", "apps", "v1", "deployments", "", "resource", 1.5, fast(0.08), nil},
		{"DELETE", "", "v1", "pods", "", "resource", 1, fast(0.05), nil},
	}
	// kubectl logs: slow, but streaming, so outside the SLI.
	streaming = []kind{
		{"GET", "", "v1", "pods", "log", "resource", 0.2, fast(25), nil},
	}
)

// etcdOp is a request of the apiserver to etcd.
type etcdOp struct {
	operation, group, resource string
	rate                       float64
	latency                    []bin
}

var etcdOps = []etcdOp{
	{"get", "coordination.k8s.io", "leases", 20, fast(0.004)},
	{"update", "coordination.k8s.io", "leases", 8, fast(0.008)},
	{"get", "", "pods", 5, fast(0.004)},
	{"list", "", "pods", 0.55, fast(0.15)},
	{"update", "", "pods", 4, fast(0.01)},
	{"create", "", "events", 4, fast(0.008)},
}

// Webhooks: two validating webhooks, each called on pod creation and on
// updates.
const (
	webhookGatekeeper = "validation.gatekeeper.sh"
	webhookKyverno    = "validate.kyverno.svc-fail"
)

// flowSchema is an API Priority and Fairness flow schema and its work.
type flowSchema struct {
	schema, level string
	rate          float64
	latency       []bin
}

var flowSchemas = []flowSchema{
	{"system-nodes", "system", 25, fast(0.01)},
	{"kube-controller-manager", "workload-high", 6, fast(0.03)},
	{"service-accounts", "workload-low", 3, fast(0.05)},
	{"global-default", "global-default", 1, fast(0.02)},
}

// storageList is a resource listed from etcd: lists per second, objects
// read per list, objects returned per list.
type storageList struct {
	resource                  string
	rate, evaluated, returned float64
}

var storageLists = []storageList{
	{"pods", 0.05, 5000, 5000},
	{"secrets", 0.1, 300, 300},
	{"configmaps", 0.1, 500, 500},
	{"events", 0.02, 2000, 10},
}

// builder builds the worlds of one scenario.
type builder struct {
	env       Env
	instances []string
}

// clean drops empty label values, as Prometheus does.
func clean(ls map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range ls {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// api returns the labels of a series of apiserver instance inst.
func (b *builder) api(inst string, ls map[string]string) map[string]string {
	out := maps.Clone(b.env.APIServer)
	out[b.env.ClusterLabel] = b.env.Cluster
	out["instance"] = inst
	maps.Copy(out, ls)
	return clean(out)
}

// client returns the labels of a series scraped from another component.
func (b *builder) client(job, inst string, ls map[string]string) map[string]string {
	out := map[string]string{b.env.ClusterLabel: b.env.Cluster, "job": job, "instance": inst}
	maps.Copy(out, ls)
	return clean(out)
}

// healthy is the cluster with nothing wrong. Without background errors
// there is no 5xx series at all (a fresh apiserver).
func (b *builder) healthy(backgroundErrors bool) *world {
	w := &world{}
	for _, inst := range b.instances {
		for _, group := range [][]kind{reads, writes, streaming} {
			for _, k := range group {
				f := &flow{
					labels: b.api(inst, map[string]string{
						"verb": k.verb, "group": k.group, "version": k.version, "resource": k.resource,
						"subresource": k.subresource, "scope": k.scope, "component": "apiserver",
					}),
					rate: k.rate, latency: k.latency, errors: map[string]float64{},
				}
				if backgroundErrors {
					maps.Copy(f.errors, k.errors)
				}
				w.flows = append(w.flows, f)
			}
		}
		for _, name := range []string{"v1beta1.metrics.k8s.io", "v3.projectcalico.org"} {
			w.gauge("aggregator_unavailable_apiservice", b.api(inst, map[string]string{"name": name}), 0)
		}
		for _, wh := range []struct {
			name           string
			create, update float64
			latency        []bin
		}{
			{webhookGatekeeper, 3, 1.5, fast(0.02)},
			{webhookKyverno, 3, 5, fast(0.05)},
		} {
			for _, op := range []struct {
				name string
				rate float64
			}{{"CREATE", wh.create}, {"UPDATE", wh.update}} {
				w.histogram("apiserver_admission_webhook_admission_duration_seconds",
					b.api(inst, map[string]string{"name": wh.name, "type": "validating", "operation": op.name, "rejected": "false"}),
					webhookBuckets, op.rate, wh.latency)
			}
		}
		// Gatekeeper denies a few pods by policy: a rejection, not a failure.
		w.set("apiserver_admission_webhook_rejection_count", "apiserver_admission_webhook_rejection_count", Counter,
			b.api(inst, map[string]string{"name": webhookGatekeeper, "type": "validating", "operation": "CREATE", "error_type": "no_error", "rejection_code": "403"}), 0.01)
		for _, op := range etcdOps {
			w.histogram("etcd_request_duration_seconds",
				b.api(inst, map[string]string{"operation": op.operation, "group": op.group, "resource": op.resource}),
				etcdBuckets, op.rate, op.latency)
		}
		for _, l := range storageLists {
			ls := b.api(inst, map[string]string{"resource": l.resource})
			w.counter("apiserver_storage_list_total", ls, l.rate)
			w.counter("apiserver_storage_list_fetched_objects_total", ls, l.rate*l.evaluated)
			w.counter("apiserver_storage_list_evaluated_objects_total", ls, l.rate*l.evaluated)
			w.counter("apiserver_storage_list_returned_objects_total", ls, l.rate*l.returned)
			// LISTs with resourceVersion="0" read the watch cache; the
			// scenarios' clients list from etcd, so it counts nothing here.
			w.counter("apiserver_cache_list_fetched_objects_total", ls, 0)
		}
		for _, r := range []string{"pods", "secrets", "configmaps", "events", "leases"} {
			w.counter("apiserver_watch_cache_initializations_total", b.api(inst, map[string]string{"resource": r}), 0).start = 1
		}
		for _, fs := range flowSchemas {
			w.histogram("apiserver_flowcontrol_request_execution_seconds",
				b.api(inst, map[string]string{"flow_schema": fs.schema, "priority_level": fs.level, "type": "regular"}),
				apfBuckets, fs.rate, fs.latency)
		}
	}
	for _, c := range []struct {
		job, inst, code, method string
		rate                    float64
	}{
		{"kubelet", "10.0.3.1:10250", "200", "GET", 5},
		{"kubelet", "10.0.3.1:10250", "200", "PUT", 2},
		{"kubelet", "10.0.3.2:10250", "200", "GET", 5},
		{"kubelet", "10.0.3.2:10250", "200", "PUT", 2},
		{"kube-controller-manager", "10.0.1.10:10257", "200", "GET", 3},
		{"kube-controller-manager", "10.0.1.10:10257", "201", "POST", 9},
		{"kube-scheduler", "10.0.1.10:10259", "201", "POST", 3},
	} {
		w.counter("rest_client_requests_total",
			b.client(c.job, c.inst, map[string]string{"code": c.code, "method": c.method, "host": "kube-api.internal:6443"}), c.rate)
	}
	return w
}

// scenario assembles the worlds (one per phase) into a scenario.
func (b *builder) scenario(sc Scenario, worlds ...*world) Scenario {
	sc.Series = assemble(sc.Phases, worlds)
	for st, ls := range sc.Culprits {
		ls = maps.Clone(ls)
		ls[b.env.ClusterLabel] = b.env.Cluster
		if sli := b.env.SLILabel; (st == runbook.StepSLI || st == runbook.StepTerms) && sli != "" && sli != "verb" {
			ls[sli] = ls["verb"]
			delete(ls, "verb")
		}
		sc.Culprits[st] = clean(ls)
	}
	return sc
}

// Library returns the scenarios rendered for env, in a fixed order.
func Library(env Env) ([]Scenario, error) {
	if env.ClusterLabel == "" || env.Cluster == "" {
		return nil, fmt.Errorf("incident: the cluster label and its value must not be empty")
	}
	for _, l := range ownLabels {
		if l == env.ClusterLabel {
			return nil, fmt.Errorf("incident: the cluster label %q is a label the scenarios set themselves", l)
		}
		if _, ok := env.APIServer[l]; ok && l != "job" {
			return nil, fmt.Errorf("incident: the apiserver label %q is a label the scenarios set themselves", l)
		}
	}
	out := []Scenario{
		aggregatedAPI(env), failingWebhook(env), slowEtcd(env), expensiveList(env), badInstance(env), freshAPIServer(env),
	}
	for i := range out {
		if err := out[i].Validate(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// threeInstances is a control plane of three apiservers, for a fault on
// one of them. A fault that hits every instance alike runs on oneInstance:
// each instance serves the same requests, so one instance has the burn
// rates, ratios and rankings of three, with a third of the series. (The
// arithmetic below counts three instances; every figure it compares is a
// ratio or a ranking, which one instance keeps.)
var (
	threeInstances = []string{apiserver0, apiserver1, apiserver2}
	oneInstance    = []string{apiserver0}
)

func phases(healthy, fault time.Duration) []Phase {
	return []Phase{{"healthy", healthy}, {"fault", fault}}
}

// Every scenario below states its burn as a factor of the error budget
// (1% of requests for the embedded spec), with the arithmetic, and the
// times at which each window pair starts and fires, so that the expected
// alerts hold with a margin of at least 10 minutes and 15% of a threshold.

// aggregatedAPI: the control plane cannot reach the Calico API server's
// pods (as in prometheus-operator/runbooks#36). The APIService
// v3.projectcalico.org turns unavailable; the aggregator answers its
// requests with 503 and records them only as terminated; the SLI sees the
// 503s of the group's OpenAPI v3 document. Calibrated from the lab's
// recording of kube-apiserver v1.34.2, recordings/v1.34.2/aggregated-hang
// (a serving APIService whose backend then hangs): there, the only bad
// events in apiserver_request_total were `503 GET subresource="openapi/v3/"`
// with no group, resource or scope; LIST and GET of the group and its
// discovery (`subresource="/apis/<group>/<version>"`) appeared only in
// apiserver_request_terminations_total{component="aggregator",code="503"}.
//
// Read burn: 3 × 0.8 = 2.4 failing of 96.9 reads per second = 2.48% (2.5x):
// above the 3d/6h factor 1, below the 1d/2h factor 3. Both windows hold the
// whole scenario; with 15m healthy the ratio passes 1x about 10-15m into
// the fault, so 3d/6h (for 3h) fires at about 3h15m, 30m before the end.
func aggregatedAPI(env Env) Scenario {
	b := &builder{env: env, instances: oneInstance}
	h := b.healthy(true)
	f := h.clone()
	for _, fl := range f.find("", map[string]string{"subresource": "openapi/v3/"}) {
		fl.errors = map[string]float64{"503": 1}
		fl.latency = fast(0.005)
	}
	for _, inst := range b.instances {
		f.gauge("aggregator_unavailable_apiservice", b.api(inst, map[string]string{"name": "v3.projectcalico.org"}), 1)
		f.counter("aggregator_unavailable_apiservice_total", b.api(inst, map[string]string{"name": "v3.projectcalico.org", "reason": "FailedDiscoveryCheck"}), 1.0/600)
		f.counter("apiserver_request_terminations_total", b.api(inst, map[string]string{
			"component": "aggregator", "code": "503", "verb": "LIST", "group": "projectcalico.org", "version": "v3",
			"resource": "networkpolicies", "scope": "cluster",
		}), 0.8)
		f.counter("apiserver_request_terminations_total", b.api(inst, map[string]string{
			"component": "aggregator", "code": "503", "verb": "GET", "subresource": "/apis/projectcalico.org/v3",
		}), 0.2)
	}
	return b.scenario(Scenario{
		Name:   "aggregated-api-unreachable",
		Cause:  runbook.StepAPIServices,
		Title:  "The aggregated API v3.projectcalico.org is unreachable from the control plane; its requests and its OpenAPI document fail with 503",
		Phases: phases(15*time.Minute, 225*time.Minute),
		Fires:  []Firing{{"read", 72 * time.Hour, 6 * time.Hour}},
		Culprits: map[runbook.Step]map[string]string{
			runbook.StepSLI:                    {"verb": "read"},
			runbook.StepTerms:                  {"verb": "read", "term": "errors"},
			runbook.StepErrors:                 {"code": "503", "verb": "GET", "subresource": "openapi/v3/"},
			runbook.StepAPIServices:            {"name": "v3.projectcalico.org"},
			runbook.StepAPIServiceReasons:      {"name": "v3.projectcalico.org", "reason": "FailedDiscoveryCheck"},
			runbook.StepAggregatorTerminations: {"code": "503", "verb": "LIST", "group": "projectcalico.org", "resource": "networkpolicies"},
			runbook.StepTerminations:           {"component": "aggregator", "code": "503", "verb": "LIST", "group": "projectcalico.org", "resource": "networkpolicies"},
		},
		Quiet: []runbook.Step{runbook.StepListHeavy, runbook.StepWebhookErrors, runbook.StepWatchCache, runbook.StepAPFRejections, runbook.StepClientErrors},
	}, h, f)
}

// failingWebhook: the Kyverno webhook (failurePolicy Fail) times out after
// 10s, so every pod creation, ConfigMap update and Deployment update fails
// with 500. Webhook time is not SLI latency, so nothing is slow.
//
// Write burn: 3 × (3 + 3.5 + 1.5) = 24 failing of 75 writes per second =
// 32% (32x). 1h/5m: the 1h window passes 14.4x 30m into the fault and fires
// at 35m, 10m before the end; 6h/30m fires at about 25m; 1d/2h would need
// 1h more.
//
// Calibrated from recordings/v1.34.2/webhook-hang and webhook-500: a
// fail-closed webhook that hangs past timeoutSeconds, or answers 500,
// fails the creates and updates it validates with 500, counted in the
// write SLI as errors (not as slow: webhook time is outside the SLI
// histogram), and its calls as
// apiserver_admission_webhook_rejection_count{error_type="calling_webhook_error"}.
func failingWebhook(env Env) Scenario {
	b := &builder{env: env, instances: oneInstance}
	h := b.healthy(true)
	f := h.clone()
	for _, m := range []map[string]string{
		{"verb": "POST", "resource": "pods", "subresource": ""},
		{"verb": "PUT", "resource": "configmaps"},
		{"verb": "PATCH", "resource": "deployments"},
	} {
		for _, fl := range f.find("", m) {
			if _, sub := fl.labels["subresource"]; sub {
				continue
			}
			fl.errors = map[string]float64{"500": 1}
		}
	}
	for _, inst := range b.instances {
		for _, op := range []struct {
			name string
			rate float64
		}{{"CREATE", 3}, {"UPDATE", 5}} {
			f.histogram("apiserver_admission_webhook_admission_duration_seconds",
				b.api(inst, map[string]string{"name": webhookKyverno, "type": "validating", "operation": op.name, "rejected": "false"}),
				webhookBuckets, op.rate, fast(10))
			f.set("apiserver_admission_webhook_rejection_count", "apiserver_admission_webhook_rejection_count", Counter,
				b.api(inst, map[string]string{"name": webhookKyverno, "type": "validating", "operation": op.name, "error_type": "calling_webhook_error", "rejection_code": "500"}), op.rate)
		}
	}
	// The ReplicaSet controller cannot create pods.
	f.counter("rest_client_requests_total",
		b.client("kube-controller-manager", "10.0.1.10:10257", map[string]string{"code": "201", "method": "POST", "host": "kube-api.internal:6443"}), 0)
	f.counter("rest_client_requests_total",
		b.client("kube-controller-manager", "10.0.1.10:10257", map[string]string{"code": "500", "method": "POST", "host": "kube-api.internal:6443"}), 9)
	return b.scenario(Scenario{
		Name:   "failing-webhook",
		Cause:  runbook.StepWebhookErrors,
		Title:  "The validating webhook validate.kyverno.svc-fail times out; pod creations and updates fail with 500",
		Phases: phases(30*time.Minute, 45*time.Minute),
		Fires:  []Firing{{"write", time.Hour, 5 * time.Minute}, {"write", 6 * time.Hour, 30 * time.Minute}},
		Culprits: map[runbook.Step]map[string]string{
			runbook.StepSLI:            {"verb": "write"},
			runbook.StepTerms:          {"verb": "write", "term": "errors"},
			runbook.StepErrors:         {"code": "500", "verb": "PUT", "resource": "configmaps"},
			runbook.StepWebhookErrors:  {"name": webhookKyverno, "type": "validating", "operation": "UPDATE", "error_type": "calling_webhook_error", "rejection_code": "500"},
			runbook.StepWebhookLatency: {"name": webhookKyverno, "type": "validating"},
			runbook.StepClientErrors:   {"job": "kube-controller-manager", "code": "500"},
		},
		Quiet: []runbook.Step{runbook.StepListHeavy, runbook.StepAPIServices, runbook.StepAPIServiceReasons, runbook.StepAggregatorTerminations, runbook.StepWatchCache, runbook.StepTerminations, runbook.StepAPFRejections},
	}, h, f)
}

// slowEtcd: etcd's disk is slow. Writes wait for fsync, lease updates most;
// quorum reads wait too.
//
// Write burn: slow (over 1s) 30% of 24 lease updates, 10% of 12 pod status
// patches, 5% of 12 event creations = 9 of 75 per second = 12x. Read burn:
// 10% of 60 lease GETs and 5% of 15 pod GETs = 6.75 of 96.9 = 7x. With 30m
// healthy: write 6h/30m starts when the 6h window passes 6x, about 30-35m
// into the fault, and fires 15m later, 10m before the end; 1h/5m stays
// below 14.4x; write 1d/2h would fire 1h after about 10m, read 6h/30m needs
// the 6h window above 6x (it is 4.7x at the end).
//
// Calibrated from recordings/v1.34.2/etcd-slow: with every etcd round trip
// 300 ms slower only the write SLI burned (slow term); reads got slower and
// stayed under their thresholds.
func slowEtcd(env Env) Scenario {
	b := &builder{env: env, instances: oneInstance}
	h := b.healthy(true)
	f := h.clone()
	slow := func(match map[string]string, share, seconds float64) {
		for _, fl := range f.find("", match) {
			base := fl.latency[0].seconds
			fl.latency = []bin{{1 - share, base}, {share, seconds}}
		}
	}
	slow(map[string]string{"verb": "PUT", "resource": "leases"}, 0.3, 3)
	slow(map[string]string{"verb": "PATCH", "resource": "pods"}, 0.1, 1.5)
	slow(map[string]string{"verb": "POST", "resource": "events"}, 0.05, 1.5)
	slow(map[string]string{"verb": "GET", "resource": "leases"}, 0.1, 1.5)
	slow(map[string]string{"verb": "GET", "resource": "pods", "subresource": ""}, 0.05, 1.5)
	for _, inst := range b.instances {
		for _, op := range etcdOps {
			share, seconds := 0.0, 0.0
			switch {
			case op.operation == "update" && op.resource == "leases":
				share, seconds = 0.3, 3
			case op.operation == "update", op.operation == "create", op.operation == "get":
				share, seconds = 0.1, 1.5
			}
			if share == 0 {
				continue
			}
			f.histogram("etcd_request_duration_seconds",
				b.api(inst, map[string]string{"operation": op.operation, "group": op.group, "resource": op.resource}),
				etcdBuckets, op.rate, []bin{{1 - share, op.latency[0].seconds}, {share, seconds}})
		}
	}
	return b.scenario(Scenario{
		Name:   "slow-etcd",
		Cause:  runbook.StepEtcdLatency,
		Title:  "etcd's disk is slow; lease updates and other writes take seconds",
		Phases: phases(30*time.Minute, 60*time.Minute),
		Fires:  []Firing{{"write", 6 * time.Hour, 30 * time.Minute}},
		Culprits: map[runbook.Step]map[string]string{
			runbook.StepSLI:         {"verb": "write"},
			runbook.StepTerms:       {"verb": "write", "term": "slow"},
			runbook.StepSlow:        {"verb": "PUT", "scope": "resource", "group": "coordination.k8s.io", "resource": "leases"},
			runbook.StepEtcdLatency: {},
			runbook.StepEtcdTime:    {"operation": "update", "group": "coordination.k8s.io", "resource": "leases"},
		},
		Quiet: []runbook.Step{runbook.StepListHeavy, runbook.StepAPIServices, runbook.StepAPIServiceReasons, runbook.StepAggregatorTerminations, runbook.StepWebhookErrors,
			runbook.StepWatchCache, runbook.StepTerminations, runbook.StepAPFRejections, runbook.StepClientErrors},
	}, h, f)
}

// expensiveList: a new per-node agent (100 nodes, every 10s) LISTs all pods
// of the cluster with a field selector for its node, straight from etcd. Of
// its 10 LISTs per second 35% take 40s and 8% time out (504 after 60s,
// slow as well); API Priority and Fairness rejects 0.5 more per second and
// instance (429, not a budget error).
//
// Read burn: (10 × 0.43 slow + 10 × 0.08 errors) = 5.1 of 108.4 per second
// = 4.7x: above the 1d/2h factor 3, below the 6h/30m factor 6. With 30m
// healthy the 2h window passes 3x about 55m into the fault; 1d/2h (for 1h)
// fires at about 2h, 30m before the end; 3d/6h (for 3h) would fire at 3h10m.
//
// Compared with recordings/v1.34.2/list-expensive: six clients listing
// 4,000 configmaps without resourceVersion read 15,581 objects a second
// from etcd (90 when healthy) and stayed under the 5 s and 30 s LIST
// thresholds there, so the SLI did not burn; this scenario's agent is
// bigger (100 nodes' worth), so its LISTs also cross them and time out.
func expensiveList(env Env) Scenario {
	b := &builder{env: env, instances: oneInstance}
	h := b.healthy(true)
	f := h.clone()
	agent := 10.0 / 3 // LISTs per second per instance (of three)
	for _, fl := range f.find("", map[string]string{"verb": "LIST", "resource": "pods", "scope": "cluster"}) {
		total := fl.rate + agent
		fl.latency = []bin{
			{fl.rate * 0.99 / total, 0.8}, {fl.rate * 0.01 / total, 40},
			{agent * 0.57 / total, 8}, {agent * 0.35 / total, 40}, {agent * 0.08 / total, 60},
		}
		fl.errors = map[string]float64{"504": agent * 0.08 / total}
		fl.rate = total
		fl.dropped = 0.5
	}
	for _, inst := range b.instances {
		f.counter("apiserver_request_terminations_total", b.api(inst, map[string]string{
			"component": "apiserver", "code": "504", "verb": "LIST", "version": "v1", "resource": "pods", "scope": "cluster",
		}), agent*0.08)
		ls := b.api(inst, map[string]string{"resource": "pods"})
		pods := storageLists[0]
		f.counter("apiserver_storage_list_total", ls, pods.rate+agent)
		f.counter("apiserver_storage_list_fetched_objects_total", ls, (pods.rate+agent)*pods.evaluated)
		f.counter("apiserver_storage_list_evaluated_objects_total", ls, (pods.rate+agent)*pods.evaluated)
		f.counter("apiserver_storage_list_returned_objects_total", ls, pods.rate*pods.returned+agent*50)
		for _, op := range etcdOps {
			if op.operation == "list" && op.resource == "pods" {
				f.histogram("etcd_request_duration_seconds",
					b.api(inst, map[string]string{"operation": "list", "resource": "pods"}),
					etcdBuckets, op.rate+agent, []bin{{op.rate / (op.rate + agent), 0.15}, {agent / (op.rate + agent), 2.5}})
			}
		}
		f.counter("apiserver_flowcontrol_rejected_requests_total", b.api(inst, map[string]string{
			"flow_schema": "service-accounts", "priority_level": "workload-low", "reason": "queue-full",
		}), 0.5)
		f.histogram("apiserver_flowcontrol_request_execution_seconds",
			b.api(inst, map[string]string{"flow_schema": "service-accounts", "priority_level": "workload-low", "type": "regular"}),
			apfBuckets, 3+agent, []bin{{3 / (3 + agent), 0.05}, {agent * 0.57 / (3 + agent), 8}, {agent * 0.43 / (3 + agent), 45}})
	}
	return b.scenario(Scenario{
		Name:   "expensive-list-client",
		Cause:  runbook.StepListFetched,
		Title:  "A per-node agent LISTs every pod of the cluster from etcd every 10s; the LISTs are slow or time out",
		Phases: phases(30*time.Minute, 150*time.Minute),
		Fires:  []Firing{{"read", 24 * time.Hour, 2 * time.Hour}},
		Culprits: map[runbook.Step]map[string]string{
			runbook.StepSLI:           {"verb": "read"},
			runbook.StepTerms:         {"verb": "read", "term": "slow", "scope": "cluster"},
			runbook.StepErrors:        {"code": "504", "verb": "LIST", "resource": "pods"},
			runbook.StepSlow:          {"verb": "LIST", "scope": "cluster", "resource": "pods"},
			runbook.StepListHeavy:     {"resource": "pods"},
			runbook.StepListFetched:   {"resource": "pods"},
			runbook.StepListFiltered:  {"resource": "pods"},
			runbook.StepEtcdLatency:   {},
			runbook.StepTerminations:  {"component": "apiserver", "code": "504", "verb": "LIST", "resource": "pods"},
			runbook.StepAPFRejections: {"flow_schema": "service-accounts", "priority_level": "workload-low", "reason": "queue-full"},
			runbook.StepAPFWork:       {"flow_schema": "service-accounts", "priority_level": "workload-low"},
		},
		Quiet: []runbook.Step{runbook.StepAPIServices, runbook.StepAPIServiceReasons, runbook.StepAggregatorTerminations, runbook.StepWebhookErrors, runbook.StepWatchCache, runbook.StepClientErrors},
	}, h, f)
}

// badInstance: the etcd member stacked on the third control-plane node
// fails. Its apiserver answers 90% of reads and 30% of writes with 500; the
// reads that succeed take 2s.
//
// Read burn: (0.9 × 32.3 + 0.1 × 28.8 slow GETs of objects and of the
// OpenAPI document) = 31.95 of 96.9 per second = 33x; write burn 7.5 of 75 = 10x. With 30m healthy: read 1h/5m
// fires 35m into the fault, 15m before the end, 6h/30m at about 25m; read
// 1d/2h needs until 1h05m; write 6h/30m starts 45-50m in and fires 15m
// later.
//
// Compared with recordings/v1.34.2/instance-slower-etcd: one of three
// apiservers behind a slow etcd path put every bad event of the write SLI
// on that instance, which stood out in the per-instance steps. The lab's
// instance was slow, not failing; this scenario's fails.
func badInstance(env Env) Scenario {
	b := &builder{env: env, instances: threeInstances}
	h := b.healthy(true)
	f := h.clone()
	for _, fl := range f.find(apiserver2, nil) {
		switch fl.labels["verb"] {
		case "GET", "LIST":
			if fl.labels["subresource"] == "log" {
				continue
			}
			fl.errors = map[string]float64{"500": 0.9}
			fl.latency = []bin{{0.9, 0.05}, {0.1, 2}}
		default:
			fl.errors = map[string]float64{"500": 0.3}
		}
	}
	for _, c := range []struct {
		job, inst, method string
		rate              float64
	}{
		{"kubelet", "10.0.3.1:10250", "GET", 6},
		{"kubelet", "10.0.3.2:10250", "GET", 6},
		{"kube-controller-manager", "10.0.1.10:10257", "GET", 2},
		{"kube-scheduler", "10.0.1.10:10259", "POST", 0.5},
	} {
		f.counter("rest_client_requests_total",
			b.client(c.job, c.inst, map[string]string{"code": "500", "method": c.method, "host": "kube-api.internal:6443"}), c.rate)
	}
	return b.scenario(Scenario{
		Name:   "bad-instance",
		Cause:  runbook.StepInstanceErrors,
		Title:  "The etcd member under apiserver 10.0.1.12:6443 fails; that instance answers most requests with 500",
		Phases: phases(30*time.Minute, 50*time.Minute),
		Fires:  []Firing{{"read", time.Hour, 5 * time.Minute}, {"read", 6 * time.Hour, 30 * time.Minute}},
		Culprits: map[runbook.Step]map[string]string{
			runbook.StepSLI:             {"verb": "read"},
			runbook.StepTerms:           {"verb": "read", "term": "errors"},
			runbook.StepErrors:          {"code": "500", "verb": "GET", "group": "coordination.k8s.io", "resource": "leases"},
			runbook.StepInstanceErrors:  {"instance": apiserver2},
			runbook.StepInstanceLatency: {"instance": apiserver2},
			runbook.StepClientErrors:    {"job": "kubelet", "code": "500"},
		},
		Quiet: []runbook.Step{runbook.StepListHeavy, runbook.StepAPIServices, runbook.StepAPIServiceReasons, runbook.StepAggregatorTerminations, runbook.StepWebhookErrors,
			runbook.StepWatchCache, runbook.StepTerminations, runbook.StepAPFRejections},
	}, h, f)
}

// freshAPIServer: a new single-instance cluster that has not answered a
// 5xx yet, so apiserver_request_total has no 5xx series. Its pods watch
// cache re-initializes every 5 minutes; namespaced pod LISTs go to etcd,
// twice as many as usual, and 90% of them take 8s (over the 5s threshold).
// The mixin's burn rate is empty here; the optimized profile's is not.
//
// Read burn: 0.9 × 4 = 3.6 of 34.3 per second = 10.5x. With 15m healthy:
// 6h/30m starts 20-25m into the fault and fires 15m later, 15m before the
// end; 1d/2h starts at 10m and would fire at 1h10m; 1h/5m stays below 14.4x.
//
// No recording: the lab does not reproduce a re-initializing watch cache.
func freshAPIServer(env Env) Scenario {
	inst := "10.0.2.10:6443"
	b := &builder{env: env, instances: []string{inst}}
	h := b.healthy(false)
	f := h.clone()
	for _, fl := range f.find("", map[string]string{"verb": "LIST", "resource": "pods", "scope": "namespace"}) {
		fl.rate = 4
		fl.latency = []bin{{0.1, 0.15}, {0.9, 8}}
	}
	f.counter("apiserver_watch_cache_initializations_total", b.api(inst, map[string]string{"resource": "pods"}), 1.0/300)
	ls := b.api(inst, map[string]string{"resource": "pods"})
	pods := storageLists[0]
	f.counter("apiserver_storage_list_total", ls, pods.rate+4)
	f.counter("apiserver_storage_list_fetched_objects_total", ls, pods.rate*pods.evaluated+4*100)
	f.counter("apiserver_storage_list_evaluated_objects_total", ls, pods.rate*pods.evaluated+4*100)
	f.counter("apiserver_storage_list_returned_objects_total", ls, pods.rate*pods.returned+4*100)
	return b.scenario(Scenario{
		Name:   "fresh-apiserver",
		Cause:  runbook.StepListFetched,
		Title:  "A new apiserver with no 5xx series yet: its pods watch cache keeps re-initializing and namespaced pod LISTs are slow",
		Phases: phases(15*time.Minute, 55*time.Minute),
		Fires:  []Firing{{"read", 6 * time.Hour, 30 * time.Minute}},
		Culprits: map[runbook.Step]map[string]string{
			runbook.StepSLI:             {"verb": "read"},
			runbook.StepTerms:           {"verb": "read", "term": "slow", "scope": "namespace"},
			runbook.StepSlow:            {"verb": "LIST", "scope": "namespace", "resource": "pods"},
			runbook.StepInstanceLatency: {"instance": inst},
			runbook.StepWatchCache:      {"resource": "pods"},
			runbook.StepListFetched:     {"resource": "pods"},
		},
		Quiet: []runbook.Step{runbook.StepListHeavy, runbook.StepErrors, runbook.StepInstanceErrors, runbook.StepAPIServices, runbook.StepAPIServiceReasons, runbook.StepAggregatorTerminations,
			runbook.StepWebhookErrors, runbook.StepTerminations, runbook.StepAPFRejections, runbook.StepClientErrors},
	}, h, f)
}
