// Package promtest is the promtool rule unit-test file format: types for
// writing and reading it.
//
// The types follow cmd/promtool/unittest.go of Prometheus v0.316.0: the same
// YAML keys and the same field types, so that Decode accepts exactly the
// documents promtool accepts. Field order is the order Marshal writes, and
// keys a writer leaves empty carry omitempty, so that a file written from
// these types names only what it sets. Two fields differ from promtool in
// their Go type, not in what they accept: ExternalLabels is a map (promtool's
// labels.Labels decodes from the same YAML mapping, but yaml.v3 cannot tell
// whether it is empty) and ExpSample.Histogram is omitted when empty.
package promtest

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/prometheus/common/model"
	yamlv2 "go.yaml.in/yaml/v2"
	"gopkg.in/yaml.v3"
)

// File is the top level of a unit-test file.
type File struct {
	RuleFiles          []string       `yaml:"rule_files"`
	EvaluationInterval model.Duration `yaml:"evaluation_interval,omitempty"`
	GroupEvalOrder     []string       `yaml:"group_eval_order"`
	Tests              []Group        `yaml:"tests"`
	FuzzyCompare       bool           `yaml:"fuzzy_compare,omitempty"`
}

// Group is one entry of tests: input series and the assertions on them.
type Group struct {
	Name            string            `yaml:"name,omitempty"`
	Interval        model.Duration    `yaml:"interval"`
	InputSeries     []InputSeries     `yaml:"input_series"`
	AlertRuleTests  []AlertTest       `yaml:"alert_rule_test,omitempty"`
	PromQLExprTests []ExprTest        `yaml:"promql_expr_test,omitempty"`
	ExternalLabels  map[string]string `yaml:"external_labels,omitempty"`
	ExternalURL     string            `yaml:"external_url,omitempty"`
	StartTimestamp  StartTimestamp    `yaml:"start_timestamp,omitempty"`
}

// InputSeries is a series in PromQL selector notation together with its
// values in the expanding notation of promqltest's load command.
type InputSeries struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

// AlertTest asserts that exactly ExpAlerts of the alert Alertname are firing
// at EvalTime.
type AlertTest struct {
	EvalTime  model.Duration `yaml:"eval_time"`
	Alertname string         `yaml:"alertname"`
	ExpAlerts []ExpAlert     `yaml:"exp_alerts"`
}

// ExpAlert is one expected firing alert. The alertname label is implied.
type ExpAlert struct {
	ExpLabels      map[string]string `yaml:"exp_labels"`
	ExpAnnotations map[string]string `yaml:"exp_annotations"`
}

// ExprTest asserts the result of the instant query Expr at EvalTime.
type ExprTest struct {
	Expr       string         `yaml:"expr"`
	EvalTime   model.Duration `yaml:"eval_time"`
	ExpSamples []ExpSample    `yaml:"exp_samples"`
}

// ExpSample is one expected sample. A non-empty Histogram holds a native
// histogram in series notation; promtool still compares Value in that case.
type ExpSample struct {
	Labels    string  `yaml:"labels"`
	Value     float64 `yaml:"value"`
	Histogram string  `yaml:"histogram,omitempty"`
}

// StartTimestamp is the optional start of a test group's timeline, given
// either as Unix seconds (fractions allowed) or as an RFC 3339 timestamp.
// The zero value means the Unix epoch, promtool's default.
type StartTimestamp struct {
	time.Time
}

// UnmarshalYAML implements the yaml.v2 unmarshaler interface, which promtool
// uses.
func (s *StartTimestamp) UnmarshalYAML(unmarshal func(any) error) error {
	var text string
	if err := unmarshal(&text); err != nil {
		return err
	}
	t, err := ParseStartTimestamp(text)
	if err != nil {
		return err
	}
	s.Time = t
	return nil
}

// MarshalYAML writes the timestamp in RFC 3339 notation.
func (s StartTimestamp) MarshalYAML() (any, error) {
	return s.UTC().Format(time.RFC3339Nano), nil
}

// ParseStartTimestamp accepts the same spellings of start_timestamp as
// promtool.
func ParseStartTimestamp(text string) (time.Time, error) {
	if f, err := strconv.ParseFloat(text, 64); err == nil {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, text); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("start_timestamp: cannot parse %q as Unix seconds or RFC 3339 time", text)
}

// Marshal writes the file as YAML (two-space indent) under header, each of
// whose lines becomes a comment line: the bytes encode.YAML (yaml.v3)
// writes, several times faster (encode.Writer).
func (f *File) Marshal(header string) ([]byte, error) {
	w := encode.NewWriter(header)
	f.write(w)
	out, err := w.Done(f)
	if err != nil {
		return nil, fmt.Errorf("encode test file: %w", err)
	}
	return out, nil
}

// DecodeError lists what the strict decoder rejected in a test file.
type DecodeError struct {
	Problems []Problem
}

// Problem is one rejected part of a test file. Line is 0 when unknown.
type Problem struct {
	Line int
	Msg  string
}

func (e *DecodeError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		if p.Line > 0 {
			msgs[i] = fmt.Sprintf("line %d: %s", p.Line, p.Msg)
		} else {
			msgs[i] = p.Msg
		}
	}
	return "invalid test file: " + strings.Join(msgs, "; ")
}

var (
	yamlLineRE    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	yamlUnknownRE = regexp.MustCompile(`field (\S+) not found in type promtest\.(\w+)`)
	yamlTypeRE    = regexp.MustCompile(`into promtest\.(\w+)`)
	lastQuotedRE  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
)

// typeNames maps the types to the part of the file they stand for.
var typeNames = map[string]string{
	"File":           "the top level of the test file",
	"Group":          "a tests entry",
	"InputSeries":    "an input_series entry",
	"AlertTest":      "an alert_rule_test entry",
	"ExpAlert":       "an exp_alerts entry",
	"ExprTest":       "a promql_expr_test entry",
	"ExpSample":      "an exp_samples entry",
	"StartTimestamp": "start_timestamp",
}

// Decode decodes a test file strictly, with the YAML library and mode
// promtool uses (go.yaml.in/yaml/v2, unknown fields rejected), so that
// exactly the same documents are accepted. A rejected document yields a
// *DecodeError whose problems name the line where it is known and the part
// of the file in words rather than Go type names.
func Decode(content []byte) (*File, error) {
	var f File
	err := yamlv2.UnmarshalStrict(content, &f)
	if err == nil {
		return &f, nil
	}
	var msgs []string
	if te, ok := errors.AsType[*yamlv2.TypeError](err); ok {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var loc *Locator
	de := &DecodeError{Problems: make([]Problem, 0, len(msgs))}
	for _, msg := range msgs {
		var p Problem
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
			msg = m[2]
		} else if m := lastQuotedRE.FindAllStringSubmatch(msg, -1); m != nil {
			// Errors from custom unmarshalers (durations, timestamps) carry
			// no line; find the offending value in the document instead.
			if v, err := strconv.Unquote(m[len(m)-1][0]); err == nil {
				if loc == nil {
					loc = NewLocator(content)
				}
				p.Line = loc.ScalarLine(v)
			}
		}
		msg = yamlUnknownRE.ReplaceAllStringFunc(msg, func(s string) string {
			m := yamlUnknownRE.FindStringSubmatch(s)
			return fmt.Sprintf("unknown field %q in %s", m[1], typeDescription(m[2]))
		})
		msg = yamlTypeRE.ReplaceAllStringFunc(msg, func(s string) string {
			return "into " + typeDescription(yamlTypeRE.FindStringSubmatch(s)[1])
		})
		p.Msg = strings.TrimPrefix(msg, "yaml: ")
		de.Problems = append(de.Problems, p)
	}
	return nil, de
}

func typeDescription(name string) string {
	if d, ok := typeNames[name]; ok {
		return d
	}
	return name
}

// Locator finds the line of a value in a YAML document, for error messages
// about things the YAML decoder itself accepted. It parses the document on
// first use, so that files without errors are never parsed twice.
type Locator struct {
	content []byte
	parsed  bool
	root    *yaml.Node
}

// NewLocator returns a Locator for the YAML document content.
func NewLocator(content []byte) *Locator {
	return &Locator{content: content}
}

func (l *Locator) doc() *yaml.Node {
	if !l.parsed {
		l.parsed = true
		var doc yaml.Node
		if err := yaml.Unmarshal(l.content, &doc); err == nil {
			l.root = &doc
		}
	}
	return l.root
}

// Position is the place of a value in the document, turned into a line only
// when an error message needs it.
type Position struct {
	loc  *Locator
	path []any
}

// At returns the position of the node at path; see Line.
func (l *Locator) At(path ...any) Position {
	return Position{loc: l, path: path}
}

// Line returns the line of the position; see Locator.Line.
func (p Position) Line() int { return p.loc.Line(p.path...) }

// Line returns the line of the node at path, where a string steps into a
// mapping key and an int into a sequence index. If the path does not resolve
// completely, the line of the deepest node reached is returned; 0 means
// nothing is known.
func (l *Locator) Line(path ...any) int {
	n := l.doc()
	if n == nil {
		return 0
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	best := n.Line
	for _, step := range path {
		var next *yaml.Node
		switch s := step.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return best
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == s {
					next = n.Content[i+1]
					// A key's line is more useful than an empty value's.
					best = n.Content[i].Line
					break
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && s >= 0 && s < len(n.Content) {
				next = n.Content[s]
			}
		}
		if next == nil {
			return best
		}
		n = next
		best = n.Line
	}
	return best
}

// ScalarLine returns the line of the first scalar whose value is v, or 0.
func (l *Locator) ScalarLine(v string) int {
	var find func(n *yaml.Node) int
	find = func(n *yaml.Node) int {
		if n == nil {
			return 0
		}
		if n.Kind == yaml.ScalarNode && n.Value == v {
			return n.Line
		}
		for _, c := range n.Content {
			if line := find(c); line > 0 {
				return line
			}
		}
		return 0
	}
	return find(l.doc())
}
