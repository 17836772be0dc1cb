package recording

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// A recording of a kube-apiserver that exposes native histograms (the
// NativeHistograms feature gate of k8s.io/component-base/metrics/features,
// on by default from 1.37) cannot be OpenMetrics text: that format has no
// native histogram samples. Such a recording is a TSDB block, the form
// Prometheus itself stores them in, written by Prometheus's own tsdb
// package (BlockWriter), packed as one tar.gz file (<name>.tsdb.tar.gz)
// so that git holds one file per recording.

// BlockStats counts what CopyBlock wrote.
type BlockStats struct {
	Series, FloatSamples, HistogramSamples int
}

// Keep decides which series CopyBlock copies, from the series' labels and
// whether its samples are native histograms.
type Keep func(l labels.Labels, native bool) bool

// CopyBlock copies the samples in [mint, maxt] (milliseconds) of every
// series of q that keep accepts into one new block under dir, each moved
// by shift, with the labels set overwrites (none when nil), and returns
// the block's directory. Float and native histogram
// samples (integer or float) are copied as they are, stale markers
// included.
func CopyBlock(ctx context.Context, q storage.Querier, mint, maxt int64, shift time.Duration, keep Keep, set map[string]string, dir string) (string, BlockStats, error) {
	var st BlockStats
	w, err := tsdb.NewBlockWriter(slog.New(slog.DiscardHandler), dir, 2*time.Hour.Milliseconds())
	if err != nil {
		return "", st, err
	}
	defer w.Close()
	ss := q.Select(ctx, true, nil, labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+"))
	app := w.Appender(ctx)
	d := shift.Milliseconds()
	var it chunkenc.Iterator
	pending := 0
	for ss.Next() {
		s := ss.At()
		it = s.Iterator(it)
		lbls := s.Labels()
		if len(set) > 0 {
			b := labels.NewBuilder(lbls)
			for k, v := range set {
				b.Set(k, v)
			}
			lbls = b.Labels()
		}
		decided, kept := false, false
		var ref storage.SeriesRef
		for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
			native := vt == chunkenc.ValHistogram || vt == chunkenc.ValFloatHistogram
			var t int64
			var v float64
			var h *histogram.Histogram
			var fh *histogram.FloatHistogram
			switch vt {
			case chunkenc.ValFloat:
				t, v = it.At()
			case chunkenc.ValHistogram:
				t, h = it.AtHistogram(nil)
			case chunkenc.ValFloatHistogram:
				t, fh = it.AtFloatHistogram(nil)
			}
			if t < mint || t > maxt {
				continue
			}
			if !decided {
				decided, kept = true, keep(lbls, native)
				if !kept {
					break
				}
				st.Series++
			}
			if native {
				ref, err = app.AppendHistogram(ref, lbls, t+d, h, fh)
				st.HistogramSamples++
			} else {
				ref, err = app.Append(ref, lbls, t+d, v)
				st.FloatSamples++
			}
			if err != nil {
				return "", st, fmt.Errorf("%s at %d: %w", lbls, t, err)
			}
			pending++
		}
		if err := it.Err(); err != nil {
			return "", st, fmt.Errorf("%s: %w", lbls, err)
		}
		if pending > 100000 {
			if err := app.Commit(); err != nil {
				return "", st, err
			}
			app, pending = w.Appender(ctx), 0
		}
	}
	if err := ss.Err(); err != nil {
		return "", st, err
	}
	if err := app.Commit(); err != nil {
		return "", st, err
	}
	if st.Series == 0 {
		return "", st, errors.New("no series to copy")
	}
	id, err := w.Flush(ctx)
	if err != nil {
		return "", st, err
	}
	return filepath.Join(dir, id.String()), st, nil
}

// PackBlock writes the block directory block as a gzip-compressed tar
// file at path, its files under the block's name, in name order.
func PackBlock(block, path string) error {
	var files []string
	err := filepath.WalkDir(block, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	slices.Sort(files)
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	for _, p := range files {
		rel, _ := filepath.Rel(filepath.Dir(block), p)
		b, err := os.ReadFile(p)
		if err != nil {
			f.Close()
			return err
		}
		hdr := &tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(b)), Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			f.Close()
			return err
		}
		if _, err := tw.Write(b); err != nil {
			f.Close()
			return err
		}
	}
	for _, c := range []io.Closer{tw, zw, f} {
		if err := c.Close(); err != nil {
			return err
		}
	}
	return os.Rename(tmp, path)
}

// unpackBlock extracts a file PackBlock wrote into dir and returns the
// block's directory.
func unpackBlock(r io.Reader, dir string) (string, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return "", err
	}
	tr := tar.NewReader(zr)
	block := ""
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		name := filepath.FromSlash(hdr.Name)
		if !filepath.IsLocal(name) || hdr.Typeflag != tar.TypeReg {
			return "", fmt.Errorf("unexpected entry %q in a block archive", hdr.Name)
		}
		top, _, _ := strings.Cut(filepath.ToSlash(name), "/")
		if block != "" && top != block {
			return "", fmt.Errorf("block archive holds two blocks, %s and %s", block, top)
		}
		block = top
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		f, err := os.Create(p)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", err
		}
	}
	if block == "" {
		return "", errors.New("empty block archive")
	}
	return filepath.Join(dir, block), nil
}

// openBlock unpacks the recording's block into a new temporary directory
// and opens it; close closes it and removes the directory.
func (r Recording) openBlock() (*tsdb.Block, func(), error) {
	f, done, err := r.open()
	if err != nil {
		return nil, nil, err
	}
	defer done()
	tmp, err := os.MkdirTemp("", "burnrate-recording-")
	if err != nil {
		return nil, nil, err
	}
	dir, err := unpackBlock(f, tmp)
	if err == nil {
		var b *tsdb.Block
		if b, err = tsdb.OpenBlock(slog.New(slog.DiscardHandler), dir, nil, nil); err == nil {
			return b, func() { b.Close(); os.RemoveAll(tmp) }, nil
		}
	}
	os.RemoveAll(tmp)
	return nil, nil, fmt.Errorf("%s: %w", r.path, err)
}

// Native reports whether the recording is a TSDB block (and may hold
// native histograms) rather than OpenMetrics text.
func (r Recording) Native() bool { return strings.HasSuffix(r.path, BlockSuffix) }

// BlockSuffix ends the name of a recording that is a packed TSDB block.
const BlockSuffix = ".tsdb.tar.gz"

// WriteBlock writes the recording's samples up to and including until (in
// the recording's time), each moved by shift, as one new block in the TSDB
// directory dir (a Prometheus's data directory). Series and labels are
// unchanged but for the cluster label, which becomes r.Cluster.
func (r Recording) WriteBlock(dir string, until time.Time, shift time.Duration) (BlockStats, error) {
	b, done, err := r.openBlock()
	if err != nil {
		return BlockStats{}, err
	}
	defer done()
	q, err := tsdb.NewBlockQuerier(b, b.MinTime(), b.MaxTime())
	if err != nil {
		return BlockStats{}, err
	}
	defer q.Close()
	_, st, err := CopyBlock(context.Background(), q, b.MinTime(), until.UnixMilli(), shift, func(labels.Labels, bool) bool { return true }, map[string]string{"cluster": r.Cluster}, dir)
	if err != nil {
		return st, fmt.Errorf("%s: %w", r.path, err)
	}
	return st, nil
}

// Querier opens the recording's block for reading, in the recording's
// time; close releases it. Only for a Native recording.
func (r Recording) Querier() (storage.Querier, func(), error) {
	if !r.Native() {
		return nil, nil, fmt.Errorf("%s: not a TSDB block", r.path)
	}
	b, done, err := r.openBlock()
	if err != nil {
		return nil, nil, err
	}
	q, err := tsdb.NewBlockQuerier(b, b.MinTime(), b.MaxTime())
	if err != nil {
		done()
		return nil, nil, err
	}
	return q, func() { q.Close(); done() }, nil
}

// QueryBlocks opens every block of the TSDB directory dir (a snapshot, or
// a directory CopyBlock wrote into; any WAL is ignored) read-only and
// returns one querier over them for [mint, maxt]; close releases it.
func QueryBlocks(dir string, mint, maxt int64) (storage.Querier, func(), error) {
	db, err := tsdb.OpenDBReadOnly(dir, "", slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, nil, err
	}
	bs, err := db.Blocks()
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	var qs []storage.Querier
	for _, b := range bs {
		q, err := tsdb.NewBlockQuerier(b, mint, maxt)
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		qs = append(qs, q)
	}
	q := storage.NewMergeQuerier(qs, nil, storage.ChainedSeriesMerge)
	return q, func() { q.Close(); db.Close() }, nil
}
