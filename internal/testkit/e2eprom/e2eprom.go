// Package e2eprom runs a real Prometheus v0.316.0 holding burnrate's
// incident scenarios and the series its recording rules record, for the
// end-to-end tests of diagnose and lint. It is test support, not part of
// the command.
//
// Prometheus and promtool are built from the module proxy through the tool
// directives in go.mod (go tool -n builds and caches them). Every scenario
// is written as OpenMetrics with its own cluster label value (the
// scenario's name), all ending at End, and backfilled with promtool tsdb
// create-blocks-from openmetrics. The optimized profile's recording rules
// are then backfilled with create-blocks-from rules, one dependency level at
// a time: that command evaluates each rule against the server's data at its
// group's interval (--eval-interval only for groups without one), so a rule
// reading another recorded series needs that series in the server first.
// The server restarts on the combined data after each level.
package e2eprom

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/incident"
	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/internal/testkit/process"
	"github.com/burnrate/burnrate/internal/testkit/recording"
	"github.com/burnrate/burnrate/slo"
)

// End is the end of every scenario: the evaluation time of the tests.
var End = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// DroppedCluster is a copy of the aggregated-API scenario as kube-prometheus'
// metricRelabelings leave it: without the le="30" bucket of the SLI
// histogram (helm-charts#5514) and without etcd_request_duration_seconds.
const DroppedCluster = "kube-prometheus-drops"

// Server is a running Prometheus with the scenarios.
type Server struct {
	// URL is the server's base URL, on 127.0.0.1 and a free port.
	URL string
	// Scenarios are the incident scenarios; each one's cluster label value
	// is its name.
	Scenarios []incident.Scenario
	// End is the time every scenario ends.
	End time.Time
	srv *promServer
	dir string
}

// Stop stops the server and removes its data.
func (s *Server) Stop() {
	s.srv.stop()
	os.RemoveAll(s.dir)
}

// Start builds Prometheus and promtool, backfills every scenario and the
// recording rules, and starts the server. Stop it with Server.Stop.
func Start() (*Server, error) {
	dir, err := os.MkdirTemp("", "burnrate-e2e-")
	if err != nil {
		return nil, err
	}
	env := &Server{dir: dir, End: End}
	fail := func(err error) (*Server, error) {
		os.RemoveAll(dir)
		return nil, err
	}

	// The scenarios, one cluster each, plus the dropped-metrics copy.
	library := func(cluster string) ([]incident.Scenario, error) {
		return incident.Library(incident.Env{ClusterLabel: "cluster", Cluster: cluster, SLILabel: "verb", APIServer: map[string]string{"job": "kube-apiserver"}})
	}
	scs, err := library(DroppedCluster)
	if err != nil {
		return fail(err)
	}
	for i, sc := range scs {
		own, err := library(sc.Name)
		if err != nil {
			return fail(err)
		}
		env.Scenarios = append(env.Scenarios, own[i])
	}
	dropped := scs[0]
	dropped.Series = slices.DeleteFunc(slices.Clone(dropped.Series), func(s incident.Series) bool {
		return (s.Name == incident.MetricSLI+"_bucket" && s.Labels["le"] == "30") || s.Family == "etcd_request_duration_seconds"
	})

	var inputs []input
	for _, sc := range append(slices.Clone(env.Scenarios), dropped) {
		start := End.Add(-sc.Duration())
		inputs = append(inputs, input{name: sc.Name, start: start, write: func(w io.Writer) error { return sc.WriteOpenMetrics(w, start) }})
	}
	if env.srv, err = serve(dir, inputs, slo.Default(), slomodel.ProfileOptimized); err != nil {
		return fail(err)
	}
	env.URL = env.srv.url
	return env, nil
}

// StartRecordings starts a Prometheus holding the lab's recordings of a
// real kube-apiserver, each moved in time so that the end of its fault
// phase falls on End and cut there (the recovery is left out: the tests
// diagnose the incident while it happens), with the optimized profile's
// recording rules backfilled over them. Each recording's series carry its
// name as cluster label.
func StartRecordings(recs []recording.Recording) (*Server, error) {
	return StartRecordingsWith(recs, slomodel.ProfileOptimized)
}

// StartRecordingsWith is StartRecordings with the recording rules of the
// named profile (slomodel.Profiles) backfilled, or none when profile is
// "": a Prometheus that runs the kubernetes-mixin's rules, or whose rules
// run elsewhere.
func StartRecordingsWith(recs []recording.Recording, profile string) (*Server, error) {
	return StartRecordingsSpec(recs, slo.Default(), profile)
}

// StartRecordingsSpec is StartRecordingsWith with the recording rules of
// spec s (the kube-apiserver's, with other options: latency.form).
func StartRecordingsSpec(recs []recording.Recording, s *slo.Spec, profile string) (*Server, error) {
	dir, err := os.MkdirTemp("", "burnrate-e2e-")
	if err != nil {
		return nil, err
	}
	env := &Server{dir: dir, End: End}
	var inputs []input
	for _, r := range recs {
		shift := End.Sub(r.Recovery)
		in := input{name: r.Version + "/" + r.Name, start: r.Healthy.Add(shift), write: func(w io.Writer) error { return r.WriteOpenMetrics(w, r.Recovery, shift) }}
		if r.Native() {
			// A TSDB block (native histograms): written straight into the
			// data directory, moved and cut as the OpenMetrics ones.
			in.write, in.block = nil, func(data string) error {
				_, err := r.WriteBlock(data, r.Recovery, shift)
				return err
			}
		}
		inputs = append(inputs, in)
	}
	if env.srv, err = serve(dir, inputs, s, profile); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	env.URL = env.srv.url
	return env, nil
}

// input is one OpenMetrics file to backfill (write), or one block to
// write into the data directory (block): its first sample is at start.
type input struct {
	name  string
	start time.Time
	write func(io.Writer) error
	block func(data string) error
}

// serve backfills inputs into a TSDB under dir (in parallel, one
// OpenMetrics file each), then the recording rules of spec s for the named
// profile (none when it is "") from the earliest start to End, and starts
// Prometheus on the result.
func serve(dir string, inputs []input, s *slo.Spec, profile string) (*promServer, error) {
	prom, err := process.GoTool("prometheus")
	if err != nil {
		return nil, err
	}
	promtool, err := process.GoTool("promtool")
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	var begin time.Time
	errs := make([]error, len(inputs))
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i, in := range inputs {
		if begin.IsZero() || in.start.Before(begin) {
			begin = in.start
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if in.block != nil {
				if errs[i] = os.MkdirAll(data, 0o755); errs[i] == nil {
					errs[i] = in.block(data)
				}
				return
			}
			f := filepath.Join(dir, fmt.Sprintf("input-%d.om", i))
			out, err := os.Create(f)
			if err != nil {
				errs[i] = err
				return
			}
			err = in.write(out)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = run(promtool, "tsdb", "create-blocks-from", "openmetrics", f, data)
			}
			os.Remove(f)
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("backfill %s: %w", inputs[i].name, err)
		}
	}

	// The recording rules, one dependency level at a time.
	var levels [][]rulefmt.RuleGroup
	if profile != "" {
		if levels, err = ruleLevels(s, profile); err != nil {
			return nil, err
		}
	}
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte("global:\n  evaluation_interval: 1m\n"), 0o644); err != nil {
		return nil, err
	}
	srv, err := startProm(prom, config, data, dir)
	if err != nil {
		return nil, err
	}
	for i, lv := range levels {
		rf := filepath.Join(dir, fmt.Sprintf("rules-%d.yaml", i))
		b, err := encode.RuleFile(inSlot(lv, filepath.Base(rf), i, len(levels)), "")
		if err == nil {
			err = os.WriteFile(rf, b, 0o644)
		}
		if err != nil {
			srv.stop()
			return nil, err
		}
		// The rule file by a name relative to dir: a group's evaluation
		// times are offset by a hash of its name and file name
		// (rules.Group.EvalTimestamp, rules.Group.hash), so a path in a
		// random temporary directory would move every evaluation, and the
		// recorded values, from run to run.
		out := filepath.Join(dir, fmt.Sprintf("rules-%d", i))
		cmd := exec.Command(promtool, "tsdb", "create-blocks-from", "rules",
			"--start", strconv.FormatInt(begin.Unix(), 10), "--end", strconv.FormatInt(End.Unix(), 10),
			"--url", srv.url, "--output-dir", out, filepath.Base(rf))
		cmd.Dir = dir
		if b, cerr := cmd.CombinedOutput(); cerr != nil {
			err = fmt.Errorf("promtool tsdb create-blocks-from rules: %v\n%s", cerr, b)
		}
		if err == nil {
			err = moveBlocks(out, data)
		}
		srv.stop()
		if err != nil {
			return nil, fmt.Errorf("backfill rules level %d: %w", i+1, err)
		}
		if srv, err = startProm(prom, config, data, dir); err != nil {
			return nil, err
		}
	}
	return srv, nil
}

// inSlot renames the groups of dependency level i of n, in rule file
// file, so that their evaluations fall in the i-th of n slots of the
// minute. A group is evaluated at an offset in its interval set by a hash
// of its name and file (rules.Group.EvalTimestamp, rules.Group.hash, which
// promtool tsdb create-blocks-from rules aligns its steps to): with every
// level after the one it reads within the same minute, a record reads its
// inputs' samples of that minute, not of the minute before, and the
// records do not trail the raw series by a minute a level.
func inSlot(gs []rulefmt.RuleGroup, file string, i, n int) []rulefmt.RuleGroup {
	out := make([]rulefmt.RuleGroup, len(gs))
	for k, g := range gs {
		interval := time.Duration(g.Interval)
		if interval == 0 {
			interval = time.Minute // create-blocks-from rules' --eval-interval
		}
		slot := interval / time.Duration(n)
		for j := 0; ; j++ {
			name := g.Name
			if j > 0 {
				name = fmt.Sprintf("%s-%d", g.Name, j)
			}
			h := labels.New(labels.Label{Name: "name", Value: name}, labels.Label{Name: "file", Value: file}).Hash()
			if off := time.Duration(h % uint64(interval)); off >= time.Duration(i)*slot && off < time.Duration(i+1)*slot {
				g.Name = name
				break
			}
		}
		out[k] = g
	}
	return out
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return nil
}

// moveBlocks moves every block directory of from into the TSDB dir to.
func moveBlocks(from, to string) error {
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if err := os.Rename(filepath.Join(from, e.Name()), filepath.Join(to, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// ruleLevels splits the recording rules of spec s for the named profile
// into levels: level 1 reads raw series only, level k reads series
// recorded at levels below k. Each level keeps the groups' names and
// intervals.
func ruleLevels(s *slo.Spec, profile string) ([][]rulefmt.RuleGroup, error) {
	rf, err := rulegen.Rules(s, profile)
	if err != nil {
		return nil, err
	}
	recorded := map[string]int{}
	for _, g := range rf {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = 1
			}
		}
	}
	refs := map[string][]string{}
	prs := parser.NewParser(parser.Options{})
	for _, g := range rf {
		for _, r := range g.Rules {
			if r.Record == "" {
				continue
			}
			e, err := prs.ParseExpr(r.Expr)
			if err != nil {
				return nil, err
			}
			parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" {
					if _, ok := recorded[vs.Name]; ok && vs.Name != r.Record {
						refs[r.Record] = append(refs[r.Record], vs.Name)
					}
				}
				return nil
			})
		}
	}
	for changed := true; changed; {
		changed = false
		for name, deps := range refs {
			for _, d := range deps {
				if recorded[d]+1 > recorded[name] {
					recorded[name] = recorded[d] + 1
					changed = true
				}
			}
		}
		if slices.Max(slices.Collect(maps.Values(recorded))) > len(recorded) {
			return nil, fmt.Errorf("recording rules depend on each other in a cycle")
		}
	}
	n := slices.Max(slices.Collect(maps.Values(recorded)))
	out := make([][]rulefmt.RuleGroup, n)
	for i := range out {
		for _, g := range rf {
			ng := rulefmt.RuleGroup{Name: g.Name, Interval: g.Interval}
			for _, r := range g.Rules {
				if r.Record != "" && recorded[r.Record] == i+1 {
					ng.Rules = append(ng.Rules, r)
				}
			}
			if len(ng.Rules) > 0 {
				out[i] = append(out[i], ng)
			}
		}
	}
	return out, nil
}

// promServer is a running Prometheus.
type promServer struct {
	proc *process.Proc
	url  string
}

// startProm starts Prometheus on a free port of 127.0.0.1 with the TSDB in
// data and waits until it is ready.
func startProm(bin, config, data, dir string) (*promServer, error) {
	port, err := process.FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := process.Start("prometheus", filepath.Join(dir, "prometheus.log"), bin,
		"--config.file="+config, "--storage.tsdb.path="+data, "--storage.tsdb.retention.time=100y",
		"--web.listen-address="+addr, "--log.level=warn")
	if err != nil {
		return nil, err
	}
	s := &promServer{proc: p, url: "http://" + addr}
	if err := process.WaitHTTP(context.Background(), p, s.url+"/-/ready", process.Ready{Timeout: time.Minute, Interval: 50 * time.Millisecond}); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *promServer) stop() { s.proc.Stop(20 * time.Second) }
