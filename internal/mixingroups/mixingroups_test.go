package mixingroups

import (
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

func TestReplaced(t *testing.T) {
	other := slo.Default()
	other.Requests.Metric = "http_requests_total"
	other.Latency.Metric = "http_request_duration_seconds"
	other.Alert.Name = "CheckoutErrorBudgetBurn"
	tests := []struct {
		name    string
		spec    *slo.Spec
		profile string
		want    []string // stack switches
	}{
		{"the kube-apiserver spec, optimized", slo.Default(), slomodel.ProfileOptimized,
			[]string{"kubeApiserverAvailability", "kubeApiserverBurnrate", "kubeApiserverHistogram", "kubeApiserverSlos"}},
		{"the kube-apiserver spec, kubernetes-mixin", slo.Default(), slomodel.ProfileMixin,
			[]string{"kubeApiserverAvailability", "kubeApiserverBurnrate", "kubeApiserverHistogram", "kubeApiserverSlos"}},
		// Another service writes none of the mixin's series or alerts, but
		// rulegen names its groups as the mixin does, so those three still
		// collide by name; the alert group does not.
		{"another service, optimized", other, slomodel.ProfileOptimized,
			[]string{"kubeApiserverAvailability", "kubeApiserverBurnrate", "kubeApiserverHistogram"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			groups, err := rulegen.Rules(tc.spec, tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Replaced(groups)
			if err != nil {
				t.Fatal(err)
			}
			var switches []string
			for _, g := range got {
				switches = append(switches, g.StackSwitch)
			}
			if !slices.Equal(switches, tc.want) {
				t.Errorf("replaced %v, want %v", switches, tc.want)
			}
		})
	}
}

func TestWriters(t *testing.T) {
	g := func(name string, rules ...rulefmt.Rule) rulefmt.RuleGroup {
		return rulefmt.RuleGroup{Name: name, Rules: rules}
	}
	got := Writers(map[string][]rulefmt.RuleGroup{
		"mixin":    {g("m", rulefmt.Rule{Record: "a"}, rulefmt.Rule{Alert: "X"})},
		"burnrate": {g("b", rulefmt.Rule{Record: "a"}, rulefmt.Rule{Record: "a"}, rulefmt.Rule{Record: "c"})},
	})
	want := map[string][]string{"a": {"burnrate", "mixin"}, "X": {"mixin"}, "c": {"burnrate"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, w := range want {
		if !slices.Equal(got[k], w) {
			t.Errorf("%s: %v, want %v", k, got[k], w)
		}
	}
}
