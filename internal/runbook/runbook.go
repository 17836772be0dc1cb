// Package runbook is the runbook of a spec's alert: its drill-down steps as
// one table and the page rendered from that table through an embedded
// Markdown template, in the prometheus-operator/runbooks page format, for
// the optimized profile. The kube-apiserver spec (no service) has the
// kube-apiserver's decision tree (steps.go, page.md.tmpl); a spec with a
// service has a table built from its SLO kinds and drill-down labels
// (service.go, service.md.tmpl).
//
// The table holds, per numbered section of the page's Diagnosis, its title,
// the steps with the query each builds from the SLO model (internal/slomodel),
// how to read its result, where a finding routes to, and the fix. Section
// numbers, headings and anchors are computed from the table's order, and
// the prose refers to other sections by step id, so adding a step is adding
// an entry to the table. The page, the incident tests (testgen) and
// burnrate diagnose all read the same table; nothing parses the page.
package runbook

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/burnrate/burnrate/internal/pql"
	"github.com/burnrate/burnrate/internal/slomodel"
)

// Page is a rendered runbook.
type Page struct {
	// Path is the page's path in a runbooks tree: <component>/<Alert>.md.
	Path string
	// Markdown is the page.
	Markdown []byte
	// Window is the range the page's queries read (the long window of the
	// fastest window pair); the reader replaces it with the alert's window.
	Window time.Duration
	// Queries lists the page's drill-down queries in page order, each as it
	// appears in its ```promql block.
	Queries []Query
}

// Query is one drill-down query.
type Query struct {
	Step   Step
	PromQL string
	// Finder is true for a query that returns nothing on a healthy cluster.
	Finder bool
}

// Section is a numbered section of the page's Diagnosis.
type Section struct {
	// Number is N of the heading "Step N: ...": the section's place in the
	// table, from 0.
	Number int
	// Heading is the heading without its hashes, e.g. "Step 6: Is an
	// aggregated API down?".
	Heading string
	// Anchor is the heading's id on the rendered page, e.g.
	// step-6-is-an-aggregated-api-down.
	Anchor string
	// Fix is the section's "Fix:" paragraph as the page has it, or "".
	Fix string
	// Steps lists the section's steps in page order.
	Steps []Step
}

// Runbook is the runbook of one spec: the model its queries are built from
// and the table's sections with their prose rendered for that model.
type Runbook struct {
	*slomodel.Model
	// Window is the range the page's queries read: the long window of the
	// alert's first pair.
	Window time.Duration
	// sections holds the table's sections with every snippet rendered.
	sections []sectionView
	// table is the runbook's table: the kube-apiserver's, or the one built
	// for a service; tmpl the page template that renders it.
	table []section
	tmpl  *template.Template
}

// New renders the runbook of model m, which must be of the optimized
// profile (slomodel.New has checked that the spec's names and selectors
// keep every drill-down query valid): the table's prose rendered for it.
func New(m *slomodel.Model) (*Runbook, error) {
	if m.Profile.Name != slomodel.ProfileOptimized {
		return nil, fmt.Errorf("the runbook is written for the %s profile, not %s", slomodel.ProfileOptimized, m.Profile.Name)
	}
	r := &Runbook{Model: m, Window: time.Duration(m.Alert.Windows[0].Long), table: table, tmpl: page}
	if m.Identity {
		r.table, r.tmpl = serviceTable(m), servicePage
	}
	var err error
	if r.sections, err = r.render(); err != nil {
		return nil, err
	}
	return r, nil
}

// Render renders the runbook page of model m.
func Render(m *slomodel.Model) (*Page, error) {
	r, err := New(m)
	if err != nil {
		return nil, err
	}
	return r.Page()
}

// Queries builds every drill-down query over range w, in page order.
func (r *Runbook) Queries(w time.Duration) ([]Query, error) {
	b := newBuild(r.Model, w, r.table)
	var out []Query
	for _, sec := range r.table {
		for _, st := range sec.Steps {
			e := st.Query(b)
			if e == nil {
				return nil, fmt.Errorf("runbook step %s: the spec gives it nothing to query", st.ID)
			}
			text, err := pql.Format(e)
			if err != nil {
				return nil, fmt.Errorf("runbook step %s: %w", st.ID, err)
			}
			out = append(out, Query{Step: st.ID, PromQL: text, Finder: st.Finder})
		}
	}
	return out, nil
}

// ProbeMetrics lists the metrics Step 0 counts the series of, in page
// order.
func (r *Runbook) ProbeMetrics() []string { return newBuild(r.Model, r.Window, r.table).probeMetrics() }

// Sections lists the Diagnosis' sections in page order.
func (r *Runbook) Sections() []Section {
	out := make([]Section, len(r.sections))
	for i, v := range r.sections {
		out[i] = v.Section
	}
	return out
}

// SectionOf returns the section that holds step st; ok is false for a step
// the runbook does not have.
func (r *Runbook) SectionOf(st Step) (sec Section, ok bool) {
	i, ok := sectionIndex(r.table, st)
	if !ok {
		return Section{}, false
	}
	return r.sections[i].Section, true
}

// Page renders the page.
func (r *Runbook) Page() (*Page, error) {
	qs, err := r.Queries(r.Window)
	if err != nil {
		return nil, err
	}
	md, err := r.markdown(qs)
	if err != nil {
		return nil, err
	}
	return &Page{
		Path:     r.Spec.Runbook.Component + "/" + r.Alert.Name + ".md",
		Markdown: md,
		Window:   r.Window,
		Queries:  qs,
	}, nil
}

// Entry is what the runbook's table says of step st: how diagnose reads
// its rows. A step the runbook does not have is never a culprit and has no
// flags and no routes.
func (r *Runbook) Entry(st Step) Entry {
	if s := lookupIn(r.table, st); s != nil {
		return Entry{*s}
	}
	return Entry{step{ID: st, Culprit: CulpritNever}}
}

// sectionIndex is the index in table tbl of the section that holds st.
func sectionIndex(tbl []section, st Step) (int, bool) {
	for i, sec := range tbl {
		for _, s := range sec.Steps {
			if s.ID == st {
				return i, true
			}
		}
	}
	return 0, false
}

// heading is the heading of section i of table tbl.
func heading(tbl []section, i int) string { return fmt.Sprintf("Step %d: %s", i, tbl[i].Title) }

// anchor is GitHub's heading anchor: lower case, punctuation dropped,
// spaces to dashes.
func anchor(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// refs are the template functions that name the section of table tbl
// holding a step: step gives "Step 6", num "6", link
// "[Step 6](#step-6-...)"; routes gives a step's routes, for the
// Diagnosis' path.
func refs(tbl []section) template.FuncMap {
	index := func(st Step) (int, error) {
		i, ok := sectionIndex(tbl, st)
		if !ok {
			return 0, fmt.Errorf("no step %q in the runbook", st)
		}
		return i, nil
	}
	return template.FuncMap{
		"num": func(st Step) (string, error) {
			i, err := index(st)
			return fmt.Sprint(i), err
		},
		"step": func(st Step) (string, error) {
			i, err := index(st)
			return fmt.Sprintf("Step %d", i), err
		},
		"link": func(st Step) (string, error) {
			i, err := index(st)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("[Step %d](#%s)", i, anchor(heading(tbl, i))), nil
		},
		"routes": func(st Step) ([]route, error) {
			s := lookupIn(tbl, st)
			if s == nil {
				return nil, fmt.Errorf("no step %q in the runbook", st)
			}
			return s.Routes, nil
		},
	}
}

// snippet executes a prose snippet of table tbl with the page's data.
func snippet(tbl []section, text string, data any) (string, error) {
	if text == "" {
		return "", nil
	}
	t, err := template.New("snippet").Funcs(refs(tbl)).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// sectionView is a section of the table with its prose rendered.
type sectionView struct {
	Section
	Intro, After, Next string
	// Dashboard is the address of the section's row in the drill-down
	// dashboard, or "".
	Dashboard string
	Steps     []stepView
}

// stepView is a step with its prose rendered; PromQL is filled in when the
// page is written.
type stepView struct {
	ID      Step
	PromQL  string
	Reading string
	Routes  []routeView
}

type routeView struct {
	To     Step
	Path   string
	Detail string
}

// render numbers the table's sections and renders their prose.
func (r *Runbook) render() ([]sectionView, error) {
	data := r.data()
	out := make([]sectionView, len(r.table))
	for i, sec := range r.table {
		h := heading(r.table, i)
		v := sectionView{Section: Section{Number: i, Heading: h, Anchor: anchor(h)}}
		errs := []error{}
		text := func(s string) string {
			out, err := snippet(r.table, s, data)
			if err != nil {
				errs = append(errs, err)
			}
			return out
		}
		v.Intro, v.After, v.Next, v.Fix = text(sec.Intro), text(sec.After), text(sec.Next), text(sec.Fix)
		v.Dashboard = r.DashboardURL(v.Section)
		for _, st := range sec.Steps {
			v.Section.Steps = append(v.Section.Steps, st.ID)
			sv := stepView{ID: st.ID, Reading: text(st.Reading)}
			for _, rt := range st.Routes {
				sv.Routes = append(sv.Routes, routeView{To: rt.To, Path: rt.Path, Detail: text(rt.Detail)})
			}
			v.Steps = append(v.Steps, sv)
		}
		if len(errs) > 0 {
			return nil, fmt.Errorf("runbook section %q: %w", h, errs[0])
		}
		out[i] = v
	}
	return out, nil
}
