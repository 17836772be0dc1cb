// Package mixingroups holds the kubernetes-mixin's four kube-apiserver SLO
// rule groups as its distributions ship them, and tells which of them a set
// of burnrate's rule groups replaces: a replacement that leaves one of them
// in place writes the same recorded series twice or fires
// KubeAPIErrorBudgetBurn twice.
package mixingroups

import (
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// Group is one of the mixin's SLO rule groups.
type Group struct {
	// Name is the group's name in the mixin, in kube-prometheus'
	// PrometheusRule and in kube-prometheus-stack's templates.
	Name string
	// StackSwitch is the kube-prometheus-stack value
	// defaultRules.rules.<StackSwitch> that renders the group (each
	// templates/prometheus/rules-1.14/<group>.yaml is wrapped in an if on it,
	// written by the chart's hack/sync_prometheus_rules.py from its
	// condition_map).
	StackSwitch string
}

// Groups are the mixin's four kube-apiserver SLO groups: the three recording
// groups of rules/kube_apiserver-*.libsonnet and the alert group of
// alerts/kube_apiserver.libsonnet.
var Groups = []Group{
	{"kube-apiserver-availability.rules", "kubeApiserverAvailability"},
	{"kube-apiserver-burnrate.rules", "kubeApiserverBurnrate"},
	{"kube-apiserver-histogram.rules", "kubeApiserverHistogram"},
	{"kube-apiserver-slos", "kubeApiserverSlos"},
}

// Mixin renders the mixin's four groups as the kubernetes-mixin profile
// reproduces them (the conformance tests in internal/rulegen compare that
// profile with the mixin's own rendering), for spec s.
func Mixin(s *slo.Spec) ([]rulefmt.RuleGroup, error) {
	return rulegen.Rules(s, slomodel.ProfileMixin)
}

// defaultMixin is the mixin's groups for the embedded spec, rendered once
// per process: Replaced compares every spec's groups with them.
var defaultMixin = sync.OnceValues(func() ([]rulefmt.RuleGroup, error) { return Mixin(slo.Default()) })

// Written lists the names a group writes: its records and alerts.
func Written(g rulefmt.RuleGroup) []string {
	set := map[string]bool{}
	for _, r := range g.Rules {
		set[r.Record+r.Alert] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// Replaced returns the mixin groups that ours replace, in the order of
// Groups: each that writes a series or alert ours write, or has the name of
// one of ours (two groups of one name in one rule file or PrometheusRule do
// not load).
func Replaced(ours []rulefmt.RuleGroup) ([]Group, error) {
	mixin, err := defaultMixin()
	if err != nil {
		return nil, fmt.Errorf("render the mixin's groups: %w", err)
	}
	names := map[string]bool{}
	written := map[string]bool{}
	for _, g := range ours {
		names[g.Name] = true
		for _, w := range Written(g) {
			written[w] = true
		}
	}
	var out []Group
	for _, g := range Groups {
		i := slices.IndexFunc(mixin, func(m rulefmt.RuleGroup) bool { return m.Name == g.Name })
		if i < 0 {
			return nil, fmt.Errorf("the kubernetes-mixin profile renders no group %s", g.Name)
		}
		if names[g.Name] || slices.ContainsFunc(Written(mixin[i]), func(w string) bool { return written[w] }) {
			out = append(out, g)
		}
	}
	return out, nil
}

// Writers maps each name written by the groups of several sources (say,
// the mixin's groups left in place and burnrate's) to the sources that write
// it; a clean replacement has one source per name.
func Writers(sources map[string][]rulefmt.RuleGroup) map[string][]string {
	by := map[string][]string{}
	for _, src := range slices.Sorted(maps.Keys(sources)) {
		for _, g := range sources[src] {
			for _, w := range Written(g) {
				if !slices.Contains(by[w], src) {
					by[w] = append(by[w], src)
				}
			}
		}
	}
	return by
}
