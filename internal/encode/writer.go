package encode

import (
	"bytes"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Writer writes a YAML document of mappings, sequences and strings byte
// for byte as YAML (yaml.v3, two-space indent) does, without yaml.v3's
// reflection and event emitter, which cost most of the CPU time of
// generating a large spec (BenchmarkScale in internal/testgen). It writes
// the layout and the common scalars and map keys itself; a scalar or map
// it cannot prove yaml.v3 writes plain (or single-quoted) it has yaml.v3
// render, once per distinct value, and places the result. The caller
// writes the fields of its types in their order, leaving out what
// omitempty would. The tests of promtest.File.Marshal and RuleFile
// compare the two byte for byte.
//
// Columns: a key at column col has its sequence items' dashes at col+2
// and their keys at col+4.
type Writer struct {
	header string
	b      bytes.Buffer
	dash   bool              // the next key starts a sequence item
	quoted map[string]string // yaml.v3's rendering of scalars, by value
	// asWhole says the file has a scalar that only yaml.v3 encoding the
	// whole file places right.
	asWhole bool
	err     error
}

// NewWriter returns a Writer of a document under header, each of whose
// lines becomes a comment line (as YAML writes it).
func NewWriter(header string) *Writer {
	w := &Writer{header: header, quoted: map[string]string{}}
	Comment(&w.b, header)
	return w
}

// Plain writes key k with value v at column col as it is: a number or a
// boolean as yaml.v3 writes it.
func (w *Writer) Plain(col int, k, v string) {
	w.key(col, k)
	w.b.WriteByte(' ')
	w.b.WriteString(v)
	w.b.WriteByte('\n')
}

// Done returns the document written for v. When v has a string that only
// yaml.v3 encoding all of v places right (one with a line break other
// than \n), it is YAML(header, v).
func (w *Writer) Done(v any) ([]byte, error) {
	if w.asWhole {
		return YAML(w.header, v)
	}
	if w.err != nil {
		return nil, w.err
	}
	return w.b.Bytes(), nil
}

// key starts the line of key k at column col.
func (w *Writer) key(col int, k string) {
	if w.dash {
		w.spaces(col - 2)
		w.b.WriteString("- ")
		w.dash = false
	} else {
		w.spaces(col)
	}
	w.b.WriteString(k)
	w.b.WriteByte(':')
}

func (w *Writer) spaces(n int) {
	for range n {
		w.b.WriteByte(' ')
	}
}

// Str writes key k with string value v at column col.
func (w *Writer) Str(col int, k, v string) {
	w.key(col, k)
	w.b.WriteByte(' ')
	w.scalar(col, v)
	w.b.WriteByte('\n')
}

// Strings writes key k with a sequence of strings at column col.
func (w *Writer) Strings(col int, k string, vs []string) {
	w.key(col, k)
	if len(vs) == 0 {
		w.b.WriteString(" []\n")
		return
	}
	w.b.WriteByte('\n')
	for _, v := range vs {
		w.spaces(col + 2)
		w.b.WriteString("- ")
		w.scalar(col+2, v)
		w.b.WriteByte('\n')
	}
}

// Items writes key k with a sequence of n items at column col, item i by
// fn, whose keys are at column col+4.
func (w *Writer) Items(col int, k string, n int, fn func(i, col int)) {
	w.key(col, k)
	if n == 0 {
		w.b.WriteString(" []\n")
		return
	}
	w.b.WriteByte('\n')
	for i := range n {
		w.dash = true
		fn(i, col+4)
	}
}

// StringMap writes key k with a mapping of strings at column col, keys in
// yaml.v3's order.
func (w *Writer) StringMap(col int, k string, m map[string]string) {
	w.key(col, k)
	if len(m) == 0 {
		w.b.WriteString(" {}\n")
		return
	}
	keys := make([]string, 0, len(m))
	for key := range m {
		if !plainKey(key) {
			for k, v := range m {
				if strings.ContainsAny(k+v, otherBreaks) {
					w.asWhole = true
				}
			}
			w.b.WriteByte('\n')
			w.rendered(col+2, m)
			return
		}
		keys = append(keys, key)
	}
	// For keys of lower-case letters and underscores, yaml.v3's order
	// (sorter.go, keyList.Less: letters by code point, anything else
	// before a letter) is byte order.
	slices.Sort(keys)
	w.b.WriteByte('\n')
	for _, key := range keys {
		w.Str(col+2, key, m[key])
	}
}

// plainKey says whether yaml.v3 writes map key k plain and sorts it in
// byte order: lower-case letters and underscores, and not a word YAML
// reads as a boolean or null.
func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for i := range len(k) {
		if c := k[i]; (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	switch k {
	case "null", "true", "false", "y", "yes", "n", "no", "on", "off":
		return false
	}
	return true
}

// scalar writes string v as the value of a key or a sequence item at
// column col.
func (w *Writer) scalar(col int, v string) {
	switch {
	case plain(v):
		w.b.WriteString(v)
	case singleQuoted(v):
		w.b.WriteByte('\'')
		w.b.WriteString(strings.ReplaceAll(v, "'", "''"))
		w.b.WriteByte('\'')
	case strings.ContainsAny(v, otherBreaks):
		// yaml.v3 indents after these too: its rendering of v
		// depends on where v stands (see Marshal).
		w.asWhole = true
	default:
		r, ok := w.quoted[v]
		if !ok {
			r = w.render(map[string]string{"k": v})
			r = strings.TrimSuffix(strings.TrimPrefix(r, "k: "), "\n")
			w.quoted[v] = r
		}
		w.indented(col, r)
	}
}

// otherBreaks are the line breaks YAML knows besides \n.
const otherBreaks = "\r\u0085\u2028\u2029"

// rendered writes yaml.v3's rendering of m at column col.
func (w *Writer) rendered(col int, m map[string]string) {
	w.spaces(col)
	w.indented(col, w.render(m))
}

// indented writes r, a rendering at column 0, at column col: its lines
// but the first shifted right by col (empty lines stay empty, as yaml.v3
// writes them in a literal block).
func (w *Writer) indented(col int, r string) {
	first := true
	for line := range strings.SplitAfterSeq(r, "\n") {
		if !first && line != "" && line != "\n" {
			w.spaces(col)
		}
		first = false
		w.b.WriteString(line)
	}
}

// render has yaml.v3 encode v with a two-space indent.
func (w *Writer) render(v any) string {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil && w.err == nil {
		w.err = err
	}
	if err := enc.Close(); err != nil && w.err == nil {
		w.err = err
	}
	return b.String()
}

// plain says whether yaml.v3 writes v plain as a block value: what its
// encoder (encode.go, stringv) would not quote because v reads back as
// another type, and its emitter (emitterc.go, yaml_emitter_analyze_scalar)
// allows as a plain block scalar. It accepts a subset of those strings:
// printable ASCII starting with a letter or digit, without ": ", " #", a
// trailing colon or trailing space, and reading back as a string.
func plain(v string) bool {
	if v == "" || !isAlnum(v[0]) || !printableASCII(v) {
		return false
	}
	if strings.Contains(v, ": ") || strings.Contains(v, " #") || strings.HasSuffix(v, ":") || strings.HasSuffix(v, " ") {
		return false
	}
	return readsAsString(v)
}

// singleQuoted says whether yaml.v3 writes v single-quoted as a block
// value: printable ASCII on one line that its emitter may not write plain
// because of how it starts (an indicator such as { or [, a space) or
// what it contains (": ", " #"), and that reads back as a string
// unquoted, so its encoder asked for no double quotes.
func singleQuoted(v string) bool {
	if v == "" || !printableASCII(v) || strings.HasPrefix(v, " ") || strings.HasSuffix(v, " ") {
		return false
	}
	switch v[0] {
	case '{', '[', '\'', '"', '#', '&', '*', '!', '|', '>', '%', '@', '`', ',', ']', '}':
		// A flow or block indicator: nothing about types follows from
		// these first characters (resolve.go's table has none of them).
		return true
	}
	if isAlnum(v[0]) && (strings.Contains(v, ": ") || strings.Contains(v, " #")) {
		return readsAsString(v)
	}
	return false
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func printableASCII(v string) bool {
	for i := range len(v) {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

// readsAsString says that v, starting with a letter or digit, is a string
// when read unquoted by yaml.v3 (resolve.go) and no YAML 1.1 boolean or
// sexagesimal number (encode.go, isOldBool and isBase60Float). It is sure
// of: words with a character no boolean or null word has, and strings
// starting with a digit that have an x past the second character and no
// underscore (an integer has x only as its 0x prefix; floats, timestamps
// and sexagesimals have none) or a character no number, timestamp or
// sexagesimal has.
func readsAsString(v string) bool {
	c := v[0]
	if c < '0' || c > '9' {
		// The words YAML reads as booleans or null are letters only.
		for i := range len(v) {
			if c := v[i]; (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
				return true
			}
		}
		return false
	}
	if i := strings.IndexByte(v, 'x'); i >= 2 && !strings.Contains(v, "_") {
		return true
	}
	for i := range len(v) {
		if !strings.ContainsRune(numberChars, rune(v[i])) {
			return true
		}
	}
	return false
}

// numberChars are the characters of YAML's integers (decimal, 0x, 0o, 0b,
// with underscores), floats, timestamps and sexagesimal numbers.
const numberChars = "0123456789abcdefABCDEFxXoObB_.+-:tTzZ "

// Float is a float64 as yaml.v3 writes it (encode.go, floatv).
func Float(v float64) string {
	s := strconv.FormatFloat(v, 'g', -1, 64)
	switch s {
	case "+Inf":
		return ".inf"
	case "-Inf":
		return "-.inf"
	case "NaN":
		return ".nan"
	}
	return s
}
