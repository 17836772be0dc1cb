package slo

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse feeds Parse any bytes: it must return a spec or an error, never
// panic; a spec it returns must pass Validate, and every error must be a
// *Error that names the file and speaks the spec's words, not yaml.v3's.
// The seeds are in testdata/fuzz/FuzzParse; `make fuzz` runs it.
func FuzzParse(f *testing.F) {
	f.Add(DefaultYAML())
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			if s != nil {
				t.Errorf("Parse returned a spec and an error: %v", err)
			}
			for _, e := range unjoin(err) {
				var se *Error
				if !errors.As(e, &se) {
					t.Fatalf("error %q is a %T, want a *slo.Error", e, e)
				}
				if se.File != "fuzz.yaml" {
					t.Errorf("error %q names file %q", e, se.File)
				}
				if strings.Contains(se.Msg, "cannot unmarshal") || strings.Contains(se.Msg, " into slo.") {
					t.Errorf("error %q speaks yaml.v3's words", e)
				}
			}
			return
		}
		if fes := s.Validate(); len(fes) > 0 {
			t.Fatalf("Parse returned a spec that Validate refuses: %v", s.Errors(fes))
		}
	})
}

// unjoin lists the errors errors.Join joined.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
