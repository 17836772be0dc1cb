package runbook

import (
	"bytes"
	_ "embed"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"

	"github.com/burnrate/burnrate/internal/slomodel"
	"github.com/burnrate/burnrate/slo"
)

//go:embed page.md.tmpl
var pageTemplate string

//go:embed service.md.tmpl
var servicePageTemplate string

// page is the kube-apiserver's page template, servicePage a service's; each
// is executed with the functions of the prose snippets for its runbook's
// table (refs), and pct.
var (
	page        = parsePage("page.md.tmpl", pageTemplate)
	servicePage = parsePage("service.md.tmpl", servicePageTemplate)
)

func parsePage(name, text string) *template.Template {
	return template.Must(template.New(name).Funcs(refs(nil)).Funcs(template.FuncMap{
		"pct": func(f float64) string { return strconv.FormatFloat(f*100, 'f', -1, 64) + "%" },
	}).Option("missingkey=error").Parse(text))
}

// pageData is what the page template and the table's snippets read: the
// model and what the page computes from it.
type pageData struct {
	*slomodel.Model
	// Title is the alert's name split into words, for the front matter.
	Title string
	// Window is the range the queries read, e.g. 1h.
	Window string
	// First is the alert's first (fastest) window pair.
	First slo.Window
	// SLINames lists the SLIs, e.g. `read` or `write`.
	SLINames string
	// Thresholds has a line per SLI: its selector and latency thresholds.
	Thresholds []thresholdLine
	// Urgency is the table of window pairs.
	Urgency urgency
	// Sections are the Diagnosis' sections, with their queries.
	Sections []sectionView

	// A service's page: its SLOs, and an urgency table per budget.
	SLOTable  []sloLine
	Urgencies []urgencyGroup
}

type thresholdLine struct{ Name, Selector, Text string }

// data is the page's data, without the sections.
func (r *Runbook) data() *pageData {
	d := &pageData{
		Model:   r.Model,
		Title:   splitCamel(r.Alert.Name),
		Window:  windowString(r.Window),
		First:   r.Alert.Windows[0],
		Urgency: r.urgencyFor(r.Budget),
	}
	if r.Identity {
		d.SLOTable, d.Urgencies = r.serviceSLOs(), r.serviceUrgency()
	}
	var names []string
	for _, s := range r.SLOs {
		names = append(names, "`"+s.Name+"`")
	}
	d.SLINames = strings.Join(names, " or ")
	for i, s := range r.SLOs {
		var parts []string
		for _, t := range s.Latency {
			th := strconv.FormatFloat(t.Seconds, 'f', -1, 64) + "s"
			if len(t.Partition) == 0 {
				parts = append(parts, th)
				continue
			}
			var vals []string
			for _, v := range t.Partition {
				if v == "" {
					v = "none"
				}
				vals = append(vals, v)
			}
			parts = append(parts, fmt.Sprintf("%s for %s %s", th, r.Latency.PartitionLabel, strings.Join(vals, " or ")))
		}
		var matchers []string
		for _, m := range r.SLIs[i].Own {
			matchers = append(matchers, m.String())
		}
		d.Thresholds = append(d.Thresholds, thresholdLine{Name: s.Name, Selector: strings.Join(matchers, ","), Text: strings.Join(parts, "; ")})
	}
	return d
}

// markdown writes the page with queries qs (one per step, in page order).
func (r *Runbook) markdown(qs []Query) ([]byte, error) {
	promql := map[Step]string{}
	for _, q := range qs {
		promql[q.Step] = q.PromQL
	}
	d := r.data()
	d.Sections = slices.Clone(r.sections)
	for i := range d.Sections {
		d.Sections[i].Steps = slices.Clone(d.Sections[i].Steps)
		for j := range d.Sections[i].Steps {
			st := &d.Sections[i].Steps[j]
			st.PromQL = promql[st.ID]
		}
	}
	t, err := r.tmpl.Clone()
	if err != nil {
		return nil, fmt.Errorf("runbook: %w", err)
	}
	var b bytes.Buffer
	if err := t.Funcs(refs(r.table)).Execute(&b, d); err != nil {
		return nil, fmt.Errorf("runbook: %w", err)
	}
	return b.Bytes(), nil
}

// urgency is the table of window pairs at one budget: when each fires, how much budget
// it has spent by then, how soon the budget is gone at that burn, and how
// long it takes to fire at a few error ratios (Ratios, the last columns).
type urgency struct {
	Ratios []string
	Rows   [][]string
}

func (r *Runbook) urgencyFor(budget float64) urgency {
	period := time.Duration(r.Period)
	ratios := []float64{1}
	for _, x := range []float64{10 * budget, 2 * budget} {
		if x < 1 && !slices.Contains(ratios, x) {
			ratios = append(ratios, x)
		}
	}
	pct := func(f float64) string { return strconv.FormatFloat(slomodel.RoundTo(f*100, 2), 'f', -1, 64) + "%" }
	var u urgency
	for _, x := range ratios {
		u.Ratios = append(u.Ratios, pct(x))
	}
	for _, w := range r.Alert.Windows {
		threshold := w.Factor * budget
		long := time.Duration(w.Long)
		row := []string{
			w.Long.String() + " / " + w.Short.String(), w.Severity,
			strconv.FormatFloat(w.Factor, 'f', -1, 64), pct(threshold), w.For.String(),
			pct(w.Factor * float64(long) / float64(period)), humanDuration(time.Duration(float64(period) / w.Factor)),
		}
		for _, x := range ratios {
			if x <= threshold {
				row = append(row, "never")
				continue
			}
			row = append(row, humanDuration(time.Duration(float64(long)*threshold/x)+time.Duration(w.For)))
		}
		u.Rows = append(u.Rows, row)
	}
	return u
}

// humanDuration prints d rounded to the minute: 9m, 2h 10m, 2d 2h.
func humanDuration(d time.Duration) string {
	m := int(math.Round(d.Minutes()))
	if m < 1 {
		m = 1
	}
	switch {
	case m < 60:
		return fmt.Sprintf("%dm", m)
	case m < 24*60:
		if m%60 == 0 {
			return fmt.Sprintf("%dh", m/60)
		}
		return fmt.Sprintf("%dh %dm", m/60, m%60)
	default:
		h := int(math.Round(float64(m) / 60))
		if h%24 == 0 {
			return fmt.Sprintf("%dd", h/24)
		}
		return fmt.Sprintf("%dd %dh", h/24, h%24)
	}
}

// splitCamel turns KubeAPIErrorBudgetBurn into Kube API Error Budget Burn.
func splitCamel(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) && (unicode.IsLower(r[i-1]) || (i+1 < len(r) && unicode.IsLower(r[i+1]) && unicode.IsUpper(r[i-1]))) {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}
