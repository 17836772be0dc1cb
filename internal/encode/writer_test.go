package encode

import (
	"bytes"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
)

// groupsOf are rule groups with strings s, t and u in every place a
// string can stand, and every optional field set in one of them.
func groupsOf(s, t, u string) []rulefmt.RuleGroup {
	offset := model.Duration(time.Minute)
	return []rulefmt.RuleGroup{{
		Name: s, Interval: model.Duration(time.Minute),
		Rules: []rulefmt.Rule{
			{Record: s, Expr: t, Labels: map[string]string{"slo": u, s: t}},
			{Alert: t, Expr: u, For: model.Duration(2 * time.Minute), KeepFiringFor: model.Duration(time.Hour),
				Labels: map[string]string{"severity": s}, Annotations: map[string]string{"summary": t, "description": u, u: s}},
		},
	}, {Name: u, QueryOffset: &offset, Limit: 7, Rules: []rulefmt.Rule{}, Labels: map[string]string{"team": s}}}
}

var ruleCases = [][3]string{
	{"g", "sum(rate(x[5m]))", "a"},
	{"slo:burnrate5m", "a > 1\nand on (cluster)\n  b > 1", `{{ $labels.slo }} is burning: "fast"`},
	{"", "1.5", "true"},
	{"x: y", "\u2028", " lead"},
	{"ünï", "Key", "0x1F"},
}

// TestRuleFileMatchesYAMLv3: RuleFile's writer writes what yaml.v3
// writes, byte for byte.
func TestRuleFileMatchesYAMLv3(t *testing.T) {
	checkRuleFile(t, nil)
	for _, c := range ruleCases {
		checkRuleFile(t, groupsOf(c[0], c[1], c[2]))
	}
}

// FuzzRuleFileMatchesYAMLv3 is TestRuleFileMatchesYAMLv3 for any strings.
func FuzzRuleFileMatchesYAMLv3(f *testing.F) {
	for _, c := range ruleCases {
		f.Add(c[0], c[1], c[2])
	}
	f.Fuzz(func(t *testing.T, s, u, v string) {
		if !utf8.ValidString(s + v) {
			// s and v are map keys too: yaml.v3 sorts keys as runes,
			// where invalid bytes all read as U+FFFD, and its order of
			// such keys changes from run to run.
			t.Skip()
		}
		checkRuleFile(t, groupsOf(s, u, v))
	})
}

func checkRuleFile(t *testing.T, groups []rulefmt.RuleGroup) {
	t.Helper()
	const header = "h1\nh2"
	want, wantErr := YAML(header, rulefmt.RuleGroups{Groups: groups})
	got, err := ruleFileYAML(groups, header)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("error %v, yaml.v3 error %v", err, wantErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the writer differs from yaml.v3:\n%s\nwant\n%s", got, want)
	}
}
