package pql

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// lineWidth is the width Prometheus' Prettify keeps to where it can
// (maxCharactersPerLine in promql/parser/prettier.go).
const lineWidth = 100

// TestLayoutKeepsMeaning prettifies expressions wider than a line, including
// aggregations with a parameter, and parses them back.
func TestLayoutKeepsMeaning(t *testing.T) {
	long := `some_rather_long_metric_name_for_layout{job="kube-apiserver",verb=~"LIST|GET|POST|PUT|PATCH|DELETE"}`
	tests := []string{
		`topk(3, sum by (cluster, resource) (rate(` + long + `[5m])))`,
		`quantile(0.99, rate(` + long + `[5m]))`,
		`count_values("value", ` + long + `)`,
		`1 - (sum by (cluster) (rate(` + long + `[1h])) / sum by (cluster) (rate(` + long + `[1h])))`,
		`sum by (cluster) (rate(` + long + `[1h])) > (14.4 * 0.01) and on (cluster, verb) sum by (cluster) (rate(` + long + `[5m])) > (14.4 * 0.01)`,
		`histogram_quantile(0.99, sum by (cluster, le) (rate(` + long + `[5m]))) > 0`,
	}
	p := parser.NewParser(parser.Options{})
	for _, in := range tests {
		e, err := p.ParseExpr(in)
		if err != nil {
			t.Fatal(err)
		}
		out, err := Format(e)
		if err != nil {
			t.Errorf("Format(%s): %v", in, err)
			continue
		}
		if !strings.Contains(out, "\n") {
			t.Errorf("%s: want a multi-line layout, got %s", in, out)
		}
		if strings.HasPrefix(out, " ") {
			t.Errorf("%s: the first line is indented, which yaml.v3 cannot write back:\n%s", in, out)
		}
		again, err := p.ParseExpr(out)
		if err != nil || again.String() != e.String() {
			t.Errorf("%s: the layout parses to %v (%v)", in, again, err)
		}
		for _, line := range strings.Split(out, "\n") {
			if len(line) > lineWidth && !strings.Contains(line, long) {
				t.Errorf("line wider than %d: %q", lineWidth, line)
			}
		}
	}
}

// TestLe: a whole bound matches both spellings of its le label, others
// only their own.
func TestLe(t *testing.T) {
	tests := []struct {
		seconds float64
		want    string
		matches []string
		misses  []string
	}{
		{1, `le=~"1(\\.0)?"`, []string{"1", "1.0"}, []string{"10", "1.00", "0.1", "11.0"}},
		{30, `le=~"30(\\.0)?"`, []string{"30", "30.0"}, []string{"3", "300"}},
		{0.05, `le="0.05"`, []string{"0.05"}, []string{"0.050", "0.5"}},
	}
	for _, tc := range tests {
		m := Le(tc.seconds)
		if m.String() != tc.want {
			t.Errorf("Le(%v) = %s, want %s", tc.seconds, m, tc.want)
		}
		for _, v := range tc.matches {
			if !m.Matches(v) {
				t.Errorf("%s does not match %q", m, v)
			}
		}
		for _, v := range tc.misses {
			if m.Matches(v) {
				t.Errorf("%s matches %q", m, v)
			}
		}
	}
}
