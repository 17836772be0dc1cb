package testgen

import (
	"context"
	"errors"
	"flag"
	"hash/fnv"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/ruletest"
	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// FuzzGenerate feeds spec YAML through slo.Parse and every profile: a spec
// that Parse and slomodel.New accept must give a rule file that Prometheus's own
// loader (rulefmt) accepts without a finding, and unit tests (and, in the
// optimized profile, a runbook) without an error, and the unit tests must
// pass: generate exits 0 => its tests pass. Running every test of a spec
// takes up to minutes, so each input runs one test group of one profile,
// picked by a hash of the input (runSampledGroup), in-process with burnrate
// test's runner. A spec either refuses must be refused with *slo.Errors,
// and nothing may panic. The seeds are in testdata/fuzz/FuzzGenerate;
// `make fuzz` runs it.
func FuzzGenerate(f *testing.F) {
	f.Add(slo.DefaultYAML())
	examples, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.yaml"))
	if err != nil || len(examples) == 0 {
		f.Fatalf("no example specs: %v", err)
	}
	for _, e := range examples {
		data, err := os.ReadFile(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, p := range slo.Presets { // seeds with an output section
		y, err := p.YAML()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(y)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := slo.Parse("fuzz.yaml", data)
		if err != nil {
			return // FuzzParse covers the refusals
		}
		var generated []profileTests
		for _, p := range slomodel.Profiles {
			m, err := slomodel.New(s, p)
			if err != nil {
				var se *slo.Error
				if !errors.As(err, &se) {
					t.Fatalf("%s: slomodel.New gave a %T, want *slo.Errors: %v", p, err, err)
				}
				continue
			}
			rf, err := rulegen.RuleGroups(m)
			if err != nil {
				t.Fatalf("%s: RuleGroups failed on a spec Parse and slomodel.New accept: %v", p, err)
			}
			out, err := encode.RuleFile(rf, "fuzz")
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if _, errs := rulefmt.Parse(out, false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger()); len(errs) > 0 {
				t.Fatalf("%s: Prometheus would not load the rules: %v\n%s", p, errors.Join(errs...), out)
			}
			for _, f := range encode.Formats {
				if _, err := encode.Encode(f, rf, "fuzz", encode.EnvelopeOf(f, s)); err != nil {
					t.Fatalf("%s: format %s: %v", p, f, err)
				}
			}
			tests, err := Tests(m, "fuzz.rules.yaml")
			if err != nil {
				t.Fatalf("%s: Tests failed on a spec Parse and slomodel.New accept: %v", p, err)
			}
			for _, tf := range tests {
				if _, err := tf.File.Marshal("fuzz"); err != nil {
					t.Fatalf("%s: %s: %v", p, tf.Name, err)
				}
			}
			generated = append(generated, profileTests{p, out, tests})
			if p == slomodel.ProfileOptimized { // generate writes the runbook of every spec it accepts
				if _, err := runbook.Render(m); err != nil {
					t.Fatalf("runbook of a spec Parse and slomodel.New accept: %v", err)
				}
			}
		}
		runSampledGroup(t, data, generated)
	})
}

// profileTests are the rule file and the generated tests of a spec in one
// profile.
type profileTests struct {
	profile string
	rules   []byte
	tests   []NamedTestFile
}

// fuzzBudget is how long a fuzzing worker gives the sampled test group:
// the fuzzing coordinator kills a worker whose input runs 10 seconds
// (internal/fuzz, RunFuzzWorker: "deadlocked!"), and parsing and
// generating take their share.
const fuzzBudget = 4 * time.Second

// fuzzWorker reports whether this process is a fuzzing worker (go test
// -fuzz), not a plain test run of the seed corpus.
func fuzzWorker() bool {
	f := flag.Lookup("test.fuzzworker")
	return f != nil && f.Value.String() == "true"
}

// runSampledGroup runs one test group of the generated tests of every
// profile in-process, and fails t if it fails. The group is picked by an
// FNV hash of the input, so that a failing input fails again as a seed. A
// fuzzing worker gives it fuzzBudget and leaves a group that takes longer
// without a verdict; a test run of the seeds waits for it.
func runSampledGroup(t *testing.T, input []byte, generated []profileTests) {
	t.Helper()
	type pick struct{ profile, file, group int }
	var all []pick
	for p, g := range generated {
		for i, tf := range g.tests {
			for j := range tf.File.Tests {
				all = append(all, pick{p, i, j})
			}
		}
	}
	if len(all) == 0 {
		return
	}
	h := fnv.New64a()
	h.Write(input)
	at := all[h.Sum64()%uint64(len(all))]
	g := generated[at.profile]
	tf := g.tests[at.file]
	one := *tf.File
	one.Tests = tf.File.Tests[at.group : at.group+1]
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fuzz.rules.yaml"), g.rules, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, tf.Name)
	data, err := one.Marshal("fuzz")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if fuzzWorker() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, fuzzBudget)
		defer cancel()
	}
	report, err := ruletest.RunFiles(ctx, []string{path}, ruletest.Options{})
	if ctx.Err() != nil {
		return // out of time: no verdict
	}
	if err != nil {
		t.Fatalf("%s: %s, group %q: %v", g.profile, tf.Name, one.Tests[0].Name, err)
	}
	for _, fr := range report.Files {
		for _, gr := range fr.Groups {
			for _, fail := range gr.Failures {
				t.Errorf("%s: a generated test fails: %s", g.profile, fail)
			}
		}
	}
}
