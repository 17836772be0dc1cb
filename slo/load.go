package slo

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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

// Limits on what a spec may hold. They keep a mistaken or hostile spec from
// taking unbounded memory, here or in the generated files, which repeat the
// alert's texts in every rule and test.
const (
	// MaxSpecBytes is the largest spec file.
	MaxSpecBytes = 1 << 20
	// MaxSLOs is the most SLOs in one spec.
	MaxSLOs = 1000
	// MaxWindows is the most alert window pairs in one spec.
	MaxWindows = 100
	// MaxDrilldown is the most drill-down labels in one spec.
	MaxDrilldown = 20
	// MaxValueBytes is the longest single value (a name, a selector, the
	// alert's summary or description).
	MaxValueBytes = 4 << 10
)

// Load reads, decodes and validates the spec file at path.
func Load(path string) (*Spec, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &Error{File: path, Msg: "no such file; pass the path of a spec file (burnrate spec prints the embedded one, a starting point)"}
	}
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, &Error{File: path, Msg: fmt.Sprintf("a directory, not a spec file; pass the spec files in it, e.g. %s", filepath.Join(path, "*.yaml"))}
	}
	// Read one byte more than the limit, so that Parse sees an oversized
	// file as such without the whole of it in memory.
	data, err := io.ReadAll(io.LimitReader(f, MaxSpecBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a spec. file names the source in errors, which
// read "file:line: what is wrong". A spec with several problems returns them
// all, joined.
func Parse(file string, data []byte) (*Spec, error) {
	if len(data) > MaxSpecBytes {
		return nil, &Error{File: file, Msg: fmt.Sprintf("the spec is larger than the limit of %d MiB; a spec that size is a mistake (an SLO takes a few hundred bytes)", MaxSpecBytes>>20)}
	}
	root, err := document(file, data)
	if err != nil {
		return nil, err
	}
	if errs := checkSizes(file, root); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	s := Spec{BaseWindow: Duration(5 * time.Minute), Fixes: DefaultFixes()}
	if err := dec.Decode(&s); err != nil {
		return nil, yamlError(file, data, root, err)
	}
	if s.Runbook.Component == "" {
		s.Runbook.Component = "kubernetes"
		if s.Service != "" {
			s.Runbook.Component = s.Service
		}
	}
	s.defaults()
	s.src = &source{file: file, root: root}
	if err := s.Errors(s.Validate()); err != nil {
		return nil, err
	}
	return &s, nil
}

// document decodes the one YAML document of a spec file and returns its
// root node, refusing an empty file and a second document.
func document(file string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: file, Line: 1, Msg: "the spec is empty; start from the embedded one (burnrate spec prints it)"}
		}
		return nil, yamlError(file, data, nil, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].ShortTag() == "!!null" {
		return nil, &Error{File: file, Line: 1, Msg: "the spec is empty; start from the embedded one (burnrate spec prints it)"}
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, yamlError(file, data, nil, err)
	case len(next.Content) > 0 && next.Content[0].Tag != "!!null":
		return nil, &Error{File: file, Line: next.Content[0].Line, Msg: "a second YAML document; a spec file holds one spec: move this one into a file of its own and pass both files, or delete it"}
	}
	return doc.Content[0], nil
}

// checkSizes refuses values longer than MaxValueBytes before the spec is
// decoded into Go values.
func checkSizes(file string, root *yaml.Node) []error {
	var errs []error
	var walk func(n *yaml.Node, p Path)
	walk = func(n *yaml.Node, p Path) {
		switch n.Kind {
		case yaml.ScalarNode:
			if len(n.Value) > MaxValueBytes {
				errs = append(errs, &Error{File: file, Line: n.Line, Field: p.String(),
					Msg: fmt.Sprintf("the value is %d bytes long, more than the limit of %d; shorten it (link to longer text from the runbook instead)", len(n.Value), MaxValueBytes)})
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i], p)
				walk(n.Content[i+1], append(p[:len(p):len(p)], n.Content[i].Value))
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, append(p[:len(p):len(p)], i))
			}
		}
	}
	walk(root, nil)
	return errs
}

// source is where a spec was parsed from, for errors found after parsing.
type source struct {
	file string
	root *yaml.Node
}

// Errors turns problems found in the spec into one *Error each, at the file
// and line of the field in the file the spec was parsed from, joined; nil
// when there are none. A spec not parsed from a file reports no line. A
// problem found twice (the same words at the same field) is reported once.
func (s *Spec) Errors(fes []FieldError) error {
	var errs []error
	said := map[string]bool{}
	for _, fe := range fes {
		e := &Error{File: "spec", Field: fe.Path.String(), Msg: fe.Msg}
		if s.src != nil {
			e.File, e.Line = s.src.file, lineOf(s.src.root, fe.Path)
		}
		if !said[e.Error()] {
			said[e.Error()] = true
			errs = append(errs, e)
		}
	}
	return errors.Join(errs...)
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

// lineOf finds the line of the node at path, or of its closest existing
// parent. A field is on the line of its key, which is where a list or a
// multi-line text that is its value starts to be read.
func lineOf(n *yaml.Node, path Path) int {
	line := n.Line
	for _, el := range path {
		var next *yaml.Node
		at := 0
		switch v := el.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == v {
						next, at = n.Content[i+1], n.Content[i].Line
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
		if at == 0 {
			at = next.Line
		}
		n, line = next, at
	}
	return line
}

// defaults fills in what a spec may leave out: each SLO's kind (errors
// without latency thresholds, errors-and-latency with them) and, with a
// service, the identity labels (service, slo) and no apiserver extra verbs.
func (s *Spec) defaults() {
	for i, o := range s.SLOs {
		if o.Kind == "" {
			s.SLOs[i].Kind = KindErrorsAndLatency
			if o.Raw != (Raw{}) {
				s.SLOs[i].Kind = KindRaw
			} else if len(o.Latency) == 0 {
				s.SLOs[i].Kind = KindErrors
			}
		}
	}
	if s.Service == "" {
		return
	}
	if s.ServiceLabel == "" {
		s.ServiceLabel = "service"
	}
	if s.SLILabel == "" {
		s.SLILabel = "slo"
	}
	if s.Drilldown == nil && !slices.Contains([]string{s.ClusterLabel, s.ServiceLabel, s.SLILabel}, "instance") {
		s.Drilldown = []string{"instance"}
	}
	if s.Fixes.ExtraVerbs == nil {
		s.Fixes.ExtraVerbs = map[string][]string{}
	}
}
