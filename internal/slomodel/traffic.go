package slomodel

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/burnrate/burnrate/slo"
)

// The traffic of the generated alert tests, and the thresholds float64
// cannot test: Check refuses what the tests could not hold, so that every
// spec generate accepts gets tests that pass.
const (
	// TestRequests is the fewest requests a minute an SLO serves in the
	// alert tests.
	TestRequests = 10000
	// TestMinBad is the fewest bad requests a minute the alert tests write
	// for a ratio above zero: rounding to whole requests then moves a
	// ratio by at most 1/(2·TestMinBad), 1%.
	TestMinBad = 50
)

// LowestThreshold is the lowest alert threshold of SLO i over every window
// pair: the smallest share of bad events its alert tests write is half
// of it (every SLI at 0.6x).
func (m *Model) LowestThreshold(i int) float64 {
	low := 1.0
	for _, w := range m.Alert.Windows {
		low = min(low, m.ThresholdOf(w, i))
	}
	return low
}

// TestRequestsAt is the requests a minute of an SLO's alert tests when its
// lowest threshold is low: TestRequests, or the least power of ten above
// it at which half of low is at least TestMinBad requests. A high
// objective, whose thresholds are small, gets more traffic, not a ratio
// rounded onto or across a threshold. +Inf when low is 0 or too small for
// any float64.
func TestRequestsAt(low float64) float64 {
	r := float64(TestRequests)
	for r*low/2 < TestMinBad && !math.IsInf(r, 1) {
		r *= 10
	}
	return r
}

// TestRequestsOf is SLO i's requests a minute in the alert tests:
// TestRequestsAt its lowest threshold, raised by powers of ten, when the
// low-traffic guard is on, until the guard passes from the first
// evaluation with data with room to spare. Then a pair's short window is
// counted from the base-window rates, and the first of them, one minute
// after the traffic starts, counts one minute of a base window: requests
// a minute over the base window in minutes. Twice that must be at least
// alert.minRequests.
func (m *Model) TestRequestsOf(i int) float64 {
	return m.testRequests(m.LowestThreshold(i))
}

func (m *Model) testRequests(low float64) float64 {
	r := TestRequestsAt(low)
	for r < m.GuardFloor() && !math.IsInf(r, 1) {
		r *= 10
	}
	return r
}

// GuardFloor is the fewest requests a minute at which the low-traffic
// guard lets every alert test fire from its first evaluation with data (0
// without the guard): see TestRequestsOf.
func (m *Model) GuardFloor() float64 {
	if m.Alert.MinRequests <= 0 {
		return 0
	}
	return 2 * m.Alert.MinRequests * time.Duration(m.Spec.BaseWindow).Minutes()
}

// TestMinutes bounds how long the alert tests of window pair w run, in
// minutes: a steady burn fires at long + for + one evaluation (at most a
// fifth of the short window, or a minute), and the tests of a stopping
// burn then run up to another long window, or the short window and two
// evaluations.
func TestMinutes(w slo.Window) float64 {
	long, short := time.Duration(w.Long), time.Duration(w.Short)
	return (2*long + time.Duration(w.For) + short + 2*time.Minute).Minutes()
}

// exactCounter is the largest count float64 holds exactly with every
// integer below it: 2^53. A counter above it no longer counts single
// requests.
const exactCounter = 1 << 53

// finiteCounter bounds the alert tests' counters for every kind: 2^20 below
// the largest float64, room for the rules to add up a million of them (the
// series of an SLO, the base windows of a long window) without reaching
// +Inf.
const finiteCounter = math.MaxFloat64 / (1 << 20)

// HistogramFloor is the lowest threshold at which the rules can tell slow
// requests at half of it from rounding: they compute slow requests as
// rate(<histogram>_count) - rate(<histogram>_bucket{le=...}), two rates of
// about the request rate R, each within 4 roundings (ε = 2^-52 each:
// the increase, the division by the range, the extrapolation, the sum) of
// its value, so their difference is off by up to 8εR; for that to move a
// slow share of θ/2 by no more than 1%, θ ≥ 1600ε, about 3.6e-13.
const HistogramFloor = 1600 * 0x1p-52

// TestTrafficProblem says why the alert tests of SLO i cannot hold at its
// thresholds in float64, or "": its lowest threshold needs more requests a
// minute (TestRequestsAt) than float64 counters hold over the longest
// test, exactly for an SLO that reads a histogram (slow requests are
// count − bucket, exact only below 2^53) and finitely for any other; or
// it is below HistogramFloor for an SLO that reads a histogram.
func (m *Model) TestTrafficProblem(i int) string {
	low := m.LowestThreshold(i)
	return trafficProblem(low, m.testRequests(low), m.longestTest(), m.SLOs[i].Kind.HasLatency())
}

// MaxTestableObjective is the highest objective of the form 0.99…9 (up to
// 15 nines) at which SLO i, with its window pairs and factors, has no
// TestTrafficProblem; 0 if none.
func (m *Model) MaxTestableObjective(i int) float64 {
	factor := m.LowestThreshold(i) / m.SLIs[i].Budget // the lowest factor as the alert writes it
	for k := 15; k >= 1; k-- {
		budget := math.Pow(10, -float64(k))
		if trafficProblem(factor*budget, m.testRequests(factor*budget), m.longestTest(), m.SLOs[i].Kind.HasLatency()) == "" {
			return 1 - budget
		}
	}
	return 0
}

func (m *Model) longestTest() float64 {
	longest := 0.0
	for _, w := range m.Alert.Windows {
		longest = max(longest, TestMinutes(w))
	}
	return longest
}

func trafficProblem(low, r, minutes float64, histogram bool) string {
	why := fmt.Sprintf("%d bad ones at half the threshold", TestMinBad)
	if r > TestRequestsAt(low) {
		why = "for the short windows to pass alert.minRequests; lower it"
	}
	switch {
	case histogram && low < HistogramFloor:
		return fmt.Sprintf("slow requests are rate(count) − rate(bucket), and float64 rates cannot tell a share below %.2g of the request rate from rounding", HistogramFloor)
	case histogram && r*minutes > exactCounter:
		return fmt.Sprintf("the generated tests need %s requests a minute (%s) for up to %s minutes, which takes the histogram's counters past 2^53, where float64 stops counting single requests and count − bucket is no longer exact",
			strconv.FormatFloat(r, 'g', -1, 64), why, strconv.FormatFloat(minutes, 'g', -1, 64))
	case r*minutes > finiteCounter:
		return fmt.Sprintf("the generated tests would need %s requests a minute (%s), more than float64 counters hold",
			strconv.FormatFloat(r, 'g', -1, 64), why)
	}
	return ""
}
