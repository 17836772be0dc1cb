package incident

import (
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/burnrate/burnrate/internal/series"
)

// world is the state of a cluster during one phase: the requests each
// apiserver instance serves, and every other series with its rate or value.
// A scenario is built from one world per phase (see assemble).
type world struct {
	flows []*flow
	plain []*plainSeries
	index map[string]*plainSeries // plain series by name and labels
}

// flow is one kind of request served by one apiserver instance: a label set
// of apiserver_request_total and of the SLI latency histogram.
type flow struct {
	labels map[string]string // instance, verb, group, version, resource, subresource, scope, component
	rate   float64           // requests per second that run (and are observed by the SLI histogram)
	// errors maps an error code to the share of requests answering it.
	errors map[string]float64
	// latency is the distribution of the SLI latency.
	latency []bin
	// dropped is requests per second rejected with 429 before they run
	// (API Priority and Fairness): counted in apiserver_request_total only.
	dropped float64
}

// bin is a share of requests that take the given seconds.
type bin struct{ share, seconds float64 }

// fast is the latency of a request that takes s seconds.
func fast(s float64) []bin { return []bin{{1, s}} }

type plainSeries struct {
	name, family string
	typ          Type
	labels       map[string]string
	value        float64
	start        float64
}

func (w *world) clone() *world {
	c := &world{}
	for _, f := range w.flows {
		g := *f
		g.labels = maps.Clone(f.labels)
		g.errors = maps.Clone(f.errors)
		g.latency = slices.Clone(f.latency)
		c.flows = append(c.flows, &g)
	}
	c.index = map[string]*plainSeries{}
	for _, p := range w.plain {
		q := *p
		q.labels = maps.Clone(p.labels)
		c.plain = append(c.plain, &q)
		c.index[q.name+series.LabelString(q.labels)] = &q
	}
	return c
}

// find returns the flows of the instance (every instance for "") whose
// labels contain match.
func (w *world) find(instance string, match map[string]string) []*flow {
	var out []*flow
	for _, f := range w.flows {
		if instance != "" && f.labels["instance"] != instance {
			continue
		}
		ok := true
		for k, v := range match {
			if f.labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, f)
		}
	}
	return out
}

// set sets the rate (counters, histogram series) or value (gauges) of the
// series, adding it if it is new.
func (w *world) set(name, family string, typ Type, ls map[string]string, v float64) *plainSeries {
	key := name + series.LabelString(ls)
	if p, ok := w.index[key]; ok {
		p.value = v
		return p
	}
	if w.index == nil {
		w.index = map[string]*plainSeries{}
	}
	p := &plainSeries{name: name, family: family, typ: typ, labels: maps.Clone(ls), value: v}
	w.plain = append(w.plain, p)
	w.index[key] = p
	return p
}

// counter sets a counter's rate per second; family is the name without
// _total.
func (w *world) counter(name string, ls map[string]string, perSecond float64) *plainSeries {
	family := name
	if len(name) > 6 && name[len(name)-6:] == "_total" {
		family = name[:len(name)-6]
	}
	return w.set(name, family, Counter, ls, perSecond)
}

func (w *world) gauge(name string, ls map[string]string, v float64) {
	w.set(name, name, Gauge, ls, v)
}

// histogram sets the series of histogram family for requests per second
// whose observations follow latency, with the given bucket bounds.
func (w *world) histogram(family string, ls map[string]string, bounds []float64, perSecond float64, latency []bin) {
	for _, le := range append(slices.Clone(bounds), math.Inf(1)) {
		bl := maps.Clone(ls)
		bl["le"] = series.Le(le)
		w.set(family+"_bucket", family, Histogram, bl, perSecond*within(latency, le))
	}
	w.set(family+"_count", family, Histogram, ls, perSecond)
	w.set(family+"_sum", family, Histogram, ls, perSecond*mean(latency))
}

// within is the share of observations at or below le.
func within(latency []bin, le float64) float64 {
	s := 0.0
	for _, b := range latency {
		if b.seconds <= le {
			s += b.share
		}
	}
	return s
}

func mean(latency []bin) float64 {
	s := 0.0
	for _, b := range latency {
		s += b.share * b.seconds
	}
	return s
}

// series expands the world into series values: every flow into its
// request counters (a success code, each error code, 429 for dropped
// requests) and its SLI histogram, then the other series.
func (w *world) series() []*plainSeries {
	var out []*plainSeries
	add := func(p *plainSeries) { out = append(out, p) }
	tmp := &world{}
	for _, f := range w.flows {
		ls := f.labels
		okShare := 1.0
		for _, code := range slices.Sorted(maps.Keys(f.errors)) {
			okShare -= f.errors[code]
		}
		ok := "200"
		if f.labels["verb"] == "POST" {
			ok = "201"
		}
		codes := map[string]float64{ok: f.rate * okShare}
		for code, share := range f.errors {
			codes[code] += f.rate * share
		}
		if f.dropped > 0 {
			codes["429"] += f.dropped
		}
		for _, code := range slices.Sorted(maps.Keys(codes)) {
			cl := maps.Clone(ls)
			cl["code"] = code
			tmp.counter(MetricRequests, cl, codes[code])
		}
		tmp.histogram(MetricSLI, ls, sliBuckets, f.rate, f.latency)
	}
	for _, p := range tmp.plain {
		add(p)
	}
	for _, p := range w.plain {
		add(p)
	}
	return out
}

// assemble turns one world per phase into the scenario's series: a
// counter's rate per second becomes its increase per scrape interval. A
// series missing from a phase is absent there, except that a counter, once
// seen, stays with rate 0.
func assemble(phases []Phase, worlds []*world) []Series {
	var order []string
	byKey := map[string]*Series{}
	for i, w := range worlds {
		for _, p := range w.series() {
			key := p.name + series.LabelString(p.labels)
			s, ok := byKey[key]
			if !ok {
				s = &Series{Name: p.name, Family: p.family, Type: p.typ, Labels: p.labels, Start: p.start, Values: make([]float64, len(phases))}
				for j := range s.Values {
					s.Values[j] = math.NaN()
				}
				byKey[key] = s
				order = append(order, key)
			}
			s.Values[i] = p.value
			if s.Counts() {
				s.Values[i] = perScrape(p.value)
			}
		}
	}
	out := make([]Series, 0, len(order))
	for _, key := range order {
		s := byKey[key]
		if s.Counts() {
			seen := false
			for i, v := range s.Values {
				if !math.IsNaN(v) {
					seen = true
				} else if seen {
					s.Values[i] = 0
				}
			}
		}
		out = append(out, *s)
	}
	return out
}

// perScrape is the increase per ScrapeInterval of a counter growing by
// perSecond, rounded to 1e-9 so that the written samples stay short (1/600
// per second is 0.1 per minute, not 0.09999999999999999).
func perScrape(perSecond float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(perSecond*ScrapeInterval.Seconds(), 'f', 9, 64), 64)
	return r
}
