package testgen

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// maxObjective is the highest objective slo.Parse accepts: a number below
// 1 that 15 significant digits write exactly.
const maxObjective = 0.999999999999999

// objectiveWindows are the window pairs of the objective tests: the
// default's fastest factor and a factor of 1 (the lowest threshold, the one
// whole requests once rounded onto), on windows whose tests evaluate every
// five minutes, so that they run in seconds.
var objectiveWindows = []struct {
	yaml   string
	factor float64
}{
	{"{long: 1h, short: 30m, factor: 14.4, severity: critical, for: 10m}", 14.4},
	{"{long: 2h, short: 30m, factor: 1, severity: warning, for: 10m}", 1},
}

// objectiveSpec is a spec at objective o of one kind: the embedded
// kube-apiserver spec (SLOs of kind errors-and-latency), a service with an
// SLO of every kind, or a service whose SLOs read no histogram. Window
// pairs whose threshold the objective puts at 100% errors or above are
// left out, as validation requires.
func objectiveSpec(t *testing.T, o float64, spec string) *slo.Spec {
	t.Helper()
	var windows []string
	for _, w := range objectiveWindows {
		if w.factor*slomodel.ErrorBudget(o) < 1 {
			windows = append(windows, "    - "+w.yaml)
		}
	}
	obj := strconv.FormatFloat(o, 'g', -1, 64)
	var text string
	switch spec {
	case "service", "service-no-histogram":
		slos := `  - {name: availability, kind: errors, selector: 'handler=~"/|/cart"'}
  - {name: latency, kind: latency, selector: 'handler=~"/|/cart"', latency: [{seconds: 0.3}]}
  - {name: checkout, kind: errors-and-latency, selector: 'handler="/checkout"', latency: [{seconds: 1}]}
`
		if spec == "service-no-histogram" {
			slos = `  - {name: availability, kind: errors, selector: 'handler=~"/|/cart"'}
`
		}
		text = `name: shop
service: shop
selector: 'job="shop"'
clusterLabel: cluster
period: 30d
objective: ` + obj + `
requests: {metric: http_requests_total, errors: 'code=~"5.."'}
latency: {metric: http_request_duration_seconds}
slos:
` + slos + `  - name: jobs
    raw:
      errors: 'sum by (cluster) (rate(jobs_total{job="shop", result="failed"}[{{.window}}]))'
      total: 'sum by (cluster) (rate(jobs_total{job="shop"}[{{.window}}]))'
alert:
  name: ShopErrorBudgetBurn
  summary: s
  description: d
  windows:
` + strings.Join(windows, "\n") + "\n"
	default:
		text = string(slo.DefaultYAML())
		text = strings.Replace(text, "objective: 0.99\n", "objective: "+obj+"\n", 1)
		start := strings.Index(text, "  windows:\n")
		end := strings.Index(text, "# The optimized (default) profile")
		if start < 0 || end < start {
			t.Fatal("the embedded spec's windows moved")
		}
		text = text[:start] + "  windows:\n" + strings.Join(windows, "\n") + "\n" + text[end:]
	}
	s, err := slo.Parse("spec.yaml", []byte(text))
	if err != nil {
		t.Fatalf("objective %v: %v", o, err)
	}
	return s
}

// maxAccepted is the highest objective of the form 0.99…9 that
// slomodel.New accepts for spec in the profile.
func maxAccepted(t *testing.T, spec, profile string) float64 {
	t.Helper()
	for k := 15; k >= 1; k-- {
		o, _ := strconv.ParseFloat("0."+strings.Repeat("9", k), 64)
		if _, err := slomodel.New(objectiveSpec(t, o, spec), profile); err == nil {
			return o
		}
	}
	t.Fatalf("%s, %s: slomodel.New accepts no objective", spec, profile)
	return 0
}

// generateInto writes the rule file and tests of model m, as generate
// does, into dir and returns the test files' paths.
func generateInto(t *testing.T, dir string, m *slomodel.Model) (paths []string) {
	t.Helper()
	rf, err := rulegen.RuleGroups(m)
	if err != nil {
		t.Fatal(err)
	}
	data, err := encode.RuleFile(rf, "")
	if err != nil {
		t.Fatal(err)
	}
	ruleFile := m.Name + ".rules.yaml"
	if err := os.WriteFile(filepath.Join(dir, ruleFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	tests, err := Tests(m, ruleFile)
	if err != nil {
		t.Fatalf("Tests of a spec slomodel.New accepts: %v", err)
	}
	for _, tf := range tests {
		path := filepath.Join(dir, tf.Name)
		writeTest(t, path, tf.File, "")
		paths = append(paths, path)
	}
	return paths
}

// TestObjectives generates the tests of specs at objectives from 0.9 to
// the highest slo.Parse accepts and the highest slomodel.New accepts, in both
// profiles, and runs them in-process and (unless -short) under promtool:
// for every objective generate accepts, its tests pass. Above the highest
// it accepts, slomodel.New refuses the spec for a reason: the kubernetes-mixin
// profile's five-decimal budget is 0, or the thresholds are too small a
// share for float64 (slomodel.TestTrafficProblem).
func TestObjectives(t *testing.T) {
	for _, c := range []struct{ spec, profile string }{
		{"kube-apiserver", slomodel.ProfileOptimized},
		{"kube-apiserver", slomodel.ProfileMixin},
		{"service", slomodel.ProfileOptimized},
		{"service-no-histogram", slomodel.ProfileOptimized},
	} {
		top := maxAccepted(t, c.spec, c.profile)
		t.Logf("%s, %s: highest objective accepted: %v", c.spec, c.profile, top)
		objectives := []float64{0.9, 0.99, 0.999, 0.9999, 0.99999, 0.999999, 0.999999999, maxObjective}
		if !slices.Contains(objectives, top) {
			objectives = append(objectives, top)
		}
		for _, o := range objectives {
			t.Run(fmt.Sprintf("%s/%s/%v", c.spec, c.profile, o), func(t *testing.T) {
				m, err := slomodel.New(objectiveSpec(t, o, c.spec), c.profile)
				if err != nil {
					if o <= top {
						t.Fatalf("slomodel.New refused objective %v, below the highest it accepts, %v: %v", o, top, err)
					}
					if !strings.Contains(err.Error(), "too small a share of requests to test") && !strings.Contains(err.Error(), "comes out as 0") {
						t.Fatalf("slomodel.New refused objective %v for another reason: %v", o, err)
					}
					return
				}
				if testing.Short() && o != top && (o != 0.9999 || c.spec != "kube-apiserver" || c.profile != slomodel.ProfileOptimized) {
					t.Skip("SKIP: -short runs the highest objective accepted, and 0.9999 of the optimized kube-apiserver")
				}
				dir := t.TempDir()
				paths := generateInto(t, dir, m)
				for _, p := range paths {
					failuresAreErrors(t, runFiles(t, p))
				}
				if testing.Short() {
					return
				}
				if out, err := promtoolTest(t, paths...); err != nil {
					t.Errorf("promtool test rules: %v\n%s", err, out)
				}
			})
		}
	}
}
