package ruletest

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/teststorage"
)

// loader is what a test group needs from promqltest.LazyLoader: a storage
// that receives the input samples step by step, and a query engine on it.
type loader interface {
	WithSamplesTill(ts time.Time, fn func(error))
	QueryEngine() *promql.Engine
	Storage() storage.Storage
	Close() error
}

// newLoader returns the loader for a test group: inputLoader when it can
// load the input series exactly as LazyLoader would, else a LazyLoader
// reading the same load command as promtool's.
func (g *groupPlan) newLoader(p parser.Parser) (loader, error) {
	if l := newInputLoader(g, p); l != nil {
		return l, nil
	}
	ll, err := promqltest.NewLazyLoader(g.load, promqltest.LazyLoaderOpts{
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		StartTime:            g.tg.StartTimestamp.Time,
		Parser:               p,
	})
	if err != nil {
		return nil, err
	}
	ll.SubqueryInterval = g.suite.evalInterval
	return ll, nil
}

// inputLoader does the work of promqltest.LazyLoader (v0.316.0) for the load
// command promtool builds from input_series, with less memory and no text
// parsing of the whole command. It parses each series line with the same
// parser, stores the samples compactly (timestamps and values, no pointers
// unless there are histograms), and appends them with the same algorithm:
//
//   - the sample timestamps are computed like loadCmd.set computes them:
//     from the start time, advanced by the load interval (parsed from the
//     same text) once per value, omitted values included;
//   - appendTill walks a map[uint64] keyed by the series' label hash, built
//     by inserting the series in the same order as loadCmd.set, so the order
//     in which series are first appended (which fixes the order in which the
//     head returns them to queries) follows the same random distribution as
//     in promtool; for each series it appends the pending samples up to the
//     step with the same calls, keeps its position at the same points, and
//     returns the first error without committing, exactly like appendTill;
//   - the query engine has the same options.
//
// The storage is util/teststorage with its options, except that it writes
// no write-ahead log, keeps no exemplar buffer and has a smaller series hash
// table: the log is only read when a database is opened again, which never
// happens; no exemplar is ever appended or queried; the head's StripeSize
// only sets how many shards its series map and locks are split into (series
// references, and with them the order of series in postings, come from a
// counter). None of these changes what a query or an append returns; they
// save the memory and time of setting up a database per test group.
//
// newInputLoader returns nil for anything it does not reproduce exactly (a
// series line that LazyLoader would read as an "@st" start-timestamp line,
// as a comment or as the end of the command, a series that does not parse,
// an interval whose printed form does not parse back); the caller then uses
// LazyLoader itself.
type inputLoader struct {
	storage storage.Storage
	engine  *promql.Engine
	ctx     context.Context
	cancel  context.CancelFunc
	defs    map[uint64]*inputSamples
	metrics map[uint64]labels.Labels
}

// inputSamples are one series' samples; next is the first one not yet
// appended.
type inputSamples struct {
	t    []int64
	f    []float64
	h    []*histogram.FloatHistogram // nil when there is no histogram
	next int
}

func newInputLoader(g *groupPlan, p parser.Parser) *inputLoader {
	// The load command is "load <interval>", then one line per series, each
	// trimmed by promqltest's getLines.
	gap, err := model.ParseDuration(compactDuration(g.tg.Interval))
	if err != nil || time.Duration(gap) != time.Duration(g.tg.Interval) {
		return nil
	}
	start := time.Unix(0, 0).UTC() // promqltest's testStartTime
	if !g.tg.StartTimestamp.IsZero() {
		start = g.tg.StartTimestamp.Time
	}
	seriesParser := parser.NewParser(promqltest.TestParserOpts) // as promqltest's parseSeries
	l := &inputLoader{
		defs:    map[uint64]*inputSamples{},
		metrics: map[uint64]labels.Labels{},
	}
	for _, is := range g.tg.InputSeries {
		line := strings.TrimSpace(is.Series + " " + is.Values)
		if line == "" || strings.HasPrefix(line, "#") || isSTLine(line) {
			return nil
		}
		metric, vals, err := seriesParser.ParseSeriesDesc(line)
		if err != nil {
			return nil
		}
		s := &inputSamples{t: make([]int64, 0, len(vals)), f: make([]float64, 0, len(vals))}
		ts := start
		for _, v := range vals {
			if !v.Omitted {
				s.t = append(s.t, ts.UnixNano()/int64(time.Millisecond/time.Nanosecond))
				s.f = append(s.f, v.Value)
				if v.Histogram != nil && s.h == nil {
					s.h = make([]*histogram.FloatHistogram, len(s.t)-1, cap(s.t))
				}
				if s.h != nil {
					s.h = append(s.h, v.Histogram)
				}
			}
			ts = ts.Add(time.Duration(gap))
		}
		h := metric.Hash()
		l.defs[h] = s
		l.metrics[h] = metric
	}

	st, err := teststorage.NewWithError(func(o *tsdb.Options) {
		o.WALSegmentSize = -1
		o.EnableExemplarStorage = false
		o.MaxExemplars = 0
		o.StripeSize = 64
	})
	if err != nil {
		return nil
	}
	l.storage = st
	subqueryInterval := g.suite.evalInterval
	l.engine = promql.NewEngine(promql.EngineOpts{
		MaxSamples:               10000,
		Timeout:                  100 * time.Second,
		NoStepSubqueryIntervalFn: func(int64) int64 { return int64(subqueryInterval / time.Millisecond) },
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		Parser:                   p,
	})
	l.ctx, l.cancel = context.WithCancel(context.Background())
	return l
}

// isSTLine is promqltest's test for a start-timestamp line.
func isSTLine(defLine string) bool {
	defLine = strings.TrimSpace(defLine)
	spaceIdx := strings.IndexAny(defLine, " \t")
	if spaceIdx < 0 {
		return false
	}
	return strings.HasSuffix(defLine[:spaceIdx], "@st")
}

// WithSamplesTill appends the samples up to ts and calls fn with the error.
func (l *inputLoader) WithSamplesTill(ts time.Time, fn func(error)) {
	till := ts.Sub(time.Unix(0, 0).UTC()) / time.Millisecond
	fn(l.appendTill(int64(till)))
}

func (l *inputLoader) appendTill(ts int64) error {
	app := l.storage.AppenderV2(l.ctx)
	for h, s := range l.defs {
		m := l.metrics[h]
		for i := s.next; i < len(s.t); i++ {
			if s.t[i] > ts {
				s.next = i
				break
			}
			var err error
			if s.h != nil && s.h[i] != nil {
				_, err = app.Append(0, m, 0, s.t[i], 0, nil, s.h[i], storage.AppendV2Options{})
			} else {
				_, err = app.Append(0, m, 0, s.t[i], s.f[i], nil, nil, storage.AppendV2Options{})
			}
			if err != nil {
				return err
			}
			if i == len(s.t)-1 {
				s.next = len(s.t)
			}
		}
	}
	return app.Commit()
}

// QueryEngine returns the query engine.
func (l *inputLoader) QueryEngine() *promql.Engine { return l.engine }

// Storage returns the storage.
func (l *inputLoader) Storage() storage.Storage { return l.storage }

// Close releases the engine and the storage, like LazyLoader.Close.
func (l *inputLoader) Close() error {
	l.cancel()
	err := l.engine.Close()
	if sErr := l.storage.Close(); sErr != nil {
		return errors.Join(sErr, err)
	}
	return err
}
