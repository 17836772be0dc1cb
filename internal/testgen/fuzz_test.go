package testgen

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// FuzzGenerate feeds spec YAML through slo.Parse and every profile: a spec
// that Parse and slomodel.New accept must give a rule file that Prometheus's own
// loader (rulefmt) accepts without a finding, and unit tests (and, in the
// optimized profile, a runbook) without an error; a spec either refuses must
// be refused with *slo.Errors, and nothing may panic. The seeds are in
// testdata/fuzz/FuzzGenerate; `make fuzz` runs it.
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
			if p == slomodel.ProfileOptimized { // generate writes the runbook of every spec it accepts
				if _, err := runbook.Render(m); err != nil {
					t.Fatalf("runbook of a spec Parse and slomodel.New accept: %v", err)
				}
			}
		}
	})
}
