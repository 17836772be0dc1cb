package synth

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// sample is one generated sample.
type sample struct {
	t int64
	v float64
}

// collected holds every sample of a (small) cluster by series.
type collected struct {
	lsets   map[string]labels.Labels
	samples map[string][]sample
}

func collect(t *testing.T, c Cluster) collected {
	t.Helper()
	out := collected{lsets: map[string]labels.Labels{}, samples: map[string][]sample{}}
	err := c.Each(func(lset labels.Labels, tm int64, v float64) error {
		k := lset.String()
		if _, ok := out.lsets[k]; !ok {
			out.lsets[k] = lset
		}
		out.samples[k] = append(out.samples[k], sample{tm, v})
		return nil
	})
	if err != nil {
		t.Fatalf("Each: %v", err)
	}
	return out
}

// at returns the value of series k at time tm.
func (c collected) at(t *testing.T, k string, tm time.Time) float64 {
	t.Helper()
	ms := tm.UnixMilli()
	for _, s := range c.samples[k] {
		if s.t == ms {
			return s.v
		}
	}
	t.Fatalf("no sample of %s at %s", k, tm)
	return 0
}

// sum adds up the values at tm of the series selected by keep.
func (c collected) sum(t *testing.T, tm time.Time, keep func(labels.Labels) bool) float64 {
	t.Helper()
	total := 0.0
	for k, ls := range c.lsets {
		if keep(ls) {
			total += c.at(t, k, tm)
		}
	}
	return total
}

// increase is sum(at to) - sum(at from) over the selected series.
func (c collected) increase(t *testing.T, from, to time.Time, keep func(labels.Labels) bool) float64 {
	t.Helper()
	return c.sum(t, to, keep) - c.sum(t, from, keep)
}

// match returns a predicate selecting series by metric name and label
// values; a value ending in "xx" matches a code class.
func match(metric string, pairs ...string) func(labels.Labels) bool {
	return func(ls labels.Labels) bool {
		if ls.Get(labels.MetricName) != metric {
			return false
		}
		for i := 0; i < len(pairs); i += 2 {
			got, want := ls.Get(pairs[i]), pairs[i+1]
			if strings.HasSuffix(want, "xx") && len(got) == 3 {
				if got[0] != want[0] {
					return false
				}
			} else if got != want {
				return false
			}
		}
		return true
	}
}

func TestSeriesCount(t *testing.T) {
	tests := []struct {
		name string
		c    Cluster
		// want counts series per metric name.
		want map[string]int
	}{
		{
			name: "one GET per resource, two codes",
			c: Cluster{
				Clusters: []string{"c1", "c2"}, Instances: 2, Resources: 3,
				Verbs: []string{"GET"}, Scopes: []string{"resource"}, Subresources: []string{""},
				Codes: []string{"200", "500"},
			},
			// 2 clusters × 2 instances × 3 resources.
			want: map[string]int{MetricRequestTotal: 12 * 2, MetricSLIBucket: 12 * 22, MetricSLICount: 12, MetricSLISum: 12},
		},
		{
			name: "nine request classes per resource",
			c: Cluster{
				Instances: 3, Resources: 40,
				Verbs:        []string{"LIST", "GET", "WATCH", "POST", "PUT", "PATCH", "DELETE", "APPLY"},
				Scopes:       []string{"resource", "namespace", "cluster"},
				Subresources: []string{"", "status"},
				Codes:        []string{"200", "201"},
			},
			// 3 instances × (40 resources × 9 classes + PATCH pods/status).
			want: map[string]int{MetricRequestTotal: 3 * 361, MetricSLIBucket: 3 * 361 * 22, MetricSLICount: 3 * 361, MetricSLISum: 3 * 361},
		},
		{
			name: "non-resource requests only",
			c:    Cluster{Instances: 1, Scopes: []string{""}, Codes: []string{"200"}},
			// /healthz, /livez, /readyz.
			want: map[string]int{MetricRequestTotal: 3, MetricSLIBucket: 3 * 22, MetricSLICount: 3, MetricSLISum: 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.Duration = tt.c.WithDefaults().ScrapeInterval // two scrapes
			got := map[string]int{}
			seen := map[string]bool{}
			err := tt.c.Each(func(lset labels.Labels, _ int64, _ float64) error {
				if k := lset.String(); !seen[k] {
					seen[k] = true
					got[lset.Get(labels.MetricName)]++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for metric, n := range tt.want {
				if got[metric] != n {
					t.Errorf("%s: %d series, want %d", metric, got[metric], n)
				}
			}
			n, err := tt.c.SeriesCount()
			if err != nil {
				t.Fatal(err)
			}
			if n != len(seen) {
				t.Errorf("SeriesCount() = %d, Each emitted %d series", n, len(seen))
			}
		})
	}
}

func hashOutput(t *testing.T, c Cluster) uint64 {
	t.Helper()
	h := fnv.New64a()
	var buf []byte
	err := c.Each(func(lset labels.Labels, tm int64, v float64) error {
		buf = lset.Bytes(buf[:0])
		buf = binary.LittleEndian.AppendUint64(buf, uint64(tm))
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
		_, err := h.Write(buf)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return h.Sum64()
}

func TestDeterminism(t *testing.T) {
	c := Cluster{
		Clusters: []string{"a", "b"}, Instances: 2, Resources: 3, Duration: time.Hour, Seed: 42,
		Faults: []Fault{
			{Kind: FaultErrors, Match: Selector{Clusters: []string{"a"}}, From: 10 * time.Minute, To: 20 * time.Minute, Ratio: 0.3, Code: "503"},
			{Kind: FaultSlow, Match: Selector{Verbs: []string{"LIST"}}, From: 30 * time.Minute, Ratio: 0.2},
		},
	}
	first := hashOutput(t, c)
	if again := hashOutput(t, c); again != first {
		t.Errorf("same seed: output hash %x, then %x", first, again)
	}
	c.Seed = 43
	if other := hashOutput(t, c); other == first {
		t.Errorf("seeds 42 and 43 produced identical output")
	}
}

// endpointKey identifies the endpoint of a series.
func endpointKey(ls labels.Labels) string {
	return labels.NewBuilder(ls).Del(labels.MetricName, "code", "le", "dry_run").Labels().String()
}

func TestInvariants(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: simulates a cluster for hours; make check runs it")
	}
	for _, fractional := range []bool{false, true} {
		t.Run(fmt.Sprintf("fractional=%v", fractional), func(t *testing.T) {
			c := Cluster{
				Instances: 2, Resources: 4, Duration: 3 * time.Hour, Fractional: fractional, Seed: 7,
				Faults: []Fault{
					{Kind: FaultCounterReset, Match: Selector{Instances: []string{"10.0.0.2:6443"}}, From: time.Hour},
					{Kind: FaultErrors, Match: Selector{Verbs: []string{"GET"}}, From: 2 * time.Hour, Ratio: 0.5},
					{Kind: FaultTraffic, Match: Selector{Resources: []string{"pods"}}, From: 90 * time.Minute, To: 2 * time.Hour, Factor: 3},
				},
			}
			cc := c.WithDefaults()
			resetAt := cc.Start.Add(time.Hour).UnixMilli()
			step := cc.ScrapeInterval.Milliseconds()
			got := collect(t, c)

			// byEndpoint[endpoint][t] holds the values needed for the
			// cross-series checks.
			type point struct {
				codes, count float64
				buckets      map[string]float64
			}
			byEndpoint := map[string]map[int64]*point{}
			get := func(ls labels.Labels, tm int64) *point {
				k := endpointKey(ls)
				if byEndpoint[k] == nil {
					byEndpoint[k] = map[int64]*point{}
				}
				p := byEndpoint[k][tm]
				if p == nil {
					p = &point{buckets: map[string]float64{}}
					byEndpoint[k][tm] = p
				}
				return p
			}
			for k, samples := range got.samples {
				ls := got.lsets[k]
				metric := ls.Get(labels.MetricName)
				if len(samples) != cc.Scrapes() {
					t.Fatalf("%s: %d samples, want %d", k, len(samples), cc.Scrapes())
				}
				for i, s := range samples {
					if math.IsNaN(s.v) || math.IsInf(s.v, 0) || s.v < 0 {
						t.Fatalf("%s at %d: value %v", k, s.t, s.v)
					}
					if !fractional && metric != MetricSLISum && s.v != math.Trunc(s.v) {
						t.Fatalf("%s at %d: %v is not a whole count", k, s.t, s.v)
					}
					if i > 0 {
						if s.t-samples[i-1].t != step {
							t.Fatalf("%s: samples at %d and %d", k, samples[i-1].t, s.t)
						}
						reset := s.t == resetAt && ls.Get("instance") == "10.0.0.2:6443"
						if !reset && s.v < samples[i-1].v {
							t.Fatalf("%s: counter decreases from %v to %v at %d", k, samples[i-1].v, s.v, s.t)
						}
						if reset && s.v >= samples[i-1].v && samples[i-1].v > 0 {
							t.Errorf("%s: no counter reset at %d (%v -> %v)", k, s.t, samples[i-1].v, s.v)
						}
					}
					p := get(ls, s.t)
					switch metric {
					case MetricRequestTotal:
						p.codes += s.v
					case MetricSLICount:
						p.count = s.v
					case MetricSLIBucket:
						p.buckets[ls.Get("le")] = s.v
					}
				}
			}

			les := SLIBuckets()
			for ep, points := range byEndpoint {
				for tm, p := range points {
					prev := 0.0
					for _, le := range les {
						v, ok := p.buckets[formatLe(le, false)]
						if !ok {
							t.Fatalf("%s at %d: no bucket le=%v", ep, tm, le)
						}
						if v < prev {
							t.Fatalf("%s at %d: bucket le=%v (%v) < previous bucket (%v)", ep, tm, le, v, prev)
						}
						prev = v
					}
					if prev != p.count {
						t.Errorf("%s at %d: _count %v != +Inf bucket %v", ep, tm, p.count, prev)
					}
					if d := math.Abs(p.codes - p.count); d > 1e-9*p.count {
						t.Errorf("%s at %d: sum over codes of request_total %v != _count %v", ep, tm, p.codes, p.count)
					}
				}
			}
		})
	}
}

// flatCluster is a cluster whose counters are straight lines between faults.
func flatCluster() Cluster {
	return Cluster{
		Instances: 2, Resources: 3, Duration: 3 * time.Hour,
		Flat: true, Fractional: true,
		ErrorRatio: 0.01, ClientErrorRatio: -1, SlowRatio: 0.02,
	}
}

func TestFaults(t *testing.T) {
	c := flatCluster()
	inst := c.InstanceNames(0)
	c.Faults = []Fault{
		{Kind: FaultErrors, Match: Selector{Instances: inst[:1]}, From: time.Hour, To: 2 * time.Hour, Ratio: 0.3},
		{Kind: FaultSlow, Match: Selector{Verbs: []string{"LIST"}, Scopes: []string{"namespace"}}, From: time.Hour, To: 2 * time.Hour, Ratio: 0.5},
		{Kind: FaultErrors, Match: Selector{Instances: inst[1:], Verbs: []string{"GET"}}, From: 30 * time.Minute, To: time.Hour, Ratio: 0.1, Code: "429"},
		{Kind: FaultTraffic, Match: Selector{Instances: inst[1:]}, From: 2 * time.Hour, To: 150 * time.Minute, Factor: 2},
	}
	got := collect(t, c)
	start := c.WithDefaults().Start
	h := func(d time.Duration) time.Time { return start.Add(d) }

	ratio := func(from, to time.Time, bad, all func(labels.Labels) bool) float64 {
		return got.increase(t, from, to, bad) / got.increase(t, from, to, all)
	}
	// slowRatio is the ratio of requests above le of the selected endpoints.
	slowRatio := func(from, to time.Time, le string, pairs ...string) float64 {
		count := got.increase(t, from, to, match(MetricSLICount, pairs...))
		fast := got.increase(t, from, to, match(MetricSLIBucket, append(pairs, "le", le)...))
		return (count - fast) / count
	}
	tests := []struct {
		name      string
		got, want float64
	}{
		{"5xx of faulty instance during fault", ratio(h(time.Hour), h(2*time.Hour),
			match(MetricRequestTotal, "instance", inst[0], "code", "5xx"), match(MetricRequestTotal, "instance", inst[0])), 0.3 + 0.7*0.01},
		{"5xx of faulty instance before fault", ratio(h(0), h(time.Hour),
			match(MetricRequestTotal, "instance", inst[0], "code", "5xx"), match(MetricRequestTotal, "instance", inst[0])), 0.01},
		{"5xx of faulty instance after fault", ratio(h(2*time.Hour), h(3*time.Hour),
			match(MetricRequestTotal, "instance", inst[0], "code", "5xx"), match(MetricRequestTotal, "instance", inst[0])), 0.01},
		{"5xx of other instance during fault", ratio(h(time.Hour), h(2*time.Hour),
			match(MetricRequestTotal, "instance", inst[1], "code", "5xx"), match(MetricRequestTotal, "instance", inst[1])), 0.01},
		{"slow namespace LISTs during fault", slowRatio(h(time.Hour), h(2*time.Hour), "5", "verb", "LIST", "scope", "namespace"), 0.5 + 0.5*0.02},
		{"slow namespace LISTs before fault", slowRatio(h(0), h(time.Hour), "5", "verb", "LIST", "scope", "namespace"), 0.02},
		{"slow cluster LISTs during fault", slowRatio(h(time.Hour), h(2*time.Hour), "30", "verb", "LIST", "scope", "cluster"), 0.02},
		{"slow GETs during fault", slowRatio(h(time.Hour), h(2*time.Hour), "1", "verb", "GET", "scope", "resource", "subresource", ""), 0.02},
		{"429 of GETs during code fault", ratio(h(30*time.Minute), h(time.Hour),
			match(MetricRequestTotal, "instance", inst[1], "verb", "GET", "code", "429"), match(MetricRequestTotal, "instance", inst[1], "verb", "GET")), 0.1},
		{"5xx of GETs during code fault", ratio(h(30*time.Minute), h(time.Hour),
			match(MetricRequestTotal, "instance", inst[1], "verb", "GET", "code", "5xx"), match(MetricRequestTotal, "instance", inst[1], "verb", "GET")), 0.9 * 0.01},
		{"traffic doubled", got.increase(t, h(2*time.Hour), h(150*time.Minute), match(MetricRequestTotal, "instance", inst[1])) /
			got.increase(t, h(90*time.Minute), h(2*time.Hour), match(MetricRequestTotal, "instance", inst[1])), 2},
	}
	for _, tt := range tests {
		if math.Abs(tt.got-tt.want) > 1e-9*math.Abs(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestCounterResetAndFreshStart(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: simulates a cluster for hours; make check runs it")
	}
	c := flatCluster()
	inst := c.InstanceNames(0)
	c.Faults = []Fault{{Kind: FaultCounterReset, Match: Selector{Instances: inst[1:]}, From: 45 * time.Minute}}
	got := collect(t, c)
	start := c.WithDefaults().Start
	all := func(i string) func(labels.Labels) bool { return match(MetricRequestTotal, "instance", i) }
	before := got.sum(t, start.Add(45*time.Minute-30*time.Second), all(inst[1]))
	after := got.sum(t, start.Add(45*time.Minute), all(inst[1]))
	perScrape := got.increase(t, start.Add(time.Hour), start.Add(time.Hour+30*time.Second), all(inst[1]))
	if after >= before || math.Abs(after-perScrape) > 1e-9*perScrape {
		t.Errorf("reset instance: %v before, %v after the reset; want one scrape's worth (%v) after", before, after, perScrape)
	}
	if got.sum(t, start.Add(45*time.Minute), all(inst[0])) <= got.sum(t, start.Add(45*time.Minute-30*time.Second), all(inst[0])) {
		t.Errorf("other instance was reset too")
	}

	c.FreshStart = true
	if v := collect(t, c).sum(t, start, match(MetricRequestTotal)); v != 0 {
		t.Errorf("FreshStart: request_total sums to %v at start, want 0", v)
	}
}

func TestOmissions(t *testing.T) {
	c := flatCluster()
	inst := c.InstanceNames(0)
	c.Omissions = []Omission{
		{Match: Selector{Instances: inst[:1]}, Metrics: []string{MetricRequestTotal}, Codes: []string{"5xx"}},
		{Les: []float64{1}},
		{Match: Selector{Instances: inst[1:]}, Metrics: []string{MetricRequestTotal}, From: time.Hour, To: 90 * time.Minute},
	}
	got := collect(t, c)
	start := c.WithDefaults().Start
	var fivexx [2]int
	for k, ls := range got.lsets {
		if ls.Get(labels.MetricName) == MetricRequestTotal && ls.Get("code")[0] == '5' {
			fivexx[slices.Index(inst, ls.Get("instance"))]++
		}
		if ls.Get("le") == "1" {
			t.Errorf("dropped bucket present: %s", k)
		}
		if ls.Get(labels.MetricName) == MetricRequestTotal && ls.Get("instance") == inst[1] {
			for _, s := range got.samples[k] {
				if s.t >= start.Add(time.Hour).UnixMilli() && s.t < start.Add(90*time.Minute).UnixMilli() {
					t.Fatalf("%s has a sample at %d inside the gap", k, s.t)
				}
			}
			if want := c.WithDefaults().Scrapes() - 60; len(got.samples[k]) != want {
				t.Errorf("%s: %d samples, want %d", k, len(got.samples[k]), want)
			}
		}
	}
	if fivexx[0] != 0 || fivexx[1] == 0 {
		t.Errorf("5xx series per instance: %v, want none on %s only", fivexx, inst[0])
	}
	if !slices.ContainsFunc(slices.Collect(maps.Keys(got.lsets)), func(k string) bool { return strings.Contains(k, `le="1.25"`) }) {
		t.Errorf("bucket le=1.25 missing")
	}
	// Counters keep counting through a gap.
	all := match(MetricRequestTotal, "instance", inst[1])
	gap := got.increase(t, start.Add(time.Hour-30*time.Second), start.Add(90*time.Minute), all)
	normal := got.increase(t, start.Add(2*time.Hour), start.Add(2*time.Hour+30*time.Second), all)
	if math.Abs(gap-61*normal) > 1e-9*gap {
		t.Errorf("increase across the gap %v, want 61 scrapes' worth (%v)", gap, 61*normal)
	}
	n, err := c.SeriesCount()
	if err != nil {
		t.Fatal(err)
	}
	if n != len(got.lsets) {
		t.Errorf("SeriesCount() = %d, Each emitted %d series", n, len(got.lsets))
	}
}

func TestLeFormat(t *testing.T) {
	tests := []struct {
		format LeFormat
		// want maps instance index to the expected le labels of some bounds.
		want map[int][]string
	}{
		{LeClassic, map[int][]string{0: {"0.05", "1", "1.25", "5", "30", "+Inf"}, 1: {"1", "5"}}},
		{LeFloat, map[int][]string{0: {"0.05", "1.0", "1.25", "5.0", "30.0", "+Inf"}, 1: {"1.0", "5.0"}}},
		{LeMixed, map[int][]string{0: {"1", "5", "30"}, 1: {"1.0", "5.0", "30.0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.format.String(), func(t *testing.T) {
			c := Cluster{Instances: 2, Resources: 1, Duration: 30 * time.Second, LeFormat: tt.format}
			inst := c.InstanceNames(0)
			les := map[string]map[string]bool{}
			err := c.Each(func(ls labels.Labels, _ int64, _ float64) error {
				if le := ls.Get("le"); le != "" {
					if les[ls.Get("instance")] == nil {
						les[ls.Get("instance")] = map[string]bool{}
					}
					les[ls.Get("instance")][le] = true
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range tt.want {
				for _, le := range want {
					if !les[inst[i]][le] {
						t.Errorf("instance %s: no le=%q (have %v)", inst[i], le, les[inst[i]])
					}
				}
				if n := len(les[inst[i]]); n != 22 {
					t.Errorf("instance %s: %d le values, want 22", inst[i], n)
				}
			}
		})
	}
}

func TestLabels(t *testing.T) {
	c := Cluster{Instances: 1, Resources: 8, Duration: 30 * time.Second, ClusterLabel: "k8s_cluster", Clusters: []string{"prod"}}
	got := collect(t, c)
	has := func(metric string, pairs ...string) bool {
		for _, ls := range got.lsets {
			if match(metric, pairs...)(ls) {
				return true
			}
		}
		return false
	}
	for _, tt := range [][]string{
		{MetricSLIBucket, "verb", "GET", "resource", "pods", "subresource", "log", "scope", "resource"},
		{MetricSLIBucket, "verb", "CONNECT", "resource", "pods", "subresource", "exec"},
		{MetricSLIBucket, "verb", "CONNECT", "resource", "pods", "subresource", "attach"},
		{MetricSLIBucket, "verb", "CONNECT", "resource", "pods", "subresource", "portforward"},
		{MetricSLIBucket, "verb", "CONNECT", "resource", "pods", "subresource", "proxy"},
		{MetricSLIBucket, "verb", "CONNECT", "resource", "services", "subresource", "proxy"},
		{MetricSLIBucket, "verb", "PATCH", "resource", "pods", "subresource", "status"},
		{MetricSLIBucket, "verb", "DELETECOLLECTION", "resource", "pods", "scope", "namespace"},
		{MetricSLIBucket, "verb", "LIST", "resource", "pods", "scope", "cluster", "le", "30"},
		{MetricSLIBucket, "verb", "WATCH", "resource", "leases", "group", "coordination.k8s.io"},
		{MetricSLIBucket, "verb", "APPLY", "resource", "nodes", "scope", "resource"},
		{MetricSLIBucket, "verb", "GET", "subresource", "/healthz", "scope", "", "resource", "", "group", "", "version", ""},
		{MetricRequestTotal, "verb", "POST", "resource", "configmaps", "code", "201"},
		{MetricRequestTotal, "verb", "CONNECT", "subresource", "exec", "code", "101"},
		{MetricRequestTotal, "k8s_cluster", "prod", "job", "kube-apiserver", "component", "apiserver", "instance", "10.0.0.1:6443"},
	} {
		if !has(tt[0], tt[1:]...) {
			t.Errorf("no series %s%v", tt[0], tt[1:])
		}
	}
	for k, ls := range got.lsets {
		if ls.Has("cluster") {
			t.Errorf("%s: cluster label, want k8s_cluster", k)
		}
		if ls.Get(labels.MetricName) != MetricRequestTotal && (ls.Has("code") || ls.Has("dry_run")) {
			t.Errorf("%s: code or dry_run on the SLI histogram", k)
		}
		ls.Range(func(l labels.Label) {
			if l.Value == "" {
				t.Errorf("%s: empty label %s", k, l.Name)
			}
		})
	}

	c.NoClusterLabel = true
	for k, ls := range collect(t, c).lsets {
		if ls.Has("k8s_cluster") {
			t.Fatalf("NoClusterLabel: %s", k)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		c    Cluster
		want string
	}{
		{"unknown verb", Cluster{Verbs: []string{"GETT"}}, `unknown verb "GETT"`},
		{"unknown scope", Cluster{Scopes: []string{"global"}}, `unknown scope "global"`},
		{"bad code", Cluster{Codes: []string{"5xx"}}, `code "5xx" is not`},
		{"ratio above 1", Cluster{ErrorRatio: 2}, "error ratio 2 > 1"},
		{"duplicate cluster", Cluster{Clusters: []string{"a", "a"}}, `cluster "a" listed twice`},
		{"no cluster label, two clusters", Cluster{Clusters: []string{"a", "b"}, NoClusterLabel: true}, "exactly one cluster"},
		{"fault kind", Cluster{Faults: []Fault{{}}}, "fault 0: unknown fault kind 0"},
		{"fault ratio", Cluster{Faults: []Fault{{Kind: FaultErrors, Ratio: 1.5}}}, "fault 0: errors ratio 1.5"},
		{"fault window", Cluster{Faults: []Fault{{Kind: FaultSlow, From: time.Hour, To: time.Minute}}}, "window ends"},
		{"omission bound", Cluster{Omissions: []Omission{{Les: []float64{0.7}}}}, "0.7 is not an SLI bucket"},
		{"le format", Cluster{LeFormat: 7}, "unknown le format 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want error containing %q", err, tt.want)
			}
			if err := tt.c.Each(func(labels.Labels, int64, float64) error { return nil }); err == nil {
				t.Errorf("Each accepted the invalid configuration")
			}
		})
	}
	if err := (Cluster{}).Validate(); err != nil {
		t.Errorf("zero Cluster: %v", err)
	}
}

func TestAdjust(t *testing.T) {
	c := flatCluster()
	c.ErrorRatio = -1
	c.Adjust = func(ep Endpoint, tm time.Time, r *Rates) {
		if ep.Verb == "PUT" && tm.Hour() == 1 {
			r.CodeRatios = map[string]float64{"409": 0.25} // 409 is a PUT code, but the client ratio is off
		}
	}
	c.Codes = []string{"200", "409"}
	got := collect(t, c)
	start := c.WithDefaults().Start
	r := got.increase(t, start.Add(time.Hour), start.Add(2*time.Hour-30*time.Second), match(MetricRequestTotal, "verb", "PUT", "code", "409")) /
		got.increase(t, start.Add(time.Hour), start.Add(2*time.Hour-30*time.Second), match(MetricRequestTotal, "verb", "PUT"))
	if math.Abs(r-0.25) > 1e-9 {
		t.Errorf("409 ratio of PUTs during the adjusted hour = %v, want 0.25", r)
	}
	if v := got.increase(t, start, start.Add(time.Hour-30*time.Second), match(MetricRequestTotal, "verb", "PUT", "code", "409")); v != 0 {
		t.Errorf("409s before the adjusted hour: %v", v)
	}
}
