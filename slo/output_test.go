package slo

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestPresetYAML: the spec burnrate spec --preset prints parses, validates,
// and is the embedded spec with the preset applied, so generate --preset
// and generate with that file render the same rules.
func TestPresetYAML(t *testing.T) {
	for _, p := range Presets {
		t.Run(p.Name, func(t *testing.T) {
			data, err := p.YAML()
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(p.Name+".yaml", data)
			if err != nil {
				t.Fatalf("the printed spec does not load: %v\n%s", err, data)
			}
			want := Default()
			p.Apply(want)
			if d := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Spec{})); d != "" {
				t.Errorf("printed spec differs from Default()+Apply (-want +got):\n%s", d)
			}
			if d := cmp.Diff(Default(), got, cmpopts.IgnoreUnexported(Spec{})); d == "" {
				t.Error("the preset changed nothing")
			}
		})
	}
}

// TestPresetApplyKeepsLabels: a preset adds its labels to the spec's; the
// rest of the output section stays.
func TestPresetApplyKeepsLabels(t *testing.T) {
	s := Default()
	s.Output = Output{Annotations: map[string]string{"a": "b"}, Labels: map[string]string{"team": "sre", "release": "mine"}}
	p, _ := LookupPreset("kube-prometheus-stack")
	p.Apply(s)
	want := Output{Name: "burnrate-kube-apiserver", Annotations: map[string]string{"a": "b"}, Labels: map[string]string{"team": "sre", "release": "kube-prometheus-stack"}}
	if d := cmp.Diff(want, s.Output); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
