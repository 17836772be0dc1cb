package e2eprom

import (
	"io"
	"maps"
	"math"
	"os"
	"time"

	"github.com/burnrate/burnrate/internal/series"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// HTTPFault is a synthetic incident of an HTTP service shaped like
// examples/checkout.yaml (http_requests_total with handler, method, code
// and instance; the histogram http_request_duration_seconds with handler,
// method and instance): two hours healthy, then an hour in which the
// requests that match Handler and Instance ("" matches every value) fail
// with code 500 at ErrorShare, or all take between 0.3 and 1 second
// (Slow). A fault with neither is a healthy hour.
type HTTPFault struct {
	// Name is the incident's cluster label value.
	Name              string
	Handler, Instance string
	ErrorShare        float64
	Slow              bool
	// Broken SLI inputs, in the fault phase: the latency histogram has no
	// series (NoHistogram), has none at bucket NoBucket (a bound in
	// seconds), or counts HistogramScale times the requests (0: as many).
	NoHistogram    bool
	NoBucket       float64
	HistogramScale float64
}

// The synthetic service's traffic: per handler, its method and requests
// per one-minute step and instance. The handlers differ in traffic, so
// that no grouping of them is twice another by chance.
var (
	httpHandlers = []struct {
		handler, method string
		perStep         float64
	}{{"/checkout", "POST", 900}, {"/cart", "GET", 600}, {"/search", "GET", 660}}
	httpInstances = []string{"10.0.0.1:8080", "10.0.0.2:8080"}
)

// httpPhases are the healthy and the fault phase, in one-minute steps.
var httpPhases = series.Timeline{120, 60}

const httpStep = time.Minute

// HTTPSeries returns the series of fault f, labelled job=job and
// cluster=f.Name. Healthy, 90% of requests take under 0.1 s and 99.9%
// under 0.3 s; nothing fails.
func HTTPSeries(job string, f HTTPFault) []series.Series {
	var out []series.Series
	for _, h := range httpHandlers {
		for _, inst := range httpInstances {
			ls := map[string]string{"cluster": f.Name, "job": job, "handler": h.handler, "method": h.method, "instance": inst}
			hit := (f.Handler == "" || f.Handler == h.handler) && (f.Instance == "" || f.Instance == inst)
			errShare, slow := 0.0, false
			gone, scale := false, 1.0
			noBucket := math.NaN()
			if hit {
				errShare, slow = f.ErrorShare, f.Slow
				gone, noBucket = f.NoHistogram, f.NoBucket
				if f.HistogramScale != 0 {
					scale = f.HistogramScale
				}
			}
			// broken is a histogram series' increases per phase as the
			// fault leaves them: gone, or scaled in the fault phase.
			broken := func(v []float64, drop bool) []float64 {
				if gone || drop {
					return []float64{v[0], math.NaN()}
				}
				return []float64{v[0], v[1] * scale}
			}
			with := func(k, v string) map[string]string {
				out := maps.Clone(ls)
				out[k] = v
				return out
			}
			out = append(out,
				series.Series{Name: "http_requests_total", Family: "http_requests", Type: series.Counter, Labels: with("code", "200"),
					Values: []float64{h.perStep, h.perStep * (1 - errShare)}},
				series.Series{Name: "http_requests_total", Family: "http_requests", Type: series.Counter, Labels: with("code", "500"),
					Values: []float64{0, h.perStep * errShare}})
			// Cumulative bucket counts per step, healthy and in the fault.
			fast := func(share float64) []float64 {
				if slow {
					return []float64{h.perStep * share, 0}
				}
				return []float64{h.perStep * share, h.perStep * share}
			}
			for _, b := range []struct {
				le     float64
				counts []float64
			}{
				{0.1, fast(0.9)},
				{0.3, fast(0.999)},
				{1, []float64{h.perStep, h.perStep}},
				{math.Inf(1), []float64{h.perStep, h.perStep}},
			} {
				out = append(out, series.Series{Name: "http_request_duration_seconds_bucket", Family: "http_request_duration_seconds", Type: series.Histogram,
					Labels: with("le", series.LeFloat(b.le)), Values: broken(b.counts, b.le == noBucket)})
			}
			out = append(out,
				series.Series{Name: "http_request_duration_seconds_count", Family: "http_request_duration_seconds", Type: series.Histogram, Labels: ls,
					Values: broken([]float64{h.perStep, h.perStep}, false)},
				series.Series{Name: "http_request_duration_seconds_sum", Family: "http_request_duration_seconds", Type: series.Histogram, Labels: ls,
					Values: broken([]float64{h.perStep * 0.05, h.perStep * 0.05}, false)})
		}
	}
	return out
}

// StartService starts a Prometheus holding the faults' series (job
// "checkout"), each ending at End, and the series the optimized profile's
// recording rules of spec s record over them.
func StartService(s *slo.Spec, faults []HTTPFault) (*Server, error) {
	dir, err := os.MkdirTemp("", "burnrate-e2e-")
	if err != nil {
		return nil, err
	}
	env := &Server{dir: dir, End: End}
	start := End.Add(-time.Duration(httpPhases.Len()-1) * httpStep)
	var inputs []input
	for _, f := range faults {
		ss := HTTPSeries("checkout", f)
		inputs = append(inputs, input{name: f.Name, start: start, write: func(w io.Writer) error {
			return series.WriteOpenMetrics(w, httpPhases, start, httpStep, ss)
		}})
	}
	if env.srv, err = serve(dir, inputs, s, slomodel.ProfileOptimized); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	env.URL = env.srv.url
	return env, nil
}
