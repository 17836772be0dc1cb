package rulegen

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/internal/testkit/peers"
	"github.com/burnrate/burnrate/internal/testkit/reference"
	"github.com/burnrate/burnrate/internal/testkit/synth"
	"github.com/burnrate/burnrate/slo"
)

// BenchmarkRuleCost measures what one evaluation of each profile's rule
// groups costs on a synthetic cluster once Prometheus holds -cost.history
// of it (default 30d), as Prometheus would run it. The raw series are
// loaded as far back as some rule reads them (the mixin's 3d), at most the
// history; the recorded series that rules read over a range or at an
// offset are synthesised directly at their group's interval, each as far
// back as it is read and at most the history, with the label sets and
// values one evaluation of the rules gives on the same cluster. Then every
// group is evaluated once at the end with query statistics on. It prints
// samples touched and milliseconds per group and per minute (samples ×
// evaluations per minute at the group's interval), for the SLO rules (every
// group but the per-resource p99 histogram record) and for all groups.
//
//	go test ./internal/rulegen -run '^$' -bench RuleCost -benchtime 1x                                            # small: 5 resources, 30d
//	go test ./internal/rulegen -run '^$' -bench RuleCost -benchtime 1x -args -cost.size=full                      # 40 resources
//	go test ./internal/rulegen -run '^$' -bench RuleCost -benchtime 1x -args -cost.resources=200 -cost.history=3d
func BenchmarkRuleCost(b *testing.B) {
	history := time.Duration(costHistory)
	dir := b.TempDir()
	var files []costFile
	for _, name := range strings.Split(*costProfiles, ",") {
		switch name {
		case slomodel.ProfileOptimized, slomodel.ProfileMixin:
			files = append(files, costFile{name, writeRules(b, dir, name)})
		case "pr1283":
			files = append(files, costFile{name, reference.File(b, "apiserver-slo-rules.pr1283.yaml")})
		case "sloth", "pyrra":
			files = append(files, costFile{name, peerRules(b, dir, name)})
		default:
			b.Fatalf("-cost.profiles: unknown profile %q; choose from %s, %s, pr1283, sloth, pyrra", name, slomodel.ProfileOptimized, slomodel.ProfileMixin)
		}
	}
	// Each file's raw series reach back as far as its furthest raw read, at
	// most the history: the optimized profile's 5m, the mixin's 3d.
	spans := map[string]time.Duration{}
	for _, f := range files {
		r, err := rawReach(f.path)
		if err != nil {
			b.Fatal(err)
		}
		spans[f.name] = min(history, r)
	}
	c := costCluster(*costSize, *costResources, time.Hour) // the span is set per file below
	n, err := c.SeriesCount()
	if err != nil {
		b.Fatal(err)
	}
	results := map[string]costResult{}
	for b.Loop() {
		for _, f := range files {
			fc := c
			fc.Duration = spans[f.name]
			if *costProm {
				// A real Prometheus evaluates at the clock's time: the
				// data reaches promAhead past it, so that every window
				// read in the next minutes is as full as in steady state.
				fc.Duration += promAhead
				fc.Start = time.Now().Add(promAhead - fc.Duration).Truncate(fc.ScrapeInterval)
			}
			r, err := measureCost(b, f.path, fc, history)
			if err != nil {
				b.Fatalf("%s: %v", f.name, err)
			}
			results[f.name] = r
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nsynthetic cluster: %d apiservers × %d resources, %d series at %s scrape; %s of history (raw series loaded as far back as read:",
		c.Instances, c.Resources, n, c.ScrapeInterval, model.Duration(history))
	for _, f := range files {
		fmt.Fprintf(&sb, " %s %s", f.name, model.Duration(spans[f.name]))
	}
	fmt.Fprint(&sb, ")\n\n")
	w := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "profile\tgroup\tinterval\tsamples / evaluation\tsamples / minute\tms\tms (Prometheus)\t")
	for _, f := range files {
		r := results[f.name]
		for _, g := range r.groups {
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%.0f\t%.1f\t%s\t\n", f.name, g.name, model.Duration(g.interval), g.samples, g.perMinute(), ms(g.time), promMs(g.promTime))
		}
		fmt.Fprintf(w, "%s\tSLO rules\t\t%d\t%.0f\t%.1f\t%s\t\n", f.name, r.slo.samples, r.slo.perMin, ms(r.slo.time), promMs(r.slo.promTime))
		fmt.Fprintf(w, "%s\tall groups\t\t%d\t%.0f\t%.1f\t%s\t\n", f.name, r.total.samples, r.total.perMin, ms(r.total.time), promMs(r.total.promTime))
	}
	w.Flush()
	peerTable(&sb, files, results)
	opt, okOpt := results[slomodel.ProfileOptimized]
	for _, other := range []string{slomodel.ProfileMixin, "pr1283"} {
		o, ok := results[other]
		if !ok || !okOpt {
			continue
		}
		fmt.Fprintf(&sb, "\noptimized / %s: all groups %.3f%% of samples per evaluation (%.3f%% per minute); SLO rules %.3f%% (%.3f%% per minute)",
			other, pct(opt.total.samples, o.total.samples), 100*opt.total.perMin/o.total.perMin,
			pct(opt.slo.samples, o.slo.samples), 100*opt.slo.perMin/o.slo.perMin)
		if other == slomodel.ProfileMixin {
			b.ReportMetric(pct(opt.total.samples, o.total.samples), "%samples-vs-mixin")
			b.ReportMetric(pct(opt.slo.samples, o.slo.samples), "%slo-samples-vs-mixin")
		}
	}
	b.Log(sb.String())
}

// peerSLIs says what each rule set's SLIs count: Pyrra's cannot hold the
// mixin's latency term (a Pyrra SLO is a ratio or one latency threshold),
// so its rules count 5xx responses only.
var peerSLIs = map[string]string{
	slomodel.ProfileOptimized: "errors + latency",
	slomodel.ProfileMixin:     "errors + latency",
	"pr1283":                  "errors + latency",
	"sloth":                   "errors + latency (one events query)",
	"pyrra":                   "errors only",
}

// peerNames are the rule sets as the peer table names them.
var peerNames = map[string]string{
	slomodel.ProfileOptimized: "burnrate (optimized)",
	slomodel.ProfileMixin:     "kubernetes-mixin aa38e2b",
	"pr1283":                  "kubernetes-mixin #1283",
	"sloth":                   "Sloth v0.16.0",
	"pyrra":                   "Pyrra v0.10.1",
}

// peerTable prints one row per rule set, as the README shows it: samples
// touched per evaluation and per minute (all groups; SLO rules, without
// the p99 record kept for dashboards, in brackets where they differ), the
// in-process evaluation time, and each figure as a multiple of burnrate's.
func peerTable(sb *strings.Builder, files []costFile, results map[string]costResult) {
	opt, ok := results[slomodel.ProfileOptimized]
	fmt.Fprint(sb, "\n\n| rule set | SLIs | samples / evaluation | samples / minute | evaluation (ms, in-process) | evaluation (ms, Prometheus) | samples / minute, × burnrate | evaluation time, × burnrate | Prometheus evaluation time, × burnrate |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, f := range files {
		r := results[f.name]
		both := func(all, slo string) string {
			if all == slo {
				return all
			}
			return all + " (SLO rules " + slo + ")"
		}
		ratio := func(a, b float64) string {
			if !ok || b == 0 {
				return ""
			}
			if a/b >= 10 {
				return thousands(int64(math.Round(a/b))) + "×"
			}
			return fmt.Sprintf("%.2g×", a/b)
		}
		name := peerNames[f.name]
		if name == "" {
			name = f.name
		}
		promRatio := ""
		if r.total.promTime > 0 && opt.total.promTime > 0 {
			promRatio = ratio(ms(r.total.promTime), ms(opt.total.promTime))
		}
		fmt.Fprintf(sb, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, peerSLIs[f.name],
			both(thousands(r.total.samples), thousands(r.slo.samples)),
			both(thousands(int64(math.Round(r.total.perMin))), thousands(int64(math.Round(r.slo.perMin)))),
			thousands(int64(math.Round(ms(r.total.time)))), promMsRounded(r.total.promTime),
			ratio(r.total.perMin, opt.total.perMin), ratio(ms(r.total.time), ms(opt.total.time)), promRatio)
	}
}

// thousands prints n with a comma between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// peerRules renders a peer's rules for the kube-apiserver's read and write
// SLOs (testdata/peers) with the peer's own code.
func peerRules(b *testing.B, dir, peer string) string {
	b.Helper()
	specs := filepath.Join("testdata", "peers")
	var path string
	var err error
	switch peer {
	case "sloth":
		path, err = peers.Sloth(dir, filepath.Join(specs, "kube-apiserver.sloth.yaml"))
	case "pyrra":
		path, err = peers.Pyrra(dir, filepath.Join(specs, "apiserver-read.pyrra.yaml"), filepath.Join(specs, "apiserver-write.pyrra.yaml"))
	}
	if err != nil {
		b.Fatalf("%s: %v", peer, err)
	}
	return path
}

var (
	costSize      = flag.String("cost.size", "small", "BenchmarkRuleCost cluster size: small (5 resources) or full (40)")
	costResources = flag.Int("cost.resources", 0, "BenchmarkRuleCost: resources per apiserver, instead of the size's")
	costHistory   = model.Duration(30 * 24 * time.Hour)
	costProm      = flag.Bool("cost.prometheus", false, "BenchmarkRuleCost: also run each rule set in a real Prometheus on the same data and report prometheus_rule_group_last_duration_seconds (adds about 6 minutes per rule set)")
	costProfiles  = flag.String("cost.profiles", slomodel.ProfileOptimized+","+slomodel.ProfileMixin, "BenchmarkRuleCost: comma-separated rule sets to measure (optimized, kubernetes-mixin, pr1283, sloth, pyrra)")
)

func init() {
	flag.Var(&costHistory, "cost.history", "BenchmarkRuleCost: how much history Prometheus holds (1h, 3d, 30d)")
}

type costFile struct{ name, path string }

// costCluster is the benchmark's synthetic cluster: 3 apiservers × the
// resources × 9 verb/scope classes with the 22-bucket SLI histogram, at a
// 30s scrape, span long.
func costCluster(size string, resources int, span time.Duration) synth.Cluster {
	c := synth.Cluster{
		Instances:      3,
		Resources:      40,
		Verbs:          []string{"LIST", "GET", "WATCH", "POST", "PUT", "PATCH", "DELETE", "APPLY"},
		Scopes:         []string{"resource", "namespace", "cluster"},
		Subresources:   []string{"", "status"},
		ScrapeInterval: 30 * time.Second,
		Duration:       span,
	}
	if size != "full" {
		c.Resources = 5
	}
	if resources > 0 {
		c.Resources = resources
	}
	return c
}

type costLine struct {
	name     string
	interval time.Duration
	samples  int64
	perMin   float64
	time     time.Duration
	// promTime is the evaluation time a real Prometheus reported
	// (-cost.prometheus), 0 when not measured.
	promTime time.Duration
}

// perMinute is samples times evaluations per minute.
func (l costLine) perMinute() float64 {
	return float64(l.samples) * float64(time.Minute) / float64(l.interval)
}

type costResult struct {
	groups     []costLine
	slo, total costLine
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pct(a, b int64) float64 { return 100 * float64(a) / float64(b) }

func writeRules(tb testing.TB, dir, profile string) string {
	tb.Helper()
	f, err := Rules(slo.Default(), profile)
	if err != nil {
		tb.Fatal(err)
	}
	data, err := encode.RuleFile(f, "cost benchmark")
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, profile+".rules.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// costQueryTimeout is the engine's per-query timeout in the measured
// evaluation: the mixin's 3d rates over the full cluster exceed synth's
// default minute on a loaded machine.
const costQueryTimeout = 15 * time.Minute

// histogramGroup tells the per-resource p99 group (kept for dashboards,
// which must read every bucket) from the SLO rules.
func histogramGroup(name string) bool { return strings.Contains(name, "histogram") }

// measureCost loads the cluster, synthesises the history of the recorded
// series rules read back in time, and evaluates the whole rule file once at
// the end.
func measureCost(tb testing.TB, ruleFile string, c synth.Cluster, history time.Duration) (costResult, error) {
	ctx := context.Background()
	recs, intervals, err := historyRecords(ruleFile)
	if err != nil {
		return costResult{}, err
	}
	past, err := recordedSeries(ctx, ruleFile, c, recs)
	if err != nil {
		return costResult{}, err
	}
	db, ls, err := synth.OpenLoaded(ctx, c)
	if err != nil {
		return costResult{}, err
	}
	defer db.Close()
	end := time.UnixMilli(ls.MaxTime)
	if _, err := synth.Load(ctx, pastSamples{past, end, history}, db); err != nil {
		return costResult{}, fmt.Errorf("synthesising the recorded history: %w", err)
	}
	tr, err := synth.EvaluateStorage(ctx, ruleFile, db, synth.EvalOptions{Start: end, End: end, DiscardSteps: true, Timeout: costQueryTimeout})
	if err != nil {
		return costResult{}, err
	}
	var real map[string]time.Duration
	if *costProm {
		if real, err = db.PrometheusEvalTimes(ctx, ruleFile, tb.TempDir(), time.Hour, promAhead-5*time.Minute); err != nil {
			return costResult{}, err
		}
	}
	var r costResult
	for _, g := range tr.Stats.Groups {
		line := costLine{name: g.Name, interval: intervals[g.Name], samples: g.TotalSamples, time: g.EvalTime, promTime: real[g.Name]}
		line.perMin = line.perMinute()
		r.groups = append(r.groups, line)
		for _, sum := range []*costLine{&r.total, &r.slo} {
			if sum == &r.slo && histogramGroup(g.Name) {
				continue
			}
			sum.samples += line.samples
			sum.perMin += line.perMin
			sum.time += line.time
			sum.promTime += line.promTime
		}
	}
	return r, nil
}

// historyRecord is a recorded series some rule reads back in time: recorded
// every interval, read as far back as reach.
type historyRecord struct {
	interval, reach time.Duration
}

// lookback is Prometheus' default lookback delta: an instant read at t
// (offset o) reads back to t-o-5m.
const lookback = 5 * time.Minute

// historyRecords lists the records of the rule file that some rule reads
// over a range or at an offset, with their group's interval (the global
// default, 1m, where the group sets none) and how far back they are read,
// and the interval of every group.
func historyRecords(ruleFile string) (map[string]historyRecord, map[string]time.Duration, error) {
	rgs, err := parseRules(ruleFile)
	if err != nil {
		return nil, nil, err
	}
	intervals := map[string]time.Duration{}
	recorded := map[string]time.Duration{}
	for _, g := range rgs.Groups {
		iv := time.Duration(g.Interval)
		if iv == 0 {
			iv = time.Minute
		}
		intervals[g.Name] = iv
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = iv
			}
		}
	}
	out := map[string]historyRecord{}
	err = eachRead(rgs, func(metric string, back time.Duration, ranged bool) {
		iv, ok := recorded[metric]
		if !ok || (!ranged && back == lookback) {
			return
		}
		h := out[metric]
		out[metric] = historyRecord{interval: iv, reach: max(h.reach, back)}
	})
	return out, intervals, err
}

// rawReach is how far back the rules of the file read the series they do
// not record.
func rawReach(ruleFile string) (time.Duration, error) {
	rgs, err := parseRules(ruleFile)
	if err != nil {
		return 0, err
	}
	recorded := map[string]bool{}
	for _, g := range rgs.Groups {
		for _, r := range g.Rules {
			recorded[r.Record] = true
		}
	}
	var reach time.Duration
	err = eachRead(rgs, func(metric string, back time.Duration, _ bool) {
		if !recorded[metric] {
			reach = max(reach, back)
		}
	})
	return reach, err
}

func parseRules(ruleFile string) (*rulefmt.RuleGroups, error) {
	rgs, errs := rulefmt.ParseFile(ruleFile, false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger())
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return rgs, nil
}

// eachRead calls fn for every series selector of every rule with how far
// back it reads: range plus offset for a range, offset plus the lookback
// delta for an instant read.
func eachRead(rgs *rulefmt.RuleGroups, fn func(metric string, back time.Duration, ranged bool)) error {
	p := parser.NewParser(parser.Options{})
	for _, g := range rgs.Groups {
		for _, r := range g.Rules {
			e, err := p.ParseExpr(r.Expr)
			if err != nil {
				return err
			}
			inRange := map[*parser.VectorSelector]time.Duration{}
			parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
				switch n := n.(type) {
				case *parser.MatrixSelector:
					inRange[n.VectorSelector.(*parser.VectorSelector)] = n.Range
				case *parser.VectorSelector:
					if d, ok := inRange[n]; ok {
						fn(n.Name, d+n.OriginalOffset, true)
					} else {
						fn(n.Name, n.OriginalOffset+lookback, false)
					}
				}
				return nil
			})
		}
	}
	return nil
}

// pastSeries is one recorded series to synthesise: its labels, the value of
// its every sample, its interval and reach.
type pastSeries struct {
	lset  labels.Labels
	value float64
	historyRecord
}

// recordedSeries evaluates the rule file once on the last ten minutes of
// the cluster and returns the series of the history records, with their
// values: the label sets the rules record on this cluster.
func recordedSeries(ctx context.Context, ruleFile string, c synth.Cluster, recs map[string]historyRecord) ([]pastSeries, error) {
	c.Duration = 10 * time.Minute
	db, _, err := synth.OpenLoaded(ctx, c)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	end := c.End()
	if _, err := synth.EvaluateStorage(ctx, ruleFile, db, synth.EvalOptions{Start: end, End: end, DiscardSteps: true}); err != nil {
		return nil, err
	}
	q, err := db.Querier(end.UnixMilli(), end.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer q.Close()
	var out []pastSeries
	names := slices.Sorted(maps.Keys(recs))
	for _, name := range names {
		ss := q.Select(ctx, true, nil, labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, name))
		for ss.Next() {
			it := ss.At().Iterator(nil)
			v := 0.0
			for it.Next() == chunkenc.ValFloat {
				_, v = it.At()
			}
			out = append(out, pastSeries{ss.At().Labels(), v, recs[name]})
		}
		if err := ss.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pastSamples are the samples of the history records before end: every
// interval back from end (as the group would have recorded them, so that
// offsets of whole intervals land on samples), as far back as the record
// is read and at most history.
type pastSamples struct {
	series  []pastSeries
	end     time.Time
	history time.Duration
}

func (p pastSamples) Each(fn func(labels.Labels, int64, float64) error) error {
	for _, s := range p.series {
		back := min(p.history, s.reach+s.interval)
		for t := p.end.Add(-back / s.interval * s.interval); t.Before(p.end); t = t.Add(s.interval) {
			if err := fn(s.lset, t.UnixMilli(), s.value); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestHistoryRecords checks the selection of the records to synthesise:
// the mixin's hourly increases its 30-day records average, and the
// optimized profile's base records read over 30m and 1h and stages read at
// offsets; the burn rates, read only at the instant, need no history.
func TestHistoryRecords(t *testing.T) {
	dir := t.TempDir()
	m, err := slomodel.New(slo.Default(), slomodel.ProfileOptimized)
	if err != nil {
		t.Fatal(err)
	}
	const h, d = time.Hour, 24 * time.Hour
	tests := []struct {
		profile string
		want    map[string]historyRecord
		raw     time.Duration
	}{
		{slomodel.ProfileMixin, map[string]historyRecord{
			"code_verb:apiserver_request_total:increase1h":                                   {3 * time.Minute, 30 * d},
			"cluster_verb_scope_le:apiserver_request_sli_duration_seconds_bucket:increase1h": {3 * time.Minute, 30 * d},
		}, 3 * d},
		{slomodel.ProfileOptimized, map[string]historyRecord{
			m.BadRecord:                 {time.Minute, h},
			m.EventsRecord:              {time.Minute, h},
			m.SumRecord(m.BadRecord, h): {time.Minute, h + lookback}, m.SumRecord(m.EventsRecord, h): {time.Minute, h + lookback},
			m.SumRecord(m.BadRecord, 2*h): {time.Minute, 4*h + lookback}, m.SumRecord(m.EventsRecord, 2*h): {time.Minute, 4*h + lookback},
			m.SumRecord(m.BadRecord, 6*h): {time.Minute, 18*h + lookback}, m.SumRecord(m.EventsRecord, 6*h): {time.Minute, 18*h + lookback},
			m.SumRecord(m.BadRecord, d): {time.Minute, 2*d + lookback}, m.SumRecord(m.EventsRecord, d): {time.Minute, 2*d + lookback},
			m.SumRecord(m.BadRecord, 3*d): {time.Minute, 27*d + lookback}, m.SumRecord(m.EventsRecord, 3*d): {time.Minute, 27*d + lookback},
		}, 5 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.profile, func(t *testing.T) {
			path := writeRules(t, dir, tc.profile)
			got, _, err := historyRecords(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(historyRecord{})); diff != "" {
				t.Errorf("history records (-want +got):\n%s", diff)
			}
			raw, err := rawReach(path)
			if err != nil {
				t.Fatal(err)
			}
			if raw != tc.raw {
				t.Errorf("raw series read back %v, want %v", raw, tc.raw)
			}
		})
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 73108933: "73,108,933", -1234: "-1,234"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// promAhead is how far past the clock the data of a -cost.prometheus run
// reaches: longer than loading it, the in-process evaluation and the real
// Prometheus' start and first evaluation of a 5m group take together.
const promAhead = 30 * time.Minute

// promMsRounded is promMs in whole milliseconds, as the peer table prints
// the in-process times.
func promMsRounded(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return thousands(int64(math.Round(ms(d))))
}

// promMs prints a real Prometheus' evaluation time in milliseconds, or
// nothing when it was not measured.
func promMs(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return fmt.Sprintf("%.1f", ms(d))
}
