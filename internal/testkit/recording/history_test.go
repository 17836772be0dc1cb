package recording

import (
	"testing"
	"time"
)

// StitchHistory repeats each counter's healthy increases backwards, in
// order, from 0; raises the recorded samples by the history's increase;
// keeps a gauge's first value; and leaves series without a sample at the
// first scrape, or with a reset in the healthy phase, alone.
func TestStitchHistory(t *testing.T) {
	h := time.Unix(1_800_000_000, 0)
	rec := Recording{Healthy: h, Fault: h.Add(3 * time.Minute), Recovery: h.Add(4 * time.Minute), End: h.Add(5 * time.Minute)}
	at := func(min int) int64 { return h.Add(time.Duration(min)*time.Minute + 2*time.Second).UnixMilli() }
	// Increases per minute in the healthy phase: 1, 2, 3; then 10.
	counter := Series{"x_total{a=\"1\"}", []Sample{{at(0), 5}, {at(1), 6}, {at(2), 8}, {at(3), 11}, {at(4), 21}}}
	gauge := Series{"up{a=\"1\"}", []Sample{{at(0), 1}, {at(1), 0}}}
	late := Series{"x_total{a=\"2\"}", []Sample{{at(2), 1}, {at(3), 2}}}
	reset := Series{"y_total", []Sample{{at(0), 5}, {at(1), 1}, {at(2), 2}}}
	big := Series{"z_total", []Sample{{at(0), 100}, {at(1), 110}, {at(2), 120}, {at(3), 130}}}
	got, err := StitchHistory(rec, []Series{counter, gauge, late, reset, big}, 7*time.Minute, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// Seven steps back: increases 3, 2, 1, 3, 2, 1, 3 going back (15 in
	// all), from 5: the history would start at -10, so it starts at 0 and
	// the recorded samples are raised by 10.
	want := []float64{0, 3, 4, 6, 9, 10, 12, 15, 16, 18, 21, 31}
	if len(got[0].Samples) != len(want) {
		t.Fatalf("counter: %d samples %v, want %d", len(got[0].Samples), got[0].Samples, len(want))
	}
	for i, p := range got[0].Samples {
		if p.V != want[i] || p.T != at(i-7) {
			t.Errorf("counter sample %d: %v at %d, want %v at %d", i, p.V, p.T, want[i], at(i-7))
		}
	}
	if g := got[1].Samples; len(g) != 9 || g[0].V != 1 || g[0].T != at(-7) || g[7].V != 1 || g[8].V != 0 {
		t.Errorf("gauge: %v, want 1 for seven minutes before it, then 1, 0", g)
	}
	if len(got[2].Samples) != 2 || len(got[3].Samples) != 3 {
		t.Errorf("a late series or one that resets got history: %v, %v", got[2].Samples, got[3].Samples)
	}
	// 10 a minute from 100: no need to raise the recorded samples.
	if z := got[4].Samples; len(z) != 11 || z[0].V != 30 || z[6].V != 90 || z[7].V != 100 || z[10].V != 130 {
		t.Errorf("z_total: %v, want 30, 40, … 90, then 100 and 130 as recorded", z)
	}
	if _, err := StitchHistory(rec, nil, time.Minute, 0); err == nil {
		t.Error("a step of 0 is accepted")
	}
}
