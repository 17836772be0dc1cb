// Package encode turns what the generators return into file contents: YAML
// under a comment header, and Prometheus rule files, which are loaded with
// Prometheus' own parser (rulefmt) before they are returned. The generators
// know nothing about files; a new output format is a function here.
package encode

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
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

// parseRules loads a rule file with rulefmt, unknown fields refused.
func parseRules(file []byte) error {
	if _, errs := rulefmt.Parse(file, false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger()); len(errs) > 0 {
		return fmt.Errorf("generated rule file does not load in Prometheus: %w", errs[0])
	}
	return nil
}
