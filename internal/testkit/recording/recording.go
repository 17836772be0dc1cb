// Package recording reads the lab's recordings of a real kube-apiserver
// (lab/recordings, written by make lab) for the tests that replay them.
package recording

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Recording is one scenario the lab (lab/, make lab) recorded on a real
// kube-apiserver: recordings/<version>/<name>.om.gz holds the apiserver's
// series as OpenMetrics text with the scrape's timestamp on every sample,
// or, for an apiserver that exposes native histograms,
// <name>.tsdb.tar.gz holds them as a TSDB block (block.go); <name>.md
// tells how it was made (see recordings/README.md).
type Recording struct {
	// Version is the kube-apiserver version, the recording's directory.
	Version string
	// Name is the scenario's name; its series carry cluster=<Name>.
	Name string
	// The phases, as the lab's notes give them: the healthy phase starts at
	// Healthy, the fault at Fault, the recovery at Recovery; the last
	// sample is at or before End.
	Healthy, Fault, Recovery, End time.Time
	// Cluster is the cluster label value of the recording's series in a
	// replay: Name for the OpenMetrics recordings of the oldest version
	// (the lab labelled them so, and the replays' expectations were written
	// for them), Name@Version for every other recording, relabelled as it
	// is written (WriteBlock, WriteOpenMetrics), so that a scenario
	// recorded on several versions is one cluster per version in one
	// Prometheus.
	Cluster string
	// path is the .om.gz name, parts the files that hold it (partsOf).
	path  string
	parts []string
}

// RecordingsDir is the directory of the committed recordings, lab/recordings
// in the repository, found from this source file: the recordings are read
// by tests in a clone, never by the burnrate command, and are a module of
// their own so that the module zip leaves them out.
func RecordingsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "lab", "recordings")
}

// LongRecordingsDir is the directory of the long recordings,
// lab/recordings/long/<version>/: runs whose fault lasts long enough for
// every critical alert to fire (lab/recordings/README.md). They are apart
// from the short ones, which the diagnose and dashboard replays read, and
// are read by the tests of firing times.
func LongRecordingsDir() string {
	return filepath.Join(RecordingsDir(), "long")
}

// phasesLine is the line of a recording's notes that gives its phases
// (written by lab/cmd/burnratelab, lab.summary).
var phasesLine = regexp.MustCompile(`(?m)^- phases \(UTC\): .*\(unix (\d+), (\d+), (\d+), (\d+)\)$`)

// Recordings lists the recordings of every version under dir, sorted by
// version and name.
func Recordings(dir string) ([]Recording, error) {
	mds, err := filepath.Glob(filepath.Join(dir, "*", "*.md"))
	if err != nil {
		return nil, err
	}
	slices.Sort(mds)
	var out []Recording
	for _, md := range mds {
		name := strings.TrimSuffix(filepath.Base(md), ".md")
		b, err := os.ReadFile(md)
		if err != nil {
			return nil, err
		}
		m := phasesLine.FindSubmatch(b)
		if m == nil {
			return nil, fmt.Errorf("%s: no line \"- phases (UTC): … (unix healthy, fault, recovery, end)\"", md)
		}
		var ts [4]time.Time
		for i := range ts {
			s, _ := strconv.ParseInt(string(m[i+1]), 10, 64)
			ts[i] = time.Unix(s, 0).UTC()
		}
		if !(ts[0].Before(ts[1]) && ts[1].Before(ts[2]) && ts[2].Before(ts[3])) {
			return nil, fmt.Errorf("%s: phases out of order: %v", md, ts)
		}
		om := strings.TrimSuffix(md, ".md") + ".om.gz"
		if blk := strings.TrimSuffix(md, ".md") + BlockSuffix; exists(blk) || exists(blk+".1") {
			om = blk
		}
		parts, err := partsOf(om)
		if err != nil {
			return nil, fmt.Errorf("recording %s: %w", name, err)
		}
		r := Recording{
			Version: filepath.Base(filepath.Dir(md)), Name: name, Cluster: name,
			Healthy: ts[0], Fault: ts[1], Recovery: ts[2], End: ts[3], path: om, parts: parts,
		}
		if r.Native() || (len(out) > 0 && r.Version != out[0].Version) {
			r.Cluster = name + "@" + r.Version
		}
		out = append(out, r)
	}
	return out, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Notes is the name of the recording's notes (.md).
func (r Recording) Notes() string {
	return strings.TrimSuffix(strings.TrimSuffix(r.path, BlockSuffix), ".om.gz") + ".md"
}

// NativeOnly keeps the recordings that hold native histograms (TSDB
// blocks: kube-apiserver 1.37 and later, recorded with both forms).
func NativeOnly(recs []Recording) []Recording {
	var out []Recording
	for _, r := range recs {
		if r.Native() {
			out = append(out, r)
		}
	}
	return out
}

// Path is the recording's .om.gz (or, Native, .tsdb.tar.gz) name; its notes are beside it (.md).
func (r Recording) Path() string { return r.path }

// partsOf lists the files that hold recording om: om itself, or, for a
// recording over the repository's 5 MiB limit on a tracked file, the
// pieces om.1, om.2, … that `split -b 4M -d -a 1 --numeric-suffixes=1`
// cut it into. Their bytes in order are om's, one gzip stream.
func partsOf(om string) ([]string, error) {
	if _, err := os.Stat(om); err == nil {
		return []string{om}, nil
	}
	var parts []string
	for i := 1; ; i++ {
		p := fmt.Sprintf("%s.%d", om, i)
		if _, err := os.Stat(p); err != nil {
			break
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("neither %s nor %s.1 exists", om, om)
	}
	return parts, nil
}

// open reads the recording's gzip stream from its parts in order.
func (r Recording) open() (io.Reader, func(), error) {
	var readers []io.Reader
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	for _, p := range r.parts {
		f, err := os.Open(p)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		files = append(files, f)
		readers = append(readers, f)
	}
	return io.MultiReader(readers...), closeAll, nil
}

// WriteOpenMetrics writes the recording's samples up to and including
// until (in the recording's time), each moved by shift, as OpenMetrics
// text for `promtool tsdb create-blocks-from openmetrics`. Series and
// labels are unchanged.
func (r Recording) WriteOpenMetrics(w io.Writer, until time.Time, shift time.Duration) error {
	if r.Native() {
		return fmt.Errorf("%s: a TSDB block, not OpenMetrics: use WriteBlock", r.path)
	}
	f, done, err := r.open()
	if err != nil {
		return err
	}
	defer done()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", r.path, err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	bw := bufio.NewWriterSize(w, 1<<20)
	limit := until.UnixMilli()
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(line) == 0 || line[0] == '#' {
			bw.Write(line)
			bw.WriteByte('\n')
			continue
		}
		// name{labels} value timestamp; label values may hold spaces, the
		// timestamp is the last field.
		i := bytes.LastIndexByte(line, ' ')
		ms, err := millis(line[i+1:])
		if i < 0 || err != nil {
			return fmt.Errorf("%s:%d: no timestamp at the end of the sample", r.path, n)
		}
		if ms > limit {
			continue
		}
		if r.Cluster != r.Name {
			line = relabelCluster(line, r.Name, r.Cluster)
			i = bytes.LastIndexByte(line, ' ')
		}
		ms += shift.Milliseconds()
		bw.Write(line[:i+1])
		bw.WriteString(strconv.FormatInt(ms/1000, 10))
		fmt.Fprintf(bw, ".%03d\n", ms%1000)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", r.path, err)
	}
	return bw.Flush()
}

// millis parses an OpenMetrics timestamp, seconds with up to three
// decimals, into milliseconds.
func millis(b []byte) (int64, error) {
	s, frac, _ := bytes.Cut(b, []byte{'.'})
	sec, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil || len(frac) > 3 {
		return 0, fmt.Errorf("bad timestamp %q", b)
	}
	ms := int64(0)
	for i := range 3 {
		ms *= 10
		if i < len(frac) {
			if frac[i] < '0' || frac[i] > '9' {
				return 0, fmt.Errorf("bad timestamp %q", b)
			}
			ms += int64(frac[i] - '0')
		}
	}
	return sec*1000 + ms, nil
}

// relabelCluster sets the cluster label of an OpenMetrics sample line from
// name to cluster (the lab labels every series cluster=<scenario>).
func relabelCluster(line []byte, name, cluster string) []byte {
	from, to := []byte(`cluster="`+name+`"`), []byte(`cluster="`+cluster+`"`)
	for _, prefix := range []string{"{", ","} {
		line = bytes.Replace(line, append([]byte(prefix), from...), append([]byte(prefix), to...), 1)
	}
	return line
}
