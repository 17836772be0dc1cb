package promtest

import (
	"bytes"
	"math"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"

	"github.com/burnrate/burnrate/internal/encode"
)

// fileOf is a file that puts the strings s, t and u, and the number v,
// in every place a string or a number can stand: a sequence item, a
// mapping value and key, and a test's name, series and expression.
func fileOf(s, t, u string, v float64) *File {
	labels := map[string]string{s: t, "slo": u, t: s, "cluster": "c1"}
	return &File{
		RuleFiles:          []string{s, "r.yaml"},
		EvaluationInterval: model.Duration(time.Minute),
		GroupEvalOrder:     []string{t},
		Tests: []Group{{
			Name:        s,
			Interval:    model.Duration(time.Minute),
			InputSeries: []InputSeries{{Series: t, Values: u}, {Series: s, Values: "0+1x10"}},
			AlertRuleTests: []AlertTest{{
				EvalTime: model.Duration(2 * time.Minute), Alertname: u,
				ExpAlerts: []ExpAlert{{ExpLabels: labels, ExpAnnotations: map[string]string{"summary": s, "description": t}}, {}},
			}, {Alertname: s}},
			PromQLExprTests: []ExprTest{{Expr: t, EvalTime: model.Duration(90 * time.Second), ExpSamples: []ExpSample{{Labels: u, Value: v, Histogram: s}, {Labels: s, Value: -v}}}},
			ExternalLabels:  map[string]string{u: s},
			ExternalURL:     u,
			StartTimestamp:  StartTimestamp{time.Unix(int64(len(s)), 0)},
		}, {Interval: model.Duration(time.Minute)}},
		FuzzyCompare: len(t)%2 == 1,
	}
}

var writerCases = []struct {
	s, t, u string
	v       float64
}{
	{"a", "b", "c", 1},
	{`up{job="a"}`, `{cluster="c1", slo="x"}`, "0 97120+97120x62", 0.25},
	{"errors only: each SLO's share", "a #b", "1h3m", math.Inf(1)},
	{"sum(\n  rate(x[5m])\n)", "line\n\n  indented\n", "trailing \n\n", math.NaN()},
	{"", " leading", "trailing ", math.Inf(-1)},
	{"true", "no", "null", 1e21},
	{"1.5", "0x1F", "2026-01-02", -0.0001},
	{"1_0x5", "12:30", "0o17", 3},
	{"- item", "? key", ": value", 0},
	{"'quoted'", `"double"`, "tab\there", 0.1},
	{"ünïcode", "\x00\x01", "a: b: c", 100},
	{"__name__", "le", "runbook_url", 7},
	{"Key", "key2", "a1", 8},
	{"~", ".inf", "<<", 9},
	{"---", "...", "#comment", 10},
	{"[a]", "{b}", ",c", 11},
	{"x:", "x: ", "a:b", 12},
	{"@at", "`tick", "%pct", 13},
	{"y", "Yes", "OFF", 14},
	{"0b101", "-0b1", "+1", 15},
	{"1e5", "1e+05x", "5m", 16},
	{"line\r\nwindows", "\u2028sep", "\ufeffbom", 17},
	{"1", "a\u2029b", "Key", 18},
}

// TestWriterMatchesYAMLv3: Marshal writes what yaml.v3 writes (encode.YAML),
// byte for byte, for strings of every kind in every place.
func TestWriterMatchesYAMLv3(t *testing.T) {
	for _, c := range writerCases {
		checkWriter(t, fileOf(c.s, c.t, c.u, c.v))
	}
	checkWriter(t, &File{})
	checkWriter(t, &File{Tests: []Group{{InputSeries: []InputSeries{{}}, AlertRuleTests: []AlertTest{{ExpAlerts: []ExpAlert{{ExpLabels: map[string]string{}}}}}}}})
}

// FuzzWriterMatchesYAMLv3 is TestWriterMatchesYAMLv3 for any strings.
func FuzzWriterMatchesYAMLv3(f *testing.F) {
	for _, c := range writerCases {
		f.Add(c.s, c.t, c.u, c.v)
	}
	f.Fuzz(func(t *testing.T, s, u, v string, x float64) {
		if !utf8.ValidString(s) || !utf8.ValidString(u) {
			// s and u are map keys too: yaml.v3 sorts keys as runes,
			// where invalid bytes all read as U+FFFD, and its order of
			// such keys changes from run to run.
			t.Skip()
		}
		checkWriter(t, fileOf(s, u, v, x))
	})
}

func checkWriter(t *testing.T, f *File) {
	t.Helper()
	const header = "h1\nh2"
	want, wantErr := encode.YAML(header, f)
	got, err := f.Marshal(header)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("Marshal error %v, yaml.v3 error %v", err, wantErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Marshal differs from yaml.v3:\n%s\nwant\n%s", got, want)
	}
}
