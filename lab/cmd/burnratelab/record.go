package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/burnrate/burnrate/internal/testkit/recording"
)

// recordedNames are the metric names the recordings keep (all labels
// kept): what the generated rules, the runbook and diagnose read, and the
// metrics that show faults outside the SLI.
var recordedNames = []string{
	"apiserver_request_total",
	"apiserver_request_sli_duration_seconds_bucket", "apiserver_request_sli_duration_seconds_count", "apiserver_request_sli_duration_seconds_sum",
	// apiserver_request_duration_seconds_bucket is left out: a quarter of
	// a recording's size, and read by none of the rules, the runbook or
	// diagnose. Its _count and _sum (which, unlike the SLI histogram,
	// include webhook and APF queue time) are kept.
	"apiserver_request_duration_seconds_count", "apiserver_request_duration_seconds_sum",
	"apiserver_request_terminations_total", "apiserver_request_aborts_total", "apiserver_request_post_timeout_total",
	"aggregator_unavailable_apiservice", "aggregator_unavailable_apiservice_total",
	"apiserver_admission_webhook_.*",
	"etcd_request_duration_seconds_.*",
	"apiserver_storage_list_.*",
	"apiserver_cache_list_.*",
	"apiserver_watch_cache_initializations_total",
	"apiserver_flowcontrol_rejected_requests_total", "apiserver_flowcontrol_request_wait_duration_seconds_.*",
	"apiserver_flowcontrol_request_execution_seconds_count", "apiserver_flowcontrol_request_execution_seconds_sum",
	"apiserver_flowcontrol_current_inqueue_requests",
	"apiserver_current_inflight_requests",
	"rest_client_requests_total",
	"up", "process_start_time_seconds",
}

// sloNames are the series a long recording keeps (--keep slo): what the
// generated rules and the mixin's read (the request counter, the SLI
// histogram's count and its buckets at the thresholds 1 s, 5 s and 30 s
// and +Inf), what the runbook and diagnose read next to them but
// sloLeftOut, and the admission webhook's metrics. A long run with every recordedNames series
// would be several times the 5 MiB a tracked file may have.
var sloNames = []string{
	"apiserver_request_total",
	"apiserver_request_sli_duration_seconds_bucket", "apiserver_request_sli_duration_seconds_count", "apiserver_request_sli_duration_seconds_sum",
	"apiserver_request_duration_seconds_count", "apiserver_request_duration_seconds_sum",
	"apiserver_request_terminations_total", "apiserver_request_aborts_total",
	"aggregator_unavailable_apiservice", "aggregator_unavailable_apiservice_total",
	"apiserver_admission_webhook_.*",
	// etcd's histogram without its buckets (sloLeftOut): Step 8's etcd-time
	// reads the _sum.
	"etcd_request_duration_seconds_count", "etcd_request_duration_seconds_sum",
	"apiserver_storage_list_.*", "apiserver_cache_list_.*", "apiserver_watch_cache_initializations_total",
	"apiserver_flowcontrol_rejected_requests_total", "apiserver_flowcontrol_request_execution_seconds_sum",
	"rest_client_requests_total",
	"up", "process_start_time_seconds",
}

// sloLeftOut are the metrics the runbook reads that a long recording
// leaves out, and why (TestKeepsWhatTheRunbookReads).
var sloLeftOut = map[string]string{
	"etcd_request_duration_seconds_bucket": "3,360 series on v1.36.3 (operation, type and 24 buckets each): over 75 minutes at 5 s, 3 million samples, more than a tracked file may hold; Step 8's etcd-latency is skipped on long recordings",
}

// sloBuckets are the le values of the buckets sloNames keeps.
const sloBuckets = `(1|5|30)(\\.0)?|\\+Inf`

// selectors returns the selectors the recording reads for keep (all or
// slo).
func selectors(keep string) []string {
	if keep != "slo" {
		out := make([]string, 0, len(recordedNames))
		for _, n := range recordedNames {
			out = append(out, fmt.Sprintf(`{__name__=~%q,job="kube-apiserver"}`, n))
		}
		return out
	}
	out := make([]string, 0, len(sloNames))
	for _, n := range sloNames {
		sel := fmt.Sprintf(`{__name__=~%q,job="kube-apiserver"`, n)
		if strings.HasSuffix(n, "_bucket") || strings.HasSuffix(n, ".*") {
			// Buckets at the thresholds only; series without le keep all.
			sel += `,le=~"` + sloBuckets + `|"`
		}
		out = append(out, sel+"}")
	}
	return out
}

type sample struct {
	t float64
	v float64
}

type series struct {
	labels  map[string]string
	name    string
	samples []sample
}

// queryRaw reads the raw samples of every series matching selector in
// (from, to] with an instant query of a range selector, which returns the
// scraped samples with their own timestamps, through client_golang's
// Prometheus API client.
func queryRaw(ctx context.Context, prom v1.API, selector string, from, to time.Time) ([]series, error) {
	rng := int(math.Ceil(to.Sub(from).Seconds()))
	q := fmt.Sprintf("%s[%ds]", selector, rng)
	// At the millisecond, as Prometheus reads the time.
	v, warnings, _, err := prom.Query(ctx, q, time.UnixMilli(to.UnixMilli()))
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", q, err)
	}
	for _, w := range warnings {
		logf("query %s: warning: %s", q, w)
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("query %s: got a %s, want a range vector", q, v.Type())
	}
	out := make([]series, 0, len(m))
	for _, ss := range m {
		s := series{labels: map[string]string{}, name: string(ss.Metric[model.MetricNameLabel])}
		for k, v := range ss.Metric {
			if k != model.MetricNameLabel {
				s.labels[string(k)] = string(v)
			}
		}
		for _, p := range ss.Values {
			s.samples = append(s.samples, sample{float64(p.Timestamp) / 1000, float64(p.Value)})
		}
		out = append(out, s)
	}
	return out, nil
}

// record writes the scenario's recording, the recorded rules' series and
// its notes.
func (l *lab) record(ctx context.Context, ph phases, clientStats map[string]string) error {
	if err := os.MkdirAll(l.cfg.out, 0o755); err != nil {
		return err
	}
	// Up to the end of the recovery phase: the scrape after it sees the
	// workload's requests cancelled when it stopped (504 terminations and
	// aborts that no fault caused).
	client, err := api.NewClient(api.Config{Address: l.promURL})
	if err != nil {
		return err
	}
	prom := v1.NewAPI(client)
	from, to := ph.healthy.Add(-time.Second), ph.end
	var raw []series
	for _, sel := range selectors(l.cfg.keep) {
		s, err := queryRaw(ctx, prom, sel, from, to)
		if err != nil {
			return err
		}
		raw = append(raw, s...)
	}
	rulesFrom, rulesTo := ph.healthy.Add(-time.Second), ph.end.Add(settle)
	recorded, err := queryRaw(ctx, prom, `{__name__=~".+:.+"}`, rulesFrom, rulesTo)
	if err != nil {
		return err
	}
	base := filepath.Join(l.cfg.out, l.sc.name)
	var size int64
	var what string
	if l.cfg.native {
		st, err := l.writeBlock(ctx, prom, base+recording.BlockSuffix, from, to)
		if err != nil {
			return err
		}
		fi, err := os.Stat(base + recording.BlockSuffix)
		if err != nil {
			return err
		}
		size = fi.Size()
		what = fmt.Sprintf("%d series, %d float samples and %d native histogram samples, %s%s %d bytes (a TSDB block)",
			st.Series, st.FloatSamples, st.HistogramSamples, l.sc.name, recording.BlockSuffix, size)
	} else {
		if size, err = writeOM(base+".om.gz", raw); err != nil {
			return err
		}
		var nsamples int
		for _, s := range raw {
			nsamples += len(s.samples)
		}
		what = fmt.Sprintf("%d series, %d samples, %s.om.gz %d bytes", len(raw), nsamples, l.sc.name, size)
	}
	rsize, err := writeOM(base+".rules.om.gz", recorded)
	if err != nil {
		return err
	}
	notes := l.summary(ph, raw, recorded, clientStats, what, rsize)
	return os.WriteFile(base+".md", []byte(notes), 0o644)
}

// writeBlock writes the recorded series in (from, to] as one TSDB block,
// packed as a tar.gz file at path: Prometheus snapshots its TSDB (head
// included, through the admin API), the lab opens the snapshot read-only
// with Prometheus's tsdb package and copies the recorded metric names of
// job kube-apiserver into a new block with tsdb.BlockWriter. A native
// histogram series is kept when its classic buckets (<name>_bucket) are.
func (l *lab) writeBlock(ctx context.Context, prom v1.API, path string, from, to time.Time) (recording.BlockStats, error) {
	var st recording.BlockStats
	snap, err := prom.Snapshot(ctx, false)
	if err != nil {
		return st, fmt.Errorf("snapshot: %w", err)
	}
	dir := filepath.Join(l.dir, "prometheus-data", "snapshots", snap.Name)
	defer os.RemoveAll(dir)
	q, done, err := recording.QueryBlocks(dir, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return st, err
	}
	defer done()
	names := regexp.MustCompile("^(?:" + strings.Join(recordedNames, "|") + ")$")
	keep := func(ls labels.Labels, native bool) bool {
		if ls.Get("job") != "kube-apiserver" {
			return false
		}
		n := ls.Get(labels.MetricName)
		if native {
			n += "_bucket"
		}
		return names.MatchString(n)
	}
	out := filepath.Join(l.dir, "block")
	os.RemoveAll(out)
	defer os.RemoveAll(out)
	// (from, to]: the samples queryRaw reads.
	block, st, err := recording.CopyBlock(ctx, q, from.UnixMilli()+1, to.UnixMilli(), 0, keep, nil, out)
	if err != nil {
		return st, err
	}
	return st, recording.PackBlock(block, path)
}

// writeOM writes the series as OpenMetrics text, gzip-compressed. Every
// metric name is its own family of type unknown (so that promtool tsdb
// create-blocks-from openmetrics takes the buckets, counts and sums as
// the plain series Prometheus scraped); series and families are sorted.
func writeOM(path string, ss []series) (int64, error) {
	sort.Slice(ss, func(i, j int) bool {
		if ss[i].name != ss[j].name {
			return ss[i].name < ss[j].name
		}
		return labelString(ss[i].labels) < labelString(ss[j].labels)
	})
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	bw := bufio.NewWriter(zw)
	last := ""
	for _, s := range ss {
		if s.name != last {
			fmt.Fprintf(bw, "# TYPE %s unknown\n", s.name)
			last = s.name
		}
		ls := s.name + labelString(s.labels)
		for _, p := range s.samples {
			fmt.Fprintf(bw, "%s %s %s\n", ls, strconv.FormatFloat(p.v, 'g', -1, 64), strconv.FormatFloat(p.t, 'f', 3, 64))
		}
	}
	bw.WriteString("# EOF\n")
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func labelString(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteByte(',')
		}
		v := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(m[k])
		fmt.Fprintf(&b, "%s=\"%s\"", k, v)
	}
	b.WriteByte('}')
	return b.String()
}

// at returns the last sample of s at or before t (NaN if none).
func (s series) at(t time.Time) float64 {
	ts := float64(t.UnixMilli()) / 1000
	v := math.NaN()
	for _, p := range s.samples {
		if p.t > ts {
			break
		}
		v = p.v
	}
	return v
}

// increase is the counter increase of s between a and b, with resets
// handled and a series first seen inside the interval counted from 0,
// unless it was there at the recording's first scrape (before start+6s).
func (s series) increase(start, a, b time.Time) float64 {
	ta, tb := float64(a.UnixMilli())/1000, float64(b.UnixMilli())/1000
	inc, prev, seen := 0.0, math.NaN(), false
	if len(s.samples) > 0 && s.samples[0].t < float64(start.Add(6*time.Second).UnixMilli())/1000 {
		prev, seen = s.samples[0].v, true
	}
	for _, p := range s.samples {
		if p.t <= ta {
			prev = p.v
			seen = true
			continue
		}
		if p.t > tb {
			break
		}
		switch {
		case !seen:
			inc += p.v
		case p.v < prev:
			inc += p.v
		default:
			inc += p.v - prev
		}
		prev, seen = p.v, true
	}
	return inc
}

// maxIn returns the maximum of s in [a, b] and when it was reached.
func (s series) maxIn(a, b time.Time) (float64, float64) {
	ta, tb := float64(a.UnixMilli())/1000, float64(b.UnixMilli())/1000
	m, at := math.NaN(), 0.0
	for _, p := range s.samples {
		if p.t < ta || p.t > tb {
			continue
		}
		if math.IsNaN(m) || p.v > m {
			m, at = p.v, p.t
		}
	}
	return m, at
}

// summary is the scenario's notes: how it was made, what the clients saw,
// the burn rates of the loaded rules, and every non-bucket series that
// moved in the fault phase (a counter increasing at least twice as fast
// as in the healthy phase and by at least 3, or a gauge that changed).
func (l *lab) summary(ph phases, raw, recorded []series, clientStats map[string]string, what string, rsize int64) string {
	var b strings.Builder
	c := l.cfg
	fmt.Fprintf(&b, "# %s\n\n", l.sc.name)
	fmt.Fprintf(&b, "Fault: %s\n\n", l.sc.what)
	fmt.Fprintf(&b, "- date: %s\n", ph.healthy.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "- kube-apiserver %s (%d instance(s): %s), %s, Prometheus v0.316.0 (scrape 5 s, rules %s)\n", c.apiserverVersion, len(l.names), strings.Join(l.names, ", "), etcdVersion(c.etcd), c.rules)
	fmt.Fprintf(&b, "- command: `%s`\n", strings.Join(os.Args, " "))
	fmt.Fprintf(&b, "- phases (UTC): healthy %s, fault %s, recovery %s, end %s (unix %d, %d, %d, %d)\n",
		ph.healthy.UTC().Format("15:04:05"), ph.fault.UTC().Format("15:04:05"), ph.recovery.UTC().Format("15:04:05"), ph.end.UTC().Format("15:04:05"),
		ph.healthy.Unix(), ph.fault.Unix(), ph.recovery.Unix(), ph.end.Unix())
	fmt.Fprintf(&b, "- workload: %.0f requests/s, %d watches, readyz probe every 5 s and livez every 10 s per instance\n", c.rate, c.watches)
	if c.native {
		b.WriteString("- Prometheus scraped native histograms and kept the classic ones (scrape_native_histograms and always_scrape_classic_histograms)\n")
	}
	fmt.Fprintf(&b, "- recording: %s; recorded rules' series %s.rules.om.gz %d bytes\n\n", what, l.sc.name, rsize)
	b.WriteString("## Lab events\n\n")
	l.notesMu.Lock()
	notes := slices.Clone(l.notes)
	l.notesMu.Unlock()
	for _, n := range notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	b.WriteString("\n## What the clients saw (by operation: HTTP code or client error, count)\n\n")
	for _, p := range []string{"healthy", "fault", "recovery"} {
		fmt.Fprintf(&b, "%s:\n```\n%s```\n", p, clientStats[p])
	}
	b.WriteString("\n## Burn rates of the loaded rules\n\n")
	b.WriteString("| series | end of healthy | max in fault (at +s) | end of fault | max in recovery | end |\n|---|---|---|---|---|---|\n")
	f := func(v float64) string {
		if math.IsNaN(v) {
			return "-"
		}
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	sort.Slice(recorded, func(i, j int) bool {
		return recorded[i].name+labelString(recorded[i].labels) < recorded[j].name+labelString(recorded[j].labels)
	})
	for _, s := range recorded {
		if !strings.HasPrefix(s.name, "apiserver_request:burnrate") {
			continue
		}
		m, at := s.maxIn(ph.fault, ph.recovery)
		mr, _ := s.maxIn(ph.recovery, ph.end.Add(settle))
		fmt.Fprintf(&b, "| `%s%s` | %s | %s (+%.0f) | %s | %s | %s |\n", s.name, labelString(without(s.labels, "cluster")), f(s.at(ph.fault)), f(m), at-float64(ph.fault.Unix()), f(s.at(ph.recovery)), f(mr), f(s.at(ph.end.Add(settle))))
	}
	b.WriteString("\n## Series that moved in the fault phase\n\n")
	b.WriteString("Non-bucket series except verb WATCH (labels `job`, `cluster` left out). Counters: increase in the healthy phase, the fault phase and the recovery phase " +
		"(per minute); listed when the fault rate is at least twice the healthy one and the fault increase at least 3, or the recovery rate is. Gauges: listed when the value changed.\n\n")
	b.WriteString("| series | healthy /min | fault /min | recovery /min |\n|---|---|---|---|\n")
	type row struct {
		key      string
		h, fl, r float64
		gauge    bool
	}
	var rows []row
	hm, fm, rm := ph.fault.Sub(ph.healthy).Minutes(), ph.recovery.Sub(ph.fault).Minutes(), ph.end.Sub(ph.recovery).Minutes()
	for _, s := range raw {
		// Buckets, and the durations of watches (which end when they time
		// out, and which the SLI leaves out), would drown the rest.
		if strings.HasSuffix(s.name, "_bucket") || s.labels["verb"] == "WATCH" {
			continue
		}
		key := s.name + labelString(without(s.labels, "job", "cluster"))
		if recording.CounterName(s.name) {
			h, fl, r := s.increase(ph.healthy, ph.healthy, ph.fault)/hm, s.increase(ph.healthy, ph.fault, ph.recovery)/fm, s.increase(ph.healthy, ph.recovery, ph.end)/rm
			if (fl >= 2*h && fl*fm >= 3) || (r >= 2*h && r*rm >= 3 && r >= 2*fl) {
				rows = append(rows, row{key, h, fl, r, false})
			}
			continue
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, p := range s.samples {
			lo, hi = math.Min(lo, p.v), math.Max(hi, p.v)
		}
		if hi > lo && !strings.HasPrefix(s.name, "apiserver_current_inflight") && !strings.HasPrefix(s.name, "apiserver_flowcontrol_current_inqueue") {
			rows = append(rows, row{key, s.at(ph.fault), s.at(ph.recovery), s.at(ph.end), true})
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].gauge != rows[j].gauge {
			return rows[i].gauge
		}
		return rows[i].fl > rows[j].fl
	})
	for _, r := range rows {
		if r.gauge {
			fmt.Fprintf(&b, "| `%s` (gauge: value at end of healthy, fault, recovery) | %s | %s | %s |\n", r.key, f(r.h), f(r.fl), f(r.r))
		} else {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.key, f(r.h), f(r.fl), f(r.r))
		}
	}
	return b.String()
}

func without(m map[string]string, keys ...string) map[string]string {
	out := maps.Clone(m)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}
