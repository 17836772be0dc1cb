package runbook

import (
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/pql"
)

// Step names a drill-down query of the runbook: one ```promql block of the
// page, one query of burnrate diagnose, one set of assertions in the
// incident tests.
type Step string

// The runbook's drill-down queries, in page order.
const (
	StepProbe                  Step = "probe"
	StepSLI                    Step = "sli"
	StepTerms                  Step = "terms"
	StepErrors                 Step = "errors"
	StepSlow                   Step = "slow"
	StepInstanceErrors         Step = "instance-errors"
	StepInstanceLatency        Step = "instance-latency"
	StepAPIServices            Step = "apiservices"
	StepAPIServiceReasons      Step = "apiservice-reasons"
	StepAggregatorTerminations Step = "aggregator-terminations"
	StepWebhookErrors          Step = "webhook-errors"
	StepWebhookLatency         Step = "webhook-latency"
	StepEtcdLatency            Step = "etcd-latency"
	StepEtcdTime               Step = "etcd-time"
	StepListHeavy              Step = "list-heavy"
	StepListFetched            Step = "list-fetched"
	StepListFiltered           Step = "list-filtered"
	StepWatchCache             Step = "watch-cache"
	StepTerminations           Step = "terminations"
	StepAPFRejections          Step = "apf-rejections"
	StepAPFWork                Step = "apf-work"
	StepClientErrors           Step = "client-errors"
)

// Culprit says when burnrate diagnose names the first row of a step as a
// culprit.
type Culprit int

// The ways a step yields a culprit. A finder (see Finder) is a culprit
// whenever it finds something, whatever its Culprit.
const (
	// CulpritWhenRouted: a ranking step, named when a failing or slow
	// request routes to its section and its first row stands out.
	CulpritWhenRouted Culprit = iota
	// CulpritNever: the overview steps (probe, burn rates, terms).
	CulpritNever
	// CulpritRequests: the failing or slow requests; named first, and
	// their routes say which section comes next.
	CulpritRequests
	// CulpritWhenStandsOut: named whenever its first row stands out,
	// wherever the requests route.
	CulpritWhenStandsOut
	// CulpritDrilldown: a service's failing or slow requests broken down
	// by one label; named, before the requests, when they route to its
	// section and its first row stands out from the second (or is alone).
	CulpritDrilldown
)

// section is one "### Step N: Title" section of the page's Diagnosis: its
// number is its place in the table, its anchor comes from its heading.
// The prose fields are text/template snippets executed with the page's
// data (the model, Window, First) and the functions step ("Step 6"), num
// ("6") and link ("[Step 6](#step-6-...)"), each given a step id, which
// stands for the section that holds the step.
type section struct {
	Title string
	// Intro comes before the first query.
	Intro string
	Steps []step
	// After comes after the last query's reading.
	After string
	// Next says where to go on, after a plain "**Next:**".
	Next string
	// Fix says what repairs what the section finds, after "**Fix:**";
	// burnrate diagnose prints it with the culprits.
	Fix string
}

// step is one drill-down query of a section.
type step struct {
	ID Step
	// Query builds the query from the model over the page's range.
	Query func(*build) parser.Expr
	// Reading says how to read the result; it follows the query's block.
	Reading string
	// Finder: the query returns nothing on a healthy cluster (the incident
	// tests assert that it does).
	Finder bool
	// Adds: the rows are rates that add up, so each row's share of the
	// total means something.
	Adds bool
	// Eventual: the metric the query reads may have no series until the
	// event it counts first happens.
	Eventual bool
	// Probe names the metrics whose series say that the step can show
	// anything (either of them, when the step reads one or the other);
	// Step 0 counts them.
	Probe func(*build) []string
	// Culprit says when diagnose names the first row.
	Culprit Culprit
	// Outside: the step finds requests that failed for their clients
	// without a bad event in the SLI (terminations, an unreachable
	// aggregated API, failing webhook calls, APF rejections); diagnose
	// reports them in every run, whichever SLI burns.
	Outside bool
	// Routes send the first row to another section, in order: the first
	// that matches wins; one without Match matches anything. They are the
	// section's bullets and the Diagnosis' path.
	Routes []route
}

// route sends a failing or slow request to the section of step To.
type route struct {
	To Step
	// Path is the route in the Diagnosis' list of steps.
	Path string
	// Detail is the route's bullet in its step's section (a snippet).
	Detail string
	// Match reports whether row, the first row of the step, takes this
	// route; rows gives the rows another step found.
	Match func(row map[string]string, rows func(Step) []map[string]string) bool
}

// heavyListObjects is the rate of objects read from etcd by the LISTs of one
// resource above which Step 9 names the resource. Calibrated on the lab's
// recordings of kube-apiserver v1.34.2 (recordings/v1.34.2): about 90 a
// second on the healthy cluster and in every scenario without heavy LISTs,
// 15,581 with six clients listing 4,000 configmaps without resourceVersion
// (list-expensive), 9,227 under the request flood (false-positives).
const heavyListObjects = 1000

// fromEtcd keeps the apiserver_storage_list_* rows of LISTs etcd served.
// From kube-apiserver v1.37 those counters count the LISTs the watch cache
// serves too, under storage="watchcache" (storage="etcd" for the others;
// lab/recordings/v1.37.2, notes); before, they had no storage label, which
// this matcher lets through.
var fromEtcd = labels.MustNewMatcher(labels.MatchNotEqual, "storage", "watchcache")

// metric is a Probe of a fixed metric name.
func metric(name string) func(*build) []string {
	return func(*build) []string { return []string{name} }
}

// table is the runbook's Diagnosis: every section and step, in page order.
// Adding a step is adding an entry here (and a Step constant above).
var table = []section{
	{
		Title: "Which metrics do you have?",
		Steps: []step{{
			ID: StepProbe, Query: (*build).probe, Culprit: CulpritNever,
			Reading: "This lists each metric the steps read, with its number of series. " +
				"A missing histogram or gauge is not scraped: your scrape config drops it, and the step that needs it shows nothing. " +
				"A missing `apiserver_request_terminations_total` or `apiserver_flowcontrol_rejected_requests_total` may just mean that nothing was terminated or rejected yet.",
		}},
	},
	{
		Title: "Which SLI burns, and how fast?",
		Steps: []step{{
			ID: StepSLI, Query: (*build).burnRates, Culprit: CulpritNever,
			Reading: "Each row is the burn rate of one SLI (`{{.SLILabel}}`) over one window (`window`). Compare it with the factors in the table above. " +
				"Short windows above long ones: it is getting worse. Short windows below: it is recovering.",
		}},
		Next: `take the SLI with the highest burn to {{step "terms"}}.`,
	},
	{
		Title: "Errors or slowness?",
		Steps: []step{{
			ID: StepTerms, Query: (*build).terms, Adds: true, Culprit: CulpritNever,
			Reading: "This splits the burn rate of each SLI into terms. `term=\"errors\"` is failed requests. `term=\"slow\"` is slow requests, one row per `{{.Latency.PartitionLabel}}` where the SLI has per-{{.Latency.PartitionLabel}} thresholds. " +
				"The terms of an SLI add up to its burn rate in {{step \"sli\"}} (`{{.Base}}:burnrate{{.Window}}`).",
		}},
		Next: `the biggest term. Errors: {{step "errors"}}. Slow: {{step "slow"}}.`,
	},
	{
		Title: "Which requests fail?",
		Steps: []step{{
			ID: StepErrors, Adds: true, Culprit: CulpritRequests,
			Query: func(b *build) parser.Expr {
				return sortDesc(pql.SumBy(b.by("code", "verb", "group", "resource", "subresource"), b.sliRate(b.Counter, b.reqs, b.Errors...)))
			},
			Probe:   func(b *build) []string { return []string{b.Counter} },
			Reading: "Failed requests per second, by code, verb, group, resource and subresource. No rows: there is no failure at all.",
			Routes: []route{
				{
					To: StepAPIServices, Path: "503 or 504 on `openapi/v3/` or discovery while an APIService is unavailable",
					Detail: `**503 or 504 on ` + "`subresource=\"openapi/v3/\"`" + ` or on discovery (` + "`/apis/<group>/<version>`" + `)** while {{step "apiservices"}} lists an unavailable APIService: an aggregated API is down or unreachable. ` +
						`Requests to the aggregated group itself never reach the SLI (the aggregator's proxy is not instrumented; they show only as terminations with ` + "`component=\"aggregator\"`" + `); its OpenAPI document and discovery are what burn. Go to {{step "apiservices"}}.`,
					Match: func(row map[string]string, rows func(Step) []map[string]string) bool {
						// Recorded on kube-apiserver v1.34.2 (recordings/v1.34.2/aggregated-hang): the
						// aggregator's proxy (kube-aggregator handler_proxy.go, proxyHandler.ServeHTTP)
						// is not instrumented, so the only 503s of an unreachable aggregated API in
						// apiserver_request_total are GETs of its OpenAPI v3 document, with an empty
						// group and resource and subresource "openapi/v3/".
						code, group, sub := row["code"], row["group"], row["subresource"]
						if code != "503" && code != "504" {
							return false
						}
						if group != "" {
							return slices.ContainsFunc(rows(StepAPIServices), func(api map[string]string) bool {
								return strings.HasSuffix(api["name"], "."+group)
							})
						}
						return (strings.HasPrefix(sub, "openapi/") || strings.HasPrefix(sub, "/apis/")) && len(rows(StepAPIServices)) > 0
					},
				},
				{
					To: StepWebhookErrors, Path: "500 on creates and updates",
					Detail: "**500 on creates and updates** of some resources: suspect an admission webhook with `failurePolicy: Fail`, or a CRD conversion webhook. Go to {{step \"webhook-errors\"}}.",
					Match: func(row map[string]string, _ func(Step) []map[string]string) bool {
						return row["code"] == "500" && slices.Contains([]string{"POST", "PUT", "PATCH", "DELETE", "APPLY"}, row["verb"])
					},
				},
				{
					To: StepTerminations, Path: "504",
					Detail: `**504 on one resource:** requests hit the timeout. Go to {{step "terminations"}}, then {{step "etcd-latency"}} or {{num "list-fetched"}}.`,
					Match: func(row map[string]string, _ func(Step) []map[string]string) bool {
						return row["code"] == "504"
					},
				},
				{
					To: StepInstanceErrors, Path: "500 or 503 on every resource",
					Detail: `**500 on every resource:** one apiserver or its etcd is broken. Go to {{step "instance-errors"}}.`,
				},
			},
		}},
	},
	{
		Title: "Which requests are slow?",
		Steps: []step{{
			ID: StepSlow, Query: (*build).slow, Adds: true, Culprit: CulpritRequests,
			Probe: sliHistogram,
			Reading: "Slow requests per second, each against its own threshold, by verb, {{.Latency.PartitionLabel}}, group and resource. Compare it with the request rate of the same rows. " +
				"No rows: nothing is slow.",
			Routes: []route{
				{
					To: StepAPFRejections, Path: "slow GETs or writes while API Priority and Fairness rejects requests",
					Detail: "**Slow GETs and writes while API Priority and Fairness rejects requests** ({{step \"apf-rejections\"}} finds rows): the apiserver is overloaded, and its requests wait for CPU, not for etcd. Find the flow that floods it in {{step \"apf-rejections\"}}.",
					Match: func(row map[string]string, rows func(Step) []map[string]string) bool {
						// Recorded on kube-apiserver v1.34.2 (recordings/v1.34.2/false-positives): a
						// request flood that APF rejects saturates the CPU and slows single-object
						// GETs and writes as much as a slow etcd would. Slow LISTs have their own
						// section, whoever is throttled.
						return row["verb"] != "LIST" && len(rows(StepAPFRejections)) > 0
					},
				},
				{
					To: StepAPIServices, Path: "slow requests of no resource while an APIService is unavailable",
					Detail: "**Slow requests of no resource** (the OpenAPI document, discovery) while {{step \"apiservices\"}} lists an unavailable APIService: the apiserver waits for the aggregated API. Go to {{step \"apiservices\"}}.",
					Match: func(row map[string]string, rows func(Step) []map[string]string) bool {
						// Recorded on kube-apiserver v1.34.2 (recordings/v1.34.2/aggregated-hang and
						// aggregated-flap): GETs of the group's OpenAPI v3 document wait for the
						// hanging backend and are slow, with no group or resource.
						return row["resource"] == "" && len(rows(StepAPIServices)) > 0
					},
				},
				{
					To: StepEtcdLatency, Path: "slow GETs of single objects, or slow writes",
					Detail: "**Slow GETs of single objects** (scope `resource`, for example leases) are quorum reads from etcd. Slow **writes** wait for etcd too. Go to {{step \"etcd-latency\"}}.",
					Match: func(row map[string]string, _ func(Step) []map[string]string) bool {
						// A request of no resource (/readyz, the OpenAPI document)
						// reads nothing from etcd.
						return row["verb"] != "LIST" && row["resource"] != ""
					},
				},
				{
					To: StepListFetched, Path: "slow LISTs",
					Detail: "**Slow LISTs** of a big resource at scope `cluster` or `namespace`: expensive LISTs, or a watch cache that does not serve them. Go to {{step \"list-fetched\"}}.",
					Match: func(row map[string]string, _ func(Step) []map[string]string) bool {
						return row["verb"] == "LIST"
					},
				},
			},
		}},
	},
	{
		Title: "One apiserver or all of them?",
		Steps: []step{
			{
				ID: StepInstanceErrors, Culprit: CulpritWhenStandsOut,
				Query: func(b *build) parser.Expr {
					return sortDesc(pql.Bin(parser.DIV,
						pql.SumBy(b.by("instance"), b.sliRate(b.Counter, b.reqs, b.Errors...)),
						pql.SumBy(b.by("instance"), b.sliRate(b.Counter, b.reqs))))
				},
				Reading: "The share of failed requests per apiserver instance. No rows: nothing fails.",
			},
			{
				ID: StepInstanceLatency, Culprit: CulpritWhenStandsOut,
				Query: func(b *build) parser.Expr {
					if b.Native {
						return sortDesc(p99(pql.SumBy(b.by("instance"), b.sliRate(b.Histogram, b.lats))))
					}
					return sortDesc(p99(pql.SumBy(b.by("instance", "le"), b.sliRate(b.Bucket, b.lats))))
				},
				Reading: "The 99th percentile latency per instance, in seconds.",
			},
		},
		After: "One instance far above the others: that instance is the problem. Look at its node: the etcd member beside it, CPU, memory, disk, its network path to pods. " +
			"All instances alike: the cause is shared (etcd, a webhook, an aggregated API, a client).",
		Fix: "take the bad instance out of the load balancer, then repair or replace its node or etcd member.",
	},
	{
		Title: "Is an aggregated API down?",
		Steps: []step{
			{
				ID: StepAPIServices, Finder: true, Outside: true,
				Query: func(b *build) parser.Expr {
					return b.unavailableAPIServices()
				},
				Probe:   metric("aggregator_unavailable_apiservice"),
				Reading: "Each row is an APIService the apiserver could not reach at some time in the window (a flapping one too). No rows: every aggregated API stayed available.",
			},
			{
				ID: StepAPIServiceReasons, Finder: true, Eventual: true,
				Query: func(b *build) parser.Expr {
					// Not an increase: on kube-apiserver v1.34.2 the counter's series
					// appears only when the APIService first turns unavailable, already
					// at 1 (recordings/v1.34.2/aggregated-hang), so its increase is 0.
					return pql.AndOn(
						&parser.AggregateExpr{Op: parser.MAX, Expr: pql.Vec("aggregator_unavailable_apiservice_total", b.Service), Grouping: b.by("name", "reason")},
						b.unavailableAPIServices(),
						b.by("name"))
				},
				Reading: "Why each APIService of the step above was marked unavailable, and how often since its apiserver started. `FailedDiscoveryCheck` means the apiserver cannot reach the service's pods. No rows for an unavailable APIService: it was never available since the apiserver started.",
			},
			{
				ID: StepAggregatorTerminations, Finder: true, Outside: true, Adds: true, Eventual: true,
				Query: func(b *build) parser.Expr {
					return gt0(pql.SumBy(b.by("code", "verb", "group", "resource", "subresource"),
						b.rate("apiserver_request_terminations_total", b.Service.And(pql.Eq("component", "aggregator")))))
				},
				Probe:   metric("apiserver_request_terminations_total"),
				Reading: "Requests the aggregator could not proxy, by code and group; discovery of a group (`/apis/<group>/<version>`) has an empty group and the path in `subresource`. They fail for the clients, and the SLI does not count them.",
			},
		},
		After: "Then run `kubectl get apiservices | grep -v True` and `kubectl describe apiservice <name>`. " +
			"From a control-plane node, try the backing pod: `curl -k https://<pod-ip>:<port>/healthz`.",
		Fix: "if the control plane cannot reach pod IPs, fix the network between them (the CNI overlay, a firewall, a NetworkPolicy, a control-plane node without the CNI agent). " +
			"Or run the extension API server with `hostNetwork`. If its pods are down, restart or scale them. If the add-on was removed, delete its stale APIService. " +
			`The same broken path also breaks webhooks served from pods: check {{step "webhook-errors"}}.`,
	},
	{
		Title: "Is an admission webhook failing?",
		Steps: []step{
			{
				ID: StepWebhookErrors, Finder: true, Outside: true, Adds: true, Eventual: true,
				Query: func(b *build) parser.Expr {
					return gt0(pql.SumBy(b.by("name", "type", "operation", "error_type", "rejection_code"),
						b.rate("apiserver_admission_webhook_rejection_count", b.Service.And(labels.MustNewMatcher(labels.MatchNotEqual, "error_type", "no_error")))))
				},
				Probe:   metric("apiserver_admission_webhook_rejection_count"),
				Reading: "Webhook calls that failed, by webhook (`name`) and operation. `error_type=\"calling_webhook_error\"` means the webhook is unreachable, timed out or answered with an error status (a webhook answering 500 is counted here, not as a rejection). With `failurePolicy: Fail` each such call fails the request with a 500. No rows: no webhook fails.",
			},
			{
				ID: StepWebhookLatency,
				Query: func(b *build) parser.Expr {
					return sortDesc(b.histP99("apiserver_admission_webhook_admission_duration_seconds", b.Service, "name", "type"))
				},
				Probe:    histProbe("apiserver_admission_webhook_admission_duration_seconds"),
				Eventual: true,
				Reading: "The 99th percentile time per webhook, in seconds. A value near the webhook's `timeoutSeconds` (10 by default) means it hangs. " +
					"The histogram's buckets jump from 2.5 to 10 seconds, so any webhook slower than 2.5 s reads close to 10: a webhook hanging until a 5 s timeout reads about 9.9 (kube-apiserver v1.34.2, recordings/v1.34.2/webhook-hang).",
			},
		},
		Fix: "repair or scale the webhook's backend. Narrow its `namespaceSelector` and `objectSelector` (leave out kube-system and the webhook's own namespace). " +
			"Lower `timeoutSeconds`. Decide whether it may fail open (`failurePolicy: Ignore`). Delete a ValidatingWebhookConfiguration or MutatingWebhookConfiguration whose backend is gone.",
	},
	{
		Title: "Is etcd slow?",
		Steps: []step{
			{
				ID: StepEtcdLatency,
				Query: func(b *build) parser.Expr {
					// Every request to etcd, each counted as often as it is made: a
					// rarely called operation cannot lead (the per-operation p99
					// named list mutatingwebhookconfigurations first on
					// recordings/v1.34.2/etcd-slow).
					return sortDesc(b.histP99("etcd_request_duration_seconds", b.Service))
				},
				Probe: histProbe("etcd_request_duration_seconds"),
				Reading: "The 99th percentile time of all the apiserver's requests to etcd, in seconds: each operation weighs as often as it is called, so the lease updates and single-object reads that make most of a cluster's traffic count most. Healthy: well under 0.1s. " +
					"`etcdctl endpoint health` can pass while etcd is slow. On the etcd side, look at `etcd_disk_wal_fsync_duration_seconds` (p99 under 10ms) and `etcd_disk_backend_commit_duration_seconds` (p99 under 25ms).",
			},
			{
				ID: StepEtcdTime, Adds: true,
				Query: func(b *build) parser.Expr {
					// The apiserver observes one sample per round trip to etcd
					// (k8s.io/apiserver/pkg/storage/etcd3/store.go: Get, Create,
					// conditionalDelete and GuaranteedUpdate time each call and pass it
					// to metrics.RecordEtcdRequest, etcd3/metrics/metrics.go), so the
					// rate of _sum is the seconds per second that requests wait on
					// etcd for that operation: its call rate times its mean time. A
					// request is slow when its round trips add up; the operations with
					// the most waiting carry the slow requests. LISTs (list, and
					// listWithCount for the object counts) read many keys and take long
					// on a healthy etcd too: Step 9 ranks them.
					return sortDesc(pql.SumBy(b.by("operation", "type", "group", "resource"),
						b.histSum("etcd_request_duration_seconds", b.Service.And(labels.MustNewMatcher(labels.MatchNotRegexp, "operation", "list.*")))))
				},
				Probe: histProbe("etcd_request_duration_seconds"),
				Reading: "Seconds per second the apiserver's requests wait for etcd, per operation and resource: how often each is called times how long it takes. The first rows are the operations that carry the slow writes and reads; a rarely called operation stays low however slow it is. " +
					"LISTs are left out: they read many keys and take long on a healthy etcd too, and {{step \"list-fetched\"}} ranks them.",
			},
		},
		Fix: "put etcd on dedicated SSD or NVMe disks, stop noisy neighbours on the control-plane disks, defragment etcd, fix the network between the members.",
	},
	{
		Title: "Expensive LISTs or a broken watch cache?",
		Steps: []step{
			{
				ID: StepListHeavy, Finder: true, Adds: true,
				Query: func(b *build) parser.Expr {
					// Objects read from etcd plus objects read from the watch cache: on
					// etcd 3.4 (recordings/v1.34.2) a LIST without resourceVersion goes to
					// etcd; from etcd 3.4.31 and 3.5.13, with consistent reads from the
					// cache, the watch cache answers it and counts it in
					// apiserver_cache_list_fetched_objects_total (same labels). The
					// cache's rows get a source label so that or keeps both.
					return pql.Bin(parser.GTR, pql.SumBy(b.by("resource"), pql.Bin(parser.LOR,
						b.rate("apiserver_storage_list_fetched_objects_total", b.Service),
						labelSet(b.rate("apiserver_cache_list_fetched_objects_total", b.Service), "source", "cache"))), pql.Num(heavyListObjects))
				},
				Probe:   metric("apiserver_storage_list_fetched_objects_total"),
				Reading: "Resources whose LISTs read more than " + strconv.Itoa(heavyListObjects) + " objects a second, from etcd or from the watch cache: clients that LIST a big resource unpaginated and often, or without `resourceVersion` (then etcd answers, or on etcd 3.4.31, 3.5.13 and later the watch cache after a round trip to etcd). No rows: no resource is listed that heavily.",
			},
			{
				ID: StepListFetched, Adds: true,
				Query: func(b *build) parser.Expr {
					return sortDesc(pql.SumBy(b.by("resource"), b.rate("apiserver_storage_list_fetched_objects_total", b.Service.And(fromEtcd))))
				},
				Probe: metric("apiserver_storage_list_fetched_objects_total"),
				Reading: "Objects read from etcd by LISTs, per second and resource. A big resource at the top is read from etcd again and again. " +
					"From v1.37 these counters also count the LISTs the watch cache serves, with `storage=\"watchcache\"`; they are left out here.",
			},
			{
				ID: StepListFiltered, Adds: true,
				Query: func(b *build) parser.Expr {
					return sortDesc(pql.Bin(parser.SUB,
						pql.SumBy(b.by("resource"), b.rate("apiserver_storage_list_evaluated_objects_total", b.Service.And(fromEtcd))),
						pql.SumBy(b.by("resource"), b.rate("apiserver_storage_list_returned_objects_total", b.Service.And(fromEtcd)))))
				},
				Reading: "Objects read and then thrown away by label or field selectors, per second. A high value means clients LIST a whole resource from etcd to get a few objects, for example `pods?fieldSelector=spec.nodeName=<node>` from a per-node agent. LISTs the watch cache serves (`storage=\"watchcache\"`, from v1.37) are left out.",
			},
			{
				ID: StepWatchCache, Finder: true, Adds: true, Eventual: true,
				Query: func(b *build) parser.Expr {
					return gt0(pql.SumBy(b.by("resource"), b.increase("apiserver_watch_cache_initializations_total", b.Service)))
				},
				Probe:   metric("apiserver_watch_cache_initializations_total"),
				Reading: "Watch caches that were re-initialized. No rows: the watch caches are stable. A re-initialized cache makes every client LIST again.",
			},
		},
		Fix: `find the client ({{step "apf-work"}}). It should use an informer, or LIST with ` + "`resourceVersion=\"0\"`" + ` so the watch cache answers, and paginate. Slow its relists down. Cap it with a FlowSchema.`,
	},
	{
		Title: "Are requests timing out or throttled?",
		Steps: []step{
			{
				ID: StepTerminations, Finder: true, Outside: true, Adds: true, Eventual: true,
				Query: func(b *build) parser.Expr {
					return gt0(pql.SumBy(b.by("component", "code", "verb", "group", "resource", "subresource"), b.rate("apiserver_request_terminations_total", b.Service)))
				},
				Probe:   metric("apiserver_request_terminations_total"),
				Reading: "Requests the apiserver cut short, by component and code. `component=\"apiserver\"`, `code=\"504\"`: the request timed out (60s by default); the group and resource say where it waited. `component=\"aggregator\"`: see {{step \"apiservices\"}}. No rows: nothing was cut short.",
			},
			{
				ID: StepAPFRejections, Finder: true, Outside: true, Adds: true, Eventual: true,
				Query: func(b *build) parser.Expr {
					return gt0(pql.SumBy(b.by("priority_level", "flow_schema", "reason"), b.rate("apiserver_flowcontrol_rejected_requests_total", b.Service)))
				},
				Probe:   metric("apiserver_flowcontrol_rejected_requests_total"),
				Reading: "Requests that API Priority and Fairness rejected (429). They do not burn this budget, but they show which flow is overloaded. No rows: nothing is rejected.",
			},
		},
		Fix: `a timeout points at the slow dependency: {{step "etcd-latency"}} for etcd, {{step "list-fetched"}} for LISTs, {{step "webhook-errors"}} for webhooks. ` +
			`For rejections, find the flow's clients ({{step "apf-work"}}) and slow them down, or give the priority level more seats.`,
	},
	{
		Title: "Which client?",
		Intro: "The apiserver's metrics do not name the client. Two queries come close:",
		Steps: []step{
			{
				ID: StepAPFWork, Adds: true,
				Query: func(b *build) parser.Expr {
					return sortDesc(pql.SumBy(b.by("flow_schema", "priority_level"), b.histSum("apiserver_flowcontrol_request_execution_seconds", b.Service)))
				},
				Probe:   histProbe("apiserver_flowcontrol_request_execution_seconds"),
				Reading: "Seconds of apiserver work per second, by API Priority and Fairness flow schema. The flow schema names a class of clients: `system-nodes` (kubelets), `kube-controller-manager`, `service-accounts` (workloads), `global-default`.",
			},
			{
				ID: StepClientErrors, Finder: true, Adds: true, Eventual: true,
				Query: func(b *build) parser.Expr {
					// The apiserver's own client calls (webhooks, aggregated APIs) are
					// its symptoms, not a client's: left out by its instances.
					return gt0(pql.SumBy(b.by("job", "code"), pql.UnlessOn(b.rate("rest_client_requests_total", b.Errors), pql.Vec(b.Counter, b.Service), b.by("job", "instance"))))
				},
				Reading: "Errors that clients saw, from their own metrics (kubelet, kube-controller-manager, kube-scheduler, and every other component you scrape). No rows: no scraped client sees errors.",
			},
		},
		After: "For the exact user and user agent, read the audit log, for example:\n\n" +
			"```sh\njq -r 'select(.responseStatus.code >= 500) | [.user.username, .userAgent, .verb, .objectRef.resource] | @tsv' audit.log | sort | uniq -c | sort -rn | head\n```\n\n" +
			"Slow requests also appear in the apiserver's log as traces with the user agent and client IP.",
		Fix: "throttle the client with a FlowSchema and a PriorityLevelConfiguration, or fix how it calls the API.",
	},
}

// Steps lists every step in page order.
var Steps = stepIDs()

func stepIDs() []Step {
	var out []Step
	for _, sec := range table {
		for _, st := range sec.Steps {
			out = append(out, st.ID)
		}
	}
	return out
}

// lookupIn returns table tbl's entry of step st, or nil.
func lookupIn(tbl []section, st Step) *step {
	for i := range tbl {
		for j := range tbl[i].Steps {
			if tbl[i].Steps[j].ID == st {
				return &tbl[i].Steps[j]
			}
		}
	}
	return nil
}

// Entry is a table's entry of one step, as burnrate diagnose reads it
// (Runbook.Entry).
type Entry struct{ s step }

// Finder reports whether the step's query returns nothing on a healthy
// service.
func (e Entry) Finder() bool { return e.s.Finder }

// Adds reports whether the step's rows are rates that add up.
func (e Entry) Adds() bool { return e.s.Adds }

// Eventual reports whether the metric the step reads may have no series
// until what it counts first happens.
func (e Entry) Eventual() bool { return e.s.Eventual }

// Outside reports whether the step finds failures the SLI does not count.
func (e Entry) Outside() bool { return e.s.Outside }

// Culprit says when diagnose names the step's first row as a culprit.
func (e Entry) Culprit() Culprit { return e.s.Culprit }

// Route is the step whose section the step's first row, row, leads to, by
// the step's routes in order; rows gives what other steps found. ok is
// false when the step has no route that matches.
func (e Entry) Route(row map[string]string, rows func(Step) []map[string]string) (to Step, ok bool) {
	for _, r := range e.s.Routes {
		if r.Match == nil || r.Match(row, rows) {
			return r.To, true
		}
	}
	return "", false
}

// The methods of Step read the kube-apiserver's table (the runbook of a
// spec without service, which the incident scenarios prove); a service's
// runbook answers the same through Runbook.Entry.

// entry is the kube-apiserver table's entry of step st.
func (st Step) entry() Entry {
	if s := lookupIn(table, st); s != nil {
		return Entry{*s}
	}
	return Entry{step{ID: st, Culprit: CulpritNever}}
}

// Known reports whether st is a step of the kube-apiserver's runbook.
func (st Step) Known() bool { return lookupIn(table, st) != nil }

// Finder reports whether the step's query returns nothing on a healthy
// cluster.
func (st Step) Finder() bool { return st.entry().Finder() }

// Adds reports whether the step's rows are rates that add up.
func (st Step) Adds() bool { return st.entry().Adds() }

// Eventual reports whether the metric the step reads may have no series
// until what it counts first happens.
func (st Step) Eventual() bool { return st.entry().Eventual() }

// Outside reports whether the step finds failures the SLI does not count.
func (st Step) Outside() bool { return st.entry().Outside() }

// Culprit says when diagnose names the step's first row as a culprit.
func (st Step) Culprit() Culprit { return st.entry().Culprit() }

// Route is Entry.Route of the kube-apiserver table's step st.
func (st Step) Route(row map[string]string, rows func(Step) []map[string]string) (to Step, ok bool) {
	return st.entry().Route(row, rows)
}
