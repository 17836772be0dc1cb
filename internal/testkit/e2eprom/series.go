package e2eprom

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"

	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/internal/testkit/recording"
	"github.com/burnrate/burnrate/slo"
	"time"
)

// StartSeries starts a Prometheus holding the series ss (read from a
// recording, e.g. with stitched history) up to and including at, moved in
// time so that at falls on End, with the optimized profile's recording
// rules backfilled over them from their first sample: what a Prometheus
// that had run the rules all along would hold at that moment.
func StartSeries(name string, ss []recording.Series, at time.Time) (*Server, error) {
	return StartSeriesWith(name, ss, at, slomodel.ProfileOptimized)
}

// StartSeriesWith is StartSeries with the recording rules of the named
// profile (slomodel.Profiles) backfilled, or none when profile is "".
func StartSeriesWith(name string, ss []recording.Series, at time.Time, profile string) (*Server, error) {
	dir, err := os.MkdirTemp("", "burnrate-e2e-")
	if err != nil {
		return nil, err
	}
	shift := End.Sub(at).Milliseconds()
	limit := at.UnixMilli()
	first := int64(0)
	for _, s := range ss {
		if len(s.Samples) > 0 && (first == 0 || s.Samples[0].T < first) {
			first = s.Samples[0].T
		}
	}
	env := &Server{dir: dir, End: End}
	in := input{name: name, start: time.UnixMilli(first + shift), write: func(w io.Writer) error {
		return writeSeries(w, ss, limit, shift)
	}}
	if env.srv, err = serve(dir, []input{in}, slo.Default(), profile); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	env.URL = env.srv.url
	return env, nil
}

// writeSeries writes ss as OpenMetrics text, each metric name a family of
// type unknown (as the lab's recordings are), samples up to limit moved by
// shift (milliseconds).
func writeSeries(w io.Writer, ss []recording.Series, limit, shift int64) error {
	order := make([]int, len(ss))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		na, nb := ss[order[a]].Name(), ss[order[b]].Name()
		if na != nb {
			return na < nb
		}
		return ss[order[a]].Metric < ss[order[b]].Metric
	})
	bw := bufio.NewWriterSize(w, 1<<20)
	last := ""
	for _, i := range order {
		s := ss[i]
		if n := s.Name(); n != last {
			fmt.Fprintf(bw, "# TYPE %s unknown\n", n)
			last = n
		}
		for _, p := range s.Samples {
			if p.T > limit {
				break
			}
			t := p.T + shift
			fmt.Fprintf(bw, "%s %s %d.%03d\n", s.Metric, strconv.FormatFloat(p.V, 'g', -1, 64), t/1000, t%1000)
		}
	}
	bw.WriteString("# EOF\n")
	return bw.Flush()
}
