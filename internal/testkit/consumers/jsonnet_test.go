package consumers

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-jsonnet"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/mixingroups"
)

// recipe returns the jsonnet block of the README that follows the comment
// "<!-- recipe: name".
func recipe(t *testing.T, name string) string {
	t.Helper()
	readme, err := os.ReadFile(root + "/README.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- recipe: " + regexp.QuoteMeta(name) + "[ (].*?-->\n```jsonnet\n(.*?)```")
	m := re.FindSubmatch(readme)
	if m == nil {
		t.Fatalf("README.md has no jsonnet block after <!-- recipe: %s", name)
	}
	return string(m[1])
}

// groupsJSON is groups as burnrate's json format writes them.
func groupsJSON(t *testing.T, groups []rulefmt.RuleGroup) string {
	t.Helper()
	data, err := encode.Encode(encode.FormatJSON, groups, "stand-in", encode.Envelope{})
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestJsonnetRecipes evaluates the README's jsonnet patches with go-jsonnet
// against stand-ins for what they patch, written here: kube-prometheus'
// kubernetesControlPlane.prometheusRule (components/k8s-control-plane.libsonnet:
// spec.groups = the mixin's alert groups + its rule groups) and a mixin's
// hidden prometheusRules and prometheusAlerts, each holding the mixin's four
// SLO groups (as the kubernetes-mixin profile renders them with the
// preset) and a group burnrate does not replace. The result must hold each
// group once, decode strictly into the operator's PrometheusRule (for
// kube-prometheus) and pass its validation, keep the other group, and have
// one writer per recorded series and burnrate's KubeAPIErrorBudgetBurn
// alone. The same patch without its filter must fail that check.
func TestJsonnetRecipes(t *testing.T) {
	burnrateJSON := string(committed(t, "rules/kube-prometheus/kube-apiserver.rules.json"))
	ourGroups := jsonGroups(t, burnrateJSON)
	mixin := mixinStandIn(t, "kube-prometheus")
	var alerts, rules []rulefmt.RuleGroup
	for _, g := range mixin {
		if g.Name == "kube-apiserver-slos" || g.Name == otherMixinGroup.Name {
			alerts = append(alerts, g)
		} else {
			rules = append(rules, g)
		}
	}
	standIns := map[string]struct {
		standIn string // the object the recipe is added to
		result  string // what a Prometheus loads from it, given the object as kp
	}{
		"kube-prometheus": {
			standIn: `{
  kubernetesControlPlane: {
    prometheusRule: {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: {
        labels: { 'app.kubernetes.io/name': 'kube-prometheus', 'app.kubernetes.io/part-of': 'kube-prometheus', prometheus: 'k8s', role: 'alert-rules' },
        name: 'kubernetes-monitoring-rules',
        namespace: 'monitoring',
      },
      spec: { groups: (import 'mixin-alerts.json').groups + (import 'mixin-rules.json').groups },
    },
  },
}`,
			result: `kp.kubernetesControlPlane.prometheusRule`,
		},
		"mixin": {
			standIn: `{
  prometheusRules:: { groups: (import 'mixin-rules.json').groups },
  prometheusAlerts:: { groups: (import 'mixin-alerts.json').groups },
}`,
			result: `{ spec: { groups: kp.prometheusRules.groups + kp.prometheusAlerts.groups } }`,
		},
	}
	for name, si := range standIns {
		patch := recipe(t, name)
		unfiltered := strings.ReplaceAll(patch, "std.filter(function(g) !std.member(replaced, g.name), super.groups)", "super.groups")
		if unfiltered == patch {
			t.Fatalf("%s: the recipe has no std.filter(… super.groups) to take out for the negative check", name)
		}
		for _, variant := range []struct {
			name, patch string
			wantClean   bool
		}{{"recipe", patch, true}, {"recipe without its filter", unfiltered, false}} {
			t.Run(name+"/"+variant.name, func(t *testing.T) {
				vm := jsonnet.MakeVM()
				vm.Importer(&jsonnet.MemoryImporter{Data: map[string]jsonnet.Contents{
					"kube-apiserver.rules.json": jsonnet.MakeContents(burnrateJSON),
					"mixin-rules.json":          jsonnet.MakeContents(groupsJSON(t, rules)),
					"mixin-alerts.json":         jsonnet.MakeContents(groupsJSON(t, alerts)),
					"standin.libsonnet":         jsonnet.MakeContents(si.standIn),
					"burnrate.libsonnet":        jsonnet.MakeContents(variant.patch),
				}})
				out, err := vm.EvaluateAnonymousSnippet("main.jsonnet", "local kp = (import 'standin.libsonnet') + (import 'burnrate.libsonnet'); "+si.result)
				if err != nil {
					t.Fatalf("go-jsonnet: %v", err)
				}
				var pr monitoringv1.PrometheusRule
				decodeStrict(t, []byte(out), &pr)
				groups := fromOperator(pr.Spec.Groups)
				problems := writerProblems(groups, byContent(ourGroups))
				if !variant.wantClean {
					if problems == "" {
						t.Fatal("the mixin's groups left in place went unnoticed")
					}
					return
				}
				if problems != "" {
					t.Fatal(problems)
				}
				if errs := operatorValidateRule(pr.Spec); len(errs) > 0 {
					t.Errorf("the operator's ValidateRule: %v", errs)
				}
				kept := 0
				for _, g := range pr.Spec.Groups {
					if g.Name == otherMixinGroup.Name {
						kept++
					}
				}
				if kept != 1 {
					t.Errorf("the mixin's %s is there %d times, want once", otherMixinGroup.Name, kept)
				}
				if n, want := len(pr.Spec.Groups), len(ourGroups)+1; n != want {
					t.Errorf("%d groups, want burnrate's %d and %s", n, len(ourGroups), otherMixinGroup.Name)
				}
				replaced, err := mixingroups.Replaced(ourGroups)
				if err != nil {
					t.Fatal(err)
				}
				if len(replaced) != len(mixingroups.Groups) {
					t.Errorf("burnrate's groups replace %v, want all four of the mixin's", replaced)
				}
			})
		}
	}
}

// jsonGroups decodes burnrate's json format into rulefmt groups.
func jsonGroups(t *testing.T, data string) []rulefmt.RuleGroup {
	t.Helper()
	var f struct {
		Groups []monitoringv1.RuleGroup `json:"groups"`
	}
	if err := json.Unmarshal([]byte(data), &f); err != nil {
		t.Fatal(err)
	}
	return fromOperator(f.Groups)
}
