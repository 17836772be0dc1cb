package synth

import (
	"context"
	"testing"
	"time"

	"github.com/burnrate/burnrate/internal/testkit/reference"
	"github.com/prometheus/prometheus/model/labels"
)

// BenchmarkEach measures the generator alone: 559 series over 6h at 30s.
func BenchmarkEach(b *testing.B) {
	c := Cluster{Instances: 1, Resources: 1, Duration: 6 * time.Hour}
	var n int64
	for b.Loop() {
		n = 0
		if err := c.Each(func(labels.Labels, int64, float64) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "samples/op")
}

// BenchmarkEvaluateReference evaluates the kubernetes-mixin rules over 6h of
// a 559-series cluster at a 1m step.
func BenchmarkEvaluateReference(b *testing.B) {
	path := reference.File(b, "apiserver-slo-rules.aa38e2b.yaml")
	c := Cluster{Instances: 1, Resources: 1, Duration: 6 * time.Hour}
	var tr *Trace
	for b.Loop() {
		var err error
		if tr, err = Evaluate(context.Background(), path, c, EvalOptions{DiscardSteps: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(tr.Stats.Total.TotalSamples), "touched/op")
	b.ReportMetric(float64(tr.Stats.Steps), "steps/op")
}
