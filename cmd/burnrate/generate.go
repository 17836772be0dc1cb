package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/output"
	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/internal/testgen"
	"github.com/burnrate/burnrate/slo"
)

type generateFlags struct {
	profile string
	out     string
	check   bool
	// runbooks is the runbooks tree; "" means runbooks beside out.
	runbooks string
}

func runGenerate(args []string, stdout, stderr io.Writer) int {
	var f generateFlags
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.profile, "profile", slomodel.Profiles[0], "rule profile: "+strings.Join(slomodel.Profiles, ", "))
	fs.StringVar(&f.out, "out", "rules", "output directory")
	fs.BoolVar(&f.check, "check", false, "write nothing; exit 1 naming every file that would change")
	fs.StringVar(&f.runbooks, "runbooks", "", "runbooks directory (optimized profile), written as <dir>/<component>/<Alert>.md (default: runbooks beside --out, i.e. runbooks for --out rules)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: burnrate generate [flags] [SPEC...]

Writes <out>/<name>.rules.yaml for each spec file, or for the embedded
kube-apiserver spec when none is given, and beside it promtool unit tests:
<name>.records.test.yaml pins the recorded burn rates, and one
<name>.<long>-<short>.test.yaml per alert window pair tests the alert, and
for a spec with a service <name>.sli-health.test.yaml tests the SLI-health
alert. With the optimized profile and a spec without a service (the
kube-apiserver's) it also writes the alert's runbook,
<runbooks>/<component>/<Alert>.md, and <name>.incidents.test.yaml, which
replays synthetic incidents and proves the runbook's queries on them. Every
spec is loaded and rendered before anything is written, so a bad spec
leaves all files as they were.

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
	if f.runbooks == "" {
		f.runbooks = defaultRunbooks(f.out)
	}
	files, sources, err := render(specs, f.profile, f.out, f.runbooks, func(note string) {
		fmt.Fprintf(stderr, "burnrate generate: %s\n", note)
	})
	if err != nil {
		fmt.Fprintf(stderr, "burnrate generate: %v\n", err)
		return exitFail
	}
	changes, err := output.Plan(files, sources)
	if err != nil {
		fmt.Fprintf(stderr, "burnrate generate: %v\n", err)
		return exitFail
	}
	if f.check {
		for _, c := range changes {
			fmt.Fprintf(stdout, "%s %s\n", c.Path, checkVerbs[c.Action])
		}
		if len(changes) > 0 {
			fmt.Fprintf(stdout, "%d file(s) out of date; run burnrate generate with the same flags and commit the result\n", len(changes))
			return exitFail
		}
		return exitOK
	}
	if err := output.Apply(changes); err != nil {
		fmt.Fprintf(stderr, "burnrate generate: %v; no file was changed\n", err)
		return exitFail
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

// render loads every spec and renders its files in memory; note reports
// what it leaves out on purpose.
func render(specs []string, profile, out, runbooks string, note func(string)) ([]output.File, []output.Source, error) {
	type source struct {
		name string
		spec *slo.Spec
	}
	var loaded []source
	if len(specs) == 0 {
		loaded = append(loaded, source{slo.DefaultName, slo.Default()})
	}
	for _, p := range specs {
		s, err := slo.Load(p)
		if err != nil {
			return nil, nil, err
		}
		loaded = append(loaded, source{filepath.ToSlash(p), s})
	}
	var files []output.File
	var sources []output.Source
	seen := map[string]string{}
	for _, src := range loaded {
		id := output.Source{Spec: src.name, Profile: profile}
		sources = append(sources, id)
		add := func(root, rel string, data []byte) {
			files = append(files, output.File{Root: root, Rel: rel, Data: data, Source: id})
		}
		ruleFile := src.spec.Name + ".rules.yaml"
		path := filepath.Join(out, ruleFile)
		if other, dup := seen[path]; dup {
			return nil, nil, fmt.Errorf("%s and %s both have name %q and would write %s; give each spec its own name", other, src.name, src.spec.Name, path)
		}
		seen[path] = src.name
		if svc := src.spec.Service; svc != "" {
			// Records are told apart by service (and SLO) only.
			key := "service " + svc
			if other, dup := seen[key]; dup {
				return nil, nil, fmt.Errorf("%s and %s both have service %q, and their recorded series and alerts would collide in one Prometheus; give each spec its own service", other, src.name, svc)
			}
			seen[key] = src.name
		}
		if err := rulegen.Check(src.spec, profile); err != nil {
			return nil, nil, err // file:line errors, which name the spec already
		}
		rf, err := rulegen.Rules(src.spec, profile)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", src.name, err)
		}
		header := fmt.Sprintf("Generated by burnrate from %s (profile %s); do not edit.\nRegenerate with: %s", src.name, profile, regenerateCommand(profile, out, runbooks, specs))
		data, err := encode.RuleFile(rf, header)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", src.name, err)
		}
		add(out, ruleFile, data)
		tests, err := testgen.Tests(src.spec, profile, ruleFile)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: tests: %w", src.name, err)
		}
		for _, tf := range tests {
			data, err := tf.File.Marshal(header)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", src.name, err)
			}
			add(out, tf.Name, data)
		}
		if profile != slomodel.ProfileOptimized {
			continue
		}
		if src.spec.Service != "" {
			// The runbook's decision tree and its incident tests are the
			// kube-apiserver's (etcd, webhooks, APF); a page of them would be
			// wrong for any other service.
			note(fmt.Sprintf("%s: no runbook written: the generated runbook is the kube-apiserver's (a spec without service); point runbook.urlPattern at your own page", src.name))
			continue
		}
		page, err := runbook.Render(src.spec)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", src.name, err)
		}
		pagePath := filepath.Join(runbooks, filepath.FromSlash(page.Path))
		if other, dup := seen[pagePath]; dup {
			return nil, nil, fmt.Errorf("%s and %s both have alert %s and would write %s; give each its own alert name or runbook component", other, src.name, src.spec.Alert.Name, pagePath)
		}
		seen[pagePath] = src.name
		add(runbooks, page.Path, page.Markdown)
		tf, err := testgen.IncidentTests(src.spec, ruleFile)
		if errors.Is(err, testgen.ErrIncidentsDoNotFit) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: incident tests: %w", src.name, err)
		}
		data, err = tf.File.Marshal(header)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", src.name, err)
		}
		add(out, tf.Name, data)
	}
	return files, sources, nil
}

// regenerateCommand is the command line that writes the same files again,
// for the header of each generated file.
func regenerateCommand(profile, out, runbooks string, specs []string) string {
	args := []string{"burnrate", "generate", "--profile", profile, "--out", filepath.ToSlash(out)}
	if profile == slomodel.ProfileOptimized && runbooks != defaultRunbooks(out) {
		args = append(args, "--runbooks", filepath.ToSlash(runbooks))
	}
	for _, s := range specs {
		args = append(args, filepath.ToSlash(s))
	}
	return strings.Join(args, " ")
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
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: burnrate spec\n\nPrints the embedded kube-apiserver spec. Save it, edit it, and pass the file to burnrate generate.\n")
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
	stdout.Write(slo.DefaultYAML())
	return exitOK
}
