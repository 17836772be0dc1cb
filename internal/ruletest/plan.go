package ruletest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"

	"github.com/burnrate/burnrate/internal/promtest"
)

// defaultEvaluationInterval is promtool's evaluation_interval default.
const defaultEvaluationInterval = time.Minute

// suite is a test file that passed every input check and is ready to run.
type suite struct {
	path         string
	ruleFiles    []string // resolved and globbed, in rule_files order
	evalInterval time.Duration
	fuzzy        bool
	nRules       int            // rules in all rule files
	evalOrder    map[string]int // group_eval_order: group name → position
	loadRank     map[string]int // rules.GroupKey → position in load order
	groups       []*groupPlan   // the test groups selected by Options.Run
	warnings     []string
}

// groupPlan is one selected test group with everything precomputed that can
// be checked before running it.
type groupPlan struct {
	suite     *suite
	name      string         // the group's name, or "unnamed#<index>"
	tg        promtest.Group // Interval already defaulted
	mint      time.Time      // time 0 of the group's timeline
	maxEval   time.Duration
	load      string // promqltest load command for input_series
	exprTests []preparedExprTest
}

// preparedExprTest is a promql_expr_test whose expected samples are parsed.
type preparedExprTest struct {
	promtest.ExprTest
	exp []sampleValue
}

// sampleValue is a sample in the shape promtool compares: labels, float value
// and the histogram's test expression ("" for float samples).
type sampleValue struct {
	Labels    labels.Labels
	Value     float64
	Histogram string
}

// newParser returns the PromQL parser promtool uses for rules and queries
// when no --enable-feature flag is given.
func newParser() parser.Parser {
	return parser.NewParser(parser.Options{})
}

// loadSuite reads and checks one test file. All problems found are returned
// together, each naming the file and, where known, the line.
func loadSuite(path string, run *regexp.Regexp) (*suite, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, &inputError{File: path, Err: fmt.Errorf("reading test file: %w", err)}
	}
	tf, err := decodeTestFile(path, content)
	if err != nil {
		return nil, err
	}
	loc := promtest.NewLocator(content)
	s := &suite{
		path:         path,
		evalInterval: time.Duration(tf.EvaluationInterval),
		fuzzy:        tf.FuzzyCompare,
		evalOrder:    map[string]int{},
		loadRank:     map[string]int{},
	}
	if s.evalInterval == 0 {
		s.evalInterval = defaultEvaluationInterval
	}
	var errs []error
	fail := func(pos promtest.Position, format string, args ...any) {
		errs = append(errs, &inputError{File: path, Line: pos.Line(), Err: fmt.Errorf(format, args...)})
	}

	for i, name := range tf.GroupEvalOrder {
		if _, dup := s.evalOrder[name]; dup {
			fail(loc.At("group_eval_order", i), "group_eval_order: group %q is listed twice", name)
			continue
		}
		s.evalOrder[name] = i
	}

	p := newParser()
	alertNames, groupNames := map[string]bool{}, map[string]bool{}
	var loaded []string // rule group names in load order
	baseDir := filepath.Dir(path)
	for i, pattern := range tf.RuleFiles {
		pos := loc.At("rule_files", i)
		if pattern == "" {
			fail(pos, "rule_files: entry %d is empty", i)
			continue
		}
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(baseDir, pattern)
		}
		matches, err := filepath.Glob(pattern)
		if err != nil {
			fail(pos, "rule_files: pattern %q: %w", pattern, err)
			continue
		}
		if len(matches) == 0 {
			fail(pos, "rule_files: %s: no such file (pattern matches nothing)", pattern)
			continue
		}
		for _, rf := range matches {
			rgs, rerrs := rulefmt.ParseFile(rf, false, model.UTF8Validation, p, promslog.NewNopLogger())
			if len(rerrs) > 0 {
				for _, e := range dedupErrors(rerrs) {
					fail(pos, "invalid rule file: %w", e)
				}
				continue
			}
			for _, g := range rgs.Groups {
				key := rules.GroupKey(rf, g.Name)
				if _, seen := s.loadRank[key]; !seen {
					s.loadRank[key] = len(loaded)
					loaded = append(loaded, g.Name)
				}
				groupNames[g.Name] = true
				s.nRules += len(g.Rules)
				for _, r := range g.Rules {
					if r.Alert != "" {
						alertNames[r.Alert] = true
					}
				}
			}
		}
		s.ruleFiles = append(s.ruleFiles, matches...)
	}
	for _, name := range tf.GroupEvalOrder {
		if !groupNames[name] && len(errs) == 0 {
			s.warn("group_eval_order names group %q, which no rule file defines", name)
		}
	}

	for i := range tf.Tests {
		tg := tf.Tests[i]
		if run != nil && !run.MatchString(tg.Name) {
			continue
		}
		g, gerrs := s.planGroup(i, tg, loc, alertNames)
		errs = append(errs, gerrs...)
		if g != nil {
			s.groups = append(s.groups, g)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(s.groups) > 0 {
		s.warnAmbiguousOrder(loaded)
	}
	return s, nil
}

func (s *suite) warn(format string, args ...any) {
	s.warnings = append(s.warnings, fmt.Sprintf(format, args...))
}

// warnAmbiguousOrder reports rule groups whose relative evaluation order
// promtool leaves to chance: it sorts by group_eval_order position, with 0
// for unlisted groups, starting from Go map order. This package breaks such
// ties by load order instead, which promtool may or may not happen to use.
func (s *suite) warnAmbiguousOrder(loaded []string) {
	byPos := map[int][]string{}
	for _, name := range loaded {
		pos := s.evalOrder[name]
		byPos[pos] = append(byPos[pos], fmt.Sprintf("%q", name))
	}
	positions := make([]int, 0, len(byPos))
	for pos := range byPos {
		positions = append(positions, pos)
	}
	sort.Ints(positions)
	for _, pos := range positions {
		if names := byPos[pos]; len(names) > 1 {
			s.warn("rule groups %s have no fixed evaluation order (promtool evaluates them in random order; "+
				"list them in group_eval_order if one reads the other's output); evaluating them in file order",
				strings.Join(names, ", "))
		}
	}
}

// cost estimates the work of running the group, for scheduling: every
// evaluation step runs every rule, and reads more the more input series
// there are.
func (g *groupPlan) cost() int64 {
	steps := int64(g.maxEval/g.suite.evalInterval) + 1
	return steps * int64(g.suite.nRules+len(g.tg.InputSeries)+1)
}

// planGroup checks test group i and precomputes what running it needs.
func (s *suite) planGroup(i int, tg promtest.Group, loc *promtest.Locator, alertNames map[string]bool) (*groupPlan, []error) {
	var errs []error
	fail := func(pos promtest.Position, format string, args ...any) {
		errs = append(errs, &inputError{File: s.path, Line: pos.Line(), Err: fmt.Errorf(format, args...)})
	}
	name := tg.Name
	if name == "" {
		name = fmt.Sprintf("unnamed#%d", i)
	}
	where := fmt.Sprintf("test group %q", name)
	if tg.Interval == 0 {
		tg.Interval = model.Duration(s.evalInterval)
	}
	g := &groupPlan{suite: s, name: name, tg: tg, mint: time.Unix(0, 0).UTC()}
	if !tg.StartTimestamp.IsZero() {
		g.mint = tg.StartTimestamp.Time
	}

	// Input series: parse each one as promqltest's load command will, so that
	// a notation error can be pinned to its entry and line.
	seriesParser := parser.NewParser(promqltest.TestParserOpts)
	var (
		seriesEnd  time.Duration
		haveValues bool
		seen       = map[uint64]int{}
	)
	for j, is := range tg.InputSeries {
		pos := loc.At("tests", i, "input_series", j)
		if strings.TrimSpace(is.Series) == "" {
			fail(pos, "%s: input_series[%d]: series is empty", where, j)
			continue
		}
		if strings.ContainsAny(is.Series+is.Values, "\r\n") {
			fail(pos, "%s: input_series[%d]: series and values must each be a single line", where, j)
			continue
		}
		metric, vals, err := seriesParser.ParseSeriesDesc(is.Series + " " + is.Values)
		if err != nil {
			fail(pos, "%s: input_series[%d] %s: bad series or values %q: %w", where, j, is.Series, is.Values, err)
			continue
		}
		if prev, dup := seen[metric.Hash()]; dup {
			fail(pos, "%s: input_series[%d]: series %s is already defined by input_series[%d]", where, j, metric, prev)
			continue
		}
		seen[metric.Hash()] = j
		if len(vals) > 0 {
			haveValues = true
			seriesEnd = max(seriesEnd, time.Duration(len(vals)-1)*time.Duration(tg.Interval))
		}
	}
	g.load = loadCommand(tg)

	checkEvalTime := func(pos promtest.Position, what string, at model.Duration) {
		g.maxEval = max(g.maxEval, time.Duration(at))
		if haveValues && time.Duration(at) > seriesEnd {
			fail(pos, "%s: %s: eval_time %s is after the end of the input series (their last step is at %s); "+
				"extend input_series (for example with _xN) or use an earlier eval_time",
				where, what, at, model.Duration(seriesEnd))
		}
	}

	for j, at := range tg.AlertRuleTests {
		pos := loc.At("tests", i, "alert_rule_test", j)
		what := fmt.Sprintf("alert_rule_test[%d]", j)
		if at.Alertname == "" {
			fail(pos, "%s: %s: alertname is missing", where, what)
			continue
		}
		what += " (alertname " + at.Alertname + ")"
		checkEvalTime(pos, what, at.EvalTime)
		if !alertNames[at.Alertname] && len(s.ruleFiles) > 0 {
			s.warn("%s: %s: no alerting rule named %q in the rule files, so it can never fire", where, what, at.Alertname)
		}
	}

	p := newParser()
	for j, et := range tg.PromQLExprTests {
		pos := loc.At("tests", i, "promql_expr_test", j)
		what := fmt.Sprintf("promql_expr_test[%d] (expr %s)", j, et.Expr)
		checkEvalTime(pos, what, et.EvalTime)
		expr, err := p.ParseExpr(et.Expr)
		if err != nil {
			fail(pos, "%s: promql_expr_test[%d]: expr %q does not parse: %w", where, j, et.Expr, err)
			continue
		}
		if t := expr.Type(); t != parser.ValueTypeVector && t != parser.ValueTypeScalar {
			fail(pos, "%s: promql_expr_test[%d]: expr %q evaluates to a %s; it must be an instant vector or a scalar", where, j, et.Expr, t)
			continue
		}
		pt := preparedExprTest{ExprTest: et}
		ok := true
		for k, es := range et.ExpSamples {
			sv, err := parseExpSample(p, es)
			if err != nil {
				fail(loc.At("tests", i, "promql_expr_test", j, "exp_samples", k), "%s: %s: exp_samples[%d]: %w", where, what, k, err)
				ok = false
				continue
			}
			pt.exp = append(pt.exp, sv)
		}
		if ok {
			g.exprTests = append(g.exprTests, pt)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return g, nil
}

// parseExpSample parses an expected sample the way promtool does.
func parseExpSample(p parser.Parser, es promtest.ExpSample) (sampleValue, error) {
	lbls, err := p.ParseMetric(es.Labels)
	if err != nil {
		return sampleValue{}, fmt.Errorf("labels %q: %w", es.Labels, err)
	}
	var h *histogram.FloatHistogram
	if es.Histogram != "" {
		_, vals, err := p.ParseSeriesDesc("{} " + es.Histogram)
		switch {
		case err != nil:
			return sampleValue{}, fmt.Errorf("histogram %q: %w", es.Histogram, err)
		case len(vals) != 1:
			return sampleValue{}, fmt.Errorf("histogram %q: expected 1 value, got %d", es.Histogram, len(vals))
		case vals[0].Histogram == nil:
			return sampleValue{}, fmt.Errorf("histogram %q: not a histogram", es.Histogram)
		}
		h = vals[0].Histogram
	}
	return sampleValue{Labels: lbls, Value: es.Value, Histogram: promqltest.HistogramTestExpression(h)}, nil
}

// loadCommand renders the input series as a promqltest load command, the
// same text promtool hands to its LazyLoader.
func loadCommand(tg promtest.Group) string {
	var b strings.Builder
	fmt.Fprintf(&b, "load %s\n", compactDuration(tg.Interval))
	for _, is := range tg.InputSeries {
		fmt.Fprintf(&b, "  %s %s\n", is.Series, is.Values)
	}
	return b.String()
}

// compactDuration drops the zero-valued trailing units model.Duration can
// print ("1h0m" → "1h", "5m0s" → "5m"), as promtool does.
func compactDuration(d model.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// dedupErrors drops errors whose text repeats an earlier one; rulefmt
// reports a YAML syntax error twice.
func dedupErrors(errs []error) []error {
	seen := map[string]bool{}
	out := errs[:0:0]
	for _, e := range errs {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			out = append(out, e)
		}
	}
	return out
}
