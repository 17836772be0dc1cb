package consumers

import (
	"bytes"
	"slices"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	yamlv3 "gopkg.in/yaml.v3"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// thanosGroup is a rule group as the Thanos ruler reads it
// (pkg/rules/manager.go, configRuleAdapter.UnmarshalYAML): rulefmt's group
// inline, plus partial_response_strategy.
type thanosGroup struct {
	RuleGroup rulefmt.RuleGroup `yaml:",inline"`
	Strategy  string            `yaml:"partial_response_strategy"`
}

// loadThanos loads a rule file as the Thanos ruler does, following
// pkg/rules/manager.go (the Thanos module builds against an older
// Prometheus and is not imported here): ValidateAndCount decodes it with
// unknown fields refused; Update takes each group's strategy, writes the
// groups without it to a file per strategy and hands those to Prometheus'
// rules.Manager, which loads them with rulefmt. want is the strategy every
// group must carry ("" for none).
func loadThanos(t *testing.T, file []byte, want string) []rulefmt.RuleGroup {
	t.Helper()
	var f struct {
		Groups []thanosGroup `yaml:"groups"`
	}
	dec := yamlv3.NewDecoder(bytes.NewReader(file))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("Thanos' strict decode: %v", err)
	}
	var plain rulefmt.RuleGroups
	for _, g := range f.Groups {
		if g.Strategy != want {
			t.Errorf("group %s: partial_response_strategy %q, want %q", g.RuleGroup.Name, g.Strategy, want)
		}
		if g.Strategy != "" && !slices.Contains(slo.PartialResponseStrategies, g.Strategy) {
			t.Errorf("group %s: %q is no Thanos strategy", g.RuleGroup.Name, g.Strategy)
		}
		plain.Groups = append(plain.Groups, g.RuleGroup)
	}
	out, err := yamlv3.Marshal(plain)
	if err != nil {
		t.Fatal(err)
	}
	return loadRules(t, out).Groups
}

// TestThanosRuleFile: --partial-response-strategy puts the strategy on
// every group of a rule file the Thanos ruler loads, with the same rules as
// the plain file; Prometheus' own loader refuses that file (so generate
// writes no promtool tests beside it).
func TestThanosRuleFile(t *testing.T) {
	for _, strategy := range slo.PartialResponseStrategies {
		t.Run(strategy, func(t *testing.T) {
			data, groups := render(t, "", slomodel.ProfileOptimized, encode.FormatRules, encode.Envelope{PartialResponseStrategy: strategy})
			got := loadThanos(t, data, strategy)
			if len(got) != len(groups) {
				t.Fatalf("%d groups, want %d", len(got), len(groups))
			}
			for i := range got {
				if got[i].Name != groups[i].Name || !sameRules(groups[i], got[i]) {
					t.Errorf("group %d: %s differs from the plain file's %s", i, got[i].Name, groups[i].Name)
				}
			}
			if _, errs := rulefmt.Parse(data, false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger()); len(errs) == 0 {
				t.Error("Prometheus' rulefmt loads a file with partial_response_strategy; then the tests could be written too")
			}
		})
	}
}
