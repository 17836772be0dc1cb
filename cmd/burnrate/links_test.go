package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/burnrate/burnrate/internal/diagnose"
	"github.com/burnrate/burnrate/internal/output"
	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

// githubAnchors lists the ids GitHub gives the headings of a Markdown page
// (outside fenced code), computed on their own, the way GitHub's renderer
// (github-slugger) does: the heading's text lower-cased, every character
// that is not a letter, digit, mark, space, dash or underscore dropped,
// spaces turned into dashes, and a repeated id suffixed -1, -2, ….
func githubAnchors(md string) map[string]bool {
	out := map[string]bool{}
	count := map[string]int{}
	fence := false
	link := regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "```") {
			fence = !fence
			continue
		}
		if fence || !strings.HasPrefix(line, "#") {
			continue
		}
		text := strings.TrimSpace(strings.TrimLeft(line, "#"))
		text = link.ReplaceAllString(text, "$1")
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
				b.WriteRune(r)
			}
		}
		id := b.String()
		if n := count[id]; n > 0 {
			count[id]++
			id = fmt.Sprintf("%s-%d", id, n)
		} else {
			count[id] = 1
		}
		out[id] = true
	}
	return out
}

func TestGithubAnchors(t *testing.T) {
	got := githubAnchors("# KubeAPIErrorBudgetBurn\n```\n# not a heading\n```\n## Step 6: Is an aggregated API down?\n## Step 6: Is an aggregated API down?\n### `verb` and [a link](#x)\n")
	want := []string{"kubeapierrorbudgetburn", "step-6-is-an-aggregated-api-down", "step-6-is-an-aggregated-api-down-1", "verb-and-a-link"}
	if len(got) != len(want) {
		t.Errorf("anchors %v, want %v", got, want)
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("no anchor %q in %v", w, got)
		}
	}
}

// TestLinksLand renders every committed spec and checks that each link to
// the runbook page lands: the alerts' runbook_url is the page's address,
// and every anchor a link names (the page's own links, burnrate
// diagnose's section links, the dashboards' links) is a heading's id on
// the rendered page.
func TestLinksLand(t *testing.T) {
	examples, err := filepath.Glob("../../examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range append([]string{""}, examples...) {
		name := cmpOr(filepath.Base(spec), "embedded")
		t.Run(name, func(t *testing.T) {
			var specs []string
			s := slo.Default()
			if spec != "" {
				specs = []string{spec}
				if s, err = slo.Load(spec); err != nil {
					t.Fatal(err)
				}
			}
			f := generateFlags{profile: "optimized", out: "rules", runbooks: "runbooks", format: "rules"}
			files, _, err := render(specs, f, func(string) {})
			if err != nil {
				t.Fatal(err)
			}
			m, err := slomodel.New(s, slomodel.ProfileOptimized)
			if err != nil {
				t.Fatal(err)
			}
			page, err := runbook.Render(m)
			if err != nil {
				t.Fatal(err)
			}
			anchors := githubAnchors(string(page.Markdown))
			pageURL := ""
			if s.Runbook.URLPattern != "" {
				pageURL = strings.Replace(s.Runbook.URLPattern, "%s", strings.ToLower(s.Alert.Name), 1)
			}
			lands := func(what, link string) {
				t.Helper()
				base, frag, ok := strings.Cut(link, "#")
				if base != "" && base != pageURL {
					t.Errorf("%s links to %q, not to the runbook page %q", what, link, pageURL)
				}
				if ok && !anchors[frag] {
					t.Errorf("%s links to #%s, which is no heading of %s", what, frag, page.Path)
				}
			}
			// The page's own links.
			for _, m := range regexp.MustCompile(`\]\((#[^)]*)\)`).FindAllStringSubmatch(string(page.Markdown), -1) {
				lands("the page", m[1])
			}
			// The alerts' runbook_url.
			urls := 0
			for _, file := range files {
				if !strings.HasSuffix(file.Rel, ".rules.yaml") {
					continue
				}
				var rf struct {
					Groups []struct {
						Rules []struct {
							Alert       string            `yaml:"alert"`
							Annotations map[string]string `yaml:"annotations"`
						} `yaml:"rules"`
					} `yaml:"groups"`
				}
				if err := yaml.Unmarshal(file.Data, &rf); err != nil {
					t.Fatal(err)
				}
				for _, g := range rf.Groups {
					for _, r := range g.Rules {
						if u, ok := r.Annotations["runbook_url"]; ok {
							urls++
							lands("alert "+r.Alert+"'s runbook_url", u)
							if r.Alert == s.Alert.Name && u != pageURL {
								t.Errorf("alert %s: runbook_url %q, want the page %q", r.Alert, u, pageURL)
							}
						}
					}
				}
			}
			if pageURL != "" && urls == 0 {
				t.Errorf("no alert carries runbook_url %s", pageURL)
			}
			// The embedded spec's page is the committed one, at the
			// address the spec names.
			if spec == "" {
				if want := "https://github.com/burnrate/burnrate/blob/main/runbooks/" + page.Path; pageURL != want {
					t.Errorf("runbook URL %q, want the committed page %q", pageURL, want)
				}
				committed, err := os.ReadFile(filepath.Join("../../runbooks", page.Path))
				if err != nil || string(committed) != string(page.Markdown) {
					t.Errorf("runbooks/%s is not the page the embedded spec renders (err %v)", page.Path, err)
				}
			}
			// burnrate diagnose's section links.
			plan, err := diagnose.NewPlan(s, 0, "")
			if err != nil {
				t.Fatal(err)
			}
			sections := 0
			for _, st := range plan.Steps {
				if st.Section.URL == "" {
					if pageURL != "" {
						t.Errorf("step %s: no section link", st.Step)
					}
					continue
				}
				sections++
				if !strings.Contains(st.Section.URL, "#") {
					t.Errorf("step %s: section link %q has no anchor", st.Step, st.Section.URL)
				}
				lands("diagnose's step "+string(st.Step), st.Section.URL)
			}
			if pageURL != "" && sections == 0 {
				t.Error("diagnose names no section link")
			}
			checkDashboardLinks(t, files, pageURL, lands)
		})
	}
}

// checkDashboardLinks checks every link to the runbook page in the
// generated dashboards (dashboard links, panel links, the rows' text).
func checkDashboardLinks(t *testing.T, files []output.File, pageURL string, lands func(what, link string)) {
	t.Helper()
	if pageURL == "" {
		return
	}
	n := 0
	re := regexp.MustCompile(regexp.QuoteMeta(pageURL) + `(#[^)"\s]*)?`)
	for _, f := range files {
		if !strings.HasSuffix(f.Rel, ".dashboard.json") {
			continue
		}
		for _, u := range re.FindAllString(string(f.Data), -1) {
			n++
			lands("dashboard "+f.Rel, u)
		}
	}
	if n == 0 {
		t.Error("no dashboard links to the runbook")
	}
}

func cmpOr(a, b string) string {
	if a == "" || a == "." {
		return b
	}
	return a
}
