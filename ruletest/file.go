package ruletest

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	yamlv2 "go.yaml.in/yaml/v2"
	"gopkg.in/yaml.v3"
)

// The types below describe the promtool unit-test file format. They are
// decoded with go.yaml.in/yaml/v2 in strict mode, the library and mode
// promtool itself uses, so that exactly the same documents are accepted.

// testFile is the top level of a unit-test file.
type testFile struct {
	RuleFiles          []string       `yaml:"rule_files"`
	EvaluationInterval model.Duration `yaml:"evaluation_interval"`
	GroupEvalOrder     []string       `yaml:"group_eval_order"`
	Tests              []testGroup    `yaml:"tests"`
	FuzzyCompare       bool           `yaml:"fuzzy_compare"`
}

// testGroup is one entry of tests: input series plus the assertions on them.
type testGroup struct {
	Name            string         `yaml:"name"`
	Interval        model.Duration `yaml:"interval"`
	StartTimestamp  startTimestamp `yaml:"start_timestamp"`
	ExternalLabels  labels.Labels  `yaml:"external_labels"`
	ExternalURL     string         `yaml:"external_url"`
	InputSeries     []inputSeries  `yaml:"input_series"`
	AlertRuleTests  []alertTest    `yaml:"alert_rule_test"`
	PromQLExprTests []exprTest     `yaml:"promql_expr_test"`
}

// inputSeries is a series in PromQL selector notation together with its
// values in the expanding notation of promqltest's load command.
type inputSeries struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

// alertTest asserts the set of firing alerts named Alertname at EvalTime.
type alertTest struct {
	EvalTime  model.Duration `yaml:"eval_time"`
	Alertname string         `yaml:"alertname"`
	ExpAlerts []expAlert     `yaml:"exp_alerts"`
}

// expAlert is one expected firing alert. The alertname label is implied.
type expAlert struct {
	ExpLabels      map[string]string `yaml:"exp_labels"`
	ExpAnnotations map[string]string `yaml:"exp_annotations"`
}

// exprTest asserts the result of an instant query at EvalTime.
type exprTest struct {
	Expr       string         `yaml:"expr"`
	EvalTime   model.Duration `yaml:"eval_time"`
	ExpSamples []expSample    `yaml:"exp_samples"`
}

// expSample is one expected sample. A non-empty Histogram holds a native
// histogram in series notation; promtool still compares Value in that case.
type expSample struct {
	Labels    string  `yaml:"labels"`
	Value     float64 `yaml:"value"`
	Histogram string  `yaml:"histogram"`
}

// startTimestamp is the optional start of a test group's timeline, given
// either as Unix seconds (fractions allowed) or as an RFC 3339 timestamp.
type startTimestamp struct {
	time.Time
}

// UnmarshalYAML implements the yaml.v2 unmarshaler interface.
func (s *startTimestamp) UnmarshalYAML(unmarshal func(any) error) error {
	var text string
	if err := unmarshal(&text); err != nil {
		return err
	}
	t, err := parseStartTimestamp(text)
	if err != nil {
		return err
	}
	s.Time = t
	return nil
}

// parseStartTimestamp accepts the same spellings as promtool.
func parseStartTimestamp(text string) (time.Time, error) {
	if f, err := strconv.ParseFloat(text, 64); err == nil {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, text); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("start_timestamp: cannot parse %q as Unix seconds or RFC 3339 time", text)
}

// inputError is a problem with a test file or a rule file it references: the
// exit-code-2 class of error. Line is 0 when no line is known.
type inputError struct {
	File string
	Line int
	Err  error
}

func (e *inputError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *inputError) Unwrap() error { return e.Err }

var (
	yamlLineRE    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	yamlUnknownRE = regexp.MustCompile(`field (\S+) not found in type ruletest\.(\w+)`)
	yamlTypeRE    = regexp.MustCompile(`into ruletest\.(\w+)`)
	lastQuotedRE  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
)

// yamlTypeNames maps the decoding types to the part of the file they stand for.
var yamlTypeNames = map[string]string{
	"testFile":       "the top level of the test file",
	"testGroup":      "a tests entry",
	"inputSeries":    "an input_series entry",
	"alertTest":      "an alert_rule_test entry",
	"expAlert":       "an exp_alerts entry",
	"exprTest":       "a promql_expr_test entry",
	"expSample":      "an exp_samples entry",
	"startTimestamp": "start_timestamp",
}

// decodeTestFile decodes content strictly, as promtool does, and turns the
// YAML library's errors into inputErrors with file and line.
func decodeTestFile(path string, content []byte) (*testFile, error) {
	var loc *locator
	var tf testFile
	err := yamlv2.UnmarshalStrict(content, &tf)
	if err == nil {
		return &tf, nil
	}
	var msgs []string
	if te, ok := errors.AsType[*yamlv2.TypeError](err); ok {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	errs := make([]error, 0, len(msgs))
	for _, msg := range msgs {
		ie := &inputError{File: path}
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			ie.Line, _ = strconv.Atoi(m[1])
			msg = m[2]
		} else if m := lastQuotedRE.FindAllStringSubmatch(msg, -1); m != nil {
			// Errors from custom unmarshalers (durations, timestamps) carry
			// no line; find the offending value in the document instead.
			if v, err := strconv.Unquote(m[len(m)-1][0]); err == nil {
				if loc == nil {
					loc = newLocator(content)
				}
				ie.Line = loc.scalarLine(v)
			}
		}
		msg = yamlUnknownRE.ReplaceAllStringFunc(msg, func(s string) string {
			m := yamlUnknownRE.FindStringSubmatch(s)
			return fmt.Sprintf("unknown field %q in %s", m[1], typeDescription(m[2]))
		})
		msg = yamlTypeRE.ReplaceAllStringFunc(msg, func(s string) string {
			return "into " + typeDescription(yamlTypeRE.FindStringSubmatch(s)[1])
		})
		msg = strings.TrimPrefix(msg, "yaml: ")
		ie.Err = fmt.Errorf("invalid test file: %s", msg)
		errs = append(errs, ie)
	}
	return nil, errors.Join(errs...)
}

func typeDescription(name string) string {
	if d, ok := yamlTypeNames[name]; ok {
		return d
	}
	return name
}

// locator finds the line of a value in a YAML document, for error messages
// about things the YAML decoder itself accepted. It parses the document on
// first use, so that files without errors are never parsed twice.
type locator struct {
	content []byte
	parsed  bool
	root    *yaml.Node
}

func newLocator(content []byte) *locator {
	return &locator{content: content}
}

func (l *locator) doc() *yaml.Node {
	if !l.parsed {
		l.parsed = true
		var doc yaml.Node
		if err := yaml.Unmarshal(l.content, &doc); err == nil {
			l.root = &doc
		}
	}
	return l.root
}

// position is the place of a value in the document, turned into a line only
// when an error message needs it.
type position struct {
	loc  *locator
	path []any
}

// at returns the position of the node at path; see line.
func (l *locator) at(path ...any) position {
	return position{loc: l, path: path}
}

func (p position) line() int { return p.loc.line(p.path...) }

// line returns the line of the node at path, where a string steps into a
// mapping key and an int into a sequence index. If the path does not resolve
// completely, the line of the deepest node reached is returned; 0 means
// nothing is known.
func (l *locator) line(path ...any) int {
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

// scalarLine returns the line of the first scalar whose value is v, or 0.
func (l *locator) scalarLine(v string) int {
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
