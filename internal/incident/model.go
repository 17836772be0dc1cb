// Package incident is a library of synthetic kube-apiserver incidents: the
// series of a healthy cluster, and scenarios that each inject one fault into
// it (an unreachable aggregated API, a failing admission webhook, slow etcd,
// an expensive LIST client, one bad apiserver instance, a fresh apiserver
// with no 5xx series yet).
//
// A scenario is data. Its time runs in phases (healthy first, then the
// fault); every series holds one value per phase: the increase per scrape
// interval of a counter (the scenarios are written in rates per second), or
// the value of a gauge. Samples are taken every
// ScrapeInterval (see Scenario.Samples); the series are those of package
// internal/series, which writes them as promtool input series (the
// generator does that), as OpenMetrics text for `promtool tsdb
// create-blocks-from openmetrics` (WriteOpenMetrics) or into a storage.
//
// Each scenario also says what the runbook's drill-down steps must find: the
// labels of the first row of a step's query (Culprits), the steps that must
// find nothing (Quiet), and the alerts that fire at the end (Fires).
package incident

import (
	"fmt"
	"math"
	"time"

	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/series"
)

// ScrapeInterval is the time between two samples of a series.
const ScrapeInterval = time.Minute

// Type is the type of a series' metric family.
type Type = series.Type

// The metric family types. A histogram series is one of its _bucket,
// _count or _sum series; it counts like a counter.
const (
	Counter   = series.Counter
	Gauge     = series.Gauge
	Histogram = series.Histogram
)

// Series is one time series of a scenario, on the scenario's Timeline: its
// Values hold, per phase, the increase per ScrapeInterval of a counter or
// histogram series (the scenarios' rates per second times 60, rounded to
// 1e-9 so that promtool's notation stays short), or the value of a gauge.
type Series = series.Series

// Phase is a stretch of time with constant rates.
type Phase struct {
	Name     string
	Duration time.Duration
}

// Firing is an alert expected to fire at the end of a scenario.
type Firing struct {
	// SLI is the value of the spec's SLI label (read, write).
	SLI         string
	Long, Short time.Duration
}

// Scenario is a healthy cluster with one injected fault.
type Scenario struct {
	// Name identifies the scenario, e.g. aggregated-api-unreachable.
	Name string
	// Title says in a line what goes wrong.
	Title string
	// Phases run in order; the first is healthy, the fault starts with the
	// second.
	Phases []Phase
	// Series holds every series, in a fixed order.
	Series []Series
	// Fires lists the alerts firing at the end of the last phase. The first
	// names the pair whose long window the drill-down queries read.
	Fires []Firing
	// Culprits gives, per step, the labels of the row the step's query must
	// rank first at the end (with the cluster label).
	Culprits map[runbook.Step]map[string]string
	// Quiet lists the steps whose query must return nothing at the end.
	Quiet []runbook.Step
	// Cause is the step whose first row names the fault's cause (the
	// APIService, the webhook, etcd, the resource, the instance): burnrate
	// diagnose must name it first, with the labels Culprits gives it.
	Cause runbook.Step
}

// Duration is the scenario's length: the time of its last sample.
func (sc *Scenario) Duration() time.Duration {
	var d time.Duration
	for _, p := range sc.Phases {
		d += p.Duration
	}
	return d
}

// HealthyUntil is the end of the first (healthy) phase.
func (sc *Scenario) HealthyUntil() time.Duration { return sc.Phases[0].Duration }

// Window is the range the drill-down queries read: the long window of the
// first expected alert.
func (sc *Scenario) Window() time.Duration { return sc.Fires[0].Long }

// Timeline is the number of scrape intervals in each phase.
func (sc *Scenario) Timeline() series.Timeline {
	out := make(series.Timeline, len(sc.Phases))
	for i, p := range sc.Phases {
		out[i] = int(p.Duration / ScrapeInterval)
	}
	return out
}

// Samples returns the series' value at every scrape, from time 0 to
// Duration; NaN where it has no sample (see series.Timeline.Samples).
func (sc *Scenario) Samples(s Series) []float64 { return sc.Timeline().Samples(s) }

// Validate checks the scenario's shape: phases that are whole scrape
// intervals, one value per phase, counters that never disappear, unique
// series, and expectations that name known steps.
func (sc *Scenario) Validate() error {
	if len(sc.Phases) < 2 {
		return fmt.Errorf("scenario %s: want a healthy phase and a fault phase", sc.Name)
	}
	for _, p := range sc.Phases {
		if p.Duration <= 0 || p.Duration%ScrapeInterval != 0 {
			return fmt.Errorf("scenario %s: phase %s lasts %s, not a positive multiple of %s", sc.Name, p.Name, p.Duration, ScrapeInterval)
		}
	}
	seen := map[string]bool{}
	for _, s := range sc.Series {
		key := s.Key()
		if seen[key] {
			return fmt.Errorf("scenario %s: series %s defined twice", sc.Name, key)
		}
		seen[key] = true
		if len(s.Values) != len(sc.Phases) {
			return fmt.Errorf("scenario %s: series %s has %d values for %d phases", sc.Name, key, len(s.Values), len(sc.Phases))
		}
		present := false
		for _, v := range s.Values {
			if math.IsNaN(v) {
				if present && s.Counts() {
					return fmt.Errorf("scenario %s: counter %s disappears", sc.Name, key)
				}
				continue
			}
			present = true
			if s.Counts() && v < 0 {
				return fmt.Errorf("scenario %s: counter %s decreases", sc.Name, key)
			}
		}
	}
	if len(sc.Fires) == 0 {
		return fmt.Errorf("scenario %s: name the alerts that fire", sc.Name)
	}
	for st := range sc.Culprits {
		if !st.Known() {
			return fmt.Errorf("scenario %s: culprit for unknown step %q", sc.Name, st)
		}
	}
	for _, st := range sc.Quiet {
		if !st.Known() {
			return fmt.Errorf("scenario %s: unknown quiet step %q", sc.Name, st)
		}
		if _, both := sc.Culprits[st]; both {
			return fmt.Errorf("scenario %s: step %q both has a culprit and finds nothing", sc.Name, st)
		}
	}
	if _, ok := sc.Culprits[sc.Cause]; !ok {
		return fmt.Errorf("scenario %s: its cause, step %q, has no culprit: say which row names the cause", sc.Name, sc.Cause)
	}
	return nil
}
