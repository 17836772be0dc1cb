package runbook

import (
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// newSpec builds the optimized model of spec s (which checks it) and its
// runbook.
func newSpec(s *slo.Spec) (*Runbook, error) {
	m, err := slomodel.New(s, slomodel.ProfileOptimized)
	if err != nil {
		return nil, err
	}
	return New(m)
}

// renderSpec renders the runbook page of spec s.
func renderSpec(s *slo.Spec) (*Page, error) {
	r, err := newSpec(s)
	if err != nil {
		return nil, err
	}
	return r.Page()
}
