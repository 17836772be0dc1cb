package rulegen

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/internal/testkit/synth"
	"github.com/burnrate/burnrate/slo"
)

func TestDecompose(t *testing.T) {
	const h, d = time.Hour, 24 * time.Hour
	embedded := []time.Duration{h, 2 * h, 6 * h, d, 3 * d}
	tests := []struct {
		name   string
		w      time.Duration
		stages []time.Duration
		want   []piece
	}{
		{"shorter than every stage: read directly", 30 * time.Minute, embedded, []piece{{span: 30 * time.Minute}}},
		{"a stage itself", 6 * h, embedded, []piece{{stage: 6 * h}}},
		{"one hour from the base record", h, nil, []piece{{span: h}}},
		{"2h from 1h", 2 * h, []time.Duration{h}, []piece{{stage: h}, {stage: h, offset: h}}},
		{"1d from 6h", d, embedded[:3], []piece{{stage: 6 * h}, {stage: 6 * h, offset: 6 * h}, {stage: 6 * h, offset: 12 * h}, {stage: 6 * h, offset: 18 * h}}},
		{"30d from 3d", 30 * d, embedded, []piece{
			{stage: 3 * d}, {stage: 3 * d, offset: 3 * d}, {stage: 3 * d, offset: 6 * d}, {stage: 3 * d, offset: 9 * d}, {stage: 3 * d, offset: 12 * d},
			{stage: 3 * d, offset: 15 * d}, {stage: 3 * d, offset: 18 * d}, {stage: 3 * d, offset: 21 * d}, {stage: 3 * d, offset: 24 * d}, {stage: 3 * d, offset: 27 * d}}},
		{"mixed stages, longest newest", 26 * h, []time.Duration{h, d}, []piece{{stage: d}, {stage: h, offset: d}, {stage: h, offset: 25 * h}}},
		{"a remainder no stage covers, read directly, oldest", 90 * time.Minute, []time.Duration{h}, []piece{{stage: h}, {span: 30 * time.Minute, offset: h}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := decompose(tc.w, tc.stages)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(piece{})); diff != "" {
				t.Errorf("decompose(%v) (-want +got):\n%s", tc.w, diff)
			}
		})
	}
}

func TestStagePlan(t *testing.T) {
	const h, d = time.Hour, 24 * time.Hour
	tests := []struct {
		name   string
		edit   func(*slo.Spec)
		burn   []time.Duration
		period time.Duration
	}{
		{"embedded spec", func(*slo.Spec) {}, []time.Duration{h, 2 * h, 6 * h, d, 3 * d}, 30 * d},
		{"short windows only: helpers 1h and 1d for the period", func(s *slo.Spec) {
			s.Alert.Windows = []slo.Window{{Long: slo.Duration(30 * time.Minute), Short: slo.Duration(5 * time.Minute), Factor: 14.4, Severity: "critical"}}
		}, []time.Duration{h, d}, 30 * d},
		{"a window as long as the period: recorded in the burn-rate group", func(s *slo.Spec) {
			s.Period = slo.Duration(7 * d)
			s.Alert.Windows = []slo.Window{{Long: slo.Duration(7 * d), Short: slo.Duration(6 * h), Factor: 1, Severity: "warning"}}
		}, []time.Duration{h, 6 * h, 7 * d}, 0}, // 7d = 28 × 6h: 55 points, within the bound
		{"a year: helpers 1h, 1d, 7d and 28d", func(s *slo.Spec) {
			s.Period = slo.Duration(365 * d)
		}, []time.Duration{h, 2 * h, 6 * h, d, 3 * d, 7 * d, 28 * d}, 365 * d},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := slo.Default()
			tc.edit(s)
			m, err := slomodel.New(s, slomodel.ProfileOptimized)
			if err != nil {
				t.Fatal(err)
			}
			p := optimized{m}.stagePlan()
			if !slices.Equal(p.burn, tc.burn) || p.period != tc.period {
				t.Errorf("stagePlan() = %v, period %v; want %v, period %v", p.burn, p.period, tc.burn, tc.period)
			}
		})
	}
}

// baseHistory is a history of the base records of two SLIs in two clusters,
// synthesised at the burn-rate group's own resolution: cluster c2 starts
// late (less history than the long windows), bad events come in bursts.
type baseHistory struct {
	start    time.Time
	interval time.Duration
	steps    int
	series   []baseSeries
}

type baseSeries struct {
	cluster, verb string
	from          int       // first step with a sample
	bad, events   []float64 // per step from 0; zero before from
}

func newBaseHistory(interval time.Duration, steps int) baseHistory {
	h := baseHistory{start: time.Unix(1_767_225_600, 0).UTC(), interval: interval, steps: steps}
	for si, s := range []struct {
		cluster, verb string
		from          int
	}{{"c1", "read", 0}, {"c1", "write", 0}, {"c2", "read", steps / 3}} {
		bs := baseSeries{cluster: s.cluster, verb: s.verb, from: s.from, bad: make([]float64, steps), events: make([]float64, steps)}
		for i := s.from; i < steps; i++ {
			ev := 100 + 40*math.Sin(float64(i)/97+float64(si)) + float64(i%13)
			ratio := 0.001 * float64(1+si)
			if (i/211)%7 == 3 { // a burst every 7×211 steps
				ratio = 0.2
			}
			bs.events[i], bs.bad[i] = ev, ev*ratio
		}
		h.series = append(h.series, bs)
	}
	return h
}

// Each writes the base records' samples.
func (h baseHistory) Each(fn func(labels.Labels, int64, float64) error) error {
	m := optimizedModel()
	for _, s := range h.series {
		for _, rec := range []struct {
			name string
			v    []float64
		}{{m.BadRecord, s.bad}, {m.EventsRecord, s.events}} {
			ls := labels.FromStrings(labels.MetricName, rec.name, m.ClusterLabel, s.cluster, m.SLILabel, s.verb)
			for i := s.from; i < h.steps; i++ {
				if err := fn(ls, h.start.Add(time.Duration(i)*h.interval).UnixMilli(), rec.v[i]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// sum adds v over the n steps ending at step i (fewer at the start).
func sum(v []float64, i, n int) float64 {
	var out float64
	for j := max(0, i-n+1); j <= i; j++ {
		out += v[j]
	}
	return out
}

func optimizedModel() *slomodel.Model {
	m, err := slomodel.New(slo.Default(), slomodel.ProfileOptimized)
	if err != nil {
		panic(err)
	}
	return m
}

// stagedRulesFile writes the optimized profile's rules without those that
// read raw series (the base records, the request rates, the histogram
// group) and without alerts: the rules that read the base records' history.
func stagedRulesFile(t *testing.T) string {
	t.Helper()
	m := optimizedModel()
	groups, err := RuleGroups(m)
	if err != nil {
		t.Fatal(err)
	}
	raw := []string{m.EventsRecord, m.ErrorsRecord, m.SlowRecord, m.BadRecord, m.RequestRateRecord, m.QuantileRecord}
	var keep []rulefmt.RuleGroup
	for _, g := range groups {
		g.Rules = slices.DeleteFunc(g.Rules, func(r rulefmt.Rule) bool { return r.Alert != "" || slices.Contains(raw, r.Record) })
		if len(g.Rules) > 0 {
			keep = append(keep, g)
		}
	}
	data, err := encode.RuleFile(keep, "staged sums test")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "staged.rules.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestStagedSumsAreExact evaluates the staged burn rates and the 30-day
// availability on a synthetic history of the base records and checks every
// step against the ratio of the sums of the base samples in the window,
// added up here: the staged sums must neither lag nor lead at either edge
// of a window, and count only what exists when the history is shorter than
// the window.
func TestStagedSumsAreExact(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates days of history")
	}
	m := optimizedModel()
	const d = 24 * time.Hour
	tests := []struct {
		name     string
		interval time.Duration
		span     time.Duration
		windows  []time.Duration // checked burn-rate windows
		period   bool            // check the availability records
	}{
		// Every window at the rules' own interval over 4 days.
		{"1m steps, 4 days", time.Minute, 4 * d, durations(m.WindowsShortestFirst()), false},
		// The 30-day period (and the windows of whole hours) over 33 days at
		// hourly steps, which the same tiling holds for.
		{"1h steps, 33 days", time.Hour, 33 * d, []time.Duration{time.Hour, 2 * time.Hour, 6 * time.Hour, d, 3 * d}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newBaseHistory(tc.interval, int(tc.span/tc.interval))
			tr, err := synth.Evaluate(context.Background(), stagedRulesFile(t), h, synth.EvalOptions{Interval: tc.interval})
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.Steps) != h.steps {
				t.Fatalf("%d steps evaluated, want %d", len(tr.Steps), h.steps)
			}
			checked, failed := 0, 0
			check := func(i int, what, name string, got float64, ok bool, want float64, lbls ...string) {
				checked++
				if !ok || math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
					if failed++; failed <= 10 {
						t.Errorf("step %d (%s): %s%v = %v (present %v), want %v (%s)", i, tr.Steps[i].Time.Format(time.RFC3339), name, lbls, got, ok, want, what)
					}
				}
			}
			for i, st := range tr.Steps {
				var allBad, allEvents = map[string]float64{}, map[string]float64{}
				for _, s := range h.series {
					if i < s.from {
						continue
					}
					for _, w := range tc.windows {
						n := int(w / tc.interval)
						if w == m.BaseWindow { // the base records' own ratio
							n = 1
						}
						want := sum(s.bad, i, n) / sum(s.events, i, n)
						name := m.BurnRateRecord(slo.Duration(w))
						got, ok := st.Record(name, m.ClusterLabel, s.cluster, m.SLILabel, s.verb)
						check(i, "bad over events in the window", name, got, ok, want, s.cluster, s.verb)
					}
					if tc.period {
						n := int(time.Duration(m.Period) / tc.interval)
						b, e := sum(s.bad, i, n), sum(s.events, i, n)
						allBad[s.cluster] += b
						allEvents[s.cluster] += e
						got, ok := st.Record(m.AvailabilityRecord, m.ClusterLabel, s.cluster, m.SLILabel, s.verb)
						check(i, "1 - bad/events over the period", m.AvailabilityRecord, got, ok, 1-b/e, s.cluster, s.verb)
					}
				}
				for c := range allBad {
					got, ok := st.Record(m.AvailabilityRecord, m.ClusterLabel, c, m.SLILabel, slomodel.AllSLIs)
					check(i, "over every SLI", m.AvailabilityRecord, got, ok, 1-allBad[c]/allEvents[c], c, slomodel.AllSLIs)
				}
			}
			if failed > 0 {
				t.Errorf("%d of %d values wrong", failed, checked)
			}
			t.Logf("%d values checked over %d steps", checked, len(tr.Steps))
		})
	}
}

// TestRecordedReadsAreBounded counts, in the rule text, the recorded points
// per series each rule of the optimized profile reads (a range over a
// record: range / the recording group's interval; an instant read: 1) and
// checks that none reads more than the 1h stage's 60, whatever the windows
// and the period: the cost does not grow with window length.
func TestRecordedReadsAreBounded(t *testing.T) {
	const h, d = time.Hour, 24 * time.Hour
	tests := []struct {
		name string
		edit func(*slo.Spec)
	}{
		{"embedded spec", func(*slo.Spec) {}},
		{"windows up to 30m, 30d period", func(s *slo.Spec) {
			s.Alert.Windows = []slo.Window{{Long: slo.Duration(30 * time.Minute), Short: slo.Duration(5 * time.Minute), Factor: 14.4, Severity: "critical"}}
		}},
		{"a 7d window over a 7d period", func(s *slo.Spec) {
			s.Period = slo.Duration(7 * d)
			s.Alert.Windows = []slo.Window{{Long: slo.Duration(7 * d), Short: slo.Duration(6 * h), Factor: 1, Severity: "warning"}}
		}},
		{"a 90d window over a 365d period", func(s *slo.Spec) {
			s.Period = slo.Duration(365 * d)
			s.Alert.Windows = append(s.Alert.Windows, slo.Window{Long: slo.Duration(90 * d), Short: slo.Duration(25 * h), Factor: 1, Severity: "warning"})
		}},
	}
	p := parser.NewParser(parser.Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := slo.Default()
			tc.edit(s)
			groups, err := Rules(s, slomodel.ProfileOptimized)
			if err != nil {
				t.Fatal(err)
			}
			every := map[string]time.Duration{}
			for _, g := range groups {
				for _, r := range g.Rules {
					if r.Record != "" {
						every[r.Record] = max(time.Duration(g.Interval), time.Minute)
					}
				}
			}
			most, where := 0, ""
			for _, g := range groups {
				for _, r := range g.Rules {
					e, err := p.ParseExpr(r.Expr)
					if err != nil {
						t.Fatal(err)
					}
					n := 0
					ranged := map[*parser.VectorSelector]time.Duration{}
					parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
						switch v := node.(type) {
						case *parser.MatrixSelector:
							ranged[v.VectorSelector.(*parser.VectorSelector)] = v.Range
						case *parser.VectorSelector:
							iv, recorded := every[v.Name]
							switch rng, ok := ranged[v]; {
							case !recorded:
							case ok:
								n += int(rng / iv)
							default:
								n++
							}
						}
						return nil
					})
					if n > most {
						most, where = n, r.Record+r.Alert
					}
				}
			}
			if most > stageMaxPoints {
				t.Errorf("%s reads %d recorded points per series, want at most %d", where, most, stageMaxPoints)
			}
			t.Logf("at most %d recorded points per series (%s)", most, where)
		})
	}
}
