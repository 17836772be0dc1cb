package slo

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed kube-apiserver.yaml
var defaultSpec []byte

// DefaultName is the name under which the embedded spec is reported.
const DefaultName = "embedded kube-apiserver spec"

// DefaultYAML returns the embedded kube-apiserver spec as written.
func DefaultYAML() []byte { return bytes.Clone(defaultSpec) }

// Default returns the embedded kube-apiserver spec, decoded and validated.
func Default() *Spec {
	s, err := Parse(DefaultName, defaultSpec)
	if err != nil {
		panic(fmt.Sprintf("the embedded spec is invalid: %v", err)) // caught by the package tests
	}
	return s
}

// Load reads, decodes and validates the spec file at path.
func Load(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a spec. file names the source in errors, which
// read "file:line: what is wrong". A spec with several problems returns them
// all, joined.
func Parse(file string, data []byte) (*Spec, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(file, err)
	}
	if len(root.Content) == 0 {
		return nil, &Error{File: file, Line: 1, Msg: "the spec is empty; start from the embedded one (burnrate spec prints it)"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	s := Spec{BaseWindow: Duration(5 * time.Minute), Fixes: DefaultFixes(), Runbook: Runbook{Component: "kubernetes"}}
	if err := dec.Decode(&s); err != nil {
		return nil, yamlError(file, err)
	}
	if s.Runbook.URLPattern == "" {
		s.Runbook.URLPattern = "https://runbooks.prometheus-operator.dev/runbooks/" + s.Runbook.Component + "/%s"
	}
	var errs []error
	for _, fe := range s.Validate() {
		errs = append(errs, &Error{File: file, Line: lineOf(root.Content[0], fe.Path), Field: fe.Path.String(), Msg: fe.Msg})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &s, nil
}

// Error is a problem in a spec file, with its position.
type Error struct {
	File  string
	Line  int    // 0 when unknown
	Field string // the field path, e.g. alert.windows[0].factor; may be empty
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

var (
	yamlLineRE    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownFieldR = regexp.MustCompile(`^field (\S+) not found in type slo\.(\w+)$`)
	typeErrorRE   = regexp.MustCompile("^cannot unmarshal !!(\\w+) `(.*)` into (\\S+)$")
)

var typeNames = map[string]string{
	"float64":         "a number",
	"bool":            "true or false",
	"string":          "a string",
	"[]string":        "a list of strings",
	"[]slo.SLO":       "a list of SLOs",
	"[]slo.Window":    "a list of window pairs",
	"[]slo.Threshold": "a list of thresholds",
}

// yamlError turns a yaml.v3 error into one *Error per problem, each with its
// line and a sentence that says what to do.
func yamlError(file string, err error) error {
	var lines []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		lines = te.Errors
	} else {
		lines = []string{err.Error()}
	}
	var errs []error
	for _, l := range lines {
		e := &Error{File: file, Msg: l}
		syntax := strings.HasPrefix(l, "yaml: ")
		if m := yamlLineRE.FindStringSubmatch(l); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Msg = m[2]
		}
		if m := unknownFieldR.FindStringSubmatch(e.Msg); m != nil {
			e.Msg = fmt.Sprintf("unknown field %q in %s; check its spelling against the README's spec reference", m[1], strings.ToLower(m[2]))
		} else if m := typeErrorRE.FindStringSubmatch(e.Msg); m != nil {
			want, ok := typeNames[m[3]]
			if !ok {
				want = "of type " + m[3]
			}
			e.Msg = fmt.Sprintf("%q is not %s", m[2], want)
		} else if syntax {
			e.Msg = "invalid YAML: " + strings.TrimPrefix(e.Msg, "yaml: ")
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// Path locates a field in a spec: map keys (string) and list indices (int).
type Path []any

func (p Path) String() string {
	var b strings.Builder
	for _, el := range p {
		switch v := el.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", v)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, v)
		}
	}
	return b.String()
}

// lineOf finds the line of the node at path, or of its closest existing parent.
func lineOf(n *yaml.Node, path Path) int {
	line := n.Line
	for _, el := range path {
		var next *yaml.Node
		switch v := el.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == v {
						next = n.Content[i+1]
						break
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && v < len(n.Content) {
				next = n.Content[v]
			}
		}
		if next == nil {
			return line
		}
		n, line = next, next.Line
	}
	return line
}
