package generator

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// The exported names are the ones the internal packages use, in their order.
func TestConstantsNameTheInternalOnes(t *testing.T) {
	if got := []string{ProfileOptimized, ProfileKubernetesMixin}; !slices.Equal(got, slomodel.Profiles) {
		t.Errorf("profiles %q, internal %q", got, slomodel.Profiles)
	}
	if got := []string{FormatRules, FormatPrometheusRule, FormatJSON, FormatKubePrometheusStack, FormatMimir}; !slices.Equal(got, encode.Formats) {
		t.Errorf("formats %q, internal %q", got, encode.Formats)
	}
}

func defaultInput() []Input { return []Input{{Name: slo.DefaultName, Spec: slo.Default()}} }

func TestOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"profile", Options{Profile: "fast"}, `unknown profile "fast"; choose one of optimized, kubernetes-mixin`},
		{"format", Options{Format: "yaml"}, `unknown format "yaml"; choose one of rules, prometheusrule, json, kube-prometheus-stack, mimir`},
		{"preset", Options{Preset: "kp"}, `unknown preset "kp"; choose one of kube-prometheus, kube-prometheus-stack`},
		{"strategy with mimir", Options{Format: FormatMimir, Envelope: slo.Output{PartialResponseStrategy: "warn"}}, "use it with format rules or prometheusrule, not mimir"},
		{"envelope label", Options{Envelope: slo.Output{Labels: map[string]string{"a b": "x"}}}, "envelope: output.labels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Generate(defaultInput(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Generate error %v, want one containing %q", err, tc.want)
			}
			if res != nil {
				t.Errorf("Generate returned a result with its error")
			}
		})
	}
	if _, err := Generate(nil, Options{}); err == nil {
		t.Error("Generate without inputs: no error")
	}
}

// The preset and the envelope change Generate's copy of a spec, never the
// caller's.
func TestSpecLeftAlone(t *testing.T) {
	s := slo.Default()
	s.Output.Labels = map[string]string{"team": "platform"}
	before := *s
	labels := maps.Clone(s.Output.Labels)
	_, err := Generate([]Input{{Name: "spec.yaml", Spec: s}}, Options{
		Format:   FormatPrometheusRule,
		Preset:   "kube-prometheus-stack",
		Envelope: slo.Output{Name: "other", Labels: map[string]string{"release": "prom"}, Annotations: map[string]string{"a": "b"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*s, before) || !maps.Equal(s.Output.Labels, labels) {
		t.Errorf("Generate changed its input spec: output %+v, selector %q; was %+v, %q", s.Output, s.Selector, before.Output, before.Selector)
	}
}

// A spec without a service that the incident scenarios are not calibrated
// for gets no incident tests, and the Result says so (it was dropped
// without a word before).
func TestNoteWhenIncidentsDoNotFit(t *testing.T) {
	s := slo.Default()
	s.Objective = 0.995
	res, err := Generate([]Input{{Name: "stricter.yaml", Spec: s}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Files {
		if strings.HasSuffix(f.Name, ".incidents.test.yaml") {
			t.Errorf("%s rendered for a spec the scenarios do not fit", f.Name)
		}
	}
	want := "stricter.yaml: no incident tests: the incident scenarios do not fit this spec: objective differs"
	if len(res.Notes) != 1 || !strings.HasPrefix(res.Notes[0], want) {
		t.Errorf("notes %q, want one beginning %q", res.Notes, want)
	}

	// The embedded spec gets its incident tests and no note.
	res, err = Generate(defaultInput(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Notes) != 0 {
		t.Errorf("embedded spec: notes %q, want none", res.Notes)
	}
	if !slices.ContainsFunc(res.Files, func(f File) bool { return f.Name == "kube-apiserver.incidents.test.yaml" && f.Kind == KindTest }) {
		t.Error("embedded spec: no incident tests")
	}
}

// Each kind of file is where the command writes it, and the accessors
// agree with Files.
func TestKindsAndAccessors(t *testing.T) {
	res, err := Generate(defaultInput(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[Kind]int{}
	for _, f := range res.Files {
		kinds[f.Kind]++
		if f.Input != slo.DefaultName || len(f.Data) == 0 {
			t.Errorf("%s: input %q, %d bytes", f.Name, f.Input, len(f.Data))
		}
	}
	if kinds[KindRules] != 1 || kinds[KindRunbook] != 1 || kinds[KindTest] < 2 {
		t.Errorf("kinds %v, want one rule file, one runbook and tests", kinds)
	}
	if rb := res.Runbooks(); len(rb) != 1 || rb[0].Name != "kubernetes/KubeAPIErrorBudgetBurn.md" {
		t.Errorf("Runbooks() = %v", rb)
	}
	if gs := res.RuleGroups(slo.DefaultName); len(gs) == 0 {
		t.Error("RuleGroups: none")
	}
	if gs := res.RuleGroups("nothing.yaml"); gs != nil {
		t.Errorf("RuleGroups of an unknown input: %d groups", len(gs))
	}

	// The mixin profile writes no runbook; other formats one file.
	res, err = Generate(defaultInput(), Options{Profile: ProfileKubernetesMixin, Format: FormatJSON})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || res.Files[0].Name != "kube-apiserver.rules.json" || res.Files[0].Kind != KindRules {
		t.Errorf("mixin json: files %v", res.Files)
	}
}

// A run builds the model of each spec once (slomodel.New, where the spec
// is checked): the rules, the tests, the runbook and the incident tests
// all read that one model.
func TestOneModelPerSpec(t *testing.T) {
	checkout, err := slo.Load("../examples/checkout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	inputs := []Input{{Name: slo.DefaultName, Spec: slo.Default()}, {Name: "checkout.yaml", Spec: checkout}}
	// kube-prometheus-stack compares with the mixin's groups of the
	// embedded spec, rendered once per process: render them first.
	if _, err := Generate(defaultInput(), Options{Format: FormatKubePrometheusStack}); err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{
		{},
		{Profile: ProfileKubernetesMixin},
		{Format: FormatKubePrometheusStack},
		{Preset: "kube-prometheus"},
	} {
		in := inputs
		if o.Profile == ProfileKubernetesMixin {
			in = inputs[:1] // the mixin profile renders no service
		}
		before := slomodel.Built()
		res, err := Generate(in, o)
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		if got := slomodel.Built() - before; got != int64(len(in)) {
			t.Errorf("%+v: %d specs built %d models, want one each", o, len(in), got)
		}
		if len(res.Files) == 0 {
			t.Errorf("%+v: no files", o)
		}
	}
}
