package synth

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Cluster describes a set of synthetic clusters of kube-apiservers and the
// behaviour of their traffic. The zero value is usable: [Cluster.WithDefaults]
// fills in every unset field, and all methods apply it first.
//
// Fields whose zero value would be a meaningful setting (ratios, variation
// amplitudes) treat zero as "use the default" and a negative value as
// "none"; Flat turns all variation off at once.
type Cluster struct {
	// ClusterLabel is the name of the label that carries the cluster name.
	// Default "cluster".
	ClusterLabel string
	// Clusters are the values of ClusterLabel. Every cluster gets its own
	// Instances apiservers. Default ["c1"].
	Clusters []string
	// NoClusterLabel leaves the cluster label out of every series, as a
	// single-cluster Prometheus would. Clusters must then have one entry.
	NoClusterLabel bool
	// Job is the value of the job label. Default "kube-apiserver".
	Job string
	// Instances is the number of apiservers per cluster. Their instance
	// labels are "10.0.<cluster index>.<n>:6443" with n counting from 1;
	// see InstanceNames. Default 3.
	Instances int
	// Resources is the number of API resources each apiserver serves: a
	// prefix of a built-in catalogue that starts with pods, leases,
	// configmaps, nodes, secrets, deployments, services, events. Past the
	// catalogue (48 resources) widgetsN.example.com resources are made up.
	// Every resource gets nine request classes (verb × scope, e.g. GET
	// resource, LIST namespace, LIST cluster, WATCH, POST, PUT, PATCH,
	// DELETE); pods, services and nodes get extra ones for streaming
	// subresources, status updates and DELETECOLLECTION. Default 8.
	Resources int
	// Verbs restricts the request verbs: LIST, GET, WATCH, POST, PUT, PATCH,
	// DELETE, APPLY, DELETECOLLECTION, CONNECT. Default all of them.
	Verbs []string
	// Scopes restricts the request scopes: resource, namespace, cluster,
	// and "" for non-resource requests (GET /healthz, /livez, /readyz,
	// whose path is in the subresource label). Default all of them.
	Scopes []string
	// Subresources restricts the subresources of resource requests: "",
	// status and the streaming log, exec, attach, portforward, proxy.
	// Default all of them. Non-resource requests are governed by Scopes.
	Subresources []string
	// Codes restricts the error codes of apiserver_request_total to these:
	// 404, 409, 429 (4xx) and 500, 503, 504 (5xx). Success codes (200, 201
	// for POST, 101 for CONNECT) are always present, and a Fault with a
	// Code adds that code to the endpoints it matches. Default
	// 200, 201, 404, 409, 429, 500, 503, 504.
	Codes []string
	// ScrapeInterval is the distance between two samples of a series.
	// Default 30s.
	ScrapeInterval time.Duration
	// Start is the time of the first sample. Default 2026-01-05T00:00:00Z.
	Start time.Time
	// Duration is the time from the first to the last sample; there are
	// Duration/ScrapeInterval+1 samples per series. Default 6h.
	Duration time.Duration
	// LeFormat selects how le labels are written. Default LeClassic.
	LeFormat LeFormat
	// Seed seeds every pseudo-random choice. Equal configurations with equal
	// seeds produce identical samples. Zero is a valid seed.
	Seed int64

	// RequestsPerSecond is the mean request rate of one apiserver, shared
	// out over its endpoints by a fixed popularity. Default 100.
	RequestsPerSecond float64
	// ErrorRatio is the mean ratio of 5xx responses. Default 0.001,
	// negative for none.
	ErrorRatio float64
	// ClientErrorRatio is the mean ratio of 4xx responses. Default 0.01,
	// negative for none.
	ClientErrorRatio float64
	// SlowRatio is the mean ratio of requests slower than their SLO latency
	// threshold (1s for writes and GETs, 5s for namespace LISTs, 30s for
	// cluster LISTs). Long-running requests (WATCH, CONNECT, streaming
	// subresources) have their own, slow, latency profile instead. Default
	// 0.002, negative for none.
	SlowRatio float64
	// Diurnal is the relative amplitude of the daily traffic cycle, which
	// peaks at 15:00 UTC. Default 0.3, negative for none.
	Diurnal float64
	// Drift is the relative amplitude of the slow wave (period 3h to 24h,
	// different per endpoint) on each endpoint's error and slow ratios.
	// Default 0.8, negative for none.
	Drift float64
	// Noise is the relative amplitude of the scrape-to-scrape noise on
	// traffic and on the ratios. Default 0.1, negative for none.
	Noise float64
	// Spread is the standard deviation of the log-normal factor that makes
	// error and slow ratios differ per instance and endpoint (the mean
	// stays ErrorRatio and SlowRatio). Default 1, negative for none.
	Spread float64
	// Flat turns off all variation: no diurnal cycle, drift, noise, spread,
	// or per-instance differences. Every endpoint then has exactly
	// ErrorRatio, ClientErrorRatio and SlowRatio and constant traffic, and
	// together with Fractional the counters are straight lines between
	// faults, so rates and ratios over them can be computed exactly.
	Flat bool
	// Fractional emits real-valued counters (expected request counts)
	// instead of whole request counts. Whole counts are the default; their
	// rounding carries the remainder to the next scrape, so long-run ratios
	// are still exact.
	Fractional bool
	// FreshStart starts every counter at zero at Start. By default each
	// apiserver has been up for one to ten days, and its counters start at
	// the matching totals.
	FreshStart bool

	// Faults are injected behaviours, e.g. 5xx from one instance in a time
	// window. See Fault.
	Faults []Fault
	// Omissions leave series out, e.g. no 5xx series for a fresh apiserver,
	// a dropped bucket, or a scrape gap. See Omission.
	Omissions []Omission
	// Adjust, if not nil, is called for every endpoint and scrape interval
	// after Faults are applied, and may change the rates of that interval.
	// It must be deterministic for the output to be.
	Adjust func(ep Endpoint, t time.Time, r *Rates)
}

// Endpoint identifies the requests of one kind served by one apiserver: the
// label set of apiserver_request_sli_duration_seconds without le.
type Endpoint struct {
	Cluster     string // value of the cluster label
	Instance    string // value of the instance label
	Verb        string
	Group       string // "" for the core group and non-resource requests
	Version     string
	Resource    string
	Subresource string // for non-resource requests: the URL path
	Scope       string // resource, namespace, cluster or ""
}

// Rates are the behaviour of an endpoint during one scrape interval.
type Rates struct {
	// RPS is the request rate in requests per second.
	RPS float64
	// ServerErrorRatio is the ratio of requests answered with a 5xx code,
	// shared over the endpoint's 5xx codes (500 > 503 > 504).
	ServerErrorRatio float64
	// ClientErrorRatio is the ratio of 4xx responses (404 > 409 > 429).
	ClientErrorRatio float64
	// SlowRatio is the ratio of requests slower than the SLO threshold.
	// It has no effect on long-running requests.
	SlowRatio float64
	// CodeRatios are ratios of requests answered with particular codes; they
	// are taken first and the other ratios apply to the rest. Only codes
	// the endpoint has count (see Cluster.Codes and Fault.Code); the share
	// of other codes goes to the success code.
	CodeRatios map[string]float64
	// Reset restarts all counters of the endpoint at this scrape.
	Reset bool
}

// FaultKind is the kind of a Fault.
type FaultKind int

const (
	// FaultErrors makes Ratio of the matched requests fail: with Code if
	// set, otherwise with 5xx codes on top of the usual ratio, i.e. the 5xx
	// ratio becomes Ratio + (1-Ratio)*usual.
	FaultErrors FaultKind = iota + 1
	// FaultSlow makes Ratio of the matched requests slower than their SLO
	// threshold, on top of the usual ratio like FaultErrors.
	FaultSlow
	// FaultTraffic multiplies the request rate of the matched endpoints by
	// Factor.
	FaultTraffic
	// FaultCounterReset restarts the counters (request_total, buckets,
	// _count, _sum) of the matched endpoints at the first scrape at or
	// after From, as an apiserver restart does.
	FaultCounterReset
)

// String implements fmt.Stringer.
func (k FaultKind) String() string {
	switch k {
	case FaultErrors:
		return "errors"
	case FaultSlow:
		return "slow"
	case FaultTraffic:
		return "traffic"
	case FaultCounterReset:
		return "counter-reset"
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// Fault is a behaviour injected into the endpoints that Match selects during
// a time window. A scrape interval (t-ScrapeInterval, t] is affected when it
// lies within [Start+From, Start+To], so the counters at Start+From and
// Start+To bound exactly the faulty requests when From and To are multiples
// of the scrape interval.
type Fault struct {
	Kind FaultKind
	// Match selects the affected endpoints.
	Match Selector
	// From and To are offsets from Cluster.Start. To == 0 means until the
	// end. FaultCounterReset uses only From.
	From, To time.Duration
	// Ratio is the ratio of requests affected (FaultErrors, FaultSlow).
	Ratio float64
	// Code is the response code of FaultErrors; empty means the usual 5xx
	// codes. A code the endpoint does not have (e.g. "502") is added to it.
	Code string
	// Factor is the traffic multiplier of FaultTraffic.
	Factor float64
}

// Omission leaves out the series that match all of its conditions, during
// a time window or altogether.
type Omission struct {
	// Match selects endpoints.
	Match Selector
	// Metrics restricts the omission to these metric names (see the Metric*
	// constants). Empty means every metric.
	Metrics []string
	// Codes restricts it to apiserver_request_total series with these codes;
	// a class such as "5xx" matches every code of the class.
	Codes []string
	// Les restricts it to bucket series with these upper bounds; use
	// math.Inf(1) for +Inf.
	Les []float64
	// From and To are offsets from Cluster.Start: samples at times t with
	// From <= t-Start < To are left out. If both are zero the series are
	// left out altogether; To == 0 alone means until the end.
	From, To time.Duration
}

// Selector selects endpoints by their labels. An empty field matches
// everything; a non-empty one matches the listed values exactly (so
// Scopes: []string{""} selects non-resource requests only).
type Selector struct {
	Clusters     []string
	Instances    []string
	Verbs        []string
	Resources    []string
	Scopes       []string
	Subresources []string
}

// Matches reports whether the selector selects ep.
func (s Selector) Matches(ep Endpoint) bool {
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	return in(s.Clusters, ep.Cluster) && in(s.Instances, ep.Instance) && in(s.Verbs, ep.Verb) &&
		in(s.Resources, ep.Resource) && in(s.Scopes, ep.Scope) && in(s.Subresources, ep.Subresource)
}

// defaultStart is the default Cluster.Start, a Monday at midnight UTC.
var defaultStart = time.Date(2026, time.January, 5, 0, 0, 0, 0, time.UTC)

// WithDefaults returns a copy of c with every unset field set to its
// default. Slices are copied, so the result shares no memory with c.
func (c Cluster) WithDefaults() Cluster {
	if c.ClusterLabel == "" {
		c.ClusterLabel = "cluster"
	}
	c.Clusters = orDefault(c.Clusters, []string{"c1"})
	if c.Job == "" {
		c.Job = "kube-apiserver"
	}
	if c.Instances == 0 {
		c.Instances = 3
	}
	if c.Resources == 0 {
		c.Resources = 8
	}
	c.Verbs = orDefault(c.Verbs, knownVerbs)
	c.Scopes = orDefault(c.Scopes, knownScopes)
	c.Subresources = orDefault(c.Subresources, knownSubresources)
	c.Codes = orDefault(c.Codes, knownCodes)
	if c.ScrapeInterval == 0 {
		c.ScrapeInterval = 30 * time.Second
	}
	if c.Start.IsZero() {
		c.Start = defaultStart
	}
	if c.Duration == 0 {
		c.Duration = 6 * time.Hour
	}
	if c.RequestsPerSecond == 0 {
		c.RequestsPerSecond = 100
	}
	c.ErrorRatio = ratioDefault(c.ErrorRatio, 0.001, false)
	c.ClientErrorRatio = ratioDefault(c.ClientErrorRatio, 0.01, false)
	c.SlowRatio = ratioDefault(c.SlowRatio, 0.002, false)
	c.Diurnal = ratioDefault(c.Diurnal, 0.3, c.Flat)
	c.Drift = ratioDefault(c.Drift, 0.8, c.Flat)
	c.Noise = ratioDefault(c.Noise, 0.1, c.Flat)
	c.Spread = ratioDefault(c.Spread, 1, c.Flat)
	c.Faults = slices.Clone(c.Faults)
	c.Omissions = slices.Clone(c.Omissions)
	return c
}

// orDefault returns a copy of v, or of def if v is empty.
func orDefault(v, def []string) []string {
	if len(v) == 0 {
		v = def
	}
	return slices.Clone(v)
}

// ratioDefault maps the "zero = default, negative = none" convention to a
// value; off forces none.
func ratioDefault(v, def float64, off bool) float64 {
	switch {
	case off, v < 0:
		return 0
	case v == 0:
		return def
	}
	return v
}

// Validate reports configuration errors of c after defaults are applied.
func (c Cluster) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if c.Instances < 0 {
		errs = append(errs, fmt.Errorf("instances %d < 0", c.Instances))
	}
	if c.Resources < 0 {
		errs = append(errs, fmt.Errorf("resources %d < 0", c.Resources))
	}
	if c.ScrapeInterval < time.Millisecond {
		errs = append(errs, fmt.Errorf("scrape interval %v < 1ms", c.ScrapeInterval))
	}
	if c.Duration < 0 {
		errs = append(errs, fmt.Errorf("duration %v < 0", c.Duration))
	}
	if c.NoClusterLabel && len(c.Clusters) != 1 {
		errs = append(errs, fmt.Errorf("NoClusterLabel needs exactly one cluster, have %d", len(c.Clusters)))
	}
	seen := map[string]bool{}
	for _, name := range c.Clusters {
		if seen[name] {
			errs = append(errs, fmt.Errorf("cluster %q listed twice", name))
		}
		seen[name] = true
	}
	errs = append(errs, checkKnown("verb", c.Verbs, knownVerbs))
	errs = append(errs, checkKnown("scope", c.Scopes, knownScopes))
	errs = append(errs, checkKnown("subresource", c.Subresources, knownSubresources))
	for _, code := range c.Codes {
		if !validCode(code) {
			errs = append(errs, fmt.Errorf("code %q is not a 3-digit HTTP code", code))
		}
	}
	if c.LeFormat < LeClassic || c.LeFormat > LeMixed {
		errs = append(errs, fmt.Errorf("unknown le format %d", c.LeFormat))
	}
	if c.RequestsPerSecond < 0 || math.IsNaN(c.RequestsPerSecond) || math.IsInf(c.RequestsPerSecond, 0) {
		errs = append(errs, fmt.Errorf("requests per second %v is not a finite number >= 0", c.RequestsPerSecond))
	}
	for name, r := range map[string]float64{"error": c.ErrorRatio, "client error": c.ClientErrorRatio, "slow": c.SlowRatio} {
		if r > 1 || math.IsNaN(r) {
			errs = append(errs, fmt.Errorf("%s ratio %v > 1", name, r))
		}
	}
	for i, f := range c.Faults {
		if err := f.validate(); err != nil {
			errs = append(errs, fmt.Errorf("fault %d: %w", i, err))
		}
	}
	for i, o := range c.Omissions {
		for _, code := range o.Codes {
			if !validCode(code) && !validCodeClass(code) {
				errs = append(errs, fmt.Errorf("omission %d: code %q is neither a code nor a class like 5xx", i, code))
			}
		}
		for _, le := range o.Les {
			if !slices.Contains(SLIBuckets(), le) {
				errs = append(errs, fmt.Errorf("omission %d: %v is not an SLI bucket bound", i, le))
			}
		}
		if o.To != 0 && o.To < o.From {
			errs = append(errs, fmt.Errorf("omission %d: window ends (%v) before it starts (%v)", i, o.To, o.From))
		}
	}
	return errors.Join(errs...)
}

func (f Fault) validate() error {
	switch f.Kind {
	case FaultErrors, FaultSlow:
		if f.Ratio < 0 || f.Ratio > 1 || math.IsNaN(f.Ratio) {
			return fmt.Errorf("%v ratio %v not in [0, 1]", f.Kind, f.Ratio)
		}
		if f.Code != "" && !validCode(f.Code) {
			return fmt.Errorf("code %q is not a 3-digit HTTP code", f.Code)
		}
	case FaultTraffic:
		if f.Factor < 0 || math.IsNaN(f.Factor) || math.IsInf(f.Factor, 0) {
			return fmt.Errorf("traffic factor %v is not a finite number >= 0", f.Factor)
		}
	case FaultCounterReset:
	default:
		return fmt.Errorf("unknown fault kind %d", f.Kind)
	}
	if f.To != 0 && f.To < f.From {
		return fmt.Errorf("window ends (%v) before it starts (%v)", f.To, f.From)
	}
	return nil
}

func checkKnown(what string, values, known []string) error {
	var errs []error
	for _, v := range values {
		if !slices.Contains(known, v) {
			errs = append(errs, fmt.Errorf("unknown %s %q (known: %s)", what, v, strings.Join(known, ", ")))
		}
	}
	return errors.Join(errs...)
}

func validCode(code string) bool {
	if len(code) != 3 {
		return false
	}
	n, err := strconv.Atoi(code)
	return err == nil && n >= 100 && n <= 599
}

func validCodeClass(class string) bool {
	return len(class) == 3 && class[0] >= '1' && class[0] <= '5' && class[1:] == "xx"
}

// codeMatches reports whether code matches pattern, a code or a class such
// as "5xx".
func codeMatches(pattern, code string) bool {
	if validCodeClass(pattern) {
		return code[0] == pattern[0]
	}
	return pattern == code
}

// InstanceNames returns the instance label values of the apiservers of the
// cluster with the given index in Clusters.
func (c Cluster) InstanceNames(clusterIndex int) []string {
	c = c.WithDefaults()
	names := make([]string, c.Instances)
	for i := range names {
		names[i] = instanceName(clusterIndex, i)
	}
	return names
}

func instanceName(clusterIndex, i int) string {
	return fmt.Sprintf("10.0.%d.%d:6443", clusterIndex, i+1)
}

// End returns the time of the last sample.
func (c Cluster) End() time.Time {
	c = c.WithDefaults()
	return c.Start.Add(c.Duration / c.ScrapeInterval * c.ScrapeInterval)
}

// Scrapes returns the number of samples per series.
func (c Cluster) Scrapes() int {
	c = c.WithDefaults()
	return int(c.Duration/c.ScrapeInterval) + 1
}
