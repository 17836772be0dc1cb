package runbook

import (
	"fmt"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// Source is where the burn rates of Steps 1 and 2 (steps sli and terms)
// come from. The page reads burnrate's records; burnrate diagnose falls
// back on the others when a Prometheus has none of them: a cluster still
// on the kubernetes-mixin's rules, or one whose rules run in a Thanos or
// Mimir ruler.
type Source int

const (
	// SourceRecords: the records of burnrate's optimized rules.
	SourceRecords Source = iota
	// SourceMixin: the burn rates the kubernetes-mixin records (the
	// kubernetes-mixin profile's names); the terms, and the burn rates of
	// SLIs the mixin records none for, come from raw series.
	SourceMixin
	// SourceRaw: burn rates and terms computed from the raw series with
	// the spec's selectors.
	SourceRaw
)

// String says where the burn was read, as diagnose's report puts it.
func (s Source) String() string {
	switch s {
	case SourceRecords:
		return "burn read from burnrate's records"
	case SourceMixin:
		return "burn read from the kubernetes-mixin's records"
	case SourceRaw:
		return "burn computed from raw series"
	}
	return fmt.Sprintf("Source(%d)", int(s))
}

// SourceMarker is the record whose series say that source src has data
// for window w: the events record of burnrate's rules, or the mixin's burn
// rate over w. ok is false for SourceRaw, and for SourceMixin when the
// spec names a service (the mixin records only the kube-apiserver's).
func (r *Runbook) SourceMarker(src Source, w time.Duration) (name string, ok bool) {
	switch src {
	case SourceRecords:
		return r.EventsRecord, true
	case SourceMixin:
		m, err := r.mixinModel()
		if err != nil {
			return "", false
		}
		return m.BurnRateRecord(slo.Duration(w)), true
	}
	return "", false
}

// mixinModel is the spec read for the kubernetes-mixin profile, for its
// record names and budget; an error when the spec names a service.
func (r *Runbook) mixinModel() (*slomodel.Model, error) {
	if r.Identity {
		return nil, fmt.Errorf("the kubernetes-mixin records only the kube-apiserver's SLIs")
	}
	return slomodel.New(r.Spec, slomodel.ProfileMixin)
}

// BurnQueries builds the queries of steps sli and terms from source src:
// the terms over range w, the burn rates over each of windows (nil: every
// window of the alert's pairs). For SourceRecords they are the page's,
// over every window: recorded burn rates are cheap to read.
// Computed from raw series, a long window reads every raw sample in it:
// pass only the windows needed.
func (r *Runbook) BurnQueries(src Source, w time.Duration, windows []slo.Duration) (sli, terms string, err error) {
	if windows == nil {
		windows = r.Spec.Windows()
	}
	b := newBuild(r.Model, w, r.table)
	var se, te parser.Expr
	switch src {
	case SourceRecords:
		se, te = b.burnRates(), b.terms()
		if r.Identity {
			se, te = b.serviceBurnRates(), b.serviceTerms()
		}
	case SourceMixin:
		m, err := r.mixinModel()
		if err != nil {
			return "", "", err
		}
		for _, win := range windows {
			se = or(se, labelSet(pql.Bin(parser.DIV, pql.Vec(m.BurnRateRecord(win), nil), pql.Num(m.Budget)), "window", win.String()))
		}
		// The mixin records no burn rate for an SLI without a 5xx series
		// (kubernetes-mixin#690): a write SLI whose writes never failed
		// (recordings/v1.34.2/etcd-slow) is missing. Its rows, and only
		// those, are computed from the raw series.
		for _, win := range windows {
			se = or(se, labelSet(b.rawBurn(time.Duration(win)), "window", win.String()))
		}
		te = b.rawTerms()
	case SourceRaw:
		for _, win := range windows {
			se = or(se, labelSet(b.rawBurn(time.Duration(win)), "window", win.String()))
		}
		te = b.rawTerms()
	default:
		return "", "", fmt.Errorf("unknown source %d", int(src))
	}
	if sli, err = pql.Format(se); err != nil {
		return "", "", err
	}
	if terms, err = pql.Format(te); err != nil {
		return "", "", err
	}
	return sli, terms, nil
}

// rawRate is the rate of metric over d, summed by the cluster label.
func (b *build) rawRate(metric string, ms pql.Sel, d time.Duration) parser.Expr {
	return pql.SumBy(b.by(), pql.Call("rate", pql.Range(pql.Vec(metric, ms), d)))
}

// rawEvents, rawErrors and rawSlow are SLI i's requests, failed requests
// and slow requests per second over d, from the raw series with the SLI's
// selectors, by the cluster label; rawErrors and rawSlow are 0 where the
// SLI has events but no failed or slow request (the counter's series of a
// code, or a bucket, may be missing), nil when the SLI's kind does not
// count them.
func (b *build) rawEvents(i int, d time.Duration) parser.Expr {
	s := b.SLIs[i]
	switch {
	case s.Kind == slo.KindRaw:
		return pql.SumBy(b.by(), rawAt(s.SLO.Raw.Total, d))
	case s.Kind.HasErrors():
		return b.rawRate(b.Counter, s.Requests, d)
	}
	return b.lat(d).Requests(s.Latency, b.by())
}

func (b *build) rawErrors(i int, d time.Duration) parser.Expr {
	s := b.SLIs[i]
	var e parser.Expr
	switch {
	case s.Kind == slo.KindRaw:
		e = pql.SumBy(b.by(), rawAt(s.SLO.Raw.Errors, d))
	case s.Kind.HasErrors():
		e = b.rawRate(b.Counter, s.Requests.And(b.Errors...), d)
	default:
		return nil
	}
	return b.orZero(e, i, d)
}

func (b *build) rawSlow(i int, d time.Duration) parser.Expr {
	s := b.SLIs[i]
	if !s.Kind.HasLatency() {
		return nil
	}
	var terms []parser.Expr
	for _, t := range s.SLO.Latency {
		ms := s.Latency
		if len(t.Partition) > 0 {
			ms = ms.And(pql.OneOf(b.Latency.PartitionLabel, t.Partition))
		}
		terms = append(terms, b.orZero(paren(b.lat(d).Slow(ms, t, b.by())), i, d))
	}
	return pql.Paren(pql.SumOf(terms...))
}

// orZero is `e or 0 * events`: 0 where SLI i has requests and e has no
// series.
func (b *build) orZero(e parser.Expr, i int, d time.Duration) parser.Expr {
	return pql.Paren(pql.Bin(parser.LOR, e, pql.Bin(parser.MUL, pql.Num(0), b.rawEvents(i, d))))
}

// rawAt parses a raw SLO's query at window d (validated with the spec).
func rawAt(q string, d time.Duration) parser.Expr {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(slo.WithWindow(q, slo.Duration(d)))
	if err != nil {
		panic(fmt.Sprintf("raw query %q: %v", q, err))
	}
	return e
}

// rawBurn is every SLI's burn rate over d as a factor of its budget,
// computed from the raw series, with the SLI label set.
func (b *build) rawBurn(d time.Duration) parser.Expr {
	var e parser.Expr
	for i, s := range b.SLIs {
		var bad []parser.Expr
		for _, x := range []parser.Expr{b.rawErrors(i, d), b.rawSlow(i, d)} {
			if x != nil {
				bad = append(bad, x)
			}
		}
		ratio := pql.Bin(parser.DIV, pql.Paren(pql.Bin(parser.DIV, pql.Paren(pql.SumOf(bad...)), b.rawEvents(i, d))), pql.Num(s.Budget))
		e = or(e, labelSet(ratio, b.SLILabel, s.Name))
	}
	return e
}

// rawTerms is every SLI's burn rate over the page's range split into its
// terms (errors, slow), computed from the raw series.
func (b *build) rawTerms() parser.Expr {
	var e parser.Expr
	for i, s := range b.SLIs {
		for _, t := range []struct {
			name string
			expr parser.Expr
		}{{"errors", b.rawErrors(i, b.w)}, {"slow", b.rawSlow(i, b.w)}} {
			if t.expr == nil {
				continue
			}
			ratio := pql.Bin(parser.DIV, pql.Paren(pql.Bin(parser.DIV, t.expr, b.rawEvents(i, b.w))), pql.Num(s.Budget))
			e = or(e, labelSet(labelSet(ratio, b.SLILabel, s.Name), "term", t.name))
		}
	}
	return e
}
