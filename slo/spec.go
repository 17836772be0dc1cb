// Package slo holds the burnrate spec: the types a spec file decodes into,
// loading with file:line errors, validation, and the embedded kube-apiserver
// default.
//
// A spec describes one service with one or more SLOs that share a request
// counter, a latency histogram and an alert policy. Each SLO has a kind:
//
//	errors:             SLI = errors / requests of the counter
//	latency:            SLI = slow / requests of the histogram (_count)
//	errors-and-latency: SLI = (errors + slow) / requests of the counter
//	raw:                SLI = raw.errors / raw.total, two PromQL queries with
//	                    the window placeholder {{.window}} (Sloth's events SLI)
//	errors = the request counter filtered by requests.errors
//	slow   = requests slower than the SLO's threshold, read from the
//	         histogram, optionally one threshold per partition label value
//
// A spec with a service labels everything it records with the service and
// the SLO; the embedded kube-apiserver spec has none and keeps the
// kubernetes-mixin's names.
package slo

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// Spec is one spec file. Every field is required unless its comment says
// otherwise; the embedded kube-apiserver spec (Default) shows all of them.
type Spec struct {
	// Name names the output files (<name>.rules.yaml) and the rule groups
	// (<name>-burnrate.rules, …); lower-case letters, digits and dashes.
	Name string `yaml:"name"`
	// Service is the service's identity: when set, every recorded series and
	// alert carries ServiceLabel=Service and SLILabel=<SLO name>, every rule
	// reads only its own service's records, and the records have generic
	// names (slo:burnrate1h), so that any number of specs, on the same
	// metrics, load into one Prometheus without colliding. When absent
	// (the embedded kube-apiserver spec), records keep the mixin's names
	// (apiserver_request:burnrate1h{verb}) and carry the SLI label only.
	// Required for every spec but the kube-apiserver's: a spec without it
	// must read the kube-apiserver's metrics (APIServerCounter,
	// APIServerHistograms), and one run renders one such spec.
	Service string `yaml:"service"`
	// ServiceLabel is the label that carries Service. Optional, default
	// service; only with Service.
	ServiceLabel string `yaml:"serviceLabel"`
	// Selector holds the label matchers that pick the service's series, as
	// written between braces in PromQL. Mixin: kubeApiserverSelector.
	Selector string `yaml:"selector"`
	// ClusterLabel is the label the rules aggregate by. Mixin: clusterLabel.
	ClusterLabel string `yaml:"clusterLabel"`
	// ShowMultiCluster names the cluster in alert descriptions.
	// Mixin: showMultiCluster. Optional, default false.
	ShowMultiCluster bool `yaml:"showMultiCluster"`
	// SLILabel is the label whose value tells the SLIs apart in recorded series
	// and alerts (the mixin uses verb="read" and verb="write"). Optional with
	// Service (default slo).
	SLILabel string `yaml:"sliLabel"`
	// Objective is the share of good events to reach, strictly between 0 and 1.
	// Mixin: SLOs.apiserver.target. Optional when every SLO sets its own.
	Objective float64 `yaml:"objective"`
	// Period is the SLO period, the window the error budget is measured over.
	// Mixin: SLOs.apiserver.days.
	Period Duration `yaml:"period"`
	// Requests describes the request counter.
	Requests Requests `yaml:"requests"`
	// Latency describes the latency histogram.
	Latency Latency `yaml:"latency"`
	// SLOs lists the SLIs, each with its own request selector and thresholds.
	SLOs []SLO `yaml:"slos"`
	// Drilldown lists the labels of the request counter and the histogram
	// that the runbook and burnrate diagnose break failing and slow
	// requests down by, one step per label, in this order (e.g. handler,
	// method, code, instance). Only with Service (the kube-apiserver's
	// runbook has its own); default [instance].
	Drilldown []string `yaml:"drilldown"`
	// Alert is the multiwindow, multi-burn-rate alert policy.
	Alert Alert `yaml:"alert"`
	// BaseWindow is the window of the recorded rates every longer window is
	// built from (optimized profile). It must not be longer than the shortest
	// short window, and every window must be a multiple of it. Default 5m.
	BaseWindow Duration `yaml:"baseWindow"`
	// Fixes switches the optimized profile's fixes of known mixin problems.
	// Each defaults to on; the kubernetes-mixin profile applies none.
	Fixes Fixes `yaml:"fixes"`
	// Runbook places the generated runbook (optimized profile). Optional.
	Runbook Runbook `yaml:"runbook"`
	// Output describes what the formats other than a plain rule file wrap
	// the rule groups in (generate --format). Optional.
	Output Output `yaml:"output"`
	// Dashboards says where the generated Grafana dashboards are loaded
	// (optimized profile). Optional.
	Dashboards Dashboards `yaml:"dashboards"`

	// src is where the spec was parsed from; nil for a spec built in Go.
	src *source
}

// Runbook says where the generated runbook lives, in the
// prometheus-operator/runbooks layout: runbooks/<component>/<Alert>.md.
type Runbook struct {
	// Component is the runbook's folder, e.g. kubernetes. Default: the
	// service, or kubernetes for a spec without one.
	Component string `yaml:"component"`
	// URLPattern is the optimized profile's runbook_url annotation: the
	// address of the generated page where it is published (e.g. the
	// runbooks directory on a Git host); %s, if present, is replaced by the
	// lower-cased alert name. The runbook's section links (burnrate
	// diagnose, dashboards) are this address with the section's anchor, so
	// it must serve the page burnrate generated: the prometheus-operator
	// runbooks site has its own page without those sections. Optional:
	// without it the alerts carry no runbook_url. (The kubernetes-mixin
	// profile uses alert.runbookURLPattern.)
	URLPattern string `yaml:"urlPattern"`
}

// Dashboards says where the generated Grafana dashboards are loaded.
type Dashboards struct {
	// GrafanaURL is the address of the Grafana the dashboards are loaded
	// into, e.g. https://grafana.example.com: each section of the runbook
	// links to its row of the drill-down dashboard there. Optional:
	// without it the runbook has no dashboard links.
	GrafanaURL string `yaml:"grafanaURL"`
}

// Output holds the envelope of the rule groups in the formats that have
// one. Command-line flags of generate override each field.
type Output struct {
	// Name is the PrometheusRule's metadata.name and the key under
	// kube-prometheus-stack's additionalPrometheusRulesMap (the chart names
	// the object <chart>-<key>). Default burnrate-<spec name>.
	Name string `yaml:"name"`
	// Namespace is the PrometheusRule's metadata.namespace (omitted when
	// empty, so kubectl applies it to the current namespace) and the Mimir
	// or Cortex rule namespace (default: the spec's name).
	Namespace string `yaml:"namespace"`
	// Labels are the PrometheusRule's labels, which a Prometheus selects it
	// by (kube-prometheus-stack: release: <release name>); in the
	// kube-prometheus-stack values file, the rules' additionalLabels.
	Labels map[string]string `yaml:"labels"`
	// Annotations are the PrometheusRule's annotations.
	Annotations map[string]string `yaml:"annotations"`
	// PartialResponseStrategy is the Thanos ruler's per-group
	// partial_response_strategy, warn or abort; empty leaves it out (Thanos
	// then uses abort). Only the rules and prometheusrule formats carry it.
	PartialResponseStrategy string `yaml:"partialResponseStrategy"`
}

// Fixes are the optimized profile's departures from the mixin, each a fix of
// a problem users hit. They default to on (see DefaultFixes).
type Fixes struct {
	// AbsentAsZero makes a missing 5xx series, a missing bucket series or a
	// missing histogram count as zero instead of emptying the burn rate
	// (kubernetes-mixin#690, #416).
	AbsentAsZero bool `yaml:"absentAsZero"`
	// AlertPerSLI fires one alert per SLI, keeping the SLI label, instead of
	// adding the SLIs' burn rates.
	AlertPerSLI bool `yaml:"alertPerSLI"`
	// LatencySelectorEverywhere applies latency.selector (no streaming
	// subresources) to the errors and total terms too (kubernetes-mixin#1273).
	LatencySelectorEverywhere bool `yaml:"latencySelectorEverywhere"`
	// ExtraVerbs adds verbs to the verb=~ matcher of the named SLOs, each
	// one of APIServerVerbs. When
	// absent, server-side apply (APPLY) and DELETECOLLECTION are added to the
	// SLO named write, if there is one; {} adds nothing.
	ExtraVerbs map[string][]string `yaml:"extraVerbs"`
}

// defaultExtraVerbs applies when fixes.extraVerbs is absent.
var defaultExtraVerbs = map[string][]string{"write": {"APPLY", "DELETECOLLECTION"}}

// extraVerbs returns the verbs to add to the SLO named name.
func (f Fixes) extraVerbs(name string) []string {
	if f.ExtraVerbs == nil {
		return defaultExtraVerbs[name]
	}
	return f.ExtraVerbs[name]
}

// DefaultFixes returns every fix switched on.
func DefaultFixes() Fixes {
	return Fixes{
		AbsentAsZero:              true,
		AlertPerSLI:               true,
		LatencySelectorEverywhere: true,
	}
}

// Requests describes the counter of all requests. Optional when every SLO
// is of kind latency.
type Requests struct {
	// Metric is the counter's metric name, e.g. apiserver_request_total.
	Metric string `yaml:"metric"`
	// Errors is the one matcher that makes a request an error, on any label:
	// code=~"5..", grpc_code=~"Unavailable|Internal", status=~"5..".
	Errors string `yaml:"errors"`
}

// Latency describes the histogram that decides whether a request was
// slow. Optional when every SLO is of kind errors.
type Latency struct {
	// Metric is the histogram's base name (without _bucket or _count).
	Metric string `yaml:"metric"`
	// Selector holds extra matchers for the latency term only, e.g. the
	// exclusion of streaming subresources. Mixin: kubeApiserverNonStreamingSelector.
	// Optional.
	Selector string `yaml:"selector"`
	// PartitionLabel is the histogram label whose values get their own
	// threshold (scope for the apiserver). Optional when no SLI partitions.
	PartitionLabel string `yaml:"partitionLabel"`
	// Form is how Prometheus stores the histogram (see HistogramForm).
	// Optional, default classic.
	Form HistogramForm `yaml:"form"`
}

// HistogramForm is how Prometheus stores the latency histogram, which
// decides the series the rules read.
type HistogramForm string

// The histogram forms.
const (
	// FormClassic: one _bucket series per bound (le label) and a _count
	// series; what a Prometheus that scrapes no native histograms stores.
	FormClassic HistogramForm = "classic"
	// FormNative: one series under the histogram's own name holding a
	// native histogram of exponential buckets, as Prometheus stores a
	// histogram it scrapes with native histograms on and the client
	// exposes as native; there are no _bucket or _count series.
	FormNative HistogramForm = "native"
	// FormNHCB: one native-histogram series with custom buckets (the
	// classic bounds), as Prometheus stores a classic histogram it
	// converts on scrape (convert_classic_histograms_to_nhcb).
	FormNHCB HistogramForm = "nhcb"
)

// HistogramForms lists the histogram forms, the default first.
var HistogramForms = []HistogramForm{FormClassic, FormNative, FormNHCB}

// IsNative says whether the histogram is a native one (exponential or
// custom buckets): one series per label set, no _bucket or _count.
func (f HistogramForm) IsNative() bool { return f == FormNative || f == FormNHCB }

// OrDefault is the form, or FormClassic where the spec sets none.
func (f HistogramForm) OrDefault() HistogramForm {
	if f == "" {
		return FormClassic
	}
	return f
}

// SLO is one SLI with its kind, request selector, latency thresholds and
// objective.
type SLO struct {
	// Name is the SLI's value of the spec's SLILabel, e.g. read.
	Name string `yaml:"name"`
	// Kind is what counts as a bad event (see Kind). Optional: errors when
	// Latency is empty, errors-and-latency otherwise.
	Kind Kind `yaml:"kind"`
	// Selector holds the matchers that pick this SLI's requests.
	// Mixin: kubeApiserverReadSelector, kubeApiserverWriteSelector.
	// Optional with Service (the spec's selector alone).
	Selector string `yaml:"selector"`
	// Latency lists the thresholds. Either one threshold without partition,
	// or one per group of partition label values. None for kind errors.
	Latency []Threshold `yaml:"latency"`
	// Objective is this SLO's target, overriding the spec's objective.
	// Optional; only with Service, whose alerts are per SLO.
	Objective float64 `yaml:"objective"`
	// Raw holds the two queries of kind raw, and only of it.
	Raw Raw `yaml:"raw"`
}

// Raw is an SLO of kind raw: bad and all events as two PromQL queries,
// each a rate (or increase) over the window placeholder {{.window}}, as
// Sloth's events SLIs write them:
//
//	errors: sum(rate(http_requests_total{job="api",code=~"5.."}[{{.window}}]))
//	total:  sum(rate(http_requests_total{job="api"}[{{.window}}]))
//
// The rules record each query at the base window, summed by the cluster
// label (a query that keeps the cluster label gets one SLI per cluster; any
// other label is summed away), and label the records with the SLO's
// identity, whatever identity labels the query's series carry.
type Raw struct {
	// Errors counts the bad events per second over the window.
	Errors string `yaml:"errors"`
	// Total counts all events per second over the window.
	Total string `yaml:"total"`
}

// WindowPlaceholder is what a raw query writes where its window goes
// (Sloth's {{.window}}; spaces inside the braces are allowed).
const WindowPlaceholder = "{{.window}}"

var windowPlaceholderRE = regexp.MustCompile(`\{\{\s*\.window\s*\}\}`)

// HasWindow says whether query q holds the window placeholder.
func HasWindow(q string) bool { return windowPlaceholderRE.MatchString(q) }

// WithWindow is raw query q with its window placeholders replaced by w.
func WithWindow(q string, w Duration) string {
	return windowPlaceholderRE.ReplaceAllLiteralString(q, w.String())
}

// Kind is the kind of an SLO: which events are bad, and out of which.
type Kind string

// The SLO kinds.
const (
	// KindErrors: requests matching requests.errors over all requests of
	// the request counter.
	KindErrors Kind = "errors"
	// KindLatency: requests slower than the threshold over all requests of
	// the histogram (its _count, or histogram_count of a native one), from
	// its buckets.
	KindLatency Kind = "latency"
	// KindErrorsAndLatency: errors plus slow requests (per partition value)
	// over all requests of the counter: the kube-apiserver SLIs' shape.
	KindErrorsAndLatency Kind = "errors-and-latency"
	// KindRaw: raw.errors over raw.total, two queries of the user's (see Raw).
	KindRaw Kind = "raw"
)

// Kinds lists the SLO kinds.
var Kinds = []Kind{KindErrors, KindLatency, KindErrorsAndLatency, KindRaw}

// HasErrors and HasLatency say which terms an SLO of kind k has: a raw
// SLO's bad events count as errors (its queries say what they are).
func (k Kind) HasErrors() bool  { return k != KindLatency }
func (k Kind) HasLatency() bool { return k == KindLatency || k == KindErrorsAndLatency }

// ReadsCounter says whether an SLO of kind k reads requests.metric.
func (k Kind) ReadsCounter() bool { return k == KindErrors || k == KindErrorsAndLatency }

// ObjectiveOf is the objective of SLO i: its own, or the spec's.
func (s *Spec) ObjectiveOf(i int) float64 {
	if o := s.SLOs[i].Objective; o != 0 {
		return o
	}
	return s.Objective
}

// ReadsRequests and ReadsLatency say whether some SLO of the spec reads the
// request counter or the latency histogram.
func (s *Spec) ReadsRequests() bool {
	for _, o := range s.SLOs {
		if o.Kind.ReadsCounter() {
			return true
		}
	}
	return false
}

func (s *Spec) ReadsLatency() bool {
	for _, o := range s.SLOs {
		if o.Kind.HasLatency() {
			return true
		}
	}
	return false
}

// Threshold is the latency a request may take before it counts as slow.
type Threshold struct {
	// Partition lists the values of Latency.PartitionLabel this threshold
	// applies to ("" matches requests without the label). Empty means all.
	Partition []string `yaml:"partition"`
	// Seconds is the threshold. It must be the upper bound of a histogram
	// bucket; it matches both le="1" and Prometheus 3's le="1.0".
	// Mixin: kubeApiserverReadResourceLatency and friends.
	Seconds float64 `yaml:"seconds"`
}

// Alert is the alert policy shared by all SLIs of the spec.
type Alert struct {
	// Name is the alert name, e.g. KubeAPIErrorBudgetBurn.
	Name string `yaml:"name"`
	// Summary and Description are the alert's annotations.
	Summary     string `yaml:"summary"`
	Description string `yaml:"description"`
	// RunbookURLPattern is the runbook_url annotation; %s is replaced by the
	// lower-cased alert name. Mixin: runbookURLPattern.
	RunbookURLPattern string `yaml:"runbookURLPattern"`
	// Windows lists the window pairs. Mixin: SLOs.apiserver.windows.
	Windows []Window `yaml:"windows"`
	// MinRequests is the low-traffic guard: a pair fires only while its
	// short window holds at least this many of the SLO's events (requests),
	// so that a handful of requests, one of them failed, cannot burn at
	// hundreds of times the budget rate and page. Optional, default 0
	// (off): with it on, an SLO that serves fewer requests than this in a
	// short window cannot page at all, however much of it fails. Not in the
	// kubernetes-mixin profile, which renders the mixin's rules as they are.
	// A whole number: events are counted in requests.
	MinRequests float64 `yaml:"minRequests"`
}

// Window is one pair of the multiwindow, multi-burn-rate policy: the alert
// fires when both windows burn faster than Factor times the budget rate.
type Window struct {
	Long     Duration `yaml:"long"`
	Short    Duration `yaml:"short"`
	Factor   float64  `yaml:"factor"`
	Severity string   `yaml:"severity"`
	For      Duration `yaml:"for"`
}

// Duration is a Prometheus duration (5m, 1h, 30d) that decodes with the line
// of the offending value in its error.
type Duration model.Duration

// UnmarshalYAML implements yaml.Unmarshaler. Its errors are yaml.v3 type
// errors, so that the decoder goes on to report the spec's other problems
// and Parse words them with the field's name.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := model.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		value := ""
		if n.Kind == yaml.ScalarNode {
			value = " `" + n.Value + "`"
		}
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: cannot unmarshal %s%s into slo.Duration", n.Line, n.ShortTag(), value)}}
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// String prints the duration the way Prometheus does (5m, 1h, 1d12h),
// except that a whole number of days is written in days: 28d, not
// Prometheus' 4w, and 7d, not 1w, as specs write them (model.Duration's
// String, prometheus/common model/time.go, writes years and weeks when
// they divide the duration). It is the one spelling of a window or period
// in record names, alert labels, tests and runbooks, so that a name the
// runbook quotes is the name the rules record.
func (d Duration) String() string {
	const day = Duration(24 * time.Hour)
	if d >= day && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return model.Duration(d).String()
}
