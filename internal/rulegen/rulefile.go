// Package rulegen builds the rule groups of each profile from the SLO model:
// one builder per group, each returning rulefmt rules with every expression
// built as a syntax tree, printed and parsed again. It does no I/O; encode
// writes the groups as files.
package rulegen

import (
	"fmt"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// Rules builds the model of spec s in the named profile (slomodel.New,
// which checks the spec) and renders its rule groups: for tests and tools
// that need the rules of a spec and nothing else. generate builds the model
// once and calls RuleGroups.
func Rules(s *slo.Spec, profile string) ([]rulefmt.RuleGroup, error) {
	m, err := slomodel.New(s, profile)
	if err != nil {
		return nil, err
	}
	return RuleGroups(m)
}

// RuleGroups renders the model's rule groups.
func RuleGroups(m *slomodel.Model) ([]rulefmt.RuleGroup, error) {
	groups, err := groupBuilders(m)
	if err != nil {
		return nil, err
	}
	return buildGroups(groups)
}

// GroupNames are the names of the model's rule groups, in order, without
// the work of building their rules (what the tests' group_eval_order
// needs).
func GroupNames(m *slomodel.Model) ([]string, error) {
	groups, err := groupBuilders(m)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.name
	}
	return names, nil
}

func groupBuilders(m *slomodel.Model) ([]groupBuilder, error) {
	if m.Profile.Name == slomodel.ProfileMixin {
		return mixinGroups(m)
	}
	return optimizedGroups(m), nil
}

// groupBuilder names a rule group and builds its rules.
type groupBuilder struct {
	name     string
	interval model.Duration
	build    func() ([]rulefmt.Rule, error)
}

// buildGroups builds rule groups, in order.
func buildGroups(groups []groupBuilder) ([]rulefmt.RuleGroup, error) {
	var out []rulefmt.RuleGroup
	for _, g := range groups {
		rules, err := g.build()
		if err != nil {
			return nil, fmt.Errorf("group %s: %w", g.name, err)
		}
		out = append(out, rulefmt.RuleGroup{Name: g.name, Interval: g.interval, Rules: rules})
	}
	return out, nil
}

// ruleList collects rules and the first error, so that builders read as a
// list of rules.
type ruleList struct {
	rules []rulefmt.Rule
	err   error
}

// record adds a recording rule.
func (l *ruleList) record(name string, e parser.Expr, lbls map[string]string) {
	if l.err != nil {
		return
	}
	text, err := pql.Format(e)
	if err != nil {
		l.err = fmt.Errorf("record %s: %w", name, err)
		return
	}
	l.rules = append(l.rules, rulefmt.Rule{Record: name, Expr: text, Labels: lbls})
}

// alert adds alerting rule r with expression e.
func (l *ruleList) alert(r rulefmt.Rule, e parser.Expr) {
	if l.err != nil {
		return
	}
	text, err := pql.Format(e)
	if err != nil {
		l.err = fmt.Errorf("alert %s: %w", r.Alert, err)
		return
	}
	r.Expr = text
	l.rules = append(l.rules, r)
}
