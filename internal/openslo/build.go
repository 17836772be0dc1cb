package openslo

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/burnrate/burnrate/internal/importspec"
)

// baseWindow is burnrate's default base window: every window must be a
// multiple of it.
const baseWindow = 5 * time.Minute

// alerting converts the SLO's alert policies to window pairs: each
// burnrate AlertCondition is a pair whose long window is its
// lookbackWindow and whose short window is a twelfth of it (the SRE
// workbook's rule), rounded to the base window.
func (c *converter) alerting(o *object, spec *yaml.Node, s *sloOut) bool {
	policies := key(spec, "alertPolicies")
	if o.version == v1alpha || policies == nil || len(policies.Content) == 0 {
		s.defaulted = true
		s.windows = importspec.DefaultWindows(s.period)
		s.policyAt = o.at(nil)
		c.p.Warn(o.at(keyNode(spec, "alertPolicies")), "%s has no alert policy; burnrate alerts on it with the SRE workbook's window pairs for a %s period", describe(o), importspec.Dur(s.period))
		return true
	}
	s.policyAt = o.at(keyNode(spec, "alertPolicies"))
	ok := true
	for _, ap := range policies.Content {
		pobj, pspec := o, key(ap, "spec")
		if ref := str(ap, "alertPolicyRef"); ref != "" {
			if pobj = c.lookup(o, "AlertPolicy", ref); pobj == nil {
				c.missing(o.at(at(ap, "alertPolicyRef")), "%s: alertPolicyRef %q: no AlertPolicy of that name in the files given; pass its file too", describe(o), ref)
				ok = false
				continue
			}
			pspec = key(pobj.node, "spec")
		}
		if str(pspec, "alertWhenNoData") == "true" {
			s.noData = true
		}
		if k := keyNode(pspec, "notificationTargets"); k != nil {
			c.p.Warn(pobj.at(k), "notificationTargets: burnrate's alerts go to Alertmanager, which routes them by their labels (alertname, severity, service, slo); dropped")
		}
		for _, cond := range key(pspec, "conditions").Content {
			cobj, cspec := pobj, key(cond, "spec")
			if ref := str(cond, "conditionRef"); ref != "" {
				if cobj = c.lookup(pobj, "AlertCondition", ref); cobj == nil {
					c.missing(pobj.at(at(cond, "conditionRef")), "conditionRef %q: no AlertCondition of that name in the files given; pass its file too", ref)
					ok = false
					continue
				}
				cspec = key(cobj.node, "spec")
			}
			w, good := c.window(cobj, cspec)
			if !good {
				ok = false
				continue
			}
			if !slices.Contains(s.windows, w) {
				s.windows = append(s.windows, w)
				s.windowAt = append(s.windowAt, cobj.at(cspec))
			}
		}
	}
	if ok && len(s.windows) == 0 {
		c.p.Fail(s.policyAt, "%s: its alert policies have no burn-rate condition; burnrate's spec is its burn-rate alerts", describe(o))
		return false
	}
	return ok
}

// window converts one AlertCondition's spec.
func (c *converter) window(o *object, spec *yaml.Node) (importspec.Window, bool) {
	cond := key(spec, "condition")
	if k := str(cond, "kind"); k != "burnrate" {
		c.p.Fail(o.at(at(cond, "kind")), "%s: condition kind %q: burnrate renders burn-rate conditions only", describe(o), k)
		return importspec.Window{}, false
	}
	if op := str(cond, "op"); op != "gt" && op != "gte" {
		c.p.Fail(o.at(at(cond, "op")), "%s: op %q: a burn-rate alert fires when the burn rate exceeds the threshold (op: gt or gte)", describe(o), op)
		return importspec.Window{}, false
	}
	factor, err := strconv.ParseFloat(str(cond, "threshold"), 64)
	if err != nil {
		c.p.Fail(o.at(at(cond, "threshold")), "%s: threshold: want the burn rate, a number", describe(o))
		return importspec.Window{}, false
	}
	long, err := duration(str(cond, "lookbackWindow"))
	if err == nil && (long < 2*baseWindow || long%baseWindow != 0) {
		err = fmt.Errorf("%s: burnrate's windows are multiples of its %s base window, and the short window (a twelfth of this one) must be shorter than it; use at least 10m", importspec.Dur(long), importspec.Dur(baseWindow))
	}
	if err != nil {
		c.p.Fail(o.at(at(cond, "lookbackWindow")), "%s: lookbackWindow: %v", describe(o), err)
		return importspec.Window{}, false
	}
	short := max(baseWindow, (long/12+baseWindow/2)/baseWindow*baseWindow)
	forDur := time.Duration(0)
	if a := str(cond, "alertAfter"); a != "" {
		if forDur, err = duration(a); err != nil {
			c.p.Fail(o.at(at(cond, "alertAfter")), "%s: alertAfter: %v", describe(o), err)
			return importspec.Window{}, false
		}
	}
	sev := str(spec, "severity")
	return importspec.Window{Long: importspec.Dur(long), Short: importspec.Dur(short), Factor: factor, Severity: sev, For: importspec.Dur(forDur)}, true
}

// build writes the burnrate spec of one service's SLOs.
func (c *converter) build(service string, slos []*sloOut, files string) ([]byte, error) {
	first := slos[0]
	name := importspec.Name(service)
	if name != service {
		c.p.Warn(first.obj.at(nil), "service %q: burnrate names services with lower-case letters, digits and dashes; written as %q", service, name)
	}
	out := &importspec.Spec{
		Name: name, Service: name, ClusterLabel: c.opts.ClusterLabel, Period: importspec.Dur(first.period),
		Alert: importspec.Alert{
			Name:        c.opts.AlertName,
			Summary:     fmt.Sprintf("%s is burning its error budget too fast.", name),
			Description: fmt.Sprintf("%s SLO {{ $labels.slo }} is burning its error budget too fast (imported from OpenSLO).", name),
			Windows:     first.windows,
		},
	}
	if out.Alert.Name == "" {
		out.Alert.Name = importspec.AlertName(name)
	}
	origins := importspec.Origins{"name": first.obj.at(nil), "service": first.obj.at(nil), "period": first.periodAt, "alert": first.policyAt}
	for j, at := range first.windowAt {
		origins[fmt.Sprintf("alert.windows[%d]", j)] = at
	}
	var latency []latencyOut
	noData := false
	lbls := map[string]string{}
	for _, s := range slos {
		if s.period != first.period {
			c.p.Fail(s.periodAt, "%s: time window %s, and %s of the same service has %s; burnrate's period is one per service (spec)", describe(s.obj), importspec.Dur(s.period), describe(first.obj), importspec.Dur(first.period))
		}
		if !slices.Equal(s.windows, first.windows) {
			c.p.Fail(s.policyAt, "%s: its alert policies give other window pairs than those of %s of the same service (%s); burnrate's windows are the same for every SLO of a service (spec). Give the service's SLOs the same alert policies", describe(s.obj), describe(first.obj), first.policyAt)
		}
		noData = noData || s.noData
		for _, l := range s.latency {
			l.index += len(out.SLOs)
			latency = append(latency, l)
		}
		for i, o := range s.slos {
			origins[fmt.Sprintf("slos[%d]", len(out.SLOs))] = s.sloAt[i]
			out.SLOs = append(out.SLOs, o)
		}
		for _, k := range slices.Sorted(maps.Keys(s.labels)) {
			l := s.labels[k]
			switch {
			case len(validation.IsQualifiedName(k)) > 0 || len(validation.IsValidLabelValue(l.value)) > 0:
				c.p.Warn(l.at, "label %s=%q is not a Kubernetes label; dropped", k, l.value)
			case lbls[k] != "" && lbls[k] != l.value:
				c.p.Warn(l.at, "label %s=%q: the service's spec already has %s=%q; dropped", k, l.value, k, lbls[k])
			default:
				lbls[k] = l.value
			}
		}
	}
	if len(lbls) > 0 {
		out.Output = &importspec.Output{Labels: lbls}
	}
	if !noData {
		c.p.Warn(first.policyAt, "service %s: no alert policy sets alertWhenNoData, and burnrate alerts anyway when an SLI's series are missing while traffic flows (%sSLIBroken, severity warning); silence it in Alertmanager if it is not wanted", name, out.Alert.Name)
	}
	if len(latency) > 0 {
		c.latencySection(out, latency, origins)
	}
	if c.p.Failed() {
		return nil, nil
	}
	header := fmt.Sprintf("Converted by burnrate import openslo from %s (service %s).", files, service)
	return importspec.Render(out, header, origins, first.obj.at(nil))
}

// latencySection sets the spec's histogram and selector from its latency
// SLOs: burnrate reads one histogram per service, selected by the
// matchers all of them share, each SLO by the rest of its own.
func (c *converter) latencySection(out *importspec.Spec, ls []latencyOut, origins importspec.Origins) {
	metric := ls[0].metric
	common := ls[0].matchers
	for _, l := range ls[1:] {
		if l.metric != metric {
			c.p.Fail(l.at, "reads histogram %s, and another latency SLO of the service (%s) reads %s; burnrate reads one latency histogram per service (spec)", l.metric, ls[0].at, metric)
			return
		}
		common = slices.DeleteFunc(slices.Clone(common), func(m *labels.Matcher) bool {
			return !slices.ContainsFunc(l.matchers, func(o *labels.Matcher) bool { return o.String() == m.String() })
		})
	}
	if len(common) == 0 {
		c.p.Fail(ls[0].at, "burnrate selects a service's histogram series with at least one matcher that all its latency SLOs share (e.g. job=\"api\"); the queries share none")
		return
	}
	out.Latency = &importspec.Latency{Metric: metric}
	out.Selector = importspec.Selector(common)
	origins["selector"], origins["latency"] = ls[0].at, ls[0].at
	for _, l := range ls {
		own, _ := importspec.Extra(common, l.matchers)
		out.SLOs[l.index].Selector = importspec.Selector(own)
	}
	_ = strings.Join
}
