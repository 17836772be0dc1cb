package recording

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// TestRecordingsRead: every committed recording is found, and each one,
// whole or cut into parts (partsOf), reads as one gzip stream of samples
// to its end; a part left out breaks the stream.
func TestRecordingsRead(t *testing.T) {
	recs, err := Recordings(RecordingsDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 12 {
		t.Fatalf("%d recordings, want the 12 of v1.34.2 at least", len(recs))
	}
	split := 0
	for _, r := range recs {
		if len(r.parts) > 1 {
			split++
			cut := r
			cut.parts = r.parts[:len(r.parts)-1]
			if err := cut.WriteOpenMetrics(io.Discard, r.End.Add(time.Hour), 0); err == nil {
				t.Errorf("%s without its last part read without error", r.Name)
			}
		}
		if r.Native() {
			// A block: it reads, and holds native histograms besides the
			// classic ones (the reason it is not OpenMetrics).
			floats, hists, err := countSamples(r)
			if err != nil {
				t.Errorf("%s: %v", r.Path(), err)
			} else if floats == 0 || hists == 0 {
				t.Errorf("%s: %d float and %d native histogram samples, want both", r.Path(), floats, hists)
			}
			continue
		}
		if err := r.WriteOpenMetrics(io.Discard, r.End.Add(time.Hour), 0); err != nil {
			t.Errorf("%s (%s): %v", r.Name, strings.Join(r.parts, ", "), err)
		}
	}
	if split == 0 {
		t.Error("no recording is cut into parts: partsOf is not exercised")
	}
}

// countSamples counts the float and the native histogram samples of a
// block recording.
func countSamples(r Recording) (floats, hists int, err error) {
	q, done, err := r.Querier()
	if err != nil {
		return 0, 0, err
	}
	defer done()
	ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+"))
	var it chunkenc.Iterator
	for ss.Next() {
		it = ss.At().Iterator(it)
		for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
			if vt == chunkenc.ValFloat {
				floats++
			} else {
				hists++
			}
		}
		if err := it.Err(); err != nil {
			return 0, 0, err
		}
	}
	return floats, hists, ss.Err()
}

// TestClustersAreDistinct: a scenario recorded on several versions is one
// cluster per version in a replay: every recording's Cluster is its own, and
// the OpenMetrics it writes labels every sample with it, the oldest
// version's as the lab wrote them (cluster=<scenario>), the others
// relabelled (cluster=<scenario>@<version>).
func TestClustersAreDistinct(t *testing.T) {
	recs, err := Recordings(RecordingsDir())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, r := range recs {
		if prev, ok := seen[r.Cluster]; ok {
			t.Errorf("%s/%s and %s share cluster %q", r.Version, r.Name, prev, r.Cluster)
		}
		seen[r.Cluster] = r.Version + "/" + r.Name
		if r.Native() {
			continue // blocks: relabelled as WriteBlock copies them
		}
		var b strings.Builder
		if err := r.WriteOpenMetrics(&b, r.Healthy.Add(30*time.Second), 0); err != nil {
			t.Fatal(err)
		}
		want := `cluster="` + r.Cluster + `"`
		n := 0
		for line := range strings.SplitSeq(b.String(), "\n") {
			if line == "" || line[0] == '#' {
				continue
			}
			n++
			if !strings.Contains(line, want) {
				t.Fatalf("%s/%s: sample without %s: %s", r.Version, r.Name, want, line)
			}
		}
		if n == 0 {
			t.Errorf("%s/%s: no sample in its first 30 s", r.Version, r.Name)
		}
	}
}

func TestRelabelCluster(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`up{cluster="a",job="x"} 1 10.000`, `up{cluster="a@v",job="x"} 1 10.000`},
		{`up{job="x",cluster="a"} 1 10.000`, `up{job="x",cluster="a@v"} 1 10.000`},
		{`up{job="x",subcluster="a"} 1 10.000`, `up{job="x",subcluster="a"} 1 10.000`},
		{`up{job="x",cluster="ab"} 1 10.000`, `up{job="x",cluster="ab"} 1 10.000`},
	} {
		if got := string(relabelCluster([]byte(tc.in), "a", "a@v")); got != tc.want {
			t.Errorf("relabelCluster(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
