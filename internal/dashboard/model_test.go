package dashboard

import (
	"testing"

	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// mustModel builds the optimized model of spec s, which checks it, and
// fails the test on an error.
func mustModel(t testing.TB, s *slo.Spec) *slomodel.Model {
	t.Helper()
	m, err := slomodel.New(s, slomodel.ProfileOptimized)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
