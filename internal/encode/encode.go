// Package encode turns what the generators return into file contents: YAML
// under a comment header, and Prometheus rule files, which are loaded with
// Prometheus' own parser (rulefmt) before they are returned. The generators
// know nothing about files; a new output format is a function here.
package encode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// YAML writes v as YAML with a two-space indent under header, each of its
// lines a comment.
func YAML(header string, v any) ([]byte, error) {
	var b bytes.Buffer
	Comment(&b, header)
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

// Comment writes header to b as comment lines, as YAML writes it.
func Comment(b *bytes.Buffer, header string) {
	for l := range strings.SplitSeq(strings.TrimRight(header, "\n"), "\n") {
		b.WriteString("# " + l + "\n")
	}
}

// RuleFile writes rule groups as a Prometheus rule file under header and
// checks the result with rulefmt, the parser Prometheus itself loads rule
// files with.
func RuleFile(groups []rulefmt.RuleGroup, header string) ([]byte, error) {
	out, err := ruleFileYAML(groups, header)
	if err != nil {
		return nil, fmt.Errorf("encode rule file: %w", err)
	}
	if err := parseRules(out); err != nil {
		return nil, err
	}
	return out, nil
}

// ruleFileYAML is YAML(header, rulefmt.RuleGroups{Groups: groups}), written
// by a Writer: the fields of rulefmt's types in order, those omitempty
// leaves out left out.
func ruleFileYAML(groups []rulefmt.RuleGroup, header string) ([]byte, error) {
	w := NewWriter(header)
	w.Items(0, "groups", len(groups), func(i, col int) {
		g := &groups[i]
		w.Str(col, "name", g.Name)
		if g.Interval != 0 {
			w.Str(col, "interval", g.Interval.String())
		}
		if g.QueryOffset != nil {
			w.Str(col, "query_offset", g.QueryOffset.String())
		}
		if g.Limit != 0 {
			w.Plain(col, "limit", strconv.Itoa(g.Limit))
		}
		w.Items(col, "rules", len(g.Rules), func(i, col int) {
			r := &g.Rules[i]
			if r.Record != "" {
				w.Str(col, "record", r.Record)
			}
			if r.Alert != "" {
				w.Str(col, "alert", r.Alert)
			}
			w.Str(col, "expr", r.Expr)
			if r.For != 0 {
				w.Str(col, "for", r.For.String())
			}
			if r.KeepFiringFor != 0 {
				w.Str(col, "keep_firing_for", r.KeepFiringFor.String())
			}
			if len(r.Labels) > 0 {
				w.StringMap(col, "labels", r.Labels)
			}
			if len(r.Annotations) > 0 {
				w.StringMap(col, "annotations", r.Annotations)
			}
		})
		if len(g.Labels) > 0 {
			w.StringMap(col, "labels", g.Labels)
		}
	})
	return w.Done(rulefmt.RuleGroups{Groups: groups})
}

// parseRules checks a rule file as Prometheus loads it (rulefmt.Parse:
// the YAML decoded with unknown fields refused, then every group and rule
// validated), with one difference: an alert's label or annotation text that
// an earlier alert of the file already had is not parsed as a template
// again. Validating a label or annotation depends on its name and text
// alone (rulefmt's Rule.Validate and testTemplateParsing), and the
// generated files repeat the same few texts for every SLO: rulefmt.Parse
// spent 1.5 of 2.8 s of CPU on them for 1,000 SLOs, and decoded the file
// twice (the second time into position nodes, which only its error messages
// use). TestParseRulesAgrees shows that both accept and refuse the same
// files.
func parseRules(file []byte) error {
	fail := func(err error) error {
		return fmt.Errorf("generated rule file does not load in Prometheus: %w", err)
	}
	var groups rulefmt.RuleGroups
	dec := yaml.NewDecoder(bytes.NewReader(file))
	dec.KnownFields(true)
	if err := dec.Decode(&groups); err != nil && !errors.Is(err, io.EOF) {
		return fail(err)
	}
	p := parser.NewParser(parser.Options{})
	names := map[string]bool{}
	seen := map[string]bool{}
	unseen := func(kind string, m map[string]string) map[string]string {
		var out map[string]string
		for k, v := range m {
			key := kind + "\x00" + k + "\x00" + v
			if seen[key] {
				continue
			}
			seen[key] = true
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
		return out
	}
	for _, g := range groups.Groups {
		if g.Name == "" {
			return fail(errors.New("Groupname must not be empty"))
		}
		if names[g.Name] {
			return fail(fmt.Errorf("groupname: %q is repeated in the same file", g.Name))
		}
		names[g.Name] = true
		for k, v := range g.Labels {
			if !model.UTF8Validation.IsValidLabelName(k) || k == model.MetricNameLabel || !model.LabelValue(v).IsValid() {
				return fail(fmt.Errorf("group %q: invalid label %s=%q", g.Name, k, v))
			}
		}
		for i, r := range g.Rules {
			if r.Alert != "" {
				r.Labels, r.Annotations = unseen("l", r.Labels), unseen("a", r.Annotations)
			}
			if errs := r.Validate(rulefmt.RuleNode{}, model.UTF8Validation, p); len(errs) > 0 {
				// The nodes are empty (no positions): the rule's
				// place is its group and number.
				return fail(fmt.Errorf("group %q, rule %d, %q: %w", g.Name, i+1, r.Alert+r.Record, errs[0].Unwrap()))
			}
		}
	}
	return nil
}
