// Package encode turns what the generators return into file contents: YAML
// under a comment header, and Prometheus rule files, which are loaded with
// Prometheus' own parser (rulefmt) before they are returned. The generators
// know nothing about files; a new output format is a function here.
package encode

import (
	"bytes"
	"fmt"
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
	out, err := YAML(header, rulefmt.RuleGroups{Groups: groups})
	if err != nil {
		return nil, fmt.Errorf("encode rule file: %w", err)
	}
	if err := parseRules(out); err != nil {
		return nil, err
	}
	return out, nil
}

// parseRules loads a rule file with rulefmt, unknown fields refused.
func parseRules(file []byte) error {
	if _, errs := rulefmt.Parse(file, false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger()); len(errs) > 0 {
		return fmt.Errorf("generated rule file does not load in Prometheus: %w", errs[0])
	}
	return nil
}
