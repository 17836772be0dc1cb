// Package importspec is what burnrate's imports share: the burnrate spec
// they write, problems at a line of the file they read, and the check that
// a converted spec generates (loads, passes generate's checks, renders its
// rules, tests and runbook) before anyone writes it, so that an import that
// succeeds always generates.
package importspec

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/burnrate/burnrate/generator"
	"github.com/burnrate/burnrate/slo"
)

// Pos is a place in a file an import reads. Line 0 is the whole file.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return p.File
}

// At is the position of node n of file (the whole file when n is nil).
func At(file string, n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: file}
	}
	return Pos{File: file, Line: n.Line}
}

// Problems collects what an import refuses (errors) and what it leaves out
// without changing when an alert fires (warnings), each at its position.
type Problems struct {
	errs, warns []string
}

// Fail records a refusal at pos.
func (p *Problems) Fail(pos Pos, format string, args ...any) {
	p.errs = append(p.errs, pos.String()+": "+fmt.Sprintf(format, args...))
}

// Warn records something left out at pos, once.
func (p *Problems) Warn(pos Pos, format string, args ...any) {
	w := pos.String() + ": " + fmt.Sprintf(format, args...)
	if !slices.Contains(p.warns, w) {
		p.warns = append(p.warns, w)
	}
}

// Failed says whether some refusal was recorded.
func (p *Problems) Failed() bool { return len(p.errs) > 0 }

// Err is every refusal, one a line, or nil.
func (p *Problems) Err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(p.errs, "\n"))
}

// Warnings are the warnings, in the order found.
func (p *Problems) Warnings() []string { return slices.Clone(p.warns) }

// Input is one file an import reads.
type Input struct {
	File string
	Data []byte
}

// Converted is one burnrate spec an import wrote, under its name.
type Converted struct {
	Name string
	Data []byte
}

// Result is the specs an import converted, in the order read, and what
// they leave out that changes no alert, one line each.
type Result struct {
	Specs    []Converted
	Warnings []string
}

// Key is the value of mapping n's key name, nil when absent.
func Key(n *yaml.Node, name string) *yaml.Node {
	if k := KeyNode(n, name); k != nil {
		return n.Content[slices.Index(n.Content, k)+1]
	}
	return nil
}

// KeyNode is the key node of mapping n's key name (the line a field is
// on), nil when absent.
func KeyNode(n *yaml.Node, name string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == name {
			return n.Content[i]
		}
	}
	return nil
}

// Str is the scalar value at path under n, "" when absent.
func Str(n *yaml.Node, path ...string) string {
	for _, p := range path {
		n = Key(n, p)
	}
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// Spec is the burnrate spec an import writes: the fields of slo.Spec an
// import sets, in the order a reader expects, empty ones left out.
type Spec struct {
	Name         string    `yaml:"name"`
	Service      string    `yaml:"service"`
	Selector     string    `yaml:"selector,omitempty"`
	ClusterLabel string    `yaml:"clusterLabel"`
	Period       string    `yaml:"period"`
	Requests     *Requests `yaml:"requests,omitempty"`
	Latency      *Latency  `yaml:"latency,omitempty"`
	SLOs         []SLO     `yaml:"slos"`
	Drilldown    []string  `yaml:"drilldown,omitempty"`
	Alert        Alert     `yaml:"alert"`
	BaseWindow   string    `yaml:"baseWindow,omitempty"`
	Output       *Output   `yaml:"output,omitempty"`
}

type Requests struct {
	Metric string `yaml:"metric"`
	Errors string `yaml:"errors"`
}

type Latency struct {
	Metric         string `yaml:"metric"`
	PartitionLabel string `yaml:"partitionLabel,omitempty"`
}

type SLO struct {
	Name      string      `yaml:"name"`
	Kind      string      `yaml:"kind"`
	Selector  string      `yaml:"selector,omitempty"`
	Objective float64     `yaml:"objective"`
	Latency   []Threshold `yaml:"latency,omitempty"`
	Raw       *Raw        `yaml:"raw,omitempty"`
}

type Threshold struct {
	Partition []string `yaml:"partition,omitempty,flow"`
	Seconds   float64  `yaml:"seconds"`
}

type Raw struct {
	Errors string `yaml:"errors"`
	Total  string `yaml:"total"`
}

type Alert struct {
	Name        string   `yaml:"name"`
	Summary     string   `yaml:"summary"`
	Description string   `yaml:"description"`
	Windows     []Window `yaml:"windows"`
}

type Window struct {
	Long     string  `yaml:"long"`
	Short    string  `yaml:"short"`
	Factor   float64 `yaml:"factor"`
	Severity string  `yaml:"severity"`
	For      string  `yaml:"for"`
}

type Output struct {
	Namespace string            `yaml:"namespace,omitempty"`
	Labels    map[string]string `yaml:"labels,omitempty"`
}

// Origins maps a field of the written spec (slo.Path's String: name,
// slos[1].objective, alert.windows[0]) to where it came from, so that a
// problem burnrate finds in the converted spec is reported at the line of
// the file it was converted from. A field not listed is looked up by its
// closest listed parent.
type Origins map[string]Pos

// Render writes spec as YAML under a comment header (one line or more,
// without #), then loads it as generate does, runs generate's checks and
// renders its rule file, tests and runbook. Any problem is reported at the
// line of the source (origins) with the field of the written spec it is
// about, and nothing is returned: an import whose spec would not generate
// writes nothing.
func Render(spec *Spec, header string, origins Origins, fallback Pos) ([]byte, error) {
	var b bytes.Buffer
	for _, l := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
		b.WriteString(strings.TrimRight("# "+l, " ") + "\n")
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(spec); err != nil {
		return nil, err
	}
	data := b.Bytes()
	if err := Generates(spec.Name+".yaml", data); err != nil {
		return nil, Relocate(err, origins, fallback)
	}
	return data, nil
}

// Generates loads spec file data as burnrate generate does and renders
// everything generate writes for it with the optimized profile (through
// the generator package): nil when generate would succeed.
func Generates(file string, data []byte) error {
	s, err := slo.Parse(file, data)
	if err != nil {
		return err
	}
	_, err = generator.Generate([]generator.Input{{Name: file, Spec: s}}, generator.Options{Profile: generator.ProfileOptimized})
	return err
}

// Relocate rewrites the spec errors in err (slo.Error, joined) to the
// source positions of their fields, saying which field of the converted
// spec each is about; other errors are reported at fallback.
func Relocate(err error, origins Origins, fallback Pos) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var lines []string
	for _, e := range errs {
		var se *slo.Error
		if !errors.As(e, &se) {
			lines = append(lines, fmt.Sprintf("%s: the converted spec does not generate: %v", fallback, e))
			continue
		}
		pos := fallback
		for f := se.Field; ; {
			if p, ok := origins[f]; ok {
				pos = p
				break
			}
			i := strings.LastIndexAny(f, ".[")
			if i < 0 {
				break
			}
			f = f[:i]
		}
		field := se.Field
		if field == "" {
			field = "spec"
		}
		lines = append(lines, fmt.Sprintf("%s: converted to burnrate's %s, which burnrate refuses: %s", pos, field, se.Msg))
	}
	return errors.New(strings.Join(lines, "\n"))
}

// WorkbookWindow is one of the SRE workbook's window pairs (chapter 5,
// "Alerting on SLOs", table 5-8): the share of the budget spent in the
// long window that alerts, at which severity.
type WorkbookWindow struct {
	Long, Short   time.Duration
	BudgetPercent float64
	Severity      string
	For           time.Duration
}

// Workbook are the workbook's four pairs, with burnrate's own for.
var Workbook = []WorkbookWindow{
	{time.Hour, 5 * time.Minute, 2, "critical", 2 * time.Minute},
	{6 * time.Hour, 30 * time.Minute, 5, "critical", 15 * time.Minute},
	{24 * time.Hour, 2 * time.Hour, 10, "warning", time.Hour},
	{72 * time.Hour, 6 * time.Hour, 10, "warning", 3 * time.Hour},
}

// DefaultWindows are the workbook's pairs for an SLO period: factor is the
// burn rate that spends the pair's share of the budget in its long window
// (14.4, 6, 3 and 1 for 30 days), pairs whose long window exceeds the
// period, or whose factor is below 1, left out.
func DefaultWindows(period time.Duration) []Window {
	var out []Window
	for _, w := range Workbook {
		f := Round(w.BudgetPercent / 100 * period.Hours() / w.Long.Hours())
		if w.Long > period || f < 1 {
			continue
		}
		out = append(out, Window{Long: Dur(w.Long), Short: Dur(w.Short), Factor: f, Severity: w.Severity, For: Dur(w.For)})
	}
	return out
}

// Round rounds x to 10 decimals, which burnrate's factors and objectives
// need (it refuses floating-point noise such as 13.440000000000001).
func Round(x float64) float64 {
	var r float64
	fmt.Sscanf(fmt.Sprintf("%.10f", x), "%g", &r)
	return r
}

// Dur prints d as burnrate's spec does (5m, 1h, 30d; whole days as days).
func Dur(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return model.Duration(d).String()
}

var notName = regexp.MustCompile(`[^a-z0-9]+`)

// Name makes s a burnrate name: lower-case letters, digits and dashes.
func Name(s string) string {
	return strings.Trim(notName.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// AlertName is a CamelCase alert name for service: checkout-api gives
// CheckoutApiErrorBudgetBurn.
func AlertName(service string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(service, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String() + "ErrorBudgetBurn"
}
