// Package generator turns a validated spec into artifacts: Prometheus rule
// files for each profile. It does no I/O.
package generator

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/burnrate/burnrate/slo"
)

// Profiles lists the rule profiles, the default first.
var Profiles = []string{ProfileOptimized, ProfileMixin}

// ProfileMixin reproduces the kubernetes-mixin's apiserver SLO rules.
const ProfileMixin = "kubernetes-mixin"

// RuleFile is a Prometheus rule file.
type RuleFile struct {
	Groups []Group `yaml:"groups"`
}

// Group is a rule group.
type Group struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval,omitempty"`
	Rules    []Rule `yaml:"rules"`
}

// Rule is a recording or an alerting rule. Expr is pretty-printed PromQL that
// has been parsed once already.
type Rule struct {
	Record      string            `yaml:"record,omitempty"`
	Alert       string            `yaml:"alert,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// Rules renders the rule file of spec s in the named profile.
func Rules(s *slo.Spec, profile string) (*RuleFile, error) {
	if err := Check(s, profile); err != nil {
		return nil, err
	}
	switch profile {
	case ProfileOptimized:
		return optimizedRules(s)
	case ProfileMixin:
		return mixinRules(s)
	default:
		return nil, fmt.Errorf("unknown profile %q; choose one of %s", profile, strings.Join(Profiles, ", "))
	}
}

// Marshal writes the rule file as YAML under a comment header and checks the
// result with rulefmt, the parser Prometheus itself uses to load rule files.
func (f *RuleFile) Marshal(header string) ([]byte, error) {
	out, err := marshalWithHeader(header, f)
	if err != nil {
		return nil, fmt.Errorf("encode rule file: %w", err)
	}
	if _, errs := rulefmt.Parse(out, false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger()); len(errs) > 0 {
		return nil, fmt.Errorf("generated rule file does not load in Prometheus: %w", errs[0])
	}
	return out, nil
}

// groupBuilder names a rule group and builds its rules.
type groupBuilder struct {
	name, interval string
	build          func() ([]Rule, error)
}

// buildGroups builds a rule file from its groups, in order.
func buildGroups(groups []groupBuilder) (*RuleFile, error) {
	f := &RuleFile{}
	for _, g := range groups {
		rules, err := g.build()
		if err != nil {
			return nil, fmt.Errorf("group %s: %w", g.name, err)
		}
		f.Groups = append(f.Groups, Group{Name: g.name, Interval: g.interval, Rules: rules})
	}
	return f, nil
}

// marshalWithHeader writes v as YAML (two-space indent) under a comment
// header.
func marshalWithHeader(header string, v any) ([]byte, error) {
	var b bytes.Buffer
	for _, l := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
		b.WriteString("# " + l + "\n")
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// record makes a recording rule.
func record(name string, e parser.Expr, lbls map[string]string) (Rule, error) {
	text, err := format(e)
	if err != nil {
		return Rule{}, fmt.Errorf("record %s: %w", name, err)
	}
	return Rule{Record: name, Expr: text, Labels: lbls}, nil
}

// ruleList collects rules and the first error, so that builders read as a
// list of rules.
type ruleList struct {
	rules []Rule
	err   error
}

func (l *ruleList) record(name string, e parser.Expr, lbls map[string]string) {
	if l.err != nil {
		return
	}
	r, err := record(name, e, lbls)
	if err != nil {
		l.err = err
		return
	}
	l.rules = append(l.rules, r)
}

func (l *ruleList) alert(r Rule, e parser.Expr) {
	if l.err != nil {
		return
	}
	text, err := format(e)
	if err != nil {
		l.err = fmt.Errorf("alert %s: %w", r.Alert, err)
		return
	}
	r.Expr = text
	l.rules = append(l.rules, r)
}
