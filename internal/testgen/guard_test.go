package testgen

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/burnrate/burnrate/internal/encode"
	"github.com/burnrate/burnrate/internal/rulegen"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// guardErrorsSpec is a service with an errors SLO and a latency SLO and the
// low-traffic guard on.
const guardErrorsSpec = `name: cart
service: cart
selector: 'job="cart"'
clusterLabel: cluster
period: 30d
requests: {metric: http_requests_total, errors: 'code=~"5.."'}
latency: {metric: http_request_duration_seconds}
slos:
  - {name: availability, kind: errors, objective: 0.999}
  - {name: latency, kind: latency, objective: 0.99, latency: [{seconds: 0.5}]}
alert:
  name: CartErrorBudgetBurn
  summary: s
  description: d
  minRequests: MIN
  windows:
    - {long: 1h, short: 5m, factor: 14.4, severity: critical, for: 2m}
    - {long: 6h, short: 30m, factor: 6, severity: critical, for: 15m}
`

// guardRawSpec is a service with a raw SLO whose queries keep the cluster
// label, and the guard on.
const guardRawSpec = `name: basket
service: basket
clusterLabel: cluster
period: 30d
slos:
  - name: availability
    kind: raw
    objective: 0.999
    raw:
      errors: 'sum by (cluster) (rate(http_requests_total{job="basket",code=~"5.."}[{{.window}}]))'
      total: 'sum by (cluster) (rate(http_requests_total{job="basket"}[{{.window}}]))'
alert:
  name: BasketErrorBudgetBurn
  summary: s
  description: d
  minRequests: MIN
  windows:
    - {long: 1h, short: 5m, factor: 14.4, severity: critical, for: 2m}
    - {long: 1d, short: 2h, factor: 3, severity: warning, for: 1h}
`

// TestLowTrafficGuard: with alert.minRequests, every alert joins its SLO's
// burn rates with the requests in its short window; the low-traffic tests
// (every request failing: silent below the minimum, firing above it) and
// every other generated test pass on the guarded rules; and on the same
// rules without the guard every "stays silent" group fails, so those
// groups test the guard. The minimum of 20000 is above what the standard
// tests' 10000 requests a minute give the first base-window rate (2000),
// so their traffic is raised (slomodel.TestRequestsOf) and must still
// fire.
func TestLowTrafficGuard(t *testing.T) {
	tests := []struct {
		name, spec, min string
		// raised: the standard alert tests need more traffic than their
		// thresholds alone ask for. With -short only these run every
		// generated file; the others run the low-traffic file.
		raised bool
	}{
		{"errors and latency", guardErrorsSpec, "100", false},
		{"errors and latency, a minimum that raises the tests' traffic", guardErrorsSpec, "20000", true},
		{"raw", guardRawSpec, "100", false},
		{"kube-apiserver, the SLIs' burn rates summed", apiserverGuardSpec(), "100", false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && i > 0 {
				t.Skip("SKIP: -short runs the first spec's low-traffic file only")
			}
			s, err := slo.Parse("spec.yaml", []byte(strings.Replace(tc.spec, "MIN", tc.min, 1)))
			if err != nil {
				t.Fatal(err)
			}
			m, err := slomodel.New(s, slomodel.ProfileOptimized)
			if err != nil {
				t.Fatal(err)
			}
			for i := range m.SLOs {
				got, plain := m.TestRequestsOf(i), slomodel.TestRequestsAt(m.LowestThreshold(i))
				if (got > plain) != tc.raised || got < m.GuardFloor() {
					t.Errorf("SLO %s: the alert tests write %g requests a minute (%g for its thresholds, %g for the guard); raised: %v", m.SLOs[i].Name, got, plain, m.GuardFloor(), tc.raised)
				}
			}
			groups, err := rulegen.RuleGroups(m)
			if err != nil {
				t.Fatal(err)
			}
			alerts := 0
			for _, g := range groups {
				for _, r := range g.Rules {
					if r.Alert != s.Alert.Name {
						continue
					}
					alerts++
					if !strings.Contains(r.Expr, ">=") || !strings.Contains(r.Expr, tc.min) {
						t.Errorf("alert %s/%s has no guard:\n%s", r.Labels["long"], r.Labels["short"], r.Expr)
					}
				}
			}
			perSLI := len(s.SLOs)
			if !m.Profile.AlertPerSLI && !m.Identity {
				perSLI = 1
			}
			if want := len(s.Alert.Windows) * perSLI; alerts != want {
				t.Errorf("%d burn-rate alerts, want %d", alerts, want)
			}

			dir := t.TempDir()
			paths := generateInto(t, dir, m)
			guard := filepath.Join(dir, s.Name+".low-traffic.test.yaml")
			silent, fires := 0, 0
			// The files that read the guarded alerts: the low-traffic tests
			// always, the pairs' alert tests with -short only where the
			// guard raised their traffic, and the kube-apiserver's incident
			// tests (which expect the alert) without -short. The records
			// and SLI-health tests do not read the burn-rate alert.
			var selected []string
			for _, p := range paths {
				switch {
				case p == guard:
				case strings.HasSuffix(p, ".records.test.yaml"), strings.HasSuffix(p, ".sli-health.test.yaml"):
					continue
				case strings.HasSuffix(p, ".incidents.test.yaml"), !tc.raised:
					if testing.Short() {
						continue
					}
				}
				selected = append(selected, p)
			}
			for _, p := range selected {
				report := runFiles(t, p)
				failuresAreErrors(t, report)
				if p != guard {
					continue
				}
				for _, fr := range report.Files {
					for _, g := range fr.Groups {
						switch {
						case strings.Contains(g.Name, " beside "):
						case strings.HasSuffix(g.Name, "stays silent"):
							silent++
						case strings.HasSuffix(g.Name, "fires"):
							fires++
						}
					}
				}
			}
			if want := len(s.Alert.Windows) * len(s.SLOs); silent != want || fires != want {
				t.Errorf("%s: %d silent and %d firing groups, want %d of each (one per pair and SLO)", guard, silent, fires, want)
			}
			if !testing.Short() {
				// promtool on the new file; burnrate test's verdicts on the
				// others are promtool's (internal/ruletest, sameness_test.go).
				if out, err := promtoolTest(t, guard); err != nil {
					t.Errorf("promtool test rules: %v\n%s", err, out)
				}
				lint := exec.Command("go", "tool", "promtool", "check", "rules", "--lint=all", "--lint-fatal", filepath.Join(dir, s.Name+".rules.yaml"))
				if out, err := lint.CombinedOutput(); err != nil {
					t.Errorf("promtool check rules: %v\n%s", err, out)
				}
			}

			// The rules with each guard joined on the cluster alone and
			// counting every SLO's requests: the SLO failing beside a
			// busy one fires, and its group fails.
			if testing.Short() {
				return
			}
			crossed := false
			for _, fr := range runFiles(t, guard).Files {
				for _, g := range fr.Groups {
					crossed = crossed || strings.Contains(g.Name, " beside ")
				}
			}
			if crossed != (m.Identity && len(s.SLOs) > 1) {
				t.Errorf("a group with one SLO failing beside a busy one: %v, want %v", crossed, !crossed)
			}
			if crossed {
				writeRules(t, dir, s.Name, joinedOnCluster(t, groups, m))
				for _, fr := range runFiles(t, guard).Files {
					for _, g := range fr.Groups {
						if strings.Contains(g.Name, " beside ") && !g.Failed() {
							t.Errorf("with the guard joined on the cluster alone, %q passed", g.Name)
						}
					}
				}
			}

			// The same tests on the rules without the guard: every silent
			// group fails, every firing group still passes.
			off := *s
			off.Alert.MinRequests = 0
			mo, err := slomodel.New(&off, slomodel.ProfileOptimized)
			if err != nil {
				t.Fatal(err)
			}
			unguarded, err := rulegen.RuleGroups(mo)
			if err != nil {
				t.Fatal(err)
			}
			writeRules(t, dir, s.Name, unguarded)
			for _, fr := range runFiles(t, guard).Files {
				for _, g := range fr.Groups {
					if strings.HasSuffix(g.Name, "stays silent") != g.Failed() {
						t.Errorf("without the guard, %q: failed %v", g.Name, g.Failed())
					}
				}
			}
		})
	}
}

// apiserverGuardSpec is the embedded kube-apiserver spec with the guard
// (minimum MIN), its first two window pairs, and one alert on the sum of
// the SLIs' burn rates (fixes.alertPerSLI off): the guard then counts the
// requests of every SLI.
func apiserverGuardSpec() string {
	text := string(slo.DefaultYAML())
	for _, e := range [][2]string{
		{"  windows:\n", "  minRequests: MIN\n  windows:\n"},
		{"    - {long: 1d, short: 2h, factor: 3, severity: warning, for: 1h}\n", ""},
		{"    - {long: 3d, short: 6h, factor: 1, severity: warning, for: 3h}\n", ""},
		{"alertPerSLI: true", "alertPerSLI: false"},
	} {
		if !strings.Contains(text, e[0]) {
			panic("the embedded spec has no " + e[0])
		}
		text = strings.Replace(text, e[0], e[1], 1)
	}
	return text
}

// writeRules writes groups as dir/<name>.rules.yaml.
func writeRules(t *testing.T, dir, name string, groups []rulefmt.RuleGroup) {
	t.Helper()
	data, err := encode.RuleFile(groups, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".rules.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// joinedOnCluster is groups with each alert's guard, its last top-level
// "and on (…)", joined on the cluster label alone and reading every SLO's
// events: the mistake of a guard that counts the service's requests.
func joinedOnCluster(t *testing.T, groups []rulefmt.RuleGroup, m *slomodel.Model) []rulefmt.RuleGroup {
	t.Helper()
	sliMatcher := regexp.MustCompile(`,?\b` + m.SLILabel + `="[^"]*"`)
	out := make([]rulefmt.RuleGroup, len(groups))
	for gi, g := range groups {
		out[gi] = g
		out[gi].Rules = slices.Clone(g.Rules)
		for ri, r := range g.Rules {
			if r.Alert != m.Alert.Name {
				continue
			}
			on := "\nand on (" + strings.Join(m.AlertOn(), ", ") + ")\n"
			k := strings.LastIndex(r.Expr, on)
			if k < 0 {
				t.Fatalf("alert %s/%s has no top-level %q:\n%s", r.Labels["long"], r.Labels["short"], on, r.Expr)
			}
			guard := sliMatcher.ReplaceAllString(r.Expr[k+len(on):], "")
			out[gi].Rules[ri].Expr = r.Expr[:k] + "\nand on (" + m.ClusterLabel + ")\n" + guard
		}
	}
	return out
}
