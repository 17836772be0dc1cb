// Package generator renders what `burnrate generate` writes, in memory:
// for each SLO spec, its Prometheus rule groups encoded in one of several
// file formats, the promtool unit tests of those rules, the alert's
// runbook page and the spec's Grafana dashboards. The entry point is
// Generate; the command is Generate plus the code that writes the Result's
// Files to disk.
//
//	spec, err := slo.Load("checkout.yaml")
//	if err != nil { ... } // file:line errors
//	res, err := generator.Generate([]generator.Input{{Name: "checkout.yaml", Spec: spec}}, generator.Options{})
//	if err != nil { ... }
//	for _, f := range res.Files {
//		// f.Kind says where f.Name belongs: beside the rules, or in a runbooks tree.
//	}
//
// Generate is deterministic: the same specs and options give the same
// bytes. It renders every spec before it returns, so an error means no
// file at all, and it leaves the specs it is given unchanged.
package generator

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/burnrate/burnrate/internal/dashboard"
	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/mixingroups"
	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/internal/testgen"
	"github.com/burnrate/burnrate/slo"
)

// The rule profiles (Options.Profile).
const (
	// ProfileOptimized is the default: the mixin's SLIs, record names and
	// alert, with every window built from recorded base-window rates, the
	// mixin's known problems fixed, and a runbook page.
	ProfileOptimized = "optimized"
	// ProfileKubernetesMixin reproduces the kubernetes-mixin's four
	// kube-apiserver SLO rule groups, quirks included.
	ProfileKubernetesMixin = "kubernetes-mixin"
)

// The file formats of the rule groups (Options.Format).
const (
	// FormatRules is a Prometheus rule file, <name>.rules.yaml (the
	// default); only this format comes with tests and a runbook.
	FormatRules = "rules"
	// FormatPrometheusRule is a prometheus-operator PrometheusRule,
	// <name>.prometheusrule.yaml.
	FormatPrometheusRule = "prometheusrule"
	// FormatJSON is {"groups": [...]} for jsonnet, <name>.rules.json.
	FormatJSON = "json"
	// FormatKubePrometheusStack is Helm values for kube-prometheus-stack,
	// <name>.kube-prometheus-stack.values.yaml, which switch off the
	// mixin's groups these replace.
	FormatKubePrometheusStack = "kube-prometheus-stack"
	// FormatMimir is a Mimir or Cortex ruler namespace file,
	// <name>.mimir.yaml.
	FormatMimir = "mimir"
)

// Input is one spec to render.
type Input struct {
	// Name names the spec in file headers, notes and errors: its path as
	// the user gave it, or slo.DefaultName for slo.Default().
	Name string
	// Spec is the spec, as slo.Load, slo.Parse or slo.Default return it.
	Spec *slo.Spec
}

// Options choose what Generate renders; the zero value renders rule
// files with the optimized profile.
type Options struct {
	// Profile is ProfileOptimized (when empty) or ProfileKubernetesMixin.
	Profile string
	// Format is one of the Format constants; empty means FormatRules.
	Format string
	// Preset names a distribution preset (slo.PresetNames) applied to every
	// spec before it is rendered; empty applies none.
	Preset string
	// Envelope goes over each spec's output section: its Name, Namespace
	// and PartialResponseStrategy replace the spec's when set, its Labels
	// and Annotations are added to the spec's (its values win).
	Envelope slo.Output
	// Command is the command line that regenerates the files, written in
	// each file's header after "Regenerate with:"; empty leaves that line
	// out.
	Command string
}

// Kind says what a file is and which directory its Name is relative to.
type Kind string

const (
	// KindRules is the rule groups in Options.Format, named relative to
	// the rules directory.
	KindRules Kind = "rules"
	// KindTest is a promtool unit-test file of the rules, written beside
	// the rule file it names.
	KindTest Kind = "test"
	// KindRunbook is the alert's runbook page, <component>/<Alert>.md
	// relative to a runbooks tree (the optimized profile writes one).
	KindRunbook Kind = "runbook"
	// KindDashboard is a Grafana dashboard (<name>.slo.dashboard.json,
	// <name>.drilldown.dashboard.json) or, for kube-prometheus-stack, the
	// ConfigMap holding them (<name>.dashboards.configmap.yaml), named
	// relative to the rules directory; the optimized profile writes them.
	KindDashboard Kind = "dashboard"
)

// dashboardPackaging is how each format that comes with dashboards
// packages them; the other formats write none.
var dashboardPackaging = map[string]dashboard.Packaging{
	FormatRules:               dashboard.PlainJSON,
	FormatKubePrometheusStack: dashboard.ConfigMap,
}

// File is one rendered file.
type File struct {
	// Name is the file's slash-separated path relative to the directory of
	// its Kind.
	Name string
	Kind Kind
	// Input is the Name of the Input the file was rendered from.
	Input string
	Data  []byte
}

// Result is everything Generate rendered.
type Result struct {
	// Files are the rendered files, input by input: the rule file, then
	// its tests and runbook page.
	Files []File
	// Notes say what was left out on purpose and why, one sentence each,
	// naming the input: for a command to print, not an error.
	Notes []string

	groups []inputGroups
}

type inputGroups struct {
	input  string
	groups []rulefmt.RuleGroup
}

// RuleGroups returns the rule groups rendered for the input called name
// (Input.Name; the first of that name), or nil when there is none.
func (r *Result) RuleGroups(name string) []rulefmt.RuleGroup {
	for _, g := range r.groups {
		if g.input == name {
			return g.groups
		}
	}
	return nil
}

// Runbooks returns the runbook pages, in input order.
func (r *Result) Runbooks() []File {
	var out []File
	for _, f := range r.Files {
		if f.Kind == KindRunbook {
			out = append(out, f)
		}
	}
	return out
}

// Generate renders every input with the options. It returns an error, and
// no Result, when an option is unknown, a spec is one the profile cannot
// render (file:line errors from the spec), or two inputs would write the
// same file, series or alert.
func Generate(inputs []Input, opts Options) (*Result, error) {
	opts.Profile = cmp.Or(opts.Profile, ProfileOptimized)
	opts.Format = cmp.Or(opts.Format, FormatRules)
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if len(inputs) == 0 {
		return nil, errors.New("no spec to generate from; pass slo.Default() for the embedded kube-apiserver spec")
	}
	specs := make([]*slo.Spec, 0, len(inputs))
	for _, in := range inputs {
		if in.Spec == nil {
			return nil, fmt.Errorf("%s: no spec", in.Name)
		}
		specs = append(specs, in.Spec)
	}
	// Two specs must never write the same files or records (file:line
	// errors naming both specs).
	if err := slo.Collisions(specs); err != nil {
		return nil, err
	}
	g := &run{opts: opts, res: &Result{}, seen: map[string]string{}}
	for _, in := range inputs {
		if err := g.render(in); err != nil {
			return nil, err
		}
	}
	return g.res, nil
}

// validate checks the options' names and values.
func (o Options) validate() error {
	if !slices.Contains(slomodel.Profiles, o.Profile) {
		return fmt.Errorf("unknown profile %q; choose one of %s", o.Profile, strings.Join(slomodel.Profiles, ", "))
	}
	if !slices.Contains(encode.Formats, o.Format) {
		return fmt.Errorf("unknown format %q; choose one of %s", o.Format, strings.Join(encode.Formats, ", "))
	}
	if _, ok := slo.LookupPreset(o.Preset); o.Preset != "" && !ok {
		return fmt.Errorf("unknown preset %q; choose one of %s", o.Preset, strings.Join(slo.PresetNames(), ", "))
	}
	if o.Envelope.PartialResponseStrategy != "" && o.Format != FormatRules && o.Format != FormatPrometheusRule {
		return fmt.Errorf("a partial response strategy is a Thanos ruler field: use it with format %s or %s, not %s", FormatRules, FormatPrometheusRule, o.Format)
	}
	var errs []error
	for _, fe := range slo.ValidateOutput(o.Envelope) {
		errs = append(errs, fmt.Errorf("envelope: %s: %s", fe.Path, fe.Msg))
	}
	return errors.Join(errs...)
}

// run is one Generate call.
type run struct {
	opts Options
	res  *Result
	// seen maps what an input claims (a file, a runbook page) to the input, to
	// refuse two inputs that would collide.
	seen map[string]string
}

// claim records that input name claims key, or says which input has it.
func (g *run) claim(key, name string) (other string, taken bool) {
	if other, taken := g.seen[key]; taken {
		return other, true
	}
	g.seen[key] = name
	return "", false
}

func (g *run) add(in Input, kind Kind, name string, data []byte) {
	g.res.Files = append(g.res.Files, File{Name: name, Kind: kind, Input: in.Name, Data: data})
}

// render renders one input's files.
func (g *run) render(in Input) error {
	o := g.opts
	s := own(in.Spec)
	if o.Preset != "" {
		p, _ := slo.LookupPreset(o.Preset) // checked by validate
		p.Apply(s)
		if err := s.Errors(s.Validate()); err != nil {
			return fmt.Errorf("with preset %s: %w", o.Preset, err)
		}
		if o.Profile == ProfileOptimized {
			g.res.Notes = append(g.res.Notes, fmt.Sprintf("%s: with --preset %s the alerts carry no runbook_url: %s's runbook site has its own page, without the sections of the runbook burnrate generates; publish that runbook and set runbook.urlPattern in a spec (burnrate spec --preset %[2]s)", in.Name, o.Preset, o.Preset))
		}
	}
	env := o.envelope(s)
	ruleFile := encode.FileName(o.Format, s.Name)
	if other, dup := g.claim("file "+ruleFile, in.Name); dup {
		return fmt.Errorf("%s and %s both have name %q and would write %s; give each spec its own name", other, in.Name, s.Name, ruleFile)
	}
	// The one model of this spec: every generator below reads it.
	m, err := slomodel.New(s, o.Profile)
	if err != nil {
		return err // file:line errors, which name the spec already
	}
	groups, err := rulegen.RuleGroups(m)
	if err != nil {
		return fmt.Errorf("%s: %w", in.Name, err)
	}
	g.res.groups = append(g.res.groups, inputGroups{in.Name, groups})
	header := fmt.Sprintf("Generated by burnrate from %s (profile %s); do not edit.", in.Name, o.Profile)
	if o.Command != "" {
		header += "\nRegenerate with: " + o.Command
	}
	if o.Format == FormatKubePrometheusStack {
		replaced, err := mixingroups.Replaced(groups)
		if err != nil {
			return fmt.Errorf("%s: %w", in.Name, err)
		}
		for _, r := range replaced {
			env.StackSwitches = append(env.StackSwitches, r.StackSwitch)
		}
	}
	data, err := encode.Encode(o.Format, groups, header, env)
	if err != nil {
		return fmt.Errorf("%s: %w", in.Name, err)
	}
	g.add(in, KindRules, ruleFile, data)
	// Grafana dashboards: JSON beside a rule file, a sidecar ConfigMap
	// beside kube-prometheus-stack values (internal/dashboard).
	if pk, ok := dashboardPackaging[o.Format]; ok && o.Profile == ProfileOptimized {
		dfs, err := dashboard.Files(m, pk, header)
		if err != nil {
			return fmt.Errorf("%s: dashboards: %w", in.Name, err)
		}
		for _, df := range dfs {
			g.add(in, KindDashboard, df.Name, df.Data)
		}
	}
	if o.Format != FormatRules {
		return nil // the tests read a plain rule file; the runbook comes with it
	}
	// promtool and Prometheus refuse a rule file with
	// partial_response_strategy, so a file for Thanos gets no tests.
	withTests := env.PartialResponseStrategy == ""
	if withTests {
		tests, err := testgen.Tests(m, ruleFile)
		if err != nil {
			return fmt.Errorf("%s: tests: %w", in.Name, err)
		}
		for _, tf := range tests {
			data, err := tf.File.Marshal(header)
			if err != nil {
				return fmt.Errorf("%s: %w", in.Name, err)
			}
			g.add(in, KindTest, tf.Name, data)
		}
	}
	if o.Profile != ProfileOptimized {
		return nil
	}
	page, err := runbook.Render(m)
	if err != nil {
		return fmt.Errorf("%s: %w", in.Name, err)
	}
	if other, dup := g.claim("runbook "+page.Path, in.Name); dup {
		return fmt.Errorf("%s and %s both have alert %s and would write runbook %s; give each its own alert name or runbook component", other, in.Name, s.Alert.Name, page.Path)
	}
	g.add(in, KindRunbook, page.Path, page.Markdown)
	if !withTests || s.Service != "" {
		// A service's runbook has steps of its own, which the incident
		// scenarios (the kube-apiserver's) do not prove.
		return nil
	}
	tf, err := testgen.IncidentTests(m, ruleFile)
	if errors.Is(err, testgen.ErrIncidentsDoNotFit) {
		g.res.Notes = append(g.res.Notes, fmt.Sprintf("%s: no incident tests: %v", in.Name, err))
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: incident tests: %w", in.Name, err)
	}
	data, err = tf.File.Marshal(header)
	if err != nil {
		return fmt.Errorf("%s: %w", in.Name, err)
	}
	g.add(in, KindTest, tf.Name, data)
	return nil
}

// own returns a copy of s that the preset and envelope may change without
// changing s: the maps they write into are copied too.
func own(s *slo.Spec) *slo.Spec {
	c := *s
	c.Output.Labels = maps.Clone(s.Output.Labels)
	c.Output.Annotations = maps.Clone(s.Output.Annotations)
	return &c
}

// envelope sets the options' envelope over spec s's output section and
// returns the format's envelope of the result.
func (o Options) envelope(s *slo.Spec) encode.Envelope {
	e := o.Envelope
	s.Output.Name = cmp.Or(e.Name, s.Output.Name)
	s.Output.Namespace = cmp.Or(e.Namespace, s.Output.Namespace)
	s.Output.Labels = merge(s.Output.Labels, e.Labels)
	s.Output.Annotations = merge(s.Output.Annotations, e.Annotations)
	s.Output.PartialResponseStrategy = cmp.Or(e.PartialResponseStrategy, s.Output.PartialResponseStrategy)
	return encode.EnvelopeOf(o.Format, s)
}

// merge adds over's pairs to into (a copy when over has any).
func merge(into, over map[string]string) map[string]string {
	if len(over) == 0 {
		return into
	}
	out := maps.Clone(into)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, over)
	return out
}
