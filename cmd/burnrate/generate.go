package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/burnrate/burnrate/generator"
	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/output"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

type generateFlags struct {
	profile string
	out     string
	check   bool
	// runbooks is the runbooks tree; "" means runbooks beside out.
	runbooks string
	format   string
	preset   string
	// The output envelope given on the command line; each set field
	// overrides the spec's output section (labels and annotations are
	// added, a flag's value winning).
	name, namespace, strategy string
	labels, annotations       pairsFlag
}

// pairsFlag is a repeatable key=value flag, kept in the order given.
type pairsFlag struct{ kv [][2]string }

func (p *pairsFlag) String() string { return "" }

func (p *pairsFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: want key=value, e.g. release=monitoring", v)
	}
	p.kv = append(p.kv, [2]string{k, val})
	return nil
}

func (p *pairsFlag) merge(into map[string]string) map[string]string {
	if len(p.kv) == 0 {
		return into
	}
	out := maps.Clone(into)
	if out == nil {
		out = map[string]string{}
	}
	for _, kv := range p.kv {
		out[kv[0]] = kv[1]
	}
	return out
}

func runGenerate(args []string, stdout, stderr io.Writer) int {
	var f generateFlags
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.profile, "profile", slomodel.Profiles[0], "rule profile: "+strings.Join(slomodel.Profiles, ", "))
	fs.StringVar(&f.out, "out", "rules", "output directory")
	fs.BoolVar(&f.check, "check", false, "write nothing; exit 1 naming every file that would change")
	fs.StringVar(&f.runbooks, "runbooks", "", "runbooks directory (optimized profile), written as <dir>/<component>/<Alert>.md (default: runbooks beside --out, i.e. runbooks for --out rules)")
	fs.StringVar(&f.format, "format", encode.FormatRules, "output format: "+strings.Join(encode.Formats, ", ")+" (see above)")
	fs.StringVar(&f.preset, "preset", "", "set job, cluster label, showMultiCluster, runbook URL and PrometheusRule labels as a distribution does: "+strings.Join(slo.PresetNames(), ", "))
	fs.StringVar(&f.name, "name", "", "PrometheusRule metadata.name and kube-prometheus-stack additionalPrometheusRulesMap key (default: the spec's output.name, else burnrate-<spec name>)")
	fs.StringVar(&f.namespace, "namespace", "", "PrometheusRule metadata.namespace, or the Mimir rule namespace (default: the spec's output.namespace; for mimir, else the spec's name)")
	fs.Var(&f.labels, "label", "PrometheusRule label key=value (repeatable), e.g. release=monitoring; kube-prometheus-stack: additionalLabels")
	fs.Var(&f.annotations, "annotation", "PrometheusRule annotation key=value (repeatable)")
	fs.StringVar(&f.strategy, "partial-response-strategy", "", "Thanos ruler partial_response_strategy of every group: "+strings.Join(slo.PartialResponseStrategies, " or ")+" (formats rules and prometheusrule)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: burnrate generate [flags] [SPEC...]

Writes <out>/<name>.rules.yaml for each spec file, or for the embedded
kube-apiserver spec when none is given, and beside it promtool unit tests:
<name>.records.test.yaml pins the recorded burn rates, and one
<name>.<long>-<short>.test.yaml per alert window pair tests the alert, and
for a spec with a service <name>.sli-health.test.yaml tests the SLI-health
alert. With the optimized profile it also writes the alert's runbook,
<runbooks>/<component>/<Alert>.md: the kube-apiserver's decision tree for a
spec without a service, with <name>.incidents.test.yaml, which replays
synthetic incidents and proves the runbook's queries on them; for a spec
with a service, a page of its own that drills down by its drilldown
labels (the component defaults to the service). Every
spec is loaded and rendered before anything is written, so a bad spec
leaves all files as they were.

Formats (--format):
  rules                  a Prometheus rule file, <name>.rules.yaml, with the
                         tests and the runbook above (the default)
  prometheusrule         a prometheus-operator PrometheusRule,
                         <name>.prometheusrule.yaml (kubectl apply -f)
  json                   {"groups": [...]} for jsonnet, <name>.rules.json:
                         (import '<name>.rules.json').groups
  kube-prometheus-stack  Helm values, <name>.kube-prometheus-stack.values.yaml:
                         switches the mixin's kube-apiserver SLO groups off
                         (defaultRules.rules) and adds these groups
                         (additionalPrometheusRulesMap); helm upgrade -f
  mimir                  a Mimir or Cortex ruler namespace file,
                         <name>.mimir.yaml (mimirtool rules load|sync)
Formats other than rules write that one file; the tests and the runbook
come with --format rules (the tests only without
--partial-response-strategy, which promtool does not load).

Presets (--preset; burnrate spec --preset NAME prints them as a spec):
`+presetHelp()+`
Flags:
`)
		fs.PrintDefaults()
	}
	specs, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}

	if !slices.Contains(slomodel.Profiles, f.profile) {
		fmt.Fprintf(stderr, "burnrate generate: unknown profile %q; choose one of %s\n", f.profile, strings.Join(slomodel.Profiles, ", "))
		return exitUsage
	}
	if err := f.validate(); err != nil {
		fmt.Fprintf(stderr, "burnrate generate: %v\n", err)
		return exitUsage
	}
	if f.runbooks == "" {
		f.runbooks = defaultRunbooks(f.out)
	}
	files, sources, err := render(specs, f, func(note string) {
		fmt.Fprintf(stderr, "burnrate generate: %s\n", note)
	})
	if err != nil {
		fmt.Fprintf(stderr, "burnrate generate: %v\n", err)
		return exitFail
	}
	if f.check {
		changes, err := output.Plan(files, sources)
		if err != nil {
			return f.outputFailed(stderr, err)
		}
		for _, c := range changes {
			fmt.Fprintf(stdout, "%s %s\n", c.Path, checkVerbs[c.Action])
		}
		if len(changes) > 0 {
			fmt.Fprintf(stdout, "%d file(s) out of date; run burnrate generate with the same flags and commit the result\n", len(changes))
			return exitFail
		}
		return exitOK
	}
	changes, err := output.Write(files, sources, output.Options{
		Waiting: func(lock string) {
			fmt.Fprintf(stderr, "burnrate generate: another burnrate generate is writing to this directory; waiting for it to end (it holds %s)\n", lock)
		},
		Note: func(msg string) { fmt.Fprintf(stderr, "burnrate generate: %s\n", msg) },
	})
	if err != nil {
		return f.outputFailed(stderr, err)
	}
	written := 0
	for _, c := range changes {
		w := stdout
		if c.Action == output.Keep {
			w = stderr
		}
		fmt.Fprintf(w, "%s %s\n", c.Path, doneVerbs[c.Action])
		if (c.Action == output.Create || c.Action == output.Update) && filepath.Base(c.Path) != output.ManifestName {
			written++
		}
	}
	fmt.Fprintf(stdout, "%d file(s) generated, %d written\n", len(files), written)
	return exitOK
}

// outputFailed reports an error of output.Plan or output.Write: an output
// directory that is a file is a bad command line, anything else leaves the
// files as they were.
func (f generateFlags) outputFailed(stderr io.Writer, err error) int {
	var nd *output.NotDirError
	if errors.As(err, &nd) {
		flag := "--out"
		if nd.Root != f.out {
			flag = "--runbooks"
		}
		fmt.Fprintf(stderr, "burnrate generate: %s %s is a file; give a directory\n", flag, nd.Root)
		return exitUsage
	}
	if f.check {
		fmt.Fprintf(stderr, "burnrate generate: %v\n", err)
	} else {
		fmt.Fprintf(stderr, "burnrate generate: %v; no file was changed\n", err)
	}
	return exitFail
}

// What --check and a run say of each change.
var (
	checkVerbs = map[output.Action]string{
		output.Create: "would be created",
		output.Update: "would change",
		output.Delete: "is no longer generated and would be deleted",
		output.Keep:   "is no longer generated but was edited by hand; delete it or keep it as your own",
	}
	doneVerbs = map[output.Action]string{
		output.Create: "written",
		output.Update: "written",
		output.Delete: "deleted (no longer generated)",
		output.Keep:   "kept: no longer generated, but edited since burnrate wrote it",
	}
)

// render loads every spec and renders its files in memory, through the
// generator package; note reports what it leaves out on purpose.
func render(specs []string, f generateFlags, note func(string)) ([]output.File, []output.Source, error) {
	var inputs []generator.Input
	if len(specs) == 0 {
		inputs = append(inputs, generator.Input{Name: slo.DefaultName, Spec: slo.Default()})
	}
	for _, p := range specs {
		s, err := slo.Load(p)
		if err != nil {
			return nil, nil, err
		}
		inputs = append(inputs, generator.Input{Name: filepath.ToSlash(p), Spec: s})
	}
	res, err := generator.Generate(inputs, generator.Options{
		Profile:  f.profile,
		Format:   f.format,
		Preset:   f.preset,
		Envelope: f.envelope(),
		Command:  f.regenerateCommand(specs),
	})
	if err != nil {
		return nil, nil, err
	}
	for _, n := range res.Notes {
		note(n)
	}
	format := ""
	if f.format != encode.FormatRules {
		format = f.format
	}
	var sources []output.Source
	for _, in := range inputs {
		sources = append(sources, output.Source{Spec: in.Name, Profile: f.profile, Format: format})
	}
	var files []output.File
	for _, gf := range res.Files {
		root := f.out
		if gf.Kind == generator.KindRunbook {
			root = f.runbooks
		}
		files = append(files, output.File{Root: root, Rel: gf.Name, Data: gf.Data,
			Source: output.Source{Spec: gf.Input, Profile: f.profile, Format: format}})
	}
	return files, sources, nil
}

// validate checks the flags that name things: format, preset and the
// output envelope's values.
func (f generateFlags) validate() error {
	if !slices.Contains(encode.Formats, f.format) {
		return fmt.Errorf("unknown format %q; choose one of %s", f.format, strings.Join(encode.Formats, ", "))
	}
	if _, ok := slo.LookupPreset(f.preset); f.preset != "" && !ok {
		return fmt.Errorf("unknown preset %q; choose one of %s", f.preset, strings.Join(slo.PresetNames(), ", "))
	}
	if f.strategy != "" && f.format != encode.FormatRules && f.format != encode.FormatPrometheusRule {
		return fmt.Errorf("--partial-response-strategy is a Thanos ruler field: use it with --format %s or %s, not %s", encode.FormatRules, encode.FormatPrometheusRule, f.format)
	}
	o := f.envelope()
	var errs []error
	for _, fe := range slo.ValidateOutput(o) {
		flag := map[string]string{"name": "--name", "namespace": "--namespace", "labels": "--label", "annotations": "--annotation", "partialResponseStrategy": "--partial-response-strategy"}[fmt.Sprint(fe.Path[1])]
		errs = append(errs, fmt.Errorf("%s: %s", flag, fe.Msg))
	}
	return errors.Join(errs...)
}

// envelope is the output envelope the flags give, which goes over each
// spec's output section.
func (f generateFlags) envelope() slo.Output {
	return slo.Output{Name: f.name, Namespace: f.namespace, Labels: f.labels.merge(nil), Annotations: f.annotations.merge(nil), PartialResponseStrategy: f.strategy}
}

// presetHelp lists the presets for the help text.
func presetHelp() string {
	var b strings.Builder
	for _, p := range slo.Presets {
		fmt.Fprintf(&b, "  %s\n      %s\n", p.Name, p.About)
	}
	return b.String()
}

// regenerateCommand is the command line that writes the same files again,
// for the header of each generated file.
func (f generateFlags) regenerateCommand(specs []string) string {
	args := []string{"burnrate", "generate", "--profile", f.profile, "--out", filepath.ToSlash(f.out)}
	if f.profile == slomodel.ProfileOptimized && f.format == encode.FormatRules && f.runbooks != defaultRunbooks(f.out) {
		args = append(args, "--runbooks", filepath.ToSlash(f.runbooks))
	}
	for _, o := range []struct{ flag, value, def string }{
		{"--format", f.format, encode.FormatRules},
		{"--preset", f.preset, ""},
		{"--name", f.name, ""},
		{"--namespace", f.namespace, ""},
		{"--partial-response-strategy", f.strategy, ""},
	} {
		if o.value != o.def {
			args = append(args, o.flag, o.value)
		}
	}
	for _, p := range []struct {
		flag string
		kv   [][2]string
	}{{"--label", f.labels.kv}, {"--annotation", f.annotations.kv}} {
		for _, kv := range p.kv {
			args = append(args, p.flag, shellQuote(kv[0]+"="+kv[1]))
		}
	}
	for _, s := range specs {
		args = append(args, filepath.ToSlash(s))
	}
	return strings.Join(args, " ")
}

// shellQuote quotes s for a POSIX shell when it holds anything but letters,
// digits and -_./=:,+@%.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// defaultRunbooks is the runbooks directory beside the output directory.
func defaultRunbooks(out string) string {
	return filepath.Join(filepath.Dir(filepath.Clean(out)), "runbooks")
}

// parseInterspersed parses flags that may stand before, between or after the
// positional arguments, and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func runSpec(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("spec", flag.ContinueOnError)
	fs.SetOutput(stderr)
	preset := fs.String("preset", "", "print the spec with a preset applied: "+strings.Join(slo.PresetNames(), ", "))
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: burnrate spec [--preset NAME]\n\nPrints the embedded kube-apiserver spec. Save it, edit it, and pass the file to burnrate generate.\nWith --preset, the spec that preset makes of it (generate --preset NAME is the same as\ngenerate with that file).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	if *preset == "" {
		stdout.Write(slo.DefaultYAML())
		return exitOK
	}
	p, ok := slo.LookupPreset(*preset)
	if !ok {
		fmt.Fprintf(stderr, "burnrate spec: unknown preset %q; choose one of %s\n", *preset, strings.Join(slo.PresetNames(), ", "))
		return exitUsage
	}
	data, err := p.YAML()
	if err != nil {
		fmt.Fprintf(stderr, "burnrate spec: %v\n", err)
		return exitFail
	}
	stdout.Write(data)
	return exitOK
}
