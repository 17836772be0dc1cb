package recording

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Series is one recorded series: its name and labels as the recording
// writes them (`name{k="v",…}`, labels sorted) and its samples in time
// order.
type Series struct {
	Metric  string
	Samples []Sample
}

// Sample is one sample, at T milliseconds since the epoch.
type Sample struct {
	T int64
	V float64
}

// Name is the series' metric name.
func (s Series) Name() string {
	name, _, _ := strings.Cut(s.Metric, "{")
	return name
}

// Counter tells whether the series is a counter by its name (CounterName).
func (s Series) Counter() bool { return CounterName(s.Name()) }

// CounterName tells a counter by its metric name, as the lab's notes and
// the stitched history both need: _total, _count, _sum and _bucket series
// only go up, unless the process restarts.
func CounterName(n string) bool {
	for _, suf := range []string{"_total", "_count", "_sum", "_bucket"} {
		if strings.HasSuffix(n, suf) {
			return true
		}
	}
	return false
}

// Series reads every series of the recording with its samples, sorted by
// Metric.
func (r Recording) Series() ([]Series, error) {
	f, done, err := r.open()
	if err != nil {
		return nil, err
	}
	defer done()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.path, err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	byMetric := map[string]int{}
	var out []Series
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		// name{labels} value timestamp: the value and the timestamp are the
		// last two fields (label values may hold spaces).
		i := bytes.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("%s:%d: no timestamp at the end of the sample", r.path, n)
		}
		j := bytes.LastIndexByte(line[:i], ' ')
		if j < 0 {
			return nil, fmt.Errorf("%s:%d: no value before the timestamp", r.path, n)
		}
		ms, err := millis(line[i+1:])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", r.path, n, err)
		}
		v, err := strconv.ParseFloat(string(line[j+1:i]), 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", r.path, n, err)
		}
		k, ok := byMetric[string(line[:j])]
		if !ok {
			k = len(out)
			byMetric[string(line[:j])] = k
			out = append(out, Series{Metric: string(line[:j])})
		}
		s := &out[k]
		if m := len(s.Samples); m > 0 && s.Samples[m-1].T >= ms {
			return nil, fmt.Errorf("%s:%d: %s: sample at %d after one at %d", r.path, n, s.Metric, ms, s.Samples[m-1].T)
		}
		s.Samples = append(s.Samples, Sample{ms, v})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", r.path, err)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Metric < out[b].Metric })
	return out, nil
}

// StitchHistory returns the recording's series with span of made-up
// history before them, every step, for rules whose windows (1h, 6h, 1d,
// 3d) reach back before the lab's Prometheus started. The history is NOT
// measured: it repeats, backwards from the recording's first sample, what
// each series did in the healthy phase [Healthy, Fault).
//
// A counter present at the recording's first scrape (within 6 s of
// Healthy) gets its healthy phase's increase per step, in the phase's
// order, repeated cyclically back in time (the healthy phase's steps start
// at the series' first sample); where the history would start below 0,
// it starts at 0 and every recorded sample of the series is raised by as
// much (rates are unchanged). A counter that resets or first appears later gets
// no history, nor does one that did not move in the healthy phase but
// later appears; a gauge present at the first scrape keeps its first value
// through the history. The history's samples lie at k steps (k ≥ 1)
// before the series' first recorded sample.
func StitchHistory(r Recording, ss []Series, span, step time.Duration) ([]Series, error) {
	if step <= 0 || span < step {
		return nil, fmt.Errorf("history of %s every %s: want a step > 0 and no longer than the span", span, step)
	}
	h0, f0 := r.Healthy.UnixMilli(), r.Fault.UnixMilli()
	first := r.Healthy.Add(6 * time.Second).UnixMilli()
	stepMs := step.Milliseconds()
	k := int(span / step)
	out := make([]Series, 0, len(ss))
	for _, s := range ss {
		if len(s.Samples) == 0 || s.Samples[0].T > first {
			out = append(out, s)
			continue
		}
		if !s.Counter() {
			hist := make([]Sample, 0, k+len(s.Samples))
			for i := k; i >= 1; i-- {
				hist = append(hist, Sample{s.Samples[0].T - int64(i)*stepMs, s.Samples[0].V})
			}
			out = append(out, Series{s.Metric, append(hist, s.Samples...)})
			continue
		}
		// The healthy phase's increases per step: the value at the end of
		// each step of [Healthy, Fault) minus the one at its start (the
		// last sample at or before those times). A reset in the phase
		// leaves the series without history.
		incs, ok := healthyIncreases(s.Samples, f0+s.Samples[0].T-h0, stepMs)
		if !ok {
			out = append(out, s)
			continue
		}
		// Backwards from the first recorded sample: the step before the
		// recording gets the phase's last increase, and so on cyclically.
		vals := make([]float64, k+1) // vals[i]: the value i steps back
		vals[0] = 0
		for i := 1; i <= k; i++ {
			vals[i] = vals[i-1] - incs[(len(incs)-i%len(incs))%len(incs)]
		}
		// Raised only as far as needed for the history to start at 0 or
		// more.
		v0 := s.Samples[0].V
		base := max(0, -(v0 + vals[k]))
		hist := make([]Sample, 0, k+len(s.Samples))
		for i := k; i >= 1; i-- {
			hist = append(hist, Sample{s.Samples[0].T - int64(i)*stepMs, base + v0 + vals[i]})
		}
		for _, p := range s.Samples {
			hist = append(hist, Sample{p.T, p.V + base})
		}
		out = append(out, Series{s.Metric, hist})
	}
	return out, nil
}

// healthyIncreases cuts the time from the first sample to end into steps
// of stepMs and returns the counter's increase in each (the last sample at
// or before a step's end minus the one at or before its start), or false
// if it decreases before end.
func healthyIncreases(ss []Sample, end, stepMs int64) ([]float64, bool) {
	at := func(t int64) float64 {
		v := ss[0].V
		for _, p := range ss {
			if p.T > t {
				break
			}
			v = p.V
		}
		return v
	}
	for i := 1; i < len(ss) && ss[i].T <= end; i++ {
		if ss[i].V < ss[i-1].V {
			return nil, false
		}
	}
	var incs []float64
	for t := ss[0].T; t+stepMs <= end; t += stepMs {
		incs = append(incs, at(t+stepMs)-at(t))
	}
	if len(incs) == 0 {
		return nil, false
	}
	return incs, true
}
