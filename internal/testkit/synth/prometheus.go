package synth

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/burnrate/burnrate/internal/testkit/process"
)

// PrometheusEvalTimes writes everything the storage holds as one TSDB
// block into a new directory under dir and returns GroupEvalTimes on it.
// It empties the storage's head.
func (s *Storage) PrometheusEvalTimes(ctx context.Context, ruleFile, dir string, ooo, timeout time.Duration) (map[string]time.Duration, error) {
	head := s.Head()
	if err := s.CompactHead(tsdb.NewRangeHead(head, head.MinTime(), head.MaxTime())); err != nil {
		return nil, fmt.Errorf("synth: writing the block for Prometheus: %w", err)
	}
	data := filepath.Join(dir, "data")
	for _, b := range s.Blocks() {
		if err := os.CopyFS(filepath.Join(data, filepath.Base(b.Dir())), os.DirFS(b.Dir())); err != nil {
			return nil, err
		}
	}
	return GroupEvalTimes(ctx, data, ruleFile, dir, ooo, timeout)
}

// GroupEvalTimes runs a real Prometheus on the TSDB blocks in data with
// ruleFile loaded and no scrapes, and returns how long each rule group's
// first evaluation took, as Prometheus reports it in
// prometheus_rule_group_last_duration_seconds (rules/group.go, Group.Eval's
// caller sets it after every evaluation), keyed by group name. It waits
// until every group has been evaluated once, at most timeout. The data must
// reach past the time of those evaluations (now plus the longest
// interval), or the rules read less than a running Prometheus would; the
// rules' own results may then land among samples already there, so the
// server accepts out-of-order samples within ooo. Prometheus' log is
// written to dir.
func GroupEvalTimes(ctx context.Context, data, ruleFile, dir string, ooo, timeout time.Duration) (map[string]time.Duration, error) {
	bin, err := process.GoTool("prometheus")
	if err != nil {
		return nil, err
	}
	groups, err := groupNames(ruleFile)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(ruleFile)
	if err != nil {
		return nil, err
	}
	config := filepath.Join(dir, "prometheus.yml")
	cfg := fmt.Sprintf("global:\n  evaluation_interval: 1m\nstorage:\n  tsdb:\n    out_of_order_time_window: %s\nrule_files:\n  - %q\n", model.Duration(ooo), abs)
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	port, err := process.FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := process.Start("prometheus", filepath.Join(dir, "prometheus.log"), bin,
		"--config.file="+config, "--storage.tsdb.path="+data, "--storage.tsdb.retention.time=100y",
		"--web.listen-address="+addr, "--query.timeout=30m", "--log.level=warn")
	if err != nil {
		return nil, err
	}
	defer p.Stop(20 * time.Second)
	base := "http://" + addr
	if err := process.WaitHTTP(ctx, p, base+"/-/ready", process.Ready{Timeout: 10 * time.Minute, Interval: 100 * time.Millisecond}); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		got, err := lastDurations(ctx, base+"/metrics", ruleFile)
		if err != nil {
			return nil, err
		}
		missing := []string{}
		for _, g := range groups {
			if _, ok := got[g]; !ok {
				missing = append(missing, g)
			}
		}
		if len(missing) == 0 {
			return got, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("after %s, groups not evaluated yet: %s (log: %s)", timeout, strings.Join(missing, ", "), p.Log)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// lastDurations reads prometheus_rule_group_last_duration_seconds from a
// Prometheus' own /metrics: the groups of ruleFile evaluated at least once
// (rule_group label "<file>;<group>", a duration above 0).
func lastDurations(ctx context.Context, url, ruleFile string) (map[string]time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	tp := expfmt.NewTextParser(model.UTF8Validation)
	families, err := tp.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	out := map[string]time.Duration{}
	mf := families["prometheus_rule_group_last_duration_seconds"]
	if mf == nil {
		return out, nil
	}
	for _, m := range mf.GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() != "rule_group" {
				continue
			}
			_, group, ok := strings.Cut(lp.GetValue(), ";")
			if v := m.GetGauge().GetValue(); ok && v > 0 {
				out[group] = time.Duration(v * float64(time.Second))
			}
		}
	}
	return out, nil
}

// groupNames lists the rule groups of ruleFile.
func groupNames(ruleFile string) ([]string, error) {
	rgs, errs := rulefmt.ParseFile(ruleFile, false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger())
	if len(errs) > 0 {
		return nil, errs[0]
	}
	var names []string
	for _, g := range rgs.Groups {
		names = append(names, g.Name)
	}
	return names, nil
}
