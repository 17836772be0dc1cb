package runbook

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/slo"
)

// TestHistogramForms: with latency.form native or nhcb, no drill-down query,
// raw-source burn query or Step 0 probe reads a histogram's classic series
// (_bucket, _count, _sum), which a Prometheus keeping only the native form
// does not have, but as the fallback of a read of the same histogram's native
// series (a histogram the apiserver exposes without a native form keeps its
// classic buckets), and never the SLI histogram's; the latency steps read the
// native series; with classic, they read the classic series as before. For
// the kube-apiserver and for a service. Step 0 counts the native series
// and the _count of each histogram the steps read in either form.
func TestHistogramForms(t *testing.T) {
	histograms := []string{"apiserver_request_sli_duration_seconds", "apiserver_admission_webhook_admission_duration_seconds",
		"etcd_request_duration_seconds", "apiserver_flowcontrol_request_execution_seconds", "http_request_duration_seconds"}
	classic := func(name string) bool {
		for _, h := range histograms {
			if name == h+"_bucket" || name == h+"_count" || name == h+"_sum" {
				return true
			}
		}
		return false
	}
	service := func() *slo.Spec {
		s, err := slo.Load("../../examples/checkout.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tc := range []struct {
		name string
		spec func() *slo.Spec
		// native are native series the latency steps must read.
		native []string
	}{
		{"kube-apiserver", slo.Default, []string{"apiserver_request_sli_duration_seconds", "apiserver_admission_webhook_admission_duration_seconds", "etcd_request_duration_seconds", "apiserver_flowcontrol_request_execution_seconds"}},
		{"checkout", service, []string{"http_request_duration_seconds"}},
	} {
		for _, form := range slo.HistogramForms {
			t.Run(tc.name+"/"+string(form), func(t *testing.T) {
				s := tc.spec()
				s.Latency.Form = form
				rb, err := newSpec(s)
				if err != nil {
					t.Fatal(err)
				}
				qs, err := rb.Queries(time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				read := map[string]bool{}
				texts := []string{}
				for _, q := range qs {
					texts = append(texts, q.PromQL)
				}
				_, terms, err := rb.BurnQueries(SourceRaw, 5*time.Minute, []slo.Duration{slo.Duration(time.Hour)})
				if err != nil {
					t.Fatal(err)
				}
				texts = append(texts, terms)
				// Classic series read as the fallback of a native read
				// (`native or classic`: a histogram without a native
				// form keeps its classic buckets) are allowed.
				fallback := map[string]bool{}
				for _, q := range texts {
					for _, n := range metricNames(t, q) {
						read[n] = true
					}
					e, _ := parser.NewParser(parser.Options{}).ParseExpr(q)
					parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
						if be, ok := n.(*parser.BinaryExpr); ok && be.Op == parser.LOR {
							lhs := metricNames(t, be.LHS.String())
							for _, r := range metricNames(t, be.RHS.String()) {
								base := strings.TrimSuffix(strings.TrimSuffix(r, "_bucket"), "_sum")
								if base != r && slices.Contains(lhs, base) {
									fallback[r] = true
								}
							}
						}
						return nil
					})
				}
				// Step 0 counts a histogram's native series and, as the
				// fallback its step reads, its _count.
				probed := rb.ProbeMetrics()
				for _, n := range probed {
					read[n] = true
					if base, ok := strings.CutSuffix(n, "_count"); ok && slices.Contains(probed, base) {
						fallback[n] = true
					}
				}
				if form.IsNative() {
					for _, n := range tc.native {
						if n != s.Latency.Metric && (!slices.Contains(probed, n) || !slices.Contains(probed, n+"_count")) {
							t.Errorf("latency.form %s: Step 0 counts %v; want %s and its fallback %s_count", form, probed, n, n)
						}
					}
				}
				var classics []string
				for n := range read {
					if classic(n) && !(form.IsNative() && fallback[n] && !strings.HasPrefix(n, s.Latency.Metric)) {
						classics = append(classics, n)
					}
				}
				slices.Sort(classics)
				if form.IsNative() {
					if len(classics) > 0 {
						t.Errorf("latency.form %s: the runbook reads classic series %s", form, strings.Join(classics, ", "))
					}
					for _, n := range tc.native {
						if !read[n] {
							t.Errorf("latency.form %s: no query reads the native series %s", form, n)
						}
					}
					return
				}
				if !read[s.Latency.Metric+"_bucket"] {
					t.Errorf("latency.form classic: no query reads %s_bucket; it reads %v", s.Latency.Metric, read)
				}
			})
		}
	}
}
