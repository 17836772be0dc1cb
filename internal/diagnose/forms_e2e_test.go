package diagnose

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/testkit/process"
	"github.com/burnrate/burnrate/slo"
)

// TestHistogramFormsLive runs a real Prometheus v0.316.0 scraping one
// client_golang histogram that is exposed in both forms (classic buckets
// 0.1, 0.3, 1, 5 and native buckets of factor 1.1, schema 3) under five
// scrape configurations, one job each: the default (classic only),
// scrape_native_histograms (native only: Prometheus keeps only the native
// form of a histogram exposed in both), that with
// always_scrape_classic_histograms (both), and
// convert_classic_histograms_to_nhcb (custom buckets only), and that with
// always_scrape_classic_histograms (classic and custom buckets). Lint must say
// which form each job holds, accept the spec's latency.form where it is
// held and refuse it with the setting to choose where it is not; diagnose
// must find the slow requests in each form.
func TestHistogramFormsLive(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: real Prometheus; make check runs it")
	}
	reg := prometheus.NewRegistry()
	hist := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "http_request_duration_seconds", Help: "Request latency.",
		Buckets: []float64{0.1, 0.3, 1, 5}, NativeHistogramBucketFactor: 1.1,
	}, []string{"handler"})
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "Requests."}, []string{"handler", "code"})
	reg.MustRegister(hist, reqs)
	// Every scrape adds five requests of /a, three of them slower than
	// 0.3 s, and one 500, so that rates over the last minute are steady.
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, v := range []float64{0.05, 0.2, 0.5, 2, 7} {
			hist.WithLabelValues("/a").Observe(v)
			reqs.WithLabelValues("/a", "200").Inc()
		}
		reqs.WithLabelValues("/a", "500").Inc()
		metrics.ServeHTTP(w, r)
	}))
	defer srv.Close()

	bin, err := process.GoTool("prometheus")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	target := strings.TrimPrefix(srv.URL, "http://")
	jobs := map[string]string{
		"classic":      "",
		"native":       "scrape_native_histograms: true",
		"both":         "scrape_native_histograms: true\n    always_scrape_classic_histograms: true",
		"nhcb":         "convert_classic_histograms_to_nhcb: true",
		"nhcb-classic": "convert_classic_histograms_to_nhcb: true\n    always_scrape_classic_histograms: true",
	}
	var cfg strings.Builder
	cfg.WriteString("global:\n  scrape_interval: 1s\nscrape_configs:\n")
	for _, job := range []string{"classic", "native", "both", "nhcb", "nhcb-classic"} {
		fmt.Fprintf(&cfg, "  - job_name: %s\n    %s\n    static_configs:\n      - targets: [%q]\n", job, jobs[job], target)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	port, err := process.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	p, err := process.Start("prometheus", filepath.Join(dir, "prometheus.log"), bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+strings.TrimPrefix(url, "http://"), "--log.level=warn")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(20 * time.Second)
	ctx := context.Background()
	if err := process.WaitHTTP(ctx, p, url+"/-/ready", process.Ready{Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	// Every job scraped twice.
	deadline := time.Now().Add(time.Minute)
	for {
		rows, err := c.query(ctx, `count by (job) (count_over_time(up[1m]) >= 2)`, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == len(jobs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the jobs were not scraped twice within a minute (log: %s)", p.Log)
		}
		time.Sleep(500 * time.Millisecond)
	}

	tests := []struct {
		job  string
		form slo.HistogramForm
		// want are substrings of the findings of the latency SLO,
		// severity: message.
		want []string
	}{
		{"classic", slo.FormClassic, []string{"ok: Prometheus holds http_request_duration_seconds for SLI latency as classic buckets;", `ok: bucket le="0.3"`}},
		{"classic", slo.FormNative, []string{"error: the spec reads http_request_duration_seconds for SLI latency as latency.form: native, but Prometheus holds it as classic buckets", "set latency.form: classic in the spec, or turn on scrape_native_histograms"}},
		{"native", slo.FormClassic, []string{"error: the spec reads http_request_duration_seconds for SLI latency as latency.form: classic, but Prometheus holds it as native histograms (exponential buckets, schema 3)", "set latency.form: native in the spec (or, to keep the classic rules, always_scrape_classic_histograms: true"}},
		{"native", slo.FormNative, []string{"ok: Prometheus holds http_request_duration_seconds for SLI latency as native histograms (exponential buckets, schema 3)", "warning: 0.3s is no bucket bound of schema 3", "ok: 1s is a bucket bound of schema 3"}},
		{"native", slo.FormNHCB, []string{"error: the spec reads http_request_duration_seconds for SLI latency as latency.form: nhcb, but Prometheus holds it as native histograms (exponential buckets, schema 3)"}},
		{"both", slo.FormClassic, []string{"ok: Prometheus holds http_request_duration_seconds for SLI latency as classic buckets and native histograms (exponential buckets, schema 3)"}},
		{"both", slo.FormNative, []string{"ok: Prometheus holds http_request_duration_seconds for SLI latency as classic buckets and native histograms"}},
		{"nhcb", slo.FormNHCB, []string{"ok: Prometheus holds http_request_duration_seconds for SLI latency as native histograms with custom buckets (NHCB)", "ok: 0.3s is one of the custom bucket bounds", "ok: 1s is one of the custom bucket bounds"}},
		{"nhcb-classic", slo.FormClassic, []string{"ok: Prometheus holds http_request_duration_seconds for SLI latency as classic buckets and native histograms with custom buckets (NHCB)"}},
		{"nhcb", slo.FormClassic, []string{"error: the spec reads http_request_duration_seconds for SLI latency as latency.form: classic, but Prometheus holds it as native histograms with custom buckets (NHCB)", "set latency.form: nhcb in the spec"}},
	}
	for _, tt := range tests {
		t.Run(tt.job+"/"+string(tt.form), func(t *testing.T) {
			s := formsSpec(t, tt.job, tt.form)
			r, err := Lint(ctx, c, s, LintOptions{Lookback: 5 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range r.Findings {
				if (f.Check == "form" || f.Check == "bucket" || f.Check == "histogram") && strings.HasPrefix(f.SLO, "latency") {
					got = append(got, f.Severity+": "+f.Message)
				}
			}
			t.Log(strings.Join(got, "\n"))
			for _, w := range tt.want {
				if !slices.ContainsFunc(got, func(g string) bool { return strings.Contains(g, w) }) {
					var text bytes.Buffer
					r.WriteText(&text, true)
					t.Errorf("no finding containing %q; the report:\n%s", w, text.String())
				}
			}
		})
	}
	// diagnose walks the service runbook in each form: the slow-request
	// step reads the classic buckets or the native series and finds /a
	// slow at three fifths of its requests against 0.3 s (0.5, 2 and 7 s of
	// every five) plus two fifths against 1 s (2 and 7 s).
	for _, tt := range []struct {
		job  string
		form slo.HistogramForm
	}{{"classic", slo.FormClassic}, {"native", slo.FormNative}, {"nhcb", slo.FormNHCB}} {
		t.Run("diagnose/"+tt.job+"/"+string(tt.form), func(t *testing.T) {
			r := diagnoseSpec(t, url, formsSpec(t, tt.job, tt.form), "", 5*time.Minute, time.Now())
			reportText(t, r)
			slow := r.Step(runbook.StepSlow)
			if slow == nil || slow.Status != StatusFound {
				t.Fatalf("slow step: %+v", slow)
			}
			perSLO := map[string]float64{}
			for _, row := range slow.Rows {
				if row.Labels["handler"] != "/a" {
					t.Errorf("slow row of handler %q, want /a", row.Labels["handler"])
				}
				perSLO[row.Labels["slo"]] += row.Value
			}
			// The request rate over the same 5m (the series are seconds old,
			// so rate() reads them over less than its range: compare shares).
			requests, err := c.query(ctx, fmt.Sprintf(`sum(rate(http_requests_total{job=%q,code="200"}[5m]))`, tt.job), time.Now())
			if err != nil || len(requests) != 1 {
				t.Fatalf("request rate: %v %v", requests, err)
			}
			for sloName, share := range map[string]float64{"latency": 0.6, "latency-1s": 0.4} {
				got, want := perSLO[sloName], share*requests[0].Value
				// Native buckets interpolate: 0.3 s lies inside the
				// bucket (0.2973, 0.3242], which holds no observation,
				// so the estimate is exact here too; allow 10 % for the
				// scrapes between the two queries.
				if got < 0.9*want || got > 1.1*want {
					t.Errorf("SLO %s: slow rate %.3g/s, want %.3g/s (%.0f%% of %.3g/s requests)", sloName, got, want, share*100, requests[0].Value)
				}
			}
		})
	}
}

// formsSpec is a service spec of two latency SLOs (0.3 s and 1 s) over
// the test exporter's handler /a in the scrape job job, with the histogram
// read in form form.
func formsSpec(t *testing.T, job string, form slo.HistogramForm) *slo.Spec {
	t.Helper()
	spec := fmt.Sprintf(`name: forms
service: forms
selector: 'job=%q'
clusterLabel: cluster
period: 30d
alert:
  name: FormsErrorBudgetBurn
  summary: Forms burns its error budget.
  description: Forms burns its error budget.
  windows:
    - {long: 1h, short: 5m, factor: 14.4, severity: critical, for: 2m}
drilldown: [handler, instance]
requests:
  metric: http_requests_total
  errors: 'code=~"5.."'
latency:
  metric: http_request_duration_seconds
  form: %s
slos:
  - name: latency
    kind: latency
    selector: 'handler="/a"'
    objective: 0.99
    latency:
      - seconds: 0.3
  - name: latency-1s
    kind: latency
    selector: 'handler="/a"'
    objective: 0.99
    latency:
      - seconds: 1
`, job, form)
	s, err := slo.Parse("forms.yaml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
