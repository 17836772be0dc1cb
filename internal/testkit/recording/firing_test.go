package recording_test

// When the burn-rate alerts fire on a real fault: the lab's long
// recordings (lab/recordings/long, a fault of 30 minutes and a recovery
// long enough for the alerts to resolve) with made-up healthy history
// before them (StitchHistory), replayed through burnrate's rules and the
// kubernetes-mixin's, in process (synth.Evaluate, as promtool evaluates).

import (
	"context"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/burnrate/burnrate/internal/testkit/recording"
	"github.com/burnrate/burnrate/internal/testkit/reference"
	"github.com/burnrate/burnrate/internal/testkit/synth"
)

// seriesSource feeds recorded (and stitched) series to synth.Evaluate.
type seriesSource []recording.Series

func (ss seriesSource) Each(fn func(labels.Labels, int64, float64) error) error {
	p := parser.NewParser(parser.Options{})
	for _, s := range ss {
		ls, err := p.ParseMetric(s.Metric)
		if err != nil {
			return fmt.Errorf("%s: %w", s.Metric, err)
		}
		for _, x := range s.Samples {
			if err := fn(ls, x.T, x.V); err != nil {
				return err
			}
		}
	}
	return nil
}

// pairFiring is what one alert pair (long/short window, verb) did in a
// replay: minutes from the fault's start to its first firing step, and
// from the recovery's start to the first step after that at which it no
// longer fires; NaN when it never fired, or never resolved before the
// recording's end. Early counts firing steps before the fault.
type pairFiring struct {
	Fires, Resolves float64
	Early           int
}

// replayFiring evaluates ruleFile over ss every minute from from to the
// recording's end, and the rules of historyRules from histStart up to
// from (none when histStart is from), and returns, per alert pair of KubeAPIErrorBudgetBurn
// ("1h/5m write"), when it fired and resolved.
func replayFiring(t *testing.T, rec recording.Recording, ss []recording.Series, ruleFile string, histStart, from time.Time) (map[string]pairFiring, *synth.Trace) {
	t.Helper()
	began := time.Now()
	ctx := context.Background()
	db, _, err := synth.OpenLoaded(ctx, seriesSource(ss))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if histStart.Before(from) {
		hist := historyRules(t, ruleFile)
		if _, err := synth.EvaluateStorage(ctx, hist, db, synth.EvalOptions{
			Start: histStart, End: from.Add(-time.Minute), Interval: time.Minute, DiscardSteps: true,
		}); err != nil {
			t.Fatalf("%s, history: %v", ruleFile, err)
		}
	}
	tr, err := synth.EvaluateStorage(ctx, ruleFile, db, synth.EvalOptions{
		Start: from, End: rec.End, Interval: time.Minute,
	})
	if err != nil {
		t.Fatalf("%s: %v", ruleFile, err)
	}
	t.Logf("%s: history from %s, then %d steps, evaluated in %s", filepath.Base(ruleFile), histStart.Format(time.RFC3339), len(tr.Steps), time.Since(began).Round(time.Millisecond))
	pair := func(ls labels.Labels) string {
		return ls.Get("long") + "/" + ls.Get("short") + " " + ls.Get("verb")
	}
	firing, err := synth.Firing(tr, "KubeAPIErrorBudgetBurn", pair)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]pairFiring{}
	for k, f := range firing {
		pf := pairFiring{Fires: math.NaN(), Resolves: math.NaN()}
		for i, on := range f {
			ts := tr.Steps[i].Time
			switch {
			case on && ts.Before(rec.Fault):
				pf.Early++
			case on && math.IsNaN(pf.Fires):
				pf.Fires = ts.Sub(rec.Fault).Minutes()
			case !on && !math.IsNaN(pf.Fires) && math.IsNaN(pf.Resolves) && !ts.Before(rec.Recovery):
				pf.Resolves = ts.Sub(rec.Recovery).Minutes()
			}
		}
		out[k] = pf
	}
	return out, tr
}

// historyRules writes, to a file of the test's, the recording rules of
// ruleFile that history needs and that are cheap over three days: every
// recording rule except those that read a raw series (a name without a
// colon) over a range longer than 5m, which read the samples when they
// run; no alerting rule. Burnrate's long windows are sums of its 5m
// records and the mixin at #1283 averages its 5m records over 1d and 3d:
// those records must exist back to the start of the windows.
func historyRules(t *testing.T, ruleFile string) string {
	t.Helper()
	rgs, errs := rulefmt.ParseFile(ruleFile, false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger())
	if len(errs) > 0 {
		t.Fatalf("%s: %v", ruleFile, errs)
	}
	type rule struct {
		Record string            `yaml:"record"`
		Expr   string            `yaml:"expr"`
		Labels map[string]string `yaml:"labels,omitempty"`
	}
	type group struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	}
	var out struct {
		Groups []group `yaml:"groups"`
	}
	p := parser.NewParser(parser.Options{})
	for _, g := range rgs.Groups {
		ng := group{Name: g.Name}
		for _, r := range g.Rules {
			if r.Record == "" {
				continue
			}
			e, err := p.ParseExpr(r.Expr)
			if err != nil {
				t.Fatalf("%s: %s: %v", ruleFile, r.Record, err)
			}
			raw := false
			parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
				if m, ok := n.(*parser.MatrixSelector); ok && m.Range > 5*time.Minute {
					if vs, ok := m.VectorSelector.(*parser.VectorSelector); ok && !strings.Contains(vs.Name, ":") {
						raw = true
					}
				}
				return nil
			})
			if !raw {
				ng.Rules = append(ng.Rules, rule{r.Record, r.Expr, r.Labels})
			}
		}
		if len(ng.Rules) > 0 {
			out.Groups = append(out.Groups, ng)
		}
	}
	b, err := yaml.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "history.rules.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// longRecording returns the long recording name, skipping the test when
// it is not there.
func longRecording(t *testing.T, name string) recording.Recording {
	t.Helper()
	recs, err := recording.Recordings(recording.LongRecordingsDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no long recording %s in %s", name, recording.LongRecordingsDir())
	return recording.Recording{}
}

// rulesFile is burnrate's generated rule file of the optimized profile.
func rulesFile() string {
	return filepath.Join(recording.RecordingsDir(), "..", "..", "rules", "kube-apiserver.rules.yaml")
}

// tolerance is how far, in minutes, a firing or resolution time may move.
// The replay is deterministic (fixed samples, steps and engine): the
// margin is for changes of the generated rules or of Prometheus's engine
// that move a crossing by one evaluation, not for noise.
const tolerance = 2.0

// near tells whether got is within tolerance of want, or both are NaN
// (never).
func near(got, want float64) bool {
	if math.IsNaN(got) || math.IsNaN(want) {
		return math.IsNaN(got) && math.IsNaN(want)
	}
	return math.Abs(got-want) <= tolerance
}

func fmtMinutes(m float64) string {
	if math.IsNaN(m) {
		return "-"
	}
	return fmt.Sprintf("%.0f", m)
}

// firingWant is when a pair should fire, in minutes from the fault's
// start, and resolve, in minutes from the recovery's; NaN: never.
type firingWant struct{ fires, resolves float64 }

// ruleSets are the rule files the long recordings are replayed through:
// burnrate's optimized profile and the kubernetes-mixin at aa38e2b and at
// #1283 (../shared/reference). Burnrate's rules alert per SLI (verb); the
// mixin's on the sum of the read and write burn rates (no verb label), so
// a pair is "1h/5m write" for burnrate and "1h/5m " for the mixin.
//
// recorded are the SLIs whose burn the rule set records at every step. The
// mixin's write burn adds the rate of write 5xx responses to that of slow
// writes, and the sum of rates of no series is empty: until the apiserver
// has answered one write with a 5xx, the mixin records no write burn, and
// its alert sees only the read burn (seen on healthy-long).
var ruleSets = []struct {
	name, file string
	recorded   []string
}{
	{"optimized", "", []string{"read", "write"}},
	{"mixin aa38e2b", "apiserver-slo-rules.aa38e2b.yaml", []string{"read"}},
	{"mixin #1283", "apiserver-slo-rules.pr1283.yaml", []string{"read"}},
}

// TestLongFaultFiring replays each long recording through each rule set
// and checks which pairs of KubeAPIErrorBudgetBurn fire, minutes from the
// fault's start to firing and from the recovery's start to resolution;
// no pair may fire before the fault, and none on the healthy recording.
// The fault recordings get three days of history stitched from their own
// healthy phase before them (StitchHistory: made up, not measured);
// healthy-long, which begins with the apiserver's start-up, is replayed
// as recorded, as a new cluster's Prometheus would see it.
func TestLongFaultFiring(t *testing.T) {
	if testing.Short() {
		t.Skip("replays hours of real faults after three days of stitched history through three rule sets")
	}
	type want = firingWant
	never := math.NaN()
	for _, rc := range []struct {
		name    string
		history bool
		want    map[string]map[string]want // rule set, pair
	}{
		// Every CREATE and UPDATE of configmaps gets 500 from a fail-closed
		// webhook for 30 minutes, then 35 minutes of recovery.
		{"webhook-500-long", true, map[string]map[string]want{
			"optimized":     {"1h/5m write": {16, 5}, "6h/30m write": {46, 30}},
			"mixin aa38e2b": {"1h/5m ": {14, 5}, "6h/30m ": {44, 28}},
			// #1283's 1d and 3d windows average its 5m records; its record
			// of bad writes is absent until the first write 5xx series
			// exists (at the fault), so the 1d window averages the fault
			// alone and the 1d/2h pair fires once its `for: 1h` has run, at
			// the recording's last step, and never resolves in it.
			"mixin #1283": {"1h/5m ": {14, 5}, "6h/30m ": {44, 28}, "1d/2h ": {65, never}},
		}},
		// The aggregated API's backend hangs for 30 minutes: its OpenAPI
		// and discovery requests fail, about 5 % of reads; nothing fires.
		{"aggregated-hang-long", true, nil},
		// The same hang for 40 minutes on a quiet cluster (2 requests a
		// second besides the aggregated API's clients): the read SLI burns
		// 23.7x, and 1h/5m fires a minute into the recovery, its 5m window
		// still over 14.4x.
		{"aggregated-hang-quiet-long", true, map[string]map[string]want{
			"optimized":     {"1h/5m read": {41, 3}},
			"mixin aa38e2b": {"1h/5m ": {39, 3}},
			"mixin #1283":   {"1h/5m ": {39, 3}},
		}},
		// etcd answers 1 s late for 30 minutes: every write is slow (100x)
		// and a third of reads (34x). The mixin records no write burn (no
		// write 5xx series exists), so its alert fires on the read burn
		// alone, 14 minutes after burnrate's write pair, and its 6h/30m
		// never.
		{"etcd-slower-long", true, map[string]map[string]want{
			"optimized":     {"1h/5m write": {13, 4}, "6h/30m write": {38, 30}, "1h/5m read": {29, 3}},
			"mixin aa38e2b": {"1h/5m ": {27, 3}},
			"mixin #1283":   {"1h/5m ": {27, 3}},
		}},
		// An hour of healthy traffic from the apiserver's start, in a
		// Prometheus that starts with it: nothing fires.
		{"healthy-long", false, nil},
	} {
		t.Run(rc.name, func(t *testing.T) {
			rec := longRecording(t, rc.name)
			ss, err := rec.Series()
			if err != nil {
				t.Fatal(err)
			}
			// The records long windows read are evaluated from the start of
			// the history (historyRules); every rule from 30 minutes before
			// the recording, so that an alert firing on the stitched history
			// would show.
			from := rec.Healthy.Truncate(time.Minute).Add(-30 * time.Minute)
			histStart := from
			if rc.history {
				// Three days: the longest window of the rules (3d) reads only
				// stitched and recorded samples.
				const span = 72*time.Hour + 10*time.Minute
				if ss, err = recording.StitchHistory(rec, ss, span, time.Minute); err != nil {
					t.Fatal(err)
				}
				histStart = rec.Healthy.Add(-72 * time.Hour).Truncate(time.Minute).Add(time.Minute)
			}
			for _, rs := range ruleSets {
				t.Run(strings.ReplaceAll(rs.name, " ", "_"), func(t *testing.T) {
					file := rulesFile()
					if rs.file != "" {
						file = reference.File(t, rs.file)
					}
					got, tr := replayFiring(t, rec, ss, file, histStart, from)
					logBurn(t, rec, tr)
					checkBurnRecorded(t, rec, tr, rs.recorded)
					checkFiring(t, got, rc.want[rs.name])
				})
			}
		})
	}
}

// logBurn logs the read and write burn (factor of the 1 % budget) per
// window at some minutes after the fault's start, for the README's table.
func logBurn(t *testing.T, rec recording.Recording, tr *synth.Trace) {
	t.Helper()
	for _, st := range tr.Steps {
		m := math.Round(st.Time.Sub(rec.Fault).Minutes())
		if !slices.Contains([]float64{-60, -30, 0, 10, 12, 14, 16, 20, 25, 29, 30, 31, 35, 40, 44, 46, 55, 58, 60, 65}, m) {
			continue
		}
		for _, verb := range []string{"read", "write"} {
			var b strings.Builder
			for _, w := range []string{"5m", "30m", "1h", "2h", "6h", "1d", "3d"} {
				v, _ := st.Record("apiserver_request:burnrate"+w, "cluster", rec.Name, "verb", verb)
				fmt.Fprintf(&b, " %s %.3g", w, v*100)
			}
			t.Logf("fault%+.0fm %s burn:%s", m, verb, b.String())
		}
	}
}

// checkBurnRecorded fails the test unless the rule set recorded the burn
// of each SLI of recorded over 5m and 1h at every step from ten minutes
// into the recording (an alert that never fires because its rules read
// nothing proves nothing), and logs the highest burn of each SLI and the
// steps without one.
func checkBurnRecorded(t *testing.T, rec recording.Recording, tr *synth.Trace, recorded []string) {
	t.Helper()
	for _, verb := range []string{"read", "write"} {
		for _, w := range []string{"5m", "1h"} {
			top, missing := 0.0, 0
			for _, st := range tr.Steps {
				if st.Time.Before(rec.Healthy.Add(10 * time.Minute)) {
					continue
				}
				v, ok := st.Record("apiserver_request:burnrate"+w, "cluster", rec.Name, "verb", verb)
				if !ok {
					missing++
					continue
				}
				top = max(top, v*100)
			}
			t.Logf("%s burn over %s: at most %.3gx; not recorded at %d steps", verb, w, top, missing)
			if missing > 0 && slices.Contains(recorded, verb) {
				t.Errorf("no %s burn over %s recorded at %d steps", verb, w, missing)
			}
		}
	}
}

// checkFiring compares what each pair did with what it should: a pair
// absent from want must never fire.
func checkFiring(t *testing.T, got map[string]pairFiring, want map[string]firingWant) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(got)) {
		g := got[k]
		t.Logf("%s: fires %s min after the fault's start, resolves %s min after the recovery's; %d firing steps before the fault", k, fmtMinutes(g.Fires), fmtMinutes(g.Resolves), g.Early)
		if g.Early > 0 {
			t.Errorf("%s fires at %d steps before the fault", k, g.Early)
		}
		w, ok := want[k]
		if !ok {
			if !math.IsNaN(g.Fires) || g.Early > 0 {
				t.Errorf("%s fires; want it never to", k)
			}
			continue
		}
		if !near(g.Fires, w.fires) || !near(g.Resolves, w.resolves) {
			t.Errorf("%s fires after %s min and resolves %s min into the recovery; want %s and %s (± %.0f min)", k, fmtMinutes(g.Fires), fmtMinutes(g.Resolves), fmtMinutes(w.fires), fmtMinutes(w.resolves), tolerance)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if _, ok := got[k]; !ok {
			t.Errorf("%s never fires; want it to after %s min", k, fmtMinutes(want[k].fires))
		}
	}
}
