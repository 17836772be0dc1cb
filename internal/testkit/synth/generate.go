package synth

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Each calls fn for every sample of every series, in time order: all series
// at the first scrape, then all series at the next one, and so on. Within a
// scrape the order is fixed (cluster, instance, endpoint, then
// apiserver_request_total by code, buckets by le, _count, _sum). The label
// sets passed to fn are shared between calls for the same series and must
// not be modified. Each returns the first error of fn, or a configuration
// error (see Validate).
//
// The series are apiserver_request_total{code, dry_run} and
// apiserver_request_sli_duration_seconds_{bucket{le},count,sum}, all with
// job, instance, the cluster label, verb, group, version, resource,
// subresource, scope and component="apiserver". Labels with empty values
// (dry_run, group of the core API, subresource, and scope, group, version,
// resource of non-resource requests) are left out, as Prometheus stores
// them. Every series exists from the first scrape (error series at zero
// until errors happen) unless an Omission says otherwise.
//
// Memory use is proportional to the number of series, not samples.
func (c Cluster) Each(fn func(lset labels.Labels, tMillis int64, v float64) error) error {
	g, err := newGenerator(c)
	if err != nil {
		return err
	}
	return g.run(func(_ int, lset labels.Labels, t int64, v float64) error { return fn(lset, t, v) })
}

// Endpoints returns every endpoint of the configuration, in the order Each
// emits them.
func (c Cluster) Endpoints() ([]Endpoint, error) {
	g, err := newGenerator(c)
	if err != nil {
		return nil, err
	}
	eps := make([]Endpoint, len(g.eps))
	for i, e := range g.eps {
		eps[i] = e.Endpoint
	}
	return eps, nil
}

// SeriesCount returns the number of series Each emits samples for: all
// series except those left out altogether by an Omission without a window.
func (c Cluster) SeriesCount() (int, error) {
	g, err := newGenerator(c)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range g.series {
		if !s.never {
			n++
		}
	}
	return n, nil
}

// seriesInfo is one output series.
type seriesInfo struct {
	lset  labels.Labels
	never bool       // omitted altogether
	gaps  [][2]int64 // omitted for From <= t < To (milliseconds)
}

// omitted reports whether the series has no sample at t.
func (s *seriesInfo) omitted(t int64) bool {
	if s.never {
		return true
	}
	for _, w := range s.gaps {
		if t >= w[0] && t < w[1] {
			return true
		}
	}
	return false
}

// codeClass tells how a request_total code of an endpoint is fed.
type codeClass byte

const (
	classSuccess codeClass = iota
	classClient            // 4xx, share of ClientErrorRatio
	classServer            // 5xx, share of ServerErrorRatio
	classExtra             // only through Rates.CodeRatios
)

// endpointState is the model and the running counters of one endpoint.
type endpointState struct {
	Endpoint
	key      uint64    // hash key for pseudo-random choices
	instance int       // index of the apiserver within its cluster
	long     bool      // long-running request: no SLO, lowBin covers all bins
	lowBin   []float64 // weights (sum 1) of the bins up to the SLO threshold, or of all bins if long
	highBin  []float64 // weights (sum 1) of the bins above the threshold; nil if long
	codes    []string
	class    []codeClass
	weight   []float64 // share of the code within its class
	success  int       // index of the success code in codes
	firstID  int       // series id of codes[0]; buckets, _count, _sum follow
	faults   []int     // indices of Cluster.Faults matching the endpoint
	resetAt0 bool      // a counter reset at From <= 0 matches: start from zero

	baseRPS, errF, cliF, slowF       float64
	errPeriod, errPhase, slowPeriod  float64
	slowPhase, diurnalPhase, uptimeS float64

	// Running state.
	codeCum, codeCarry, codeInc []float64
	binCum, binCarry, binInc    []float64
	sum, nCarry, slowCarry      float64
	frac                        []float64 // scratch: ratio per code
}

type generator struct {
	c      Cluster
	eps    []*endpointState
	series []seriesInfo
	steps  int
	dt     float64 // scrape interval in seconds
}

func newGenerator(c Cluster) (*generator, error) {
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("synth: invalid cluster: %w", err)
	}
	g := &generator{c: c, steps: c.Scrapes(), dt: c.ScrapeInterval.Seconds()}
	seed := uint64(c.Seed)
	for ci, cname := range c.Clusters {
		for ii := 0; ii < c.Instances; ii++ {
			g.addInstance(seed, ci, cname, ii)
		}
	}
	return g, nil
}

// addInstance builds the endpoints and series of one apiserver.
func (g *generator) addInstance(seed uint64, ci int, cname string, ii int) {
	c := g.c
	instKey := hashKey(seed, 0x1157, uint64(ci), uint64(ii))
	instFactor, uptime := 1.0, 0.0
	if !c.Flat {
		instFactor = 0.8 + 0.4*unit(hashKey(instKey, 1))
	}
	if !c.FreshStart {
		uptime = (1 + 9*unit(hashKey(instKey, 2))) * 86400
	}
	diurnalPhase := 0.0
	if !c.Flat {
		diurnalPhase = (unit(hashKey(seed, 0xd1, uint64(ci))) - 0.5) * 2 * math.Pi / 12 // ±1h
	}

	type proto struct {
		ep     Endpoint
		weight float64
	}
	var protos []proto
	add := func(r resourceInfo, t endpointTemplate, pop float64) {
		if !slices.Contains(c.Verbs, t.verb) || !slices.Contains(c.Scopes, t.scope) {
			return
		}
		if t.scope != "" && !slices.Contains(c.Subresources, t.subresource) {
			return
		}
		protos = append(protos, proto{Endpoint{
			Cluster: cname, Instance: instanceName(ci, ii), Verb: t.verb,
			Group: r.group, Version: r.version, Resource: r.resource,
			Subresource: t.subresource, Scope: t.scope,
		}, t.weight * pop})
	}
	for ri := 0; ri < c.Resources; ri++ {
		r := resourceAt(ri)
		pop := 1 / math.Pow(1+float64(ri), 0.7)
		templates := clusterEndpoints
		if r.namespaced {
			templates = namespacedEndpoints
		}
		for _, t := range templates {
			add(r, t, pop)
		}
		for _, t := range extraEndpoints[r.resource] {
			add(r, t, pop)
		}
	}
	for _, t := range nonResourceEndpoints {
		add(resourceInfo{}, t, 0.2)
	}

	weights := make([]float64, len(protos))
	total := 0.0
	for i, p := range protos {
		w := p.weight
		if !c.Flat {
			w *= 0.5 + unit(hashKey(instKey, 3, uint64(i)))
		}
		weights[i] = w
		total += w
	}
	for i, p := range protos {
		key := hashKey(instKey, 4, uint64(i))
		e := &endpointState{
			Endpoint:     p.ep,
			key:          key,
			instance:     ii,
			long:         longRunning(p.ep.Verb, p.ep.Subresource),
			baseRPS:      c.RequestsPerSecond * instFactor * weights[i] / total,
			errF:         1,
			cliF:         1,
			slowF:        1,
			uptimeS:      uptime,
			diurnalPhase: diurnalPhase,
		}
		if c.Spread > 0 {
			e.errF = logNormal(key, 5, c.Spread)
			e.cliF = logNormal(key, 6, c.Spread/2)
			e.slowF = logNormal(key, 7, c.Spread)
		}
		if c.Drift > 0 {
			e.errPeriod = (3 + 21*unit(hashKey(key, 8))) * 3600
			e.errPhase = 2 * math.Pi * unit(hashKey(key, 9))
			e.slowPeriod = (3 + 21*unit(hashKey(key, 10))) * 3600
			e.slowPhase = 2 * math.Pi * unit(hashKey(key, 11))
		}
		g.setupEndpoint(e)
		g.eps = append(g.eps, e)
	}
}

// setupEndpoint fills in latency weights, codes, faults and series.
func (g *generator) setupEndpoint(e *endpointState) {
	c := g.c
	e.lowBin, e.highBin = latencyWeights(e.Verb, e.Scope, e.long)

	// Codes: success, the 4xx and 5xx codes of the kind that Codes allows,
	// and the codes of matching error faults.
	type code struct {
		code  string
		class codeClass
	}
	var codes []code
	codes = append(codes, code{successCode(e.Verb), classSuccess})
	for _, cc := range clientErrorCodes(e.Verb, e.Scope) {
		if slices.Contains(c.Codes, cc) {
			codes = append(codes, code{cc, classClient})
		}
	}
	for _, cc := range serverErrorCodes(e.Scope) {
		if slices.Contains(c.Codes, cc) {
			codes = append(codes, code{cc, classServer})
		}
	}
	for i, f := range c.Faults {
		if !f.Match.Matches(e.Endpoint) {
			continue
		}
		e.faults = append(e.faults, i)
		if f.Kind == FaultCounterReset && f.From <= 0 {
			e.resetAt0 = true
		}
		if f.Kind == FaultErrors && f.Code != "" &&
			!slices.ContainsFunc(codes, func(x code) bool { return x.code == f.Code }) {
			codes = append(codes, code{f.Code, classExtra})
		}
	}
	// Codes have three digits, so string order is numeric order.
	slices.SortFunc(codes, func(a, b code) int { return strings.Compare(a.code, b.code) })
	var sum4, sum5 float64
	for _, cc := range codes {
		switch cc.class {
		case classClient:
			sum4 += codeWeight(cc.code)
		case classServer:
			sum5 += codeWeight(cc.code)
		}
	}
	for i, cc := range codes {
		e.codes = append(e.codes, cc.code)
		e.class = append(e.class, cc.class)
		w := 0.0
		switch cc.class {
		case classClient:
			w = codeWeight(cc.code) / sum4
		case classServer:
			w = codeWeight(cc.code) / sum5
		case classSuccess:
			e.success = i
		}
		e.weight = append(e.weight, w)
	}
	n := len(e.codes)
	e.codeCum, e.codeCarry, e.codeInc, e.frac = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	e.binCum, e.binCarry, e.binInc = make([]float64, numBins), make([]float64, numBins), make([]float64, numBins)

	// Series: request_total per code, buckets, _count, _sum.
	e.firstID = len(g.series)
	base := g.baseLabels(e)
	for _, cc := range e.codes {
		g.addSeries(e, MetricRequestTotal, append(base, "code", cc, "dry_run", ""), cc, math.NaN())
	}
	float := c.LeFormat == LeFloat || (c.LeFormat == LeMixed && e.instance%2 == 1)
	for _, le := range SLIBuckets() {
		g.addSeries(e, MetricSLIBucket, append(base, "le", formatLe(le, float)), "", le)
	}
	g.addSeries(e, MetricSLICount, base, "", math.NaN())
	g.addSeries(e, MetricSLISum, base, "", math.NaN())
}

// baseLabels are the labels shared by all series of an endpoint, as name,
// value pairs; empty values are dropped later.
func (g *generator) baseLabels(e *endpointState) []string {
	ls := []string{
		"job", g.c.Job, "instance", e.Instance, "verb", e.Verb, "group", e.Group,
		"version", e.Version, "resource", e.Resource, "subresource", e.Subresource,
		"scope", e.Scope, "component", "apiserver",
	}
	if !g.c.NoClusterLabel {
		ls = append(ls, g.c.ClusterLabel, e.Cluster)
	}
	return slices.Clip(ls)
}

// addSeries appends a series and works out its omissions. code is the code
// of request_total series and le the bound of bucket series (NaN if none).
func (g *generator) addSeries(e *endpointState, metric string, pairs []string, code string, le float64) {
	b := labels.NewScratchBuilder(len(pairs)/2 + 1)
	b.Add(labels.MetricName, metric)
	for i := 0; i < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			b.Add(pairs[i], pairs[i+1])
		}
	}
	b.Sort()
	s := seriesInfo{lset: b.Labels()}
	start := g.c.Start.UnixMilli()
	for _, o := range g.c.Omissions {
		if !o.Match.Matches(e.Endpoint) ||
			(len(o.Metrics) > 0 && !slices.Contains(o.Metrics, metric)) ||
			(len(o.Codes) > 0 && (code == "" || !slices.ContainsFunc(o.Codes, func(p string) bool { return codeMatches(p, code) }))) ||
			(len(o.Les) > 0 && (math.IsNaN(le) || !slices.Contains(o.Les, le))) {
			continue
		}
		if o.From == 0 && o.To == 0 {
			s.never = true
			continue
		}
		to := int64(math.MaxInt64)
		if o.To != 0 {
			to = start + o.To.Milliseconds()
		}
		s.gaps = append(s.gaps, [2]int64{start + o.From.Milliseconds(), to})
	}
	g.series = append(g.series, s)
}

// run emits all samples in time order.
func (g *generator) run(fn func(id int, lset labels.Labels, t int64, v float64) error) error {
	start := g.c.Start.UnixMilli()
	step := g.c.ScrapeInterval.Milliseconds()
	var r Rates
	for k := 0; k < g.steps; k++ {
		t := start + int64(k)*step
		for _, e := range g.eps {
			if k == 0 {
				g.initEndpoint(e)
			} else {
				g.rates(e, k, t, &r)
				if r.Reset {
					e.resetCounters()
				}
				g.advance(e, &r, r.RPS*g.dt)
			}
			if err := g.emit(e, t, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// initEndpoint sets the counters at the first scrape: the totals of the
// apiserver's uptime at base rates.
func (g *generator) initEndpoint(e *endpointState) {
	if e.uptimeS == 0 || e.resetAt0 {
		return
	}
	r := Rates{
		RPS:              e.baseRPS,
		ServerErrorRatio: math.Min(g.c.ErrorRatio*e.errF, 1),
		ClientErrorRatio: math.Min(g.c.ClientErrorRatio*e.cliF, 1),
		SlowRatio:        math.Min(g.c.SlowRatio*e.slowF, 1),
	}
	g.advance(e, &r, e.baseRPS*e.uptimeS)
}

func (e *endpointState) resetCounters() {
	clear(e.codeCum)
	clear(e.binCum)
	e.sum = 0
}

// rates works out the behaviour of scrape interval k, which ends at t.
func (g *generator) rates(e *endpointState, k int, t int64, r *Rates) {
	c := g.c
	ts := float64(t) / 1000
	*r = Rates{
		RPS:              e.baseRPS,
		ServerErrorRatio: c.ErrorRatio * e.errF,
		ClientErrorRatio: c.ClientErrorRatio * e.cliF,
		SlowRatio:        c.SlowRatio * e.slowF,
	}
	if c.Diurnal > 0 {
		hour := math.Mod(ts/3600, 24)
		r.RPS *= 1 + c.Diurnal*math.Sin(2*math.Pi*(hour-9)/24+e.diurnalPhase)
	}
	if c.Drift > 0 {
		r.ServerErrorRatio *= math.Max(0, 1+c.Drift*math.Sin(2*math.Pi*ts/e.errPeriod+e.errPhase))
		r.SlowRatio *= math.Max(0, 1+c.Drift*math.Sin(2*math.Pi*ts/e.slowPeriod+e.slowPhase))
	}
	if c.Noise > 0 {
		kk := uint64(k)
		r.RPS *= 1 + c.Noise*(2*unit(hashKey(e.key, 20, kk))-1)
		r.ServerErrorRatio *= 1 + c.Noise*(2*unit(hashKey(e.key, 21, kk))-1)
		r.SlowRatio *= 1 + c.Noise*(2*unit(hashKey(e.key, 22, kk))-1)
	}
	r.ServerErrorRatio = clamp01(r.ServerErrorRatio)
	r.ClientErrorRatio = clamp01(r.ClientErrorRatio)
	r.SlowRatio = clamp01(r.SlowRatio)

	if len(e.faults) > 0 {
		start := c.Start.UnixMilli()
		step := c.ScrapeInterval.Milliseconds()
		for _, fi := range e.faults {
			f := &c.Faults[fi]
			from := start + f.From.Milliseconds()
			if f.Kind == FaultCounterReset {
				if t >= from && t-step < from {
					r.Reset = true
				}
				continue
			}
			if t-step < from || (f.To != 0 && t > start+f.To.Milliseconds()) {
				continue
			}
			switch f.Kind {
			case FaultErrors:
				if f.Code == "" {
					r.ServerErrorRatio = f.Ratio + (1-f.Ratio)*r.ServerErrorRatio
					break
				}
				if r.CodeRatios == nil {
					r.CodeRatios = map[string]float64{}
				}
				r.CodeRatios[f.Code] += f.Ratio
			case FaultSlow:
				r.SlowRatio = f.Ratio + (1-f.Ratio)*r.SlowRatio
			case FaultTraffic:
				r.RPS *= f.Factor
			}
		}
	}
	if c.Adjust != nil {
		c.Adjust(e.Endpoint, time.UnixMilli(t).UTC(), r)
	}
	r.RPS = math.Max(r.RPS, 0)
}

// advance adds n requests (expected count) with rates r to the counters.
func (g *generator) advance(e *endpointState, r *Rates, n float64) {
	whole := !g.c.Fractional
	if whole {
		n = carryRound(n, &e.nCarry)
	}

	// Ratio per code.
	clear(e.frac)
	taken := 0.0
	if len(r.CodeRatios) > 0 {
		for i, code := range e.codes {
			if ratio := r.CodeRatios[code]; i != e.success && ratio > 0 {
				e.frac[i] += ratio
				taken += ratio
			}
		}
	}
	if taken > 1 {
		for i := range e.frac {
			e.frac[i] /= taken
		}
		taken = 1
	}
	rest := 1 - taken
	srv, cli := clamp01(r.ServerErrorRatio), clamp01(r.ClientErrorRatio)
	if srv+cli > 1 {
		srv, cli = srv/(srv+cli), cli/(srv+cli)
	}
	others := taken
	for i, cl := range e.class {
		var f float64
		switch cl {
		case classClient:
			f = rest * cli * e.weight[i]
		case classServer:
			f = rest * srv * e.weight[i]
		default:
			continue
		}
		e.frac[i] += f
		others += f
	}
	e.frac[e.success] = math.Max(0, 1-others)

	// Split n over the codes; the success code takes the remainder.
	remaining := n
	for i, f := range e.frac {
		if i == e.success {
			continue
		}
		inc := n * f
		if whole {
			inc = math.Min(carryRound(inc, &e.codeCarry[i]), remaining)
		}
		e.codeInc[i] = inc
		remaining -= inc
	}
	if whole {
		e.codeInc[e.success] = remaining
	} else {
		e.codeInc[e.success] = n * e.frac[e.success]
	}

	// Split n over the latency bins.
	clear(e.binInc)
	if e.long {
		g.spread(e, e.lowBin, n, whole)
	} else {
		slow := n * clamp01(r.SlowRatio)
		if whole {
			slow = carryRound(slow, &e.slowCarry)
			slow = math.Min(slow, n)
		}
		g.spread(e, e.lowBin, n-slow, whole)
		g.spread(e, e.highBin, slow, whole)
	}

	for i, inc := range e.codeInc {
		e.codeCum[i] += inc
	}
	for i, inc := range e.binInc {
		e.binCum[i] += inc
		e.sum += inc * binMidpoint(i)
	}
}

// spread adds n requests to binInc by weights w; in whole mode the heaviest
// bin takes the rounding remainder.
func (g *generator) spread(e *endpointState, w []float64, n float64, whole bool) {
	if n == 0 {
		return
	}
	heaviest := 0
	for i, x := range w {
		if x > w[heaviest] {
			heaviest = i
		}
	}
	remaining := n
	for i, x := range w {
		if x == 0 || i == heaviest {
			continue
		}
		inc := n * x
		if whole {
			inc = math.Min(carryRound(inc, &e.binCarry[i]), remaining)
		}
		e.binInc[i] += inc
		remaining -= inc
	}
	if whole {
		e.binInc[heaviest] += remaining
	} else {
		e.binInc[heaviest] += n * w[heaviest]
	}
}

// emit passes the current values of all series of e to fn.
func (g *generator) emit(e *endpointState, t int64, fn func(id int, lset labels.Labels, t int64, v float64) error) error {
	id := e.firstID
	out := func(v float64) error {
		s := &g.series[id]
		id++
		if s.omitted(t) {
			return nil
		}
		return fn(id-1, s.lset, t, v)
	}
	for _, v := range e.codeCum {
		if err := out(v); err != nil {
			return err
		}
	}
	cum := 0.0
	for _, v := range e.binCum {
		cum += v
		if err := out(cum); err != nil {
			return err
		}
	}
	if err := out(cum); err != nil {
		return err
	}
	return out(e.sum)
}

// latencyWeights returns the weights of the fast bins (up to the SLO
// threshold) and the slow bins (above it), or, for long-running requests,
// of all bins (and nil).
func latencyWeights(verb, scope string, long bool) (low, high []float64) {
	low = make([]float64, numBins)
	if long {
		for i := range low {
			low[i] = math.Pow(1.2, float64(i))
		}
		low[numBins-1] = 20
		return normalise(low), nil
	}
	threshold := bucketIndex(sloThreshold(verb, scope))
	q := 0.35
	switch {
	case verb == "LIST" && scope == "cluster":
		q = 0.75
	case verb == "LIST":
		q = 0.5
	}
	for i := 0; i <= threshold; i++ {
		low[i] = math.Pow(q, float64(i))
	}
	high = make([]float64, numBins)
	for i := threshold + 1; i < numBins; i++ {
		high[i] = math.Pow(0.5, float64(i-threshold-1))
	}
	return normalise(low), normalise(high)
}

func normalise(w []float64) []float64 {
	s := 0.0
	for _, x := range w {
		s += x
	}
	for i := range w {
		w[i] /= s
	}
	return w
}

// carryRound rounds x down to a whole number and keeps the remainder in
// carry for the next call, so that the sum of the results follows the sum
// of the inputs.
func carryRound(x float64, carry *float64) float64 {
	v := math.Floor(*carry + x + 1e-9)
	*carry += x - v
	return v
}

func clamp01(x float64) float64 {
	return math.Min(math.Max(x, 0), 1)
}

// hashKey mixes its inputs into a 64-bit key (splitmix64 finaliser).
func hashKey(vals ...uint64) uint64 {
	h := uint64(0x9e3779b97f4a7c15)
	for _, v := range vals {
		h ^= v + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
		h = mix64(h)
	}
	return h
}

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// unit maps a key to [0, 1).
func unit(h uint64) float64 {
	return float64(h>>11) / (1 << 53)
}

// logNormal returns a log-normal factor with mean 1 and log-sd sigma.
func logNormal(key, purpose uint64, sigma float64) float64 {
	u1 := unit(hashKey(key, purpose, 1))
	u2 := unit(hashKey(key, purpose, 2))
	z := math.Sqrt(-2*math.Log(1-u1)) * math.Cos(2*math.Pi*u2)
	return math.Exp(sigma*z - sigma*sigma/2)
}
