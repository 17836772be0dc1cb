package synth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// SeriesSource is a source of raw samples, such as a Cluster. Each must call
// fn for every sample, and the samples of one series in increasing time
// order; Evaluate and Load append them to a TSDB in that order.
type SeriesSource interface {
	Each(fn func(lset labels.Labels, tMillis int64, v float64) error) error
}

// Storage is a TSDB in a temporary directory, set up for loading whole
// histories at once and then evaluating rules from their start: no WAL, no
// compaction, and a head block wide enough (400 days) to accept samples at
// any time after the first one. Close removes it.
type Storage struct {
	*tsdb.DB
	dir string
}

// storageSpan is the head chunk range of a Storage. Appends older than
// (newest sample - span/2) would be rejected as out of bounds.
const storageSpan = 400 * 24 * time.Hour

// OpenStorage opens an empty Storage. The caller must Close it.
func OpenStorage() (*Storage, error) {
	dir, err := os.MkdirTemp("", "synth-tsdb-")
	if err != nil {
		return nil, fmt.Errorf("synth: creating storage directory: %w", err)
	}
	opts := tsdb.DefaultOptions()
	opts.MinBlockDuration = storageSpan.Milliseconds()
	opts.MaxBlockDuration = storageSpan.Milliseconds()
	opts.RetentionDuration = 0
	opts.WALSegmentSize = -1 // no WAL
	opts.OutOfOrderTimeWindow = 0
	opts.IsolationDisabled = true // one writer and reader at a time
	db, err := tsdb.Open(dir, promslog.NewNopLogger(), nil, opts, nil)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("synth: opening storage: %w", err), os.RemoveAll(dir))
	}
	db.DisableCompactions()
	return &Storage{DB: db, dir: dir}, nil
}

// Close closes the TSDB and removes its directory.
func (s *Storage) Close() error {
	err := s.DB.Close()
	if rmErr := os.RemoveAll(s.dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("synth: removing storage directory: %w", rmErr))
	}
	return err
}

// OpenLoaded opens a Storage and loads src into it. The caller must Close
// the Storage.
func OpenLoaded(ctx context.Context, src SeriesSource) (*Storage, LoadStats, error) {
	db, err := OpenStorage()
	if err != nil {
		return nil, LoadStats{}, err
	}
	ls, err := Load(ctx, src, db)
	if err != nil {
		return nil, ls, errors.Join(err, db.Close())
	}
	return db, ls, nil
}

// LoadStats describes what Load appended.
type LoadStats struct {
	Series  int   // distinct series
	Samples int64 // samples
	// MinTime and MaxTime are the oldest and newest sample timestamps in
	// milliseconds (both 0 if there were no samples).
	MinTime, MaxTime int64
	// Duration is the wall time of the load.
	Duration time.Duration
}

// commitEvery is the number of samples appended between two commits.
const commitEvery = 200_000

// Load appends every sample of src to dst, committing in batches so that
// memory does not grow with the number of samples. A Cluster (or *Cluster)
// source is appended with cached series references, which is faster.
func Load(ctx context.Context, src SeriesSource, dst storage.AppendableV2) (LoadStats, error) {
	began := time.Now()
	st := LoadStats{MinTime: math.MaxInt64, MaxTime: math.MinInt64}
	app := dst.AppenderV2(ctx)
	pending := 0
	appendOne := func(ref storage.SeriesRef, lset labels.Labels, t int64, v float64) (storage.SeriesRef, error) {
		ref, err := app.Append(ref, lset, 0, t, v, nil, nil, storage.AppendV2Options{})
		if err != nil {
			return 0, fmt.Errorf("appending %s at %d: %w", lset, t, err)
		}
		st.Samples++
		st.MinTime = min(st.MinTime, t)
		st.MaxTime = max(st.MaxTime, t)
		if pending++; pending >= commitEvery {
			if err := app.Commit(); err != nil {
				return 0, fmt.Errorf("committing: %w", err)
			}
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			app = dst.AppenderV2(ctx)
			pending = 0
		}
		return ref, nil
	}

	var err error
	switch c := src.(type) {
	case Cluster:
		err = loadCluster(c, appendOne, &st)
	case *Cluster:
		err = loadCluster(*c, appendOne, &st)
	default:
		seen := map[uint64]struct{}{}
		err = src.Each(func(lset labels.Labels, t int64, v float64) error {
			seen[lset.Hash()] = struct{}{}
			_, err := appendOne(0, lset, t, v)
			return err
		})
		st.Series = len(seen)
	}
	if err != nil {
		return st, errors.Join(fmt.Errorf("synth: loading samples: %w", err), app.Rollback())
	}
	if err := app.Commit(); err != nil {
		return st, fmt.Errorf("synth: loading samples: committing: %w", err)
	}
	if st.Samples == 0 {
		st.MinTime, st.MaxTime = 0, 0
	}
	st.Duration = time.Since(began)
	return st, nil
}

func loadCluster(c Cluster, appendOne func(storage.SeriesRef, labels.Labels, int64, float64) (storage.SeriesRef, error), st *LoadStats) error {
	g, err := newGenerator(c)
	if err != nil {
		return err
	}
	refs := make([]storage.SeriesRef, len(g.series))
	err = g.run(func(id int, lset labels.Labels, t int64, v float64) error {
		if refs[id] == 0 {
			st.Series++
		}
		ref, err := appendOne(refs[id], lset, t, v)
		refs[id] = ref
		return err
	})
	return err
}
