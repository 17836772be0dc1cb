package rulegen

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/reference"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/internal/synth"
	"github.com/burnrate/burnrate/slo"
)

// BenchmarkRuleCost measures what one evaluation of each profile's rule
// groups costs on a synthetic cluster, as Prometheus would run it: first the
// recording rules whose output other rules read over a range are evaluated
// over the whole history at their group's interval (so the intermediate
// series exist as Prometheus would have recorded them), then every group is
// evaluated once at the end with query statistics on. It prints samples
// touched and milliseconds per group, and for the burn-rate path (the
// burn-rate and alert groups) together, for the optimized profile, the
// kubernetes-mixin profile and the mixin's newer pr1283 rendering.
//
//	go test ./internal/rulegen -run '^$' -bench RuleCost -benchtime 1x                  # small, about a minute
//	go test ./internal/rulegen -run '^$' -bench RuleCost -benchtime 1x -cost.size=full  # 23k series, 72h at 30s
func BenchmarkRuleCost(b *testing.B) {
	c := costCluster(*costSize)
	n, err := c.SeriesCount()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	files := []struct{ name, path string }{
		{slomodel.ProfileOptimized, writeRules(b, dir, slomodel.ProfileOptimized)},
		{slomodel.ProfileMixin, writeRules(b, dir, slomodel.ProfileMixin)},
		{"pr1283", reference.File(b, "apiserver-slo-rules.pr1283.yaml")},
	}
	results := map[string]costResult{}
	for b.Loop() {
		for _, f := range files {
			r, err := measureCost(b, f.path, c)
			if err != nil {
				b.Fatalf("%s: %v", f.name, err)
			}
			results[f.name] = r
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nsynthetic cluster %q: %d series, %s at %s scrape\n\n", *costSize, n, c.Duration, c.ScrapeInterval)
	w := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "profile\tgroup\tsamples touched\tms\t")
	for _, f := range files {
		r := results[f.name]
		for _, g := range r.groups {
			fmt.Fprintf(w, "%s\t%s\t%d\t%.1f\t\n", f.name, g.name, g.samples, ms(g.time))
		}
		fmt.Fprintf(w, "%s\tburn rates + alerts\t%d\t%.1f\t\n", f.name, r.burn.samples, ms(r.burn.time))
		fmt.Fprintf(w, "%s\tall groups\t%d\t%.1f\t\n", f.name, r.total.samples, ms(r.total.time))
	}
	w.Flush()
	opt, mix, pr := results[slomodel.ProfileOptimized], results[slomodel.ProfileMixin], results["pr1283"]
	fmt.Fprintf(&sb, "\noptimized / kubernetes-mixin: %.3f%% of samples (burn rates + alerts %.3f%%)\n",
		pct(opt.total.samples, mix.total.samples), pct(opt.burn.samples, mix.burn.samples))
	fmt.Fprintf(&sb, "optimized / pr1283:           %.3f%% of samples (burn rates + alerts %.3f%%)\n",
		pct(opt.total.samples, pr.total.samples), pct(opt.burn.samples, pr.burn.samples))
	b.Log(sb.String())
	b.ReportMetric(pct(opt.total.samples, mix.total.samples), "%samples-vs-mixin")
	b.ReportMetric(pct(opt.total.samples, pr.total.samples), "%samples-vs-pr1283")
}

var costSize = flag.String("cost.size", "small", "BenchmarkRuleCost cluster size: small or full")

// costCluster is the benchmark's synthetic cluster. full is 3 apiservers ×
// 40 resources × 9 verb/scope classes with the 22-bucket SLI histogram, 72h
// at a 30s scrape (about 23k bucket series).
func costCluster(size string) synth.Cluster {
	c := synth.Cluster{
		Instances:      3,
		Resources:      40,
		Verbs:          []string{"LIST", "GET", "WATCH", "POST", "PUT", "PATCH", "DELETE", "APPLY"},
		Scopes:         []string{"resource", "namespace", "cluster"},
		Subresources:   []string{"", "status"},
		ScrapeInterval: 30 * time.Second,
		Duration:       72 * time.Hour,
	}
	if size != "full" {
		c.Resources = 4
		c.Duration = 24 * time.Hour
	}
	return c
}

type costLine struct {
	name    string
	samples int64
	time    time.Duration
}

type costResult struct {
	groups      []costLine
	burn, total costLine
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

// measureCost loads the cluster, records the history of the intermediate
// series, and evaluates the whole rule file once at the end.
func measureCost(tb testing.TB, ruleFile string, c synth.Cluster) (costResult, error) {
	ctx := context.Background()
	db, ls, err := synth.OpenLoaded(ctx, c)
	if err != nil {
		return costResult{}, err
	}
	defer db.Close()
	start, end := time.UnixMilli(ls.MinTime), time.UnixMilli(ls.MaxTime)
	histories, err := historyFiles(tb.TempDir(), ruleFile)
	if err != nil {
		return costResult{}, err
	}
	for _, h := range histories {
		opts := synth.EvalOptions{Start: start, End: end.Add(-h.interval), Interval: h.interval, DiscardSteps: true}
		if _, err := synth.EvaluateStorage(ctx, h.path, db, opts); err != nil {
			return costResult{}, fmt.Errorf("recording history: %w", err)
		}
	}
	tr, err := synth.EvaluateStorage(ctx, ruleFile, db, synth.EvalOptions{Start: end, End: end, DiscardSteps: true})
	if err != nil {
		return costResult{}, err
	}
	var r costResult
	r.burn.name, r.total.name = "burn rates + alerts", "all groups"
	for _, g := range tr.Stats.Groups {
		line := costLine{g.Name, g.TotalSamples, g.EvalTime}
		r.groups = append(r.groups, line)
		r.total.samples += line.samples
		r.total.time += line.time
		if strings.Contains(g.Name, "burnrate") || strings.HasSuffix(g.Name, "-slos") {
			r.burn.samples += line.samples
			r.burn.time += line.time
		}
	}
	return r, nil
}

type history struct {
	path     string
	interval time.Duration
}

// historyFiles writes, per group, a rule file with only the recording rules
// whose output some rule reads over a range, together with the rules those
// read, in their order. Each is evaluated over the history at its group's
// interval (the global default, 1m, where the group sets none).
func historyFiles(dir, ruleFile string) ([]history, error) {
	p := parser.NewParser(parser.Options{})
	rgs, errs := rulefmt.ParseFile(ruleFile, false, model.UTF8Validation, p, promslog.NewNopLogger())
	if len(errs) > 0 {
		return nil, errs[0]
	}
	// reads[name] are the metrics rule `name` reads; ranged holds metrics
	// read over a range by any rule.
	reads := map[string][]string{}
	ranged := map[string]bool{}
	for _, g := range rgs.Groups {
		for _, r := range g.Rules {
			e, err := p.ParseExpr(r.Expr)
			if err != nil {
				return nil, err
			}
			name := r.Record + r.Alert
			parser.Inspect(e, func(n parser.Node, path []parser.Node) error {
				switch n := n.(type) {
				case *parser.MatrixSelector:
					ranged[n.VectorSelector.(*parser.VectorSelector).Name] = true
				case *parser.VectorSelector:
					reads[name] = append(reads[name], n.Name)
				}
				return nil
			})
		}
	}
	// Close over instant reads: a rule that feeds a ranged series at every
	// step must itself run at every step.
	need := map[string]bool{}
	for m := range ranged {
		need[m] = true
	}
	for changed := true; changed; {
		changed = false
		for m := range need {
			for _, dep := range reads[m] {
				if !need[dep] {
					need[dep], changed = true, true
				}
			}
		}
	}
	var out []history
	for i, g := range rgs.Groups {
		var keep []rulefmt.Rule
		for _, r := range g.Rules {
			if r.Record != "" && need[r.Record] {
				keep = append(keep, r)
			}
		}
		if len(keep) == 0 {
			continue
		}
		interval := time.Duration(g.Interval)
		if interval == 0 {
			interval = time.Minute
		}
		g.Rules = keep
		data, err := yaml.Marshal(rulefmt.RuleGroups{Groups: []rulefmt.RuleGroup{g}})
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, fmt.Sprintf("history-%d.yaml", i))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return nil, err
		}
		out = append(out, history{path, interval})
	}
	return out, nil
}

// TestHistoryFiles checks the selection of intermediate rules on the mixin
// profile: the hourly increases the 30-day records average must be
// recorded over the history; the burn rates, read only at the instant,
// need not.
func TestHistoryFiles(t *testing.T) {
	dir := t.TempDir()
	hs, err := historyFiles(dir, writeRules(t, dir, slomodel.ProfileMixin))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range hs {
		data, _ := os.ReadFile(h.path)
		var f rulefmt.RuleGroups
		if err := yaml.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		for _, r := range f.Groups[0].Rules {
			if !slices.Contains(names, r.Record) {
				names = append(names, r.Record)
			}
		}
		if h.interval != 3*time.Minute {
			t.Errorf("history interval %v, want the availability group's 3m", h.interval)
		}
	}
	want := []string{"code_verb:apiserver_request_total:increase1h", "cluster_verb_scope_le:apiserver_request_sli_duration_seconds_bucket:increase1h"}
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("history records %v, want %v", names, want)
	}
}
