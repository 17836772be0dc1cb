package testgen

import (
	"testing"

	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// mustModel builds the model of spec s in the named profile, which checks
// the spec, and fails the test on an error.
func mustModel(tb testing.TB, s *slo.Spec, profile string) *slomodel.Model {
	tb.Helper()
	m, err := slomodel.New(s, profile)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}
