package slo

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

var (
	yamlLineRE    = regexp.MustCompile(`(?s)^(?:yaml: )?line (\d+): (.*)$`)
	unknownFieldR = regexp.MustCompile(`^field (\S+) not found in type slo\.(\w+)$`)
	// typeErrorRE matches yaml.v3's "cannot unmarshal !!str `99.9%` into
	// float64"; the value is cut to 7 bytes and "..." when longer than 10.
	typeErrorRE = regexp.MustCompile("(?s)^cannot unmarshal (.+?)(?: `(.*)`)? into (\\S+)$")
	percentRE   = regexp.MustCompile(`^\s*([0-9]*\.?[0-9]+)\s*%\s*$`)
)

// wants says, per Go type a spec field decodes into, what the user must
// write there.
var wants = map[string]string{
	"float64":             "a number",
	"bool":                "true or false",
	"string":              "a string",
	"[]string":            "a list of strings such as [resource, namespace]",
	"slo.Spec":            "a mapping of fields such as name, selector, slos",
	"slo.Duration":        "a Prometheus duration such as 5m, 1h or 30d",
	"slo.Requests":        "a mapping with the fields metric and errors",
	"slo.Latency":         "a mapping with the fields metric, selector, partitionLabel and form",
	"slo.Alert":           "a mapping with the fields name, summary, description, runbookURLPattern, windows and minRequests",
	"slo.Fixes":           "a mapping of fix names to true or false",
	"slo.Runbook":         "a mapping with the fields component and urlPattern",
	"slo.Dashboards":      "a mapping with the field grafanaURL",
	"slo.Output":          "a mapping with the fields name, namespace, labels, annotations and partialResponseStrategy",
	"map[string]string":   "a mapping of names to strings, such as {release: monitoring}",
	"slo.SLO":             "a mapping with the fields name, selector and latency",
	"slo.Threshold":       "a mapping with the fields partition and seconds",
	"slo.HistogramForm":   "one of classic, native, nhcb",
	"slo.Window":          "a mapping with the fields long, short, factor, severity and for",
	"[]slo.SLO":           "a list of SLOs, each with the fields name, selector and latency",
	"[]slo.Window":        "a list of window pairs such as {long: 1h, short: 5m, factor: 14.4, severity: critical, for: 2m}",
	"[]slo.Threshold":     "a list of thresholds such as {seconds: 1}",
	"map[string][]string": "a mapping of SLO names to lists of verbs, such as {write: [APPLY]}",
}

// numberExamples are examples for number fields, by field name.
var numberExamples = map[string]string{"objective": "0.999", "factor": "14.4", "seconds": "1", "minRequests": "100"}

// yamlError turns a yaml.v3 error in data into one *Error per problem, each
// with its line, the field when root locates it, and a sentence that says
// what to do in the spec's words rather than Go's. yaml.v3 reports a value
// once for each alias that refers to it, and several alike on one line
// (a flow list) in the same words: each is reported once, at its own
// field.
func yamlError(file string, data []byte, root *yaml.Node, err error) error {
	var lines []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		lines = te.Errors
	} else {
		lines = []string{err.Error()}
	}
	var errs []error
	said := map[string]bool{}
	nth := map[string]int{} // type errors alike so far, by their text
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
			var p Path
			p, e.Msg = typeError(root, e.Line, nth[l], m[1], m[2], m[3])
			nth[l]++
			if e.Field = p.String(); len(p) > 0 {
				e.Line = lineOf(root, p) // the key's line, where a list starts
			}
		} else if syntax {
			e.Msg = "invalid YAML: " + strings.TrimPrefix(e.Msg, "yaml: ")
			if tabIndented(data, e.Line) {
				e.Msg += "; this line is indented with a tab, and YAML indents with spaces only: replace the tab with spaces"
			}
		}
		if !said[e.Error()] {
			said[e.Error()] = true
			errs = append(errs, e)
		}
	}
	return errors.Join(errs...)
}

// tabIndented says whether line (from 1) of data begins with white space
// that holds a tab. yaml.v3 refuses such a line with words that do not
// name the tab ("found character that cannot start any token").
func tabIndented(data []byte, line int) bool {
	if line < 1 {
		return false
	}
	lines := strings.Split(string(data), "\n")
	if line > len(lines) {
		return false
	}
	l := lines[line-1]
	indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
	return strings.Contains(indent, "\t")
}

// typeError words a value of YAML tag (!!str, !!seq…; value as yaml.v3
// quotes it) at line, the nth such value there, that does not decode into
// Go type goType, and names its field.
func typeError(root *yaml.Node, line, nth int, tag, value, goType string) (field Path, msg string) {
	p, n := findNode(root, line, nth, tag, value, goType)
	if n != nil {
		value = n.Value
	}
	field = p
	name := ""
	if len(p) > 0 {
		name, _ = p[len(p)-1].(string)
	}
	want, ok := wants[goType]
	if !ok {
		want = "something else" // a type added to the spec without words here
	}
	if len(p) >= 3 && p[1] == "extraVerbs" {
		switch goType {
		case "[]string":
			want = "a list of verbs such as [APPLY, DELETECOLLECTION]"
		case "string":
			want = "a verb such as APPLY"
		}
	}
	if goType == "float64" {
		if ex, ok := numberExamples[name]; ok {
			want += " such as " + ex
		}
	}
	var got string
	switch tag {
	case "!!seq":
		got = "a list"
	case "!!map":
		got = "a mapping"
	case "!!null":
		got = "nothing"
	default:
		got = strconv.Quote(value)
	}
	if !strings.HasPrefix(tag, "!!") {
		// A local tag such as !include: burnrate reads plain YAML only.
		if strings.ContainsFunc(tag, unicode.IsSpace) {
			tag = strconv.Quote(tag)
		}
		msg = fmt.Sprintf("the YAML tag %s is not supported; remove it and write %s", tag, want)
		if len(p) == 0 {
			msg = fmt.Sprintf("the YAML tag %s is not supported; remove it (the spec must be %s)", tag, want)
		}
		return field, msg
	}
	if goType == "slo.Spec" && len(p) == 0 {
		return nil, fmt.Sprintf("the spec must be %s; got %s", want, got)
	}
	if goType == "slo.Duration" && (tag == "!!str" || tag == "!!int" || tag == "!!float") {
		return field, fmt.Sprintf("%s is not a Prometheus duration; use a number and a unit: 5m, 1h, 3d", got)
	}
	msg = fmt.Sprintf("expected %s, got %s", want, got)
	if goType == "float64" {
		if m := percentRE.FindStringSubmatch(value); m != nil {
			if pct, err := strconv.ParseFloat(m[1], 64); err == nil {
				msg += fmt.Sprintf("; write the ratio: %s for %s%%", strconv.FormatFloat(pct/100, 'g', 15, 64), m[1])
			}
		}
	}
	return field, msg
}

// findNode finds the nth node (from 0) at line whose YAML tag is tag and,
// for a scalar, whose value is value (yaml.v3 cuts long ones to
// "1234567..."), and returns its path. Of several such nodes (a flow
// mapping inside a block one starts on the same line) it counts those whose
// field has Go type goType, if any has. nil when none matches; the last
// match when there are fewer than n+1.
func findNode(root *yaml.Node, line, nth int, tag, value, goType string) (Path, *yaml.Node) {
	prefix, cut := strings.CutSuffix(value, "...")
	matches := func(n *yaml.Node) bool {
		if n.Line != line || n.ShortTag() != tag {
			return false
		}
		if n.Kind != yaml.ScalarNode {
			return true
		}
		return n.Value == value || cut && len(n.Value) > 10 && strings.HasPrefix(n.Value, prefix)
	}
	type found struct {
		p Path
		n *yaml.Node
	}
	var all, typed []found
	var walk func(n *yaml.Node, p Path)
	walk = func(n *yaml.Node, p Path) {
		if n == nil {
			return
		}
		if matches(n) {
			all = append(all, found{p, n})
			if typeAt(p) == goType {
				typed = append(typed, found{p, n})
			}
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], append(p[:len(p):len(p)], n.Content[i].Value))
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, append(p[:len(p):len(p)], i))
			}
		}
	}
	walk(root, Path{})
	if len(typed) > 0 {
		all = typed
	}
	if len(all) == 0 {
		return nil, nil
	}
	f := all[min(nth, len(all)-1)]
	return f.p, f.n
}

// typeAt is the Go type, as reflect prints it, that the field at path p of
// a Spec decodes into; "" when p names no field.
func typeAt(p Path) string {
	t := reflect.TypeFor[Spec]()
	for _, el := range p {
		switch v := el.(type) {
		case string:
			switch t.Kind() {
			case reflect.Struct:
				f, ok := fieldByTag(t, v)
				if !ok {
					return ""
				}
				t = f
			case reflect.Map:
				t = t.Elem()
			default:
				return ""
			}
		case int:
			if t.Kind() != reflect.Slice {
				return ""
			}
			t = t.Elem()
		}
	}
	return t.String()
}

// fieldByTag finds the type of struct t's field whose yaml tag is name.
func fieldByTag(t reflect.Type, name string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag == name && f.IsExported() {
			return f.Type, true
		}
	}
	return nil, false
}
