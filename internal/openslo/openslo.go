// Package openslo converts OpenSLO objects (openslo/v1alpha, openslo/v1,
// openslo.com/v2alpha; https://github.com/OpenSLO/OpenSLO) to burnrate
// specs, one per service, refusing at its line whatever burnrate cannot
// render as the OpenSLO objects mean it.
//
// Every object is first decoded and validated by the OpenSLO project's Go
// SDK (github.com/OpenSLO/go-sdk), so a file burnrate converts is one
// OpenSLO's own tooling accepts; the conversion then reads the same YAML
// nodes, which keep their lines for the errors.
package openslo

import (
	"fmt"
	"maps"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"gopkg.in/yaml.v3"

	"github.com/burnrate/burnrate/internal/importspec"
)

// Options are what the OpenSLO objects do not say.
type Options struct {
	// ClusterLabel is the burnrate spec's clusterLabel. Default cluster.
	ClusterLabel string
	// AlertName names the burn-rate alert; default <Service>ErrorBudgetBurn.
	AlertName string
}

// The files read and the specs written are internal/importspec's.
type (
	Input  = importspec.Input
	Result = importspec.Result
)

// Convert reads the OpenSLO objects of every input (references may cross
// files) and converts each service's SLOs to one burnrate spec, each
// checked to generate. On any refusal it returns every problem found,
// file:line each, and no spec.
func Convert(inputs []Input, opts Options) (*Result, error) {
	if opts.ClusterLabel == "" {
		opts.ClusterLabel = "cluster"
	}
	c := &converter{opts: opts, byKind: map[string]map[string]*object{}}
	var all []*object
	for _, in := range inputs {
		all = append(all, read(in.File, in.Data, &c.p)...)
	}
	for _, o := range all {
		k := o.version + " " + o.kind
		if c.byKind[k] == nil {
			c.byKind[k] = map[string]*object{}
		}
		if prev, dup := c.byKind[k][o.name]; dup {
			c.p.Fail(o.at(at(o.node, "metadata", "name")), "%s is defined twice (first at %s); references could not tell them apart", describe(o), prev.at(nil))
			continue
		}
		c.byKind[k][o.name] = o
	}
	var services []string
	groups := map[string][]*sloOut{}
	for _, o := range all {
		if o.kind != "SLO" || o.rejected {
			continue
		}
		s := c.slo(o)
		if s == nil {
			continue
		}
		if groups[s.service] == nil {
			services = append(services, s.service)
		}
		groups[s.service] = append(groups[s.service], s)
	}
	if len(services) == 0 && !c.p.Failed() {
		c.p.Fail(importspec.Pos{File: inputs[0].File}, "no SLO object found; burnrate converts OpenSLO SLOs (with the SLIs, data sources and alert policies they use)")
	}
	if c.p.Failed() {
		return nil, c.p.Err()
	}
	if opts.AlertName != "" && len(services) > 1 {
		c.p.Fail(importspec.Pos{File: inputs[0].File}, "--alert-name names one spec's alert, and the objects have %d services (%s); leave it out", len(services), strings.Join(services, ", "))
		return nil, c.p.Err()
	}
	var files []string
	for _, in := range inputs {
		files = append(files, in.File)
	}
	res := &Result{}
	for _, svc := range services {
		data, err := c.build(svc, groups[svc], strings.Join(files, ", "))
		if err != nil {
			c.p.Fail(importspec.Pos{}, "%v", err)
			continue
		}
		if data != nil {
			res.Specs = append(res.Specs, importspec.Converted{Name: importspec.Name(svc), Data: data})
		}
	}
	if c.p.Failed() {
		return nil, errorsWithoutEmptyPos(c.p.Err())
	}
	res.Warnings = c.p.Warnings()
	return res, nil
}

// errorsWithoutEmptyPos drops the ": " a relocated error carries when it
// was recorded at no position of its own.
func errorsWithoutEmptyPos(err error) error {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, ": ")
	}
	return fmt.Errorf("%s", strings.Join(lines, "\n"))
}

type converter struct {
	// silent is set when a lookup finds an object the SDK refused: the
	// reference is not reported again.
	silent bool
	opts   Options
	p      importspec.Problems
	byKind map[string]map[string]*object
}

// lookup finds the object of kind named name in o's version; nil when
// there is none. found is false only when there is none at all: an object
// the SDK refused is found, and its problems are reported already.
func (c *converter) lookup(o *object, kind, name string) *object {
	r := c.byKind[o.version+" "+kind][name]
	if r != nil && r.rejected {
		c.silent = true
		return nil
	}
	return r
}

// missing reports a reference to no object, unless the object is one the
// SDK refused (lookup set silent), whose problems are reported already.
func (c *converter) missing(pos importspec.Pos, format string, args ...any) {
	if c.silent {
		c.silent = false
		return
	}
	c.p.Fail(pos, format, args...)
}

// sloOut is one OpenSLO SLO, converted.
type sloOut struct {
	obj       *object
	service   string
	period    time.Duration
	periodAt  importspec.Pos
	slos      []importspec.SLO
	sloAt     []importspec.Pos
	latency   []latencyOut // per SLO of kind latency, by index in slos
	windows   []importspec.Window
	windowAt  []importspec.Pos
	policyAt  importspec.Pos
	defaulted bool // no alert policy: the workbook's windows
	noData    bool // some policy asks to alert when there is no data
	labels    map[string]labelOut
}

type latencyOut struct {
	index    int
	metric   string
	matchers []*labels.Matcher
	at       importspec.Pos
}

type labelOut struct {
	value string
	at    importspec.Pos
}

// slo converts one SLO object; nil when it is refused.
func (c *converter) slo(o *object) *sloOut {
	spec := key(o.node, "spec")
	s := &sloOut{obj: o, labels: map[string]labelOut{}}
	before := len(c.p.Warnings())
	_ = before
	switch o.version {
	case v2alpha:
		s.service = str(spec, "serviceRef")
	default:
		s.service = str(spec, "service")
	}
	if svc := c.lookup(o, "Service", s.service); svc != nil {
		c.labels(svc, s)
	}
	c.labels(o, s)

	if m := str(spec, "budgetingMethod"); m != "Occurrences" {
		c.p.Fail(o.at(at(spec, "budgetingMethod")), "%s: budgetingMethod %s counts good time slices, not good events; burnrate's burn rates are shares of bad events (budgetingMethod: Occurrences), so this SLO cannot be converted", describe(o), m)
		return nil
	}
	if !c.period(o, spec, s) {
		return nil
	}
	objectives := key(spec, "objectives")
	if objectives == nil || len(objectives.Content) == 0 {
		c.p.Fail(o.at(spec), "%s has no objectives", describe(o))
		return nil
	}
	ok := true
	for i, obj := range objectives.Content {
		name := importspec.Name(o.name)
		if len(objectives.Content) > 1 {
			suffix := importspec.Name(str(obj, "displayName"))
			if suffix == "" {
				suffix = strconv.Itoa(i)
			}
			name += "-" + suffix
		}
		if !c.objective(o, spec, obj, name, s) {
			ok = false
		}
	}
	if !c.alerting(o, spec, s) || !ok {
		return nil
	}
	return s
}

// labels flattens the object's metadata labels (v1: a value or a list of
// values; v2alpha: a value) into s.labels.
func (c *converter) labels(o *object, s *sloOut) {
	ls := key(key(o.node, "metadata"), "labels")
	if ls == nil || ls.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(ls.Content); i += 2 {
		k, v := ls.Content[i], ls.Content[i+1]
		var vals []string
		switch v.Kind {
		case yaml.ScalarNode:
			vals = []string{v.Value}
		case yaml.SequenceNode:
			for _, e := range v.Content {
				vals = append(vals, e.Value)
			}
		}
		s.labels[k.Value] = labelOut{value: strings.Join(vals, "_"), at: o.at(k)}
	}
}

var shorthandRE = regexp.MustCompile(`^(\d+)([smhdwMQY])$`)

// duration reads an OpenSLO duration shorthand (1h, 28d, 2w); months,
// quarters and years are refused (not a fixed length).
func duration(s string) (time.Duration, error) {
	m := shorthandRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not an OpenSLO duration such as 1h, 28d or 2w", s)
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
	if unit == 0 {
		return 0, fmt.Errorf("%q: months, quarters and years differ in length, and burnrate's period is a fixed rolling window; write it in days, e.g. 30d", s)
	}
	return time.Duration(n) * unit, nil
}

// period reads the SLO's one rolling time window.
func (c *converter) period(o *object, spec *yaml.Node, s *sloOut) bool {
	field := "timeWindow"
	if o.version == v1alpha {
		field = "timeWindows"
	}
	tws := key(spec, field)
	if tws == nil || tws.Kind != yaml.SequenceNode || len(tws.Content) != 1 {
		c.p.Fail(o.at(at(spec, field)), "%s: want one time window", describe(o))
		return false
	}
	tw := tws.Content[0]
	s.periodAt = o.at(tw)
	if cal := keyNode(tw, "calendar"); cal != nil || str(tw, "isRolling") != "true" {
		n := cal
		if n == nil {
			n = at(tw, "isRolling")
		}
		c.p.Fail(o.at(n), "%s: a calendar time window (isRolling: false) resets the budget at its start; burnrate's budget is a rolling window, so its alerts and this SLO would disagree. Use isRolling: true without calendar", describe(o))
		return false
	}
	var d time.Duration
	var err error
	if o.version == v1alpha {
		count, _ := strconv.Atoi(str(tw, "count"))
		unit := map[string]time.Duration{"Second": time.Second, "Day": 24 * time.Hour, "Week": 7 * 24 * time.Hour}[str(tw, "unit")]
		if unit == 0 {
			err = fmt.Errorf("unit %s differs in length, and burnrate's period is a fixed rolling window; write it as a count of Day", str(tw, "unit"))
		}
		d = time.Duration(count) * unit
	} else {
		d, err = duration(str(tw, "duration"))
	}
	if err != nil {
		c.p.Fail(s.periodAt, "%s: time window: %v", describe(o), err)
		return false
	}
	s.period = d
	return true
}

// metricQuery is a Prometheus query of an SLI and where it is written.
type metricQuery struct {
	query string
	at    importspec.Pos
}

// query reads a metric spec: v1's metricSource (inline type, or a
// DataSource by metricSourceRef), v2alpha's dataSourceRef or
// dataSourceSpec, v1alpha's source and query. Only Prometheus sources
// convert.
func (c *converter) query(o *object, m *yaml.Node) (metricQuery, bool) {
	var typ, query string
	var typAt, queryAt *yaml.Node
	user := describe(o)
	switch o.version {
	case v1alpha:
		typ, typAt = str(m, "source"), at(m, "source")
		query, queryAt = str(m, "query"), at(m, "query")
		if qt := str(m, "queryType"); qt != "" && !strings.EqualFold(qt, "promql") {
			c.p.Fail(o.at(at(m, "queryType")), "%s: queryType %q: burnrate reads PromQL queries (queryType: promql)", describe(o), qt)
			return metricQuery{}, false
		}
	case v1:
		ms := key(m, "metricSource")
		typ, typAt = str(ms, "type"), at(ms, "type")
		if ref := str(ms, "metricSourceRef"); ref != "" {
			ds := c.lookup(o, "DataSource", ref)
			if ds == nil {
				c.missing(o.at(at(ms, "metricSourceRef")), "%s: metricSourceRef %q: no DataSource of that name in the files given; pass its file too", describe(o), ref)
				return metricQuery{}, false
			}
			if typ == "" {
				typ, typAt = str(ds.node, "spec", "type"), at(ds.node, "spec", "type")
				o = ds
			}
		}
		query, queryAt = str(ms, "spec", "query"), at(ms, "spec", "query")
	case v2alpha:
		typ, typAt = str(m, "dataSourceSpec", "type"), at(m, "dataSourceSpec", "type")
		if ref := str(m, "dataSourceRef"); ref != "" {
			ds := c.lookup(o, "DataSource", ref)
			if ds == nil {
				c.missing(o.at(at(m, "dataSourceRef")), "%s: dataSourceRef %q: no DataSource of that name in the files given; pass its file too", describe(o), ref)
				return metricQuery{}, false
			}
			typ, typAt = str(ds.node, "spec", "type"), at(ds.node, "spec", "type")
			o = ds
		}
		query, queryAt = str(m, "spec", "query"), at(m, "spec", "query")
	}
	if !strings.EqualFold(typ, "prometheus") {
		where := ""
		if o.kind == "DataSource" {
			where = " (" + describe(o) + ")"
		}
		c.p.Fail(o.at(typAt), "%s: data source type %q%s: burnrate writes Prometheus rules and reads PromQL; only a Prometheus source converts", user, typ, where)
		return metricQuery{}, false
	}
	if strings.TrimSpace(query) == "" {
		c.p.Fail(o.at(queryAt), "%s: want the Prometheus query under query", describe(o))
		return metricQuery{}, false
	}
	return metricQuery{query: query, at: importspec.At(o.file, queryAt)}, true
}

// indicator is the SLI spec the SLO's objectives measure, and the object
// it is written in (the SLO itself, or a referenced SLI).
func (c *converter) indicator(o *object, spec *yaml.Node) (*object, *yaml.Node, bool) {
	inline, ref := "indicator", "indicatorRef"
	if o.version == v2alpha {
		inline, ref = "sli", "sliRef"
	}
	if name := str(spec, ref); name != "" {
		sli := c.lookup(o, "SLI", name)
		if sli == nil {
			c.missing(o.at(at(spec, ref)), "%s: %s %q: no SLI of that name in the files given; pass its file too", describe(o), ref, name)
			return nil, nil, false
		}
		return sli, key(sli.node, "spec"), true
	}
	if n := key(spec, inline); n != nil {
		return o, key(n, "spec"), true
	}
	c.p.Fail(o.at(spec), "%s: want %s or %s", describe(o), inline, ref)
	return nil, nil, false
}

// objective converts one objective to one burnrate SLO named name.
func (c *converter) objective(o *object, spec, obj *yaml.Node, name string, s *sloOut) bool {
	for _, f := range []string{"indicator", "indicatorRef", "sli", "sliRef", "compositeWeight"} {
		if k := keyNode(obj, f); k != nil && o.version != v1alpha {
			c.p.Fail(o.at(k), "%s: an objective with its own indicator is a composite SLO, whose budget weighs several SLIs; burnrate's SLO has one SLI. Write each as an SLO of its own", describe(o))
			return false
		}
	}
	for _, f := range []string{"timeSliceTarget", "timeSliceWindow"} {
		if k := keyNode(obj, f); k != nil {
			c.p.Fail(o.at(k), "%s: %s belongs to time-slice budgeting, which burnrate cannot render (its burn rates count events)", describe(o), f)
			return false
		}
	}
	objective, objAt, ok := c.target(o, obj)
	if !ok {
		return false
	}
	out := importspec.SLO{Name: name, Objective: objective}
	at0 := o.at(obj)
	_ = objAt

	// The metric: v1alpha keeps ratio metrics on the objective and the
	// threshold metric on the indicator; v1 and v2alpha keep both on the
	// SLI.
	var src *object
	var ratio, threshold *yaml.Node
	if o.version == v1alpha {
		src = o
		if rm := key(obj, "ratioMetrics"); rm != nil {
			ratio = rm
		} else {
			threshold = key(key(spec, "indicator"), "thresholdMetric")
		}
	} else {
		var ind *yaml.Node
		if src, ind, ok = c.indicator(o, spec); !ok {
			return false
		}
		ratio, threshold = key(ind, "ratioMetric"), key(ind, "thresholdMetric")
	}
	switch {
	case ratio != nil:
		if !c.ratio(src, ratio, &out, s, len(s.slos)) {
			return false
		}
	case threshold != nil:
		if !c.threshold(src, o, obj, threshold, &out, s, len(s.slos)) {
			return false
		}
	default:
		c.p.Fail(at0, "%s: the SLI has neither ratioMetric nor thresholdMetric", describe(o))
		return false
	}
	s.slos = append(s.slos, out)
	s.sloAt = append(s.sloAt, at0)
	return true
}

// target reads an objective's target (a ratio) or targetPercent.
func (c *converter) target(o *object, obj *yaml.Node) (float64, importspec.Pos, bool) {
	if n := key(obj, "targetPercent"); n != nil {
		r, ok := new(big.Rat).SetString(n.Value)
		if !ok {
			c.p.Fail(o.at(n), "%s: targetPercent %q is not a number", describe(o), n.Value)
			return 0, importspec.Pos{}, false
		}
		f, _ := r.Quo(r, big.NewRat(100, 1)).Float64()
		return f, o.at(n), true
	}
	n := key(obj, "target")
	if n == nil {
		c.p.Fail(o.at(obj), "%s: the objective has no target or targetPercent", describe(o))
		return 0, importspec.Pos{}, false
	}
	f, err := strconv.ParseFloat(n.Value, 64)
	if err != nil {
		c.p.Fail(o.at(n), "%s: target %q is not a number", describe(o), n.Value)
		return 0, importspec.Pos{}, false
	}
	return f, o.at(n), true
}

var _ = maps.Keys[map[string]int]
var _ = slices.Contains[[]string]
