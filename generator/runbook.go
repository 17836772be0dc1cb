package generator

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/incident"
	"github.com/burnrate/burnrate/slo"
)

// The runbook of the alert, in the prometheus-operator/runbooks page
// format, for the optimized profile. Every number and query on the page
// comes from the spec; the queries are built as PromQL syntax trees and
// parsed again before they are written (see format).

// RunbookPage is a rendered runbook.
type RunbookPage struct {
	// Path is the page's path in a runbooks tree: <component>/<Alert>.md.
	Path string
	// Markdown is the page.
	Markdown []byte
	// Window is the range the page's queries read (the long window of the
	// fastest window pair); the reader replaces it with the alert's window.
	Window time.Duration
	// Queries lists the page's drill-down queries in page order, each as it
	// appears in its ```promql block.
	Queries []RunbookQuery
}

// RunbookQuery is one drill-down query.
type RunbookQuery struct {
	Step   incident.Step
	PromQL string
	// Finder is true for a query that returns nothing on a healthy cluster.
	Finder bool
}

// Labels the drill-down queries read or set; the cluster and SLI labels must
// not be one of them, and the selector must not match on le or __name__.
var drilldownLabels = []string{
	"window", "term", "code", "verb", "group", "resource", "subresource", "instance", "le", "name", "reason",
	"component", "type", "operation", "error_type", "rejection_code", "flow_schema", "priority_level", "job",
}

// drill holds what the drill-down queries need.
type drill struct {
	*optSpec
	budget float64
	window time.Duration
}

// Runbook renders the runbook of spec s's alert.
func Runbook(s *slo.Spec) (*RunbookPage, error) {
	d, err := newDrill(s)
	if err != nil {
		return nil, err
	}
	queries, err := d.queries(d.window)
	if err != nil {
		return nil, err
	}
	md, err := d.markdown(queries)
	if err != nil {
		return nil, err
	}
	return &RunbookPage{
		Path:     s.Runbook.Component + "/" + s.Alert.Name + ".md",
		Markdown: md,
		Window:   d.window,
		Queries:  queries,
	}, nil
}

func newDrill(s *slo.Spec) (*drill, error) {
	if err := Check(s, ProfileOptimized); err != nil {
		return nil, err
	}
	o, err := newOptSpec(s)
	if err != nil {
		return nil, err
	}
	return &drill{optSpec: o, budget: errorBudget(s.Objective), window: time.Duration(s.Alert.Windows[0].Long)}, nil
}

// query is a drill-down query before formatting.
type query struct {
	step   incident.Step
	expr   parser.Expr
	finder bool
}

// queries builds every drill-down query over range w.
func (d *drill) queries(w time.Duration) ([]RunbookQuery, error) {
	cl := d.ClusterLabel
	by := func(ls ...string) []string { return append([]string{cl}, ls...) }
	rate := func(metric string, ms sel) parser.Expr { return call("rate", rng(vec(metric, ms), w)) }
	increase := func(metric string, ms sel) parser.Expr { return call("increase", rng(vec(metric, ms), w)) }
	api := d.api
	gt0 := func(e parser.Expr) parser.Expr { return bin(parser.GTR, e, num(0)) }
	p99 := func(e parser.Expr) parser.Expr { return call("histogram_quantile", num(0.99), e) }
	sortDesc := func(e parser.Expr) parser.Expr { return call("sort_desc", e) }
	reqs := mergeSels(d.req)
	lats := mergeSels(d.latency)
	// sliRate is the rate of metric over the requests of every SLI:
	// one selector when the SLIs' selectors differ in one matcher only,
	// else one rate per SLI joined with or.
	sliRate := func(metric string, sels []sel, extra ...*labels.Matcher) parser.Expr {
		var e parser.Expr
		for _, s := range sels {
			r := rate(metric, s.and(extra...))
			if e == nil {
				e = r
			} else {
				e = bin(parser.LOR, e, r)
			}
		}
		return e
	}
	part := d.Latency.PartitionLabel
	slowBy := by("verb")
	if part != "" {
		slowBy = append(slowBy, part)
	}
	slowBy = append(slowBy, "group", "resource")

	var qs []query
	add := func(step incident.Step, finder bool, e parser.Expr) {
		qs = append(qs, query{step, e, finder})
	}

	// Probe: which of the metrics the steps read are scraped.
	probe := &parser.VectorSelector{LabelMatchers: d.probeMatchers()}
	add(incident.StepProbe, false, &parser.AggregateExpr{Op: parser.COUNT, Expr: probe, Grouping: []string{labels.MetricName}})

	// Step 1: burn factor per SLI and window.
	var sli parser.Expr
	for _, win := range d.pairWindows() {
		e := labelSet(bin(parser.DIV, vec(d.base+":burnrate"+model.Duration(win).String(), nil), num(d.budget)), "window", model.Duration(win).String())
		if sli == nil {
			sli = e
		} else {
			sli = bin(parser.LOR, sli, e)
		}
	}
	add(incident.StepSLI, false, sli)

	// Step 2: the burn rate as a sum of terms, from the recorded rates.
	over := func(metric string) parser.Expr { return call("sum_over_time", rng(vec(metric, nil), w)) }
	errTerm := bin(parser.DIV, bin(parser.DIV, over(d.errors), over(d.events)), num(d.budget))
	slowTerm := bin(parser.DIV, &parser.BinaryExpr{
		Op: parser.DIV, LHS: over(d.slow), RHS: over(d.events),
		VectorMatching: &parser.VectorMatching{Card: parser.CardManyToOne, On: true, MatchingLabels: []string{cl, d.SLILabel}},
	}, num(d.budget))
	add(incident.StepTerms, false, bin(parser.LOR, labelSet(errTerm, "term", "errors"), labelSet(slowTerm, "term", "slow")))

	// Step 3: which requests fail.
	add(incident.StepErrors, false, sortDesc(sumBy(by("code", "verb", "group", "resource", "subresource"), sliRate(d.Requests.Metric, reqs, d.errs...))))

	// Step 4: which requests are slow, each at its SLI's threshold.
	var slow parser.Expr
	for i, s := range d.SLOs {
		for _, t := range s.Latency {
			ms := d.latency[i]
			if len(t.Partition) > 0 {
				ms = ms.and(oneOf(part, t.Partition))
			}
			e := paren(bin(parser.SUB, sumBy(slowBy, rate(d.count, ms)), sumBy(slowBy, rate(d.bucket, ms.and(le(t.Seconds))))))
			if slow == nil {
				slow = e
			} else {
				slow = bin(parser.LOR, slow, e)
			}
		}
	}
	add(incident.StepSlow, false, sortDesc(gt0(paren(slow))))

	// Step 5: one instance or all.
	add(incident.StepInstanceErrors, false, sortDesc(bin(parser.DIV,
		sumBy(by("instance"), sliRate(d.Requests.Metric, reqs, d.errs...)),
		sumBy(by("instance"), sliRate(d.Requests.Metric, reqs)))))
	add(incident.StepInstanceLatency, false, sortDesc(p99(sumBy(by("instance", "le"), sliRate(d.bucket, lats)))))

	// Step 6: aggregated APIs.
	add(incident.StepAPIServices, true, bin(parser.EQLC,
		&parser.AggregateExpr{Op: parser.MAX, Expr: vec("aggregator_unavailable_apiservice", api), Grouping: by("name")}, num(1)))
	add(incident.StepAPIServiceReasons, true, gt0(sumBy(by("name", "reason"), increase("aggregator_unavailable_apiservice_total", api))))
	add(incident.StepAggregatorTerminations, true, gt0(sumBy(by("code", "verb", "group", "resource"),
		rate("apiserver_request_terminations_total", api.and(eq("component", "aggregator"))))))

	// Step 7: admission webhooks.
	add(incident.StepWebhookErrors, true, gt0(sumBy(by("name", "type", "operation", "error_type", "rejection_code"),
		rate("apiserver_admission_webhook_rejection_count", api.and(labels.MustNewMatcher(labels.MatchNotEqual, "error_type", "no_error"))))))
	add(incident.StepWebhookLatency, false, sortDesc(p99(sumBy(by("name", "type", "le"),
		rate("apiserver_admission_webhook_admission_duration_seconds_bucket", api)))))

	// Step 8: etcd.
	add(incident.StepEtcdLatency, false, sortDesc(p99(sumBy(by("operation", "type", "group", "resource", "le"),
		rate("etcd_request_duration_seconds_bucket", api)))))

	// Step 9: LISTs and the watch cache.
	add(incident.StepListFetched, false, sortDesc(sumBy(by("resource"), rate("apiserver_storage_list_fetched_objects_total", api))))
	add(incident.StepListFiltered, false, sortDesc(bin(parser.SUB,
		sumBy(by("resource"), rate("apiserver_storage_list_evaluated_objects_total", api)),
		sumBy(by("resource"), rate("apiserver_storage_list_returned_objects_total", api)))))
	add(incident.StepWatchCache, true, gt0(sumBy(by("resource"), increase("apiserver_watch_cache_initializations_total", api))))

	// Step 10: timeouts and API Priority and Fairness.
	add(incident.StepTerminations, true, gt0(sumBy(by("component", "code", "verb", "group", "resource"),
		rate("apiserver_request_terminations_total", api))))
	add(incident.StepAPFRejections, true, gt0(sumBy(by("priority_level", "flow_schema", "reason"),
		rate("apiserver_flowcontrol_rejected_requests_total", api))))

	// Step 11: the client.
	add(incident.StepAPFWork, false, sortDesc(sumBy(by("flow_schema", "priority_level"),
		rate("apiserver_flowcontrol_request_execution_seconds_sum", api))))
	add(incident.StepClientErrors, true, gt0(sumBy(by("job", "code"), rate("rest_client_requests_total", d.errs))))

	out := make([]RunbookQuery, 0, len(qs))
	for _, q := range qs {
		text, err := format(q.expr)
		if err != nil {
			return nil, fmt.Errorf("runbook step %s: %w", q.step, err)
		}
		out = append(out, RunbookQuery{Step: q.step, PromQL: text, Finder: q.finder})
	}
	return out, nil
}

// probeMatchers selects the apiserver's series of every metric the steps
// read.
func (d *drill) probeMatchers() sel {
	var names []string
	for _, n := range []string{
		d.Requests.Metric, d.count, "aggregator_unavailable_apiservice", "apiserver_request_terminations_total",
		"apiserver_admission_webhook_rejection_count", "apiserver_admission_webhook_admission_duration_seconds_count",
		"etcd_request_duration_seconds_count", "apiserver_storage_list_fetched_objects_total",
		"apiserver_watch_cache_initializations_total", "apiserver_flowcontrol_rejected_requests_total",
		"apiserver_flowcontrol_request_execution_seconds_count",
	} {
		names = append(names, regexp.QuoteMeta(n))
	}
	return append(sel{re(labels.MetricName, strings.Join(names, "|"))}, d.api...)
}

// pairWindows lists the windows of the alert's pairs, long then short, in
// the spec's order, each once.
func (d *drill) pairWindows() []time.Duration {
	var out []time.Duration
	for _, w := range d.Spec.Windows() {
		out = append(out, time.Duration(w))
	}
	return out
}

// labelSet is label_replace(e, name, value, "", ""): it sets label name to
// value on every series.
func labelSet(e parser.Expr, name, value string) parser.Expr {
	str := func(s string) parser.Expr { return &parser.StringLiteral{Val: s} }
	return call("label_replace", e, str(name), str(value), str(""), str(""))
}

// mergeSels turns per-SLI selectors that differ in one regexp or equality
// matcher on the same label (the verb) into one selector with the
// alternatives joined; otherwise it returns them unchanged.
func mergeSels(ss []sel) []sel {
	if len(ss) < 2 {
		return ss
	}
	in := func(s sel, m *labels.Matcher) bool {
		return slices.ContainsFunc(s, func(x *labels.Matcher) bool { return x.String() == m.String() })
	}
	var name string
	var alts []string
	for _, s := range ss {
		var diff []*labels.Matcher
		for _, m := range s {
			common := true
			for _, o := range ss {
				if !in(o, m) {
					common = false
				}
			}
			if !common {
				diff = append(diff, m)
			}
		}
		if len(diff) != 1 || (name != "" && diff[0].Name != name) {
			return ss
		}
		m := diff[0]
		name = m.Name
		switch m.Type {
		case labels.MatchEqual:
			alts = append(alts, regexp.QuoteMeta(m.Value))
		case labels.MatchRegexp:
			alts = append(alts, m.Value)
		default:
			return ss
		}
	}
	var merged sel
	for _, m := range ss[0] {
		if m.Name == name {
			merged = append(merged, re(name, strings.Join(alts, "|")))
		} else {
			merged = append(merged, m)
		}
	}
	return []sel{merged}
}

// markdown writes the page.
func (d *drill) markdown(qs []RunbookQuery) ([]byte, error) {
	q := map[incident.Step]string{}
	for _, x := range qs {
		q[x.Step] = x.PromQL
	}
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	block := func(step incident.Step) { p("```promql\n%s\n```\n\n", q[step]) }
	win := model.Duration(d.window).String()
	cl := d.ClusterLabel
	pct := func(f float64) string { return strconv.FormatFloat(f*100, 'f', -1, 64) + "%" }
	first := d.Alert.Windows[0]

	p("---\ntitle: %s\nweight: 20\n---\n\n", splitCamel(d.Alert.Name))
	p("<!-- Generated by burnrate from the %s spec; do not edit. Regenerate with: burnrate generate -->\n\n", d.Name)
	p("# %s\n\n", d.Alert.Name)

	// Meaning.
	p("## Meaning\n\n")
	p("The kube-apiserver answers too many requests of one SLI badly. ")
	p("The `%s` label says which SLI: %s. ", d.SLILabel, d.sliNames())
	p("The `long` and `short` labels say which window pair fired, the `%s` label which cluster.\n\n", cl)
	p("The objective is %s good requests over %s. That leaves an error budget of %s of requests. A request is bad when:\n\n",
		pct(d.Objective), d.Period, pct(d.budget))
	p("- it fails: `%s`;\n", d.Requests.Errors)
	p("- or it is slower than its threshold:\n")
	for i, s := range d.SLOs {
		var parts []string
		for _, t := range s.Latency {
			th := strconv.FormatFloat(t.Seconds, 'f', -1, 64) + "s"
			if len(t.Partition) == 0 {
				parts = append(parts, th)
				continue
			}
			var vals []string
			for _, v := range t.Partition {
				if v == "" {
					vals = append(vals, "none")
				} else {
					vals = append(vals, v)
				}
			}
			parts = append(parts, fmt.Sprintf("%s for %s %s", th, d.Latency.PartitionLabel, strings.Join(vals, " or ")))
		}
		ms, err := d.SLOSelector(i)
		if err != nil {
			return nil, err
		}
		var sel []string
		for _, m := range ms {
			sel = append(sel, m.String())
		}
		p("  - `%s` (`%s`): %s.\n", s.Name, strings.Join(sel, ","), strings.Join(parts, "; "))
	}
	switch {
	case d.Latency.Selector != "" && d.Fixes.LatencySelectorEverywhere:
		p("\nRequests outside `%s` are not counted at all. ", d.Latency.Selector)
	case d.Latency.Selector != "":
		p("\nRequests outside `%s` are never slow, but their errors count. ", d.Latency.Selector)
	default:
		p("\n")
	}
	p("Time spent in admission webhooks and in the API Priority and Fairness queue does not count as slow. A rejected request (429) is not an error.\n\n")
	p("The burn rate is the share of bad requests divided by the budget: at burn rate 1 the budget lasts exactly %s. ", d.Period)
	p("The alert fires when both windows of a pair burn faster than the pair's factor, for the pair's `for`:\n\n")
	d.urgency(&b)

	// Impact.
	p("## Impact\n\n")
	p("Clients of the Kubernetes API get errors or wait. Controllers fall behind, pods start late, `kubectl` hangs or fails, and a failing write may leave work half done. ")
	p("If the burn goes on, the %s budget runs out in the time the table gives for the pair. After that the SLO is broken for the period.\n\n", d.Period)
	p("The cause is usually a dependency of the apiserver (etcd, a webhook, an aggregated API, one heavy client), not the apiserver's own CPU or memory. The steps below find which.\n\n")

	// Diagnosis.
	p("## Diagnosis\n\n")
	p("Run the queries in Prometheus or Grafana Explore, as an instant query. Each reads the last `%s`, the long window of the %s/%s pair. ", win, first.Long, first.Short)
	p("Replace `%s` with the alert's `long` label to see what burned the budget. Replace it with the `short` label to see what burns now. ", win)
	p("Add `%s=\"<cluster>\"` to a selector if Prometheus holds several clusters; every result carries `%s`.\n\n", cl, cl)
	p("The path through the steps:\n\n")
	p("1. [Step 0](#step-0-which-metrics-do-you-have): check which metrics you have.\n")
	p("2. [Step 1](#step-1-which-sli-burns-and-how-fast): which SLI burns, and how fast.\n")
	p("3. [Step 2](#step-2-errors-or-slowness): errors or slowness?\n")
	p("   - Errors: [Step 3](#step-3-which-requests-fail). Then by code and group:\n")
	p("     - 503 or 504 on an aggregated group (`metrics.k8s.io`, `projectcalico.org`, ...): [Step 6](#step-6-is-an-aggregated-api-down).\n")
	p("     - 500 on creates and updates: [Step 7](#step-7-is-an-admission-webhook-failing).\n")
	p("     - 504: [Step 10](#step-10-are-requests-timing-out-or-throttled).\n")
	p("     - 500 or 503 on every resource: [Step 5](#step-5-one-apiserver-or-all-of-them).\n")
	p("   - Slowness: [Step 4](#step-4-which-requests-are-slow). Then by scope:\n")
	p("     - slow GETs of single objects, or slow writes: [Step 8](#step-8-is-etcd-slow).\n")
	p("     - slow LISTs: [Step 9](#step-9-expensive-lists-or-a-broken-watch-cache).\n")
	p("4. [Step 5](#step-5-one-apiserver-or-all-of-them): one apiserver or all?\n")
	p("5. [Step 11](#step-11-which-client): which client causes it?\n\n")

	p("### Step 0: Which metrics do you have?\n\n")
	block(incident.StepProbe)
	p("This lists each metric the steps read, with its number of series. ")
	p("A missing histogram or gauge is not scraped: your scrape config drops it, and the step that needs it shows nothing. ")
	p("A missing `apiserver_request_terminations_total` or `apiserver_flowcontrol_rejected_requests_total` may just mean that nothing was terminated or rejected yet.\n\n")

	p("### Step 1: Which SLI burns, and how fast?\n\n")
	block(incident.StepSLI)
	p("Each row is the burn rate of one SLI (`%s`) over one window (`window`). Compare it with the factors in the table above. ", d.SLILabel)
	p("Short windows above long ones: it is getting worse. Short windows below: it is recovering.\n\n")
	p("**Next:** take the SLI with the highest burn to Step 2.\n\n")

	p("### Step 2: Errors or slowness?\n\n")
	block(incident.StepTerms)
	p("This splits the burn rate of each SLI into terms. `term=\"errors\"` is failed requests. `term=\"slow\"` is slow requests, one row per `%s` where the SLI has per-%s thresholds. ", d.Latency.PartitionLabel, d.Latency.PartitionLabel)
	p("The terms of an SLI add up to its burn rate in Step 1 (`%s:burnrate%s`).\n\n", d.base, win)
	p("**Next:** the biggest term. Errors: Step 3. Slow: Step 4.\n\n")

	p("### Step 3: Which requests fail?\n\n")
	block(incident.StepErrors)
	p("Failed requests per second, by code, verb, group, resource and subresource. No rows: there is no failure at all.\n\n")
	p("- **503 or 504 on an aggregated group** (one served by an APIService): the aggregated API is down or unreachable. Go to Step 6.\n")
	p("- **500 on creates and updates** of some resources: suspect an admission webhook with `failurePolicy: Fail`, or a CRD conversion webhook. Go to Step 7.\n")
	p("- **504 on one resource:** requests hit the timeout. Go to Step 10, then Step 8 or 9.\n")
	p("- **500 on every resource:** one apiserver or its etcd is broken. Go to Step 5.\n\n")

	p("### Step 4: Which requests are slow?\n\n")
	block(incident.StepSlow)
	p("Slow requests per second, each against its own threshold, by verb, %s, group and resource. Compare it with the request rate of the same rows. ", d.Latency.PartitionLabel)
	p("No rows: nothing is slow.\n\n")
	p("- **Slow GETs of single objects** (scope `resource`, for example leases) are quorum reads from etcd. Slow **writes** wait for etcd too. Go to Step 8.\n")
	p("- **Slow LISTs** of a big resource at scope `cluster` or `namespace`: expensive LISTs, or a watch cache that does not serve them. Go to Step 9.\n\n")

	p("### Step 5: One apiserver or all of them?\n\n")
	block(incident.StepInstanceErrors)
	p("The share of failed requests per apiserver instance. No rows: nothing fails.\n\n")
	block(incident.StepInstanceLatency)
	p("The 99th percentile latency per instance, in seconds.\n\n")
	p("One instance far above the others: that instance is the problem. Look at its node: the etcd member beside it, CPU, memory, disk, its network path to pods. ")
	p("All instances alike: the cause is shared (etcd, a webhook, an aggregated API, a client).\n\n")
	p("**Fix:** take the bad instance out of the load balancer, then repair or replace its node or etcd member.\n\n")

	p("### Step 6: Is an aggregated API down?\n\n")
	block(incident.StepAPIServices)
	p("Each row is an APIService the apiserver cannot reach. No rows: every aggregated API is available.\n\n")
	block(incident.StepAPIServiceReasons)
	p("Why it was marked unavailable. `FailedDiscoveryCheck` means the apiserver cannot reach the service's pods.\n\n")
	block(incident.StepAggregatorTerminations)
	p("Requests the aggregator could not proxy, by code and group. They fail for the clients even where the SLI does not count them.\n\n")
	p("Then run `kubectl get apiservices | grep -v True` and `kubectl describe apiservice <name>`. ")
	p("From a control-plane node, try the backing pod: `curl -k https://<pod-ip>:<port>/healthz`.\n\n")
	p("**Fix:** if the control plane cannot reach pod IPs, fix the network between them (the CNI overlay, a firewall, a NetworkPolicy, a control-plane node without the CNI agent). ")
	p("Or run the extension API server with `hostNetwork`. If its pods are down, restart or scale them. If the add-on was removed, delete its stale APIService. ")
	p("The same broken path also breaks webhooks served from pods: check Step 7.\n\n")

	p("### Step 7: Is an admission webhook failing?\n\n")
	block(incident.StepWebhookErrors)
	p("Webhook calls that failed, by webhook (`name`) and operation. `error_type=\"calling_webhook_error\"` means the webhook is unreachable or timed out. With `failurePolicy: Fail` each such call fails the request with a 500. No rows: no webhook fails.\n\n")
	block(incident.StepWebhookLatency)
	p("The 99th percentile time per webhook, in seconds. A value near the webhook's `timeoutSeconds` (10 by default) means it hangs.\n\n")
	p("**Fix:** repair or scale the webhook's backend. Narrow its `namespaceSelector` and `objectSelector` (leave out kube-system and the webhook's own namespace). ")
	p("Lower `timeoutSeconds`. Decide whether it may fail open (`failurePolicy: Ignore`). Delete a ValidatingWebhookConfiguration or MutatingWebhookConfiguration whose backend is gone.\n\n")

	p("### Step 8: Is etcd slow?\n\n")
	block(incident.StepEtcdLatency)
	p("The 99th percentile time of the apiserver's requests to etcd, per operation and resource, in seconds. Healthy: well under 0.1s for get, create and update. ")
	p("`etcdctl endpoint health` can pass while etcd is slow. On the etcd side, look at `etcd_disk_wal_fsync_duration_seconds` (p99 under 10ms) and `etcd_disk_backend_commit_duration_seconds` (p99 under 25ms). ")
	p("Slow lists of one resource: go to Step 9.\n\n")
	p("**Fix:** put etcd on dedicated SSD or NVMe disks, stop noisy neighbours on the control-plane disks, defragment etcd, fix the network between the members.\n\n")

	p("### Step 9: Expensive LISTs or a broken watch cache?\n\n")
	block(incident.StepListFetched)
	p("Objects read from etcd by LISTs, per second and resource. A big resource at the top is read from etcd again and again.\n\n")
	block(incident.StepListFiltered)
	p("Objects read and then thrown away by label or field selectors, per second. A high value means clients LIST a whole resource from etcd to get a few objects, for example `pods?fieldSelector=spec.nodeName=<node>` from a per-node agent.\n\n")
	block(incident.StepWatchCache)
	p("Watch caches that were re-initialized. No rows: the watch caches are stable. A re-initialized cache makes every client LIST again.\n\n")
	p("**Fix:** find the client (Step 11). It should use an informer, or LIST with `resourceVersion=\"0\"` so the watch cache answers, and paginate. Slow its relists down. Cap it with a FlowSchema.\n\n")

	p("### Step 10: Are requests timing out or throttled?\n\n")
	block(incident.StepTerminations)
	p("Requests the apiserver cut short, by component and code. `component=\"apiserver\"`, `code=\"504\"`: the request timed out (60s by default); the group and resource say where it waited. `component=\"aggregator\"`: see Step 6. No rows: nothing was cut short.\n\n")
	block(incident.StepAPFRejections)
	p("Requests that API Priority and Fairness rejected (429). They do not burn this budget, but they show which flow is overloaded. No rows: nothing is rejected.\n\n")
	p("**Fix:** a timeout points at the slow dependency: Step 8 for etcd, Step 9 for LISTs, Step 7 for webhooks. For rejections, find the flow's clients (Step 11) and slow them down, or give the priority level more seats.\n\n")

	p("### Step 11: Which client?\n\n")
	p("The apiserver's metrics do not name the client. Two queries come close:\n\n")
	block(incident.StepAPFWork)
	p("Seconds of apiserver work per second, by API Priority and Fairness flow schema. The flow schema names a class of clients: `system-nodes` (kubelets), `kube-controller-manager`, `service-accounts` (workloads), `global-default`.\n\n")
	block(incident.StepClientErrors)
	p("Errors that clients saw, from their own metrics (kubelet, kube-controller-manager, kube-scheduler, and every other component you scrape). No rows: no scraped client sees errors.\n\n")
	p("For the exact user and user agent, read the audit log, for example:\n\n")
	p("```sh\njq -r 'select(.responseStatus.code >= 500) | [.user.username, .userAgent, .verb, .objectRef.resource] | @tsv' audit.log | sort | uniq -c | sort -rn | head\n```\n\n")
	p("Slow requests also appear in the apiserver's log as traces with the user agent and client IP.\n\n")
	p("**Fix:** throttle the client with a FlowSchema and a PriorityLevelConfiguration, or fix how it calls the API.\n\n")

	// Mitigation.
	p("## Mitigation\n\n")
	p("Fix the cause the diagnosis found:\n\n")
	p("| finding | do this |\n| --- | --- |\n")
	p("| an APIService is unavailable (Step 6) | restore the network path from the control plane to its pods, or restart its pods, or delete a stale APIService |\n")
	p("| a webhook fails or hangs (Step 7) | repair or scale its backend; narrow its selectors; lower `timeoutSeconds`; remove an orphaned webhook configuration |\n")
	p("| etcd is slow (Step 8) | fast dedicated disks for etcd; defragment; fix the network between members |\n")
	p("| expensive LISTs or watch-cache churn (Step 9) | make the client use informers or `resourceVersion=\"0\"` and paginate; cap it with a FlowSchema |\n")
	p("| one apiserver instance (Step 5) | take it out of the load balancer; repair its node or etcd member |\n")
	p("| timeouts or throttling (Step 10) | fix the slow dependency; give the overloaded priority level more seats, or slow its clients |\n\n")
	p("The alert resolves when the short window is clean again: about %s after the fix for the %s/%s pair. ", first.Short, first.Long, first.Short)
	p("The long window stays high for longer; that is expected. ")
	p("The error budget left for the period is `%s:error_budget_remaining%s` (1 is untouched, 0 is spent).\n", d.base, d.Period)
	return b.Bytes(), nil
}

func (d *drill) sliNames() string {
	var names []string
	for _, s := range d.SLOs {
		names = append(names, "`"+s.Name+"`")
	}
	return strings.Join(names, " or ")
}

// urgency writes the table of window pairs: when each fires, how much
// budget it has spent by then, how soon the budget is gone at that burn,
// and how long it takes to fire at a few error ratios.
func (d *drill) urgency(b *bytes.Buffer) {
	period := time.Duration(d.Period)
	ratios := []float64{1}
	for _, r := range []float64{10 * d.budget, 2 * d.budget} {
		if r < 1 && !slices.Contains(ratios, r) {
			ratios = append(ratios, r)
		}
	}
	pct := func(f float64) string { return strconv.FormatFloat(roundTo(f*100, 2), 'f', -1, 64) + "%" }
	fmt.Fprintf(b, "| long / short | severity | fires at burn rate | bad requests | for | budget spent when it fires | budget gone at that rate in |")
	for _, r := range ratios {
		fmt.Fprintf(b, " fires after, at %s bad |", pct(r))
	}
	b.WriteString("\n| --- | --- | --- | --- | --- | --- | --- |")
	for range ratios {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, w := range d.Alert.Windows {
		threshold := w.Factor * d.budget
		long := time.Duration(w.Long)
		fmt.Fprintf(b, "| %s / %s | %s | %s | %s | %s | %s | %s |", w.Long, w.Short, w.Severity,
			strconv.FormatFloat(w.Factor, 'f', -1, 64), pct(threshold), w.For,
			pct(w.Factor*float64(long)/float64(period)), humanDuration(time.Duration(float64(period)/w.Factor)))
		for _, r := range ratios {
			if r <= threshold {
				b.WriteString(" never |")
				continue
			}
			fmt.Fprintf(b, " %s |", humanDuration(time.Duration(float64(long)*threshold/r)+time.Duration(w.For)))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "\n\"Fires after\" assumes the bad share starts from a clean long window and stays steady; it includes `for`. ")
	fmt.Fprintf(b, "Page-severity pairs fire when the budget would be gone in days; the slow pairs catch a steady leak.\n\n")
}

// humanDuration prints d rounded to the minute: 9m, 2h 10m, 2d 2h.
func humanDuration(d time.Duration) string {
	m := int(math.Round(d.Minutes()))
	if m < 1 {
		m = 1
	}
	switch {
	case m < 60:
		return fmt.Sprintf("%dm", m)
	case m < 24*60:
		if m%60 == 0 {
			return fmt.Sprintf("%dh", m/60)
		}
		return fmt.Sprintf("%dh %dm", m/60, m%60)
	default:
		h := int(math.Round(float64(m) / 60))
		if h%24 == 0 {
			return fmt.Sprintf("%dd", h/24)
		}
		return fmt.Sprintf("%dd %dh", h/24, h%24)
	}
}

// splitCamel turns KubeAPIErrorBudgetBurn into Kube API Error Budget Burn.
func splitCamel(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) && (unicode.IsLower(r[i-1]) || (i+1 < len(r) && unicode.IsLower(r[i+1]) && unicode.IsUpper(r[i-1]))) {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}
