package slo

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestRefusals edits the default spec and expects exactly the errors given,
// each at the line of the text in at, worded as the user reads them.
func TestRefusals(t *testing.T) {
	base := string(DefaultYAML())
	type want struct{ at, msg string } // at: text on the error's line; "" for no line
	tests := []struct {
		name  string
		edits []string // old, new, old, new…
		text  string   // the whole spec instead of edits
		want  []want
	}{
		{
			name:  "factor that can never fire",
			edits: []string{"factor: 14.4", "factor: 2000"},
			want:  []want{{"factor: 2000", "alert.windows[0].factor: 2000 times the error budget (1% at objective 0.99) is an error ratio of 2000%, which no service can exceed, so the alert can never fire; use a factor below 100"}},
		},
		{
			name:  "factor at exactly the whole budget",
			edits: []string{"objective: 0.99", "objective: 0.9", "factor: 14.4", "factor: 5", "factor: 6,", "factor: 10,"},
			want:  []want{{"factor: 10,", "alert.windows[1].factor: 10 times the error budget (10% at objective 0.9) is an error ratio of 100%, which no service can exceed, so the alert can never fire; use a factor below 10"}},
		},
		{
			name:  "long window longer than the period",
			edits: []string{"long: 3d,", "long: 60d,"},
			want:  []want{{"long: 60d", "alert.windows[3].long: the long window 60d is longer than the SLO period 30d; the budget is measured over the period, so make the window 30d or shorter"}},
		},
		{
			name:  "both windows longer than the period",
			edits: []string{"{long: 3d, short: 6h,", "{long: 90d, short: 60d,"},
			want: []want{
				{"long: 90d", "alert.windows[3].long: the long window 90d is longer than the SLO period 30d; the budget is measured over the period, so make the window 30d or shorter"},
				{"long: 90d", "alert.windows[3].short: the short window 60d is longer than the SLO period 30d; the budget is measured over the period, so make the window 30d or shorter"},
			},
		},
		{
			name:  "output name that is no Kubernetes object name",
			edits: []string{"baseWindow: 5m", "baseWindow: 5m\noutput:\n  name: Burnrate_Rules"},
			want:  []want{{"name: Burnrate_Rules", `output.name: "Burnrate_Rules" is not a Kubernetes object name: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`}},
		},
		{
			name:  "output label value with a space, and a Thanos strategy that does not exist",
			edits: []string{"baseWindow: 5m", "baseWindow: 5m\noutput:\n  labels:\n    release: my release\n  partialResponseStrategy: ignore"},
			want: []want{
				{"release: my release", `output.labels.release: "my release": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`},
				{"partialResponseStrategy: ignore", `output.partialResponseStrategy: "ignore" is not a Thanos partial response strategy; write one of warn, abort`},
			},
		},
		{
			name:  "output labels as a list",
			edits: []string{"baseWindow: 5m", "baseWindow: 5m\noutput:\n  labels: [release]"},
			want:  []want{{"labels: [release]", "output.labels: expected a mapping of names to strings, such as {release: monitoring}, got a list"}},
		},
		{
			name:  "negative minRequests",
			edits: []string{"    - {long: 3d, short: 6h, factor: 1, severity: warning, for: 3h}\n", "    - {long: 3d, short: 6h, factor: 1, severity: warning, for: 3h}\n  minRequests: -5\n"},
			want:  []want{{"minRequests:", "alert.minRequests: -5: want a whole number of requests from 0 (no guard, the same as leaving it out) to 1000000000000, the least a pair's short window must hold before the pair may fire, e.g. minRequests: 100"}},
		},
		{
			name:  "minRequests that is no whole number",
			edits: []string{"    - {long: 3d, short: 6h, factor: 1, severity: warning, for: 3h}\n", "    - {long: 3d, short: 6h, factor: 1, severity: warning, for: 3h}\n  minRequests: 2.5\n"},
			want:  []want{{"minRequests:", "alert.minRequests: 2.5: want a whole number of requests from 0 (no guard, the same as leaving it out) to 1000000000000, the least a pair's short window must hold before the pair may fire, e.g. minRequests: 100"}},
		},
		{
			name:  "minRequests that is no number",
			edits: []string{"    - {long: 3d, short: 6h, factor: 1, severity: warning, for: 3h}\n", "    - {long: 3d, short: 6h, factor: 1, severity: warning, for: 3h}\n  minRequests: many\n"},
			want:  []want{{"minRequests:", `alert.minRequests: expected a number such as 100, got "many"`}},
		},
		{
			name:  "SLI label reserved by Prometheus",
			edits: []string{"sliLabel: verb", "sliLabel: __name__"},
			want:  []want{{"sliLabel:", `sliLabel: "__name__": label names beginning with __ are reserved for Prometheus's own use; choose another name`}},
		},
		{
			name:  "cluster label le",
			edits: []string{"clusterLabel: cluster", "clusterLabel: le"},
			want:  []want{{"clusterLabel:", `clusterLabel: "le" is the histogram's bucket label, which the rules keep as it is; choose another name`}},
		},
		{
			name:  "SLI label that is the cluster label",
			edits: []string{"sliLabel: verb", "sliLabel: cluster"},
			want:  []want{{"sliLabel:", `sliLabel: "cluster" is also the clusterLabel; the SLI's name would replace the cluster's in every recorded series, so choose another label, e.g. verb`}},
		},
		{
			name:  "partition label that is the SLI label",
			edits: []string{"partitionLabel: scope", "partitionLabel: verb"},
			want:  []want{{"partitionLabel:", `latency.partitionLabel: "verb" is also the sliLabel; the rules aggregate by both, so the partition label must be another label of the histogram, e.g. scope`}},
		},
		{
			name:  "second document",
			edits: []string{"KubeAPIErrorBudgetBurn.md\n", "KubeAPIErrorBudgetBurn.md\n---\nname: other\n"},
			want:  []want{{"name: other", "a second YAML document; a spec file holds one spec: move this one into a file of its own and pass both files, or delete it"}},
		},
		{
			name:  "threshold with floating-point noise",
			edits: []string{"      - seconds: 1\n", "      - seconds: 0.30000000000000004\n"},
			want:  []want{{"seconds: 0.3", "slos[1].latency[0].seconds: 0.30000000000000004 looks like floating-point noise; write 0.3"}},
		},
		{
			name:  "objective with floating-point noise",
			edits: []string{"objective: 0.99", "objective: 0.9900000000000001"},
			want:  []want{{"objective:", "objective: 0.9900000000000001 looks like floating-point noise; write 0.99"}},
		},
		{
			name:  "factor with floating-point noise",
			edits: []string{"factor: 14.4", "factor: 14.399999999999999"},
			want:  []want{{"factor: 14.3", "alert.windows[0].factor: 14.399999999999999 looks like floating-point noise; write 14.4"}},
		},
		{
			name:  "objective in percent",
			edits: []string{"objective: 0.99", "objective: 99.9"},
			want:  []want{{"objective:", "objective: 99.9 is outside (0, 1): an objective is a fraction strictly between 0 and 1, the share of good events; write 0.999 for 99.9%"}},
		},
		{
			name:  "objective above 1, not a percentage",
			edits: []string{"objective: 0.99", "objective: 1.2"},
			want:  []want{{"objective:", "objective: 1.2 is outside (0, 1): an objective is a fraction strictly between 0 and 1, the share of good events; write e.g. 0.99 for 99%"}},
		},
		{
			name:  "objective of 1",
			edits: []string{"objective: 0.99", "objective: 1"},
			want:  []want{{"objective:", "objective: 1 is outside (0, 1): an objective is a fraction strictly between 0 and 1, the share of good events, and at 1 no error budget is left to burn; write e.g. 0.999 for 99.9%"}},
		},
		{
			name:  "a tab that indents",
			edits: []string{"  metric: apiserver_request_total", "\tmetric: apiserver_request_total"},
			want:  []want{{"metric: apiserver_request_total", "invalid YAML: found character that cannot start any token; this line is indented with a tab, and YAML indents with spaces only: replace the tab with spaces"}},
		},
		{
			name:  "a metric name with dashes",
			edits: []string{"metric: apiserver_request_total", "metric: apiserver-request-total"},
			want:  []want{{"metric: apiserver-request", `requests.metric: "apiserver-request-total" is not a metric name: a metric name holds letters, digits, underscores and colons, and does not begin with a digit; write apiserver_request_total`}},
		},
		{
			name:  "a verb that is none",
			edits: []string{"  latencySelectorEverywhere: true", "  latencySelectorEverywhere: true\n  extraVerbs: {write: ['APPLY|PATCH']}"},
			want:  []want{{"extraVerbs:", `fixes.extraVerbs.write: "APPLY|PATCH" is not a verb the kube-apiserver records; write one verb per list item, each one of APPLY, CONNECT, CREATE, DELETE, DELETECOLLECTION, GET, LIST, PATCH, POST, PROXY, PUT, UPDATE, WATCH, WATCHLIST, e.g. [APPLY, DELETECOLLECTION]`}},
		},
		{
			name:  "verbs written as mappings, each once",
			edits: []string{"  latencySelectorEverywhere: true", "  latencySelectorEverywhere: true\n  extraVerbs: {write: &v [{verb: APPLY}, {verb: PATCH}], read: *v}"},
			want: []want{
				{"extraVerbs:", "fixes.extraVerbs.write[0]: expected a verb such as APPLY, got a mapping"},
				{"extraVerbs:", "fixes.extraVerbs.write[1]: expected a verb such as APPLY, got a mapping"},
			},
		},
		{
			name:  "verbs not in a list",
			edits: []string{"  latencySelectorEverywhere: true", "  latencySelectorEverywhere: true\n  extraVerbs:\n    write: APPLY"},
			want:  []want{{"write: APPLY", `fixes.extraVerbs.write: expected a list of verbs such as [APPLY, DELETECOLLECTION], got "APPLY"`}},
		},
		{
			name:  "objective as a percent string",
			edits: []string{"objective: 0.99", `objective: "99.9%"`},
			want:  []want{{"objective:", `objective: expected a number such as 0.999, got "99.9%"; write the ratio: 0.999 for 99.9%`}},
		},
		{
			name:  "objective as a list",
			edits: []string{"objective: 0.99", "objective: [1]"},
			want:  []want{{"objective:", "objective: expected a number such as 0.999, got a list"}},
		},
		{
			name: "a list at the top level",
			text: "- name: kube-apiserver\n- slos: []\n",
			want: []want{{"- name", "the spec must be a mapping of fields such as name, selector, slos; got a list"}},
		},
		{
			name: "a string at the top level",
			text: "kube-apiserver\n",
			want: []want{{"kube-apiserver", `the spec must be a mapping of fields such as name, selector, slos; got "kube-apiserver"`}},
		},
		{
			name: "a local tag on the spec",
			text: "\n\n\n!0",
			want: []want{{"!0", "the YAML tag !0 is not supported; remove it (the spec must be a mapping of fields such as name, selector, slos)"}},
		},
		{
			name: "a local tag with a tab",
			text: "!%09",
			want: []want{{"!", `the YAML tag "!\t" is not supported; remove it (the spec must be a mapping of fields such as name, selector, slos)`}},
		},
		{
			name:  "a local tag on a duration",
			edits: []string{"period: 30d", "period: !days 30"},
			want:  []want{{"period:", "period: the YAML tag !days is not supported; remove it and write a Prometheus duration such as 5m, 1h or 30d"}},
		},
		{
			name:  "a local tag on a list",
			edits: []string{"partition: [namespace]", "partition: !include ns.yaml"},
			want:  []want{{"partition: !include", "slos[0].latency[1].partition: the YAML tag !include is not supported; remove it and write a list of strings such as [resource, namespace]"}},
		},
		{
			name:  "a mapping where a list belongs",
			edits: []string{"partition: [namespace]", "partition: {namespace: true}"},
			want:  []want{{"partition: {", "slos[0].latency[1].partition: expected a list of strings such as [resource, namespace], got a mapping"}},
		},
		{
			name: "a mapping where the SLO list belongs",
			text: "name: x\nslos:\n  read:\n    selector: 'verb=\"GET\"'\n",
			want: []want{{"slos:", "slos: expected a list of SLOs, each with the fields name, selector and latency, got a mapping"}},
		},
		{
			name:  "a string where a mapping belongs",
			edits: []string{"requests:\n  metric: apiserver_request_total\n  errors: 'code=~\"5..\"'\n", "requests: apiserver_request_total\n"},
			want:  []want{{"requests:", `requests: expected a mapping with the fields metric and errors, got "apiserver_request_total"`}},
		},
		{
			name:  "a word where true or false belongs",
			edits: []string{"showMultiCluster: false", "showMultiCluster: maybe"},
			want:  []want{{"showMultiCluster", `showMultiCluster: expected true or false, got "maybe"`}},
		},
		{
			name:  "a list where a duration belongs",
			edits: []string{"{long: 6h,", "{long: [6h],"},
			want:  []want{{"long: [6h]", "alert.windows[1].long: expected a Prometheus duration such as 5m, 1h or 30d, got a list"}},
		},
		{
			name:  "a duration without a unit",
			edits: []string{"period: 30d", "period: 30"},
			want:  []want{{"period:", `period: "30" is not a Prometheus duration; use a number and a unit: 5m, 1h, 3d`}},
		},
		{
			name:  "a long value cut short by yaml",
			edits: []string{"objective: 0.99", "objective: ninety-nine percent"},
			want:  []want{{"objective:", `objective: expected a number such as 0.999, got "ninety-nine percent"`}},
		},
		{
			name:  "unclosed template in the description",
			edits: []string{"  description: The Kube API server is burning too much error budget.", "  description: 'Burning on {{ $labels.cluster'"},
			want:  []want{{"description:", `alert.description: does not parse as a Prometheus alert template (unclosed action); close every {{ with }}, or write {{ "{{" }} for literal braces`}},
		},
		{
			name:  "unknown function in the summary",
			edits: []string{"  summary: The Kube API server is burning too much error budget.", "  summary: '{{ $value | percent }}'"},
			want:  []want{{"summary:", `alert.summary: does not parse as a Prometheus alert template (function "percent" not defined); use Prometheus's template functions, e.g. {{ $value | humanizePercentage }}, and the variables $labels, $externalLabels, $externalURL and $value`}},
		},
		{
			name:  "unknown variable in the description",
			edits: []string{"  description: The Kube API server is burning too much error budget.", "  description: '{{ $label.cluster }}'"},
			want:  []want{{"description:", `alert.description: does not parse as a Prometheus alert template (undefined variable "$label"); use Prometheus's template functions, e.g. {{ $value | humanizePercentage }}, and the variables $labels, $externalLabels, $externalURL and $value`}},
		},
		{
			name:  "template in a severity",
			edits: []string{"severity: warning, for: 1h", "severity: '{{ $labels.x', for: 1h"},
			want:  []want{{"severity: '{{", `alert.windows[2].severity: does not parse as a Prometheus alert template (unclosed action); close every {{ with }}, or write {{ "{{" }} for literal braces`}},
		},
		{
			name:  "errors matcher that matches every value",
			edits: []string{`errors: 'code=~"5.."'`, `errors: 'code=~".*"'`},
			want:  []want{{"errors:", `requests.errors: "code=~\".*\"": the generated tests need a value of code that the matcher matches (a failed request) and one it does not (a successful one); they try 500, 503, 504, 502 and the matcher's alternatives for the first, 200, 201, 204, 404, OK, ok, success for the second. Write the matcher so that one of them fits, e.g. code=~"5.."`}},
		},
		{
			name:  "errors matcher on the metric name",
			edits: []string{`errors: 'code=~"5.."'`, `errors: '__name__="x"'`},
			want:  []want{{"errors:", `requests.errors: "__name__=\"x\"": the errors matcher must be on a label of the request counter, not on __name__`}},
		},
		{
			name:  "errors matcher with two matchers",
			edits: []string{`errors: 'code=~"5.."'`, `errors: 'code=~"5..", code!="501"'`},
			want:  []want{{"errors:", `requests.errors: "code=~\"5..\", code!=\"501\"": want one matcher, on the label that tells failed requests apart, e.g. code=~"5.." or grpc_code=~"Unavailable|Internal"; fold several conditions into one regular expression`}},
		},
		{
			name:  "unknown SLO kind",
			edits: []string{"  - name: write\n", "  - name: write\n    kind: availability\n"},
			want:  []want{{"kind: availability", `slos[1].kind: "availability" is not an SLO kind; want one of errors, latency, errors-and-latency, raw`}},
		},
		{
			name:  "unknown histogram form",
			edits: []string{"  partitionLabel: scope\n", "  partitionLabel: scope\n  form: exponential\n"},
			want:  []want{{"form: exponential", `latency.form: "exponential" is not a histogram form; write one of classic, native, nhcb (classic: _bucket and _count series; native: exponential native histograms; nhcb: native histograms with custom buckets)`}},
		},
		{
			name:  "histogram form that is not a string",
			edits: []string{"  partitionLabel: scope\n", "  partitionLabel: scope\n  form: [native]\n"},
			want:  []want{{"form: [native]", `latency.form: expected one of classic, native, nhcb, got a list`}},
		},
		{
			name: "raw queries without the window placeholder, not parsing, or not a vector",
			text: rawSpec(`sum(rate(http_requests_total{code=~"5.."}[5m]))`, `sum(rate(http_requests_total[{{.window}}])`) +
				"  - name: b\n    kind: raw\n    raw: {errors: 'rate(x[{{ .window }}])', total: 'x[{{.window}}]'}\n",
			want: []want{
				{"errors: 'sum(rate", `slos[0].raw.errors: "sum(rate(http_requests_total{code=~\"5..\"}[5m]))" has no window placeholder; write {{.window}} where the range goes, e.g. sum(rate(http_requests_total{job="api",code=~"5.."}[{{.window}}]))`},
				{"total: 'sum(rate", "slos[0].raw.total: does not parse as PromQL with {{.window}} replaced by 5m: 1:34: parse error: unclosed left parenthesis"},
				{"total: 'x[", `slos[1].raw.total: gives a range vector; the query must give an instant vector of events per second, e.g. sum(rate(http_requests_total{job="api"}[{{.window}}]))`},
			},
		},
		{
			name: "raw kind with a selector; raw queries on another kind",
			text: strings.Replace(rawSpec(`rate(x{code="500"}[{{.window}}])`, `rate(x[{{.window}}])`), "    kind: raw\n", "    kind: raw\n    selector: 'job=\"a\"'\n", 1) +
				"  - name: b\n    raw: {errors: 'rate(x[{{.window}}])', total: 'rate(x[{{.window}}])'}\n    kind: errors\nselector: 'job=\"b\"'\nrequests: {metric: x, errors: 'code=~\"5..\"'}\n",
			want: []want{
				{"selector: 'job=\"a\"'", "slos[0].selector: a raw SLO's queries select their own series; write the matchers into raw.errors and raw.total and remove selector"},
				{"raw: {errors: 'rate(x", "slos[1].raw: kind errors reads no raw queries; remove raw or write kind: raw"},
			},
		},
		{
			name:  "errors kind with thresholds",
			edits: []string{"  - name: write\n", "  - name: write\n    kind: errors\n", "PATCH|DELETE\"'\n    latency:\n", "PATCH|DELETE\"'\n    latency: # write\n"},
			want:  []want{{"latency: # write", "slos[1].latency: kind errors counts no slow requests; remove the thresholds or write kind: errors-and-latency"}},
		},
		{
			name:  "an SLO's own objective without a service",
			edits: []string{"  - name: write\n", "  - name: write\n    objective: 0.999\n"},
			want:  []want{{"objective: 0.999", "slos[1].objective: an SLO's own objective needs service (alerts per SLO, each with its own threshold); set service, or use the spec's objective"}},
		},
		{
			name:  "serviceLabel that is the clusterLabel",
			edits: []string{"name: kube-apiserver\n", "name: kube-apiserver\nservice: api\nserviceLabel: cluster\n"},
			want:  []want{{"serviceLabel:", `serviceLabel: "cluster" is also the clusterLabel; the service's name and the clusterLabel would overwrite each other in every recorded series, so choose another label, e.g. service`}},
		},
		{
			name:  "drilldown without a service",
			edits: []string{"name: kube-apiserver\n", "name: kube-apiserver\ndrilldown: [handler]\n"},
			want:  []want{{"drilldown:", "drilldown: drilldown needs service: a spec without one gets the kube-apiserver's runbook, whose drill-down is fixed; remove drilldown or set service"}},
		},
		{
			name:  "drilldown labels repeated, reserved, the bucket label or an identity label",
			edits: []string{"name: kube-apiserver\n", "name: kube-apiserver\nservice: api\ndrilldown:\n  - handler\n  - handler # again\n  - __name__\n  - le\n  - service\n  - cluster\n  - 1x\n"},
			want: []want{
				{"handler # again", `drilldown[1]: "handler" is already drilldown[0]; list each label once`},
				{"  - __name__", `drilldown[2]: "__name__": label names beginning with __ are reserved for Prometheus's own use; choose another name`},
				{"  - le", `drilldown[3]: "le" is the histogram's bucket label, which the rules keep as it is; choose another name`},
				{"  - service", `drilldown[4]: "service" is the serviceLabel, which every drill-down row carries already; list the labels of the service's own series, e.g. handler`},
				{"  - cluster", `drilldown[5]: "cluster" is the clusterLabel, which every drill-down row carries already; list the labels of the service's own series, e.g. handler`},
				{"  - 1x", `drilldown[6]: "1x" is not a label name; want letters, digits and underscores, e.g. cluster`},
			},
		},
		{
			name:  "serviceLabel without service",
			edits: []string{"name: kube-apiserver\n", "name: kube-apiserver\nserviceLabel: svc\n"},
			want:  []want{{"serviceLabel:", "serviceLabel: set service too: serviceLabel names the label that carries the service's name"}},
		},
		{
			name:  "a service's counter without service",
			edits: []string{"metric: apiserver_request_total", "metric: http_requests_total", "metric: apiserver_request_sli_duration_seconds", "metric: http_request_duration_seconds"},
			want:  []want{{"metric: http_requests_total", `requests.metric: a spec without service is rendered as the kube-apiserver (the mixin's record names, the apiserver's runbook of etcd, webhooks and aggregated APIs), but http_requests_total is not the kube-apiserver's request counter, apiserver_request_total; add the line "service: kube-apiserver" to give this service records, alerts and a runbook of its own`}},
		},
		{
			name:  "a service's histogram without service",
			edits: []string{"name: kube-apiserver", "name: search", "metric: apiserver_request_sli_duration_seconds", "metric: http_request_duration_seconds"},
			want:  []want{{"metric: http_request_duration", `latency.metric: a spec without service is rendered as the kube-apiserver (the mixin's record names, the apiserver's runbook of etcd, webhooks and aggregated APIs), but http_request_duration_seconds is not one of the kube-apiserver's latency histograms, apiserver_request_sli_duration_seconds, apiserver_request_slo_duration_seconds, apiserver_request_duration_seconds; add the line "service: search" to give this service records, alerts and a runbook of its own`}},
		},
		{
			name: "an errors-only spec of another service without service",
			text: "name: checkout\nselector: 'job=\"checkout\"'\nclusterLabel: cluster\nsliLabel: slo\nobjective: 0.99\nperiod: 30d\n" +
				"requests:\n  metric: http_requests_total\n  errors: 'code=~\"5..\"'\nslos:\n  - name: availability\n    selector: 'handler!=\"/healthz\"'\n" +
				"alert: {name: CheckoutBurn, summary: s, description: d, runbookURLPattern: 'https://x/%s', windows: [{long: 1h, short: 5m, factor: 14.4, severity: critical, for: 2m}]}\n",
			want: []want{{"metric: http_requests_total", `requests.metric: a spec without service is rendered as the kube-apiserver (the mixin's record names, the apiserver's runbook of etcd, webhooks and aggregated APIs), but http_requests_total is not the kube-apiserver's request counter, apiserver_request_total; add the line "service: checkout" to give this service records, alerts and a runbook of its own`}},
		},
		{
			name:  "description too long",
			edits: []string{"  description: The Kube API server is burning too much error budget.", "  description: " + strings.Repeat("x", MaxValueBytes+1)},
			want:  []want{{"description:", "alert.description: the value is 4097 bytes long, more than the limit of 4096; shorten it (link to longer text from the runbook instead)"}},
		},
		{
			name:  "too many SLOs",
			edits: []string{"slos:\n", "slos:\n" + manySLOs(MaxSLOs-1)},
			want:  []want{{"slos:", "slos: 1001 SLOs, more than the limit of 1000; split the spec into several files"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := tc.text
			if text == "" {
				text = base
				for i := 0; i+1 < len(tc.edits); i += 2 {
					if !strings.Contains(text, tc.edits[i]) {
						t.Fatalf("spec has no %q", tc.edits[i])
					}
					text = strings.Replace(text, tc.edits[i], tc.edits[i+1], 1)
				}
			}
			_, err := Parse("bad.yaml", []byte(text))
			if err == nil {
				t.Fatal("Parse accepted the spec")
			}
			var wantLines []string
			for _, w := range tc.want {
				wantLines = append(wantLines, fmt.Sprintf("bad.yaml:%d: %s", lineWith(t, text, w.at), w.msg))
			}
			if got := err.Error(); got != strings.Join(wantLines, "\n") {
				t.Errorf("got  %s\nwant %s", got, strings.Join(wantLines, "\n"))
			}
		})
	}
}

// TestOversizedSpecFile loads a spec file of 10 MB (a 10 MB description)
// and expects a quick refusal that reads no more than the limit.
func TestOversizedSpecFile(t *testing.T) {
	desc := "  description: The Kube API server is burning too much error budget."
	text := strings.Replace(string(DefaultYAML()), desc, "  description: "+strings.Repeat("x", 10<<20), 1)
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	text = "" // let the collector have it
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := Load(path)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	want := path + ": the spec is larger than the limit of 1 MiB; a spec that size is a mistake (an SLO takes a few hundred bytes)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 8<<20 {
		t.Errorf("Load allocated %d MiB to refuse the file, want at most 8", allocated>>20)
	}
	if elapsed > 2*time.Second {
		t.Errorf("Load took %v to refuse the file", elapsed)
	}
	if _, err := Parse("big.yaml", make([]byte, MaxSpecBytes+1)); err == nil || !strings.Contains(err.Error(), "larger than the limit of 1 MiB") {
		t.Errorf("Parse of %d bytes: got %v, want the size limit", MaxSpecBytes+1, err)
	}
}

// manySLOs lists n SLOs named s0, s1, … in flow style.
func manySLOs(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "  - {name: s%d, selector: 'verb=\"GET\"', latency: [{seconds: 1}]}\n", i)
	}
	return b.String()
}

// TestAccepted checks edits next to the refusals that must still pass.
func TestAccepted(t *testing.T) {
	tests := []struct {
		name  string
		edits []string
	}{
		{"factor just below the whole budget", []string{"factor: 14.4", "factor: 99.9"}},
		{"long window as long as the period", []string{"long: 3d,", "long: 30d,"}},
		{"a trailing document marker", []string{"KubeAPIErrorBudgetBurn.md\n", "KubeAPIErrorBudgetBurn.md\n---\n"}},
		{"a leading document marker", []string{"name: kube-apiserver\n", "---\nname: kube-apiserver\n"}},
		{"a short decimal threshold", []string{"      - seconds: 1\n", "      - seconds: 0.3\n"}},
		{"a threshold with 15 digits", []string{"      - seconds: 1\n", "      - seconds: 0.123456789012345\n"}},
		{"a template that parses", []string{"  description: The Kube API server is burning too much error budget.", "  description: 'Burning {{ $value | humanizePercentage }} on {{ $labels.cluster }}'"}},
		{"literal braces", []string{"  summary: The Kube API server is burning too much error budget.", `  summary: 'Budget {{ "{{" }} burn'`}},
		{"an errors matcher with 5xx and 429", []string{`errors: 'code=~"5.."'`, `errors: 'code=~"5..|429"'`}},
		{"an errors matcher on status", []string{`errors: 'code=~"5.."'`, `errors: 'status=~"5.."'`}},
		{"an errors matcher on grpc_code", []string{`errors: 'code=~"5.."'`, `errors: 'grpc_code=~"Unavailable|Internal|DeadlineExceeded|Unknown"'`}},
		{"an errors matcher on 4xx", []string{`errors: 'code=~"5.."'`, `errors: 'code=~"4.."'`}},
		{"a service with its own objectives per SLO", []string{"name: kube-apiserver\n", "name: kube-apiserver\nservice: api\n", "  - name: write\n", "  - name: write\n    objective: 0.999\n"}},
		{"a description at the limit", []string{"  description: The Kube API server is burning too much error budget.", "  description: " + strings.Repeat("x", MaxValueBytes)}},
		{"the apiserver's histogram of 1.23 to 1.25", []string{"metric: apiserver_request_sli_duration_seconds", "metric: apiserver_request_slo_duration_seconds"}},
		{"the apiserver's histogram with webhook time", []string{"metric: apiserver_request_sli_duration_seconds", "metric: apiserver_request_duration_seconds"}},
		{"another service's metrics with a service", []string{"name: kube-apiserver\n", "name: kube-apiserver\nservice: api\n", "metric: apiserver_request_total", "metric: http_requests_total", "metric: apiserver_request_sli_duration_seconds", "metric: http_request_duration_seconds"}},
		{"200 SLOs", []string{"slos:\n  - name: read", "slos:\n" + manySLOs(198) + "  - name: read"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := string(DefaultYAML())
			for i := 0; i+1 < len(tc.edits); i += 2 {
				if !strings.Contains(text, tc.edits[i]) {
					t.Fatalf("spec has no %q", tc.edits[i])
				}
				text = strings.Replace(text, tc.edits[i], tc.edits[i+1], 1)
			}
			if _, err := Parse("ok.yaml", []byte(text)); err != nil {
				t.Errorf("Parse refused the spec: %v", err)
			}
		})
	}
}

// rawSpec is a spec with a service and one SLO of kind raw.
func rawSpec(errors, total string) string {
	return `name: orders
service: orders
clusterLabel: cluster
objective: 0.999
period: 30d
alert:
  name: OrdersBurn
  summary: s
  description: d
  windows:
    - {long: 1h, short: 5m, factor: 14.4, severity: critical, for: 2m}
slos:
  - name: a
    kind: raw
    raw:
      errors: '` + errors + `'
      total: '` + total + `'
`
}

// TestCollisions parses specs as one run would load them and expects the
// errors of Collisions, each at the second spec's line naming the first's.
func TestCollisions(t *testing.T) {
	api := string(DefaultYAML())
	withService := func(name, service string) string {
		return strings.Replace(api, "name: kube-apiserver\n", "name: "+name+"\nservice: "+service+"\n", 1)
	}
	type file struct{ name, text string }
	tests := []struct {
		name  string
		files []file
		want  string // "" for none
	}{
		{
			name:  "two specs without service",
			files: []file{{"a.yaml", api}, {"b.yaml", strings.Replace(api, "name: kube-apiserver", "name: other", 1)}},
			want:  `b.yaml:3: name: this spec has no service, nor has a.yaml:3, so both are rendered as the kube-apiserver and would write the same records (the mixin's names, told apart by verb alone), each alert reading the other's errors; render one kube-apiserver spec per run, or add the line "service: other" to this one`,
		},
		{
			name:  "two specs with one service",
			files: []file{{"a.yaml", withService("a", "checkout")}, {"b.yaml", withService("b", "search")}, {"c.yaml", withService("c", "checkout")}},
			want:  `c.yaml:4: service: "checkout" is also the service of a.yaml:4; both would write the same records and alerts, each reading the other's errors; give each spec its own service`,
		},
		{
			name:  "two specs with one name, or one spec given twice",
			files: []file{{"a.yaml", withService("a", "checkout")}, {"b.yaml", withService("a", "search")}, {"a.yaml", withService("a", "checkout")}},
			want: `b.yaml:3: name: "a" is also the name of a.yaml:3; both would write the files of that name (a.rules.yaml, …); give each spec its own name` + "\n" +
				`a.yaml:3: name: "a" is also the name of a.yaml:3; both would write the files of that name (a.rules.yaml, …); give each spec its own name`,
		},
		{
			name:  "one spec without service and services of their own",
			files: []file{{"a.yaml", api}, {"b.yaml", withService("b", "checkout")}, {"c.yaml", withService("c", "search")}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var specs []*Spec
			for _, f := range tc.files {
				s, err := Parse(f.name, []byte(f.text))
				if err != nil {
					t.Fatal(err)
				}
				specs = append(specs, s)
			}
			err := Collisions(specs)
			if got := fmt.Sprint(err); (err == nil) != (tc.want == "") || (err != nil && got != tc.want) {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}
