package recording

import (
	"context"
	"log/slog"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// TestBlockRoundTrip: a block with a float series and a native histogram
// series, packed (PackBlock) and replayed (WriteBlock), comes back with
// every sample up to the cut, each moved by the shift, the histograms
// unchanged and the cluster label set to the recording's Cluster; a
// series Keep refuses is left out of the copy.
func TestBlockRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	w, err := tsdb.NewBlockWriter(slog.New(slog.DiscardHandler), src, 2*time.Hour.Milliseconds())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).UnixMilli()
	fl := labels.FromStrings("__name__", "apiserver_request_total", "cluster", "healthy", "code", "200")
	hl := labels.FromStrings("__name__", "apiserver_request_sli_duration_seconds", "cluster", "healthy", "verb", "GET")
	dropped := labels.FromStrings("__name__", "go_goroutines", "cluster", "healthy")
	hist := func(i int) *histogram.Histogram {
		return &histogram.Histogram{Schema: 3, Count: uint64(10 * i), Sum: float64(i) / 4, ZeroThreshold: 1e-128,
			PositiveSpans: []histogram.Span{{Offset: -20, Length: 2}}, PositiveBuckets: []int64{int64(4 * i), int64(2 * i)}}
	}
	app := w.Appender(ctx)
	for i := range 10 {
		ts := t0 + int64(i)*5000
		for _, l := range []labels.Labels{fl, dropped} {
			if _, err := app.Append(0, l, ts, float64(i)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := app.AppendHistogram(0, hl, ts, hist(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	id, err := w.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	b, err := tsdb.OpenBlock(nil, filepath.Join(src, id.String()), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := tsdb.NewBlockQuerier(b, math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	keep := func(l labels.Labels, native bool) bool { return l.Get("__name__") != "go_goroutines" }
	kept, st, err := CopyBlock(ctx, q, t0, t0+45000, 0, keep, nil, t.TempDir())
	q.Close()
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	if st != (BlockStats{Series: 2, FloatSamples: 10, HistogramSamples: 10}) {
		t.Fatalf("copy: %+v, want 2 series, 10 float and 10 histogram samples", st)
	}
	packed := filepath.Join(t.TempDir(), "healthy"+BlockSuffix)
	if err := PackBlock(kept, packed); err != nil {
		t.Fatal(err)
	}

	r := Recording{Version: "v9.9.9", Name: "healthy", Cluster: "healthy@v9.9.9", path: packed, parts: []string{packed}}
	if !r.Native() {
		t.Fatal("a .tsdb.tar.gz recording is not Native")
	}
	shift := 24 * time.Hour
	dst := t.TempDir()
	// Cut after the 7th sample (i = 6).
	st, err = r.WriteBlock(dst, time.UnixMilli(t0+30000), shift)
	if err != nil {
		t.Fatal(err)
	}
	if st != (BlockStats{Series: 2, FloatSamples: 7, HistogramSamples: 7}) {
		t.Fatalf("replay: %+v, want 2 series, 7 float and 7 histogram samples", st)
	}
	rq, done, err := QueryBlocks(dst, math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	ss := rq.Select(ctx, true, nil, labels.MustNewMatcher(labels.MatchEqual, "cluster", "healthy@v9.9.9"))
	n := 0
	for ss.Next() {
		s := ss.At()
		n++
		it := s.Iterator(nil)
		i := 0
		for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
			want := t0 + int64(i)*5000 + shift.Milliseconds()
			switch vt {
			case chunkenc.ValFloat:
				ts, v := it.At()
				if ts != want || v != float64(i) {
					t.Errorf("%s sample %d: %g at %d, want %d at %d", s.Labels(), i, v, ts, i, want)
				}
			case chunkenc.ValHistogram:
				ts, h := it.AtHistogram(nil)
				if ts != want || !h.Equals(hist(i)) {
					t.Errorf("%s sample %d: %v at %d, want %v at %d", s.Labels(), i, h, ts, hist(i), want)
				}
			default:
				t.Errorf("%s: sample of type %v", s.Labels(), vt)
			}
			i++
		}
		if i != 7 {
			t.Errorf("%s: %d samples, want 7", s.Labels(), i)
		}
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("%d series with cluster=healthy@v9.9.9, want 2", n)
	}
}
