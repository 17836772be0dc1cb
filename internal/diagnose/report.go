package diagnose

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/burnrate/burnrate/internal/runbook"
)

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}

func pct(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }

func num(f float64) string { return strconv.FormatFloat(f, 'g', 4, 64) }

// WriteText writes the report for a person on call.
func (r *Report) WriteText(w io.Writer, clusterLabel string) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	where := "all clusters"
	if r.Cluster != "" {
		where = clusterLabel + "=" + r.Cluster
	} else {
		clusterLabel = "" // show it: the rows may come from several clusters
	}
	p("burnrate diagnose: %s at %s, window %s (%s)\n", where, r.Time.Format("2006-01-02T15:04:05Z"), r.Window, r.Prometheus)
	if r.Source != "" {
		p("%s%s.\n", strings.ToUpper(r.Source[:1]), r.Source[1:])
	}
	p("\n")

	switch {
	case r.SLI == "":
		p("No SLI burns over %s, or its burn-rate series are missing (see step sli below).\n", r.Window)
	case r.SLIFactor < burning:
		p("No SLI burns faster than its error budget over %s: the fastest, %q, burns %sx.\n", r.Window, r.SLI, num(r.SLIFactor))
	default:
		p("SLI %q burns %sx its error budget over %s", r.SLI, num(r.SLIFactor), r.Window)
		if r.Term != "" {
			p("; %s burn %s of it", termText(r.Term), pct(r.TermShare))
		}
		p(".\n")
	}
	if n := len(r.Health); n > 0 {
		p("%d SLI-health problem(s), listed below: the burn rate of the SLOs they name is wrong until they are fixed.\n", n)
	}
	if len(r.Burns) > 0 {
		p("\nBurn rate (factor of the budget) per SLI and window:\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "  sli\twindow\tfactor\n")
		for _, x := range r.Burns {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", x.SLI, x.Window, num(x.Factor))
		}
		tw.Flush()
	}

	if r.Health != nil || len(r.HealthErrors) > 0 {
		p("\nSLI health (the inputs the burn rates read):\n")
		if len(r.Health) == 0 && len(r.HealthErrors) == 0 {
			p("  every SLO's inputs are there\n")
		}
		for _, f := range r.Health {
			p("  %s\n      %s\n      %s\n", f.text(clusterLabel), f.Summary, f.Description)
		}
		for _, e := range r.HealthErrors {
			p("  [%s] %s: the check failed: %s\n", e.SLO, e.Problem, e.Reason)
		}
	}

	if r.outsideSteps {
		p("\nFailures the SLI does not count as such (terminations, unavailable APIServices, failing webhook calls, APF rejections):\n")
		if len(r.Outside) == 0 {
			p("  nothing: no terminations, unavailable APIService, failing webhook call or APF rejection\n")
		}
		for _, c := range r.Outside {
			p("  [%s] %s = %s  (%s)\n", c.Step, labelsText(c.Labels, clusterLabel), num(c.Value), c.Section.Title)
		}
	}

	p("\nCulprits, most telling first:\n")
	if len(r.Culprits) == 0 {
		p("  none found\n")
	}
	for i, c := range r.Culprits {
		share := ""
		if c.Share > 0 {
			share = ", " + pct(c.Share) + " of the step's total"
		}
		p("  %d. [%s] %s = %s%s\n", i+1, c.Step, labelsText(c.Labels, clusterLabel), num(c.Value), share)
		if c.Section.Title != "" {
			p("     runbook: %s", c.Section.Title)
			if c.Section.URL != "" {
				p(" (%s)", c.Section.URL)
			}
			p("\n")
		}
		if c.Section.Fix != "" {
			p("     fix: %s\n", c.Section.Fix)
		}
	}

	p("\nSteps:\n")
	for _, s := range r.Steps {
		p("  %-24s %-8s %s\n", s.Step, s.Status, s.Section.Title)
		switch s.Status {
		case StatusSkipped:
			p("      %s: step %s skipped\n", s.Reason, s.Step)
		case StatusFailed:
			p("      %s\n", s.Reason)
		case StatusFound:
			if s.Step == runbook.StepSLI || s.Step == runbook.StepProbe {
				continue
			}
			for _, row := range s.Rows {
				share := ""
				if row.Share > 0 {
					share = " (" + pct(row.Share) + ")"
				}
				p("      %s %s%s\n", num(row.Value), labelsText(row.Labels, clusterLabel), share)
			}
			if s.Total > len(s.Rows) {
				p("      ... %d more\n", s.Total-len(s.Rows))
			}
		}
	}
	p("\n%d queries in %s", len(r.Steps), r.Elapsed.Round(1e6))
	if n := r.Failed(); n > 0 {
		p("; %d failed", n)
	}
	p(".\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func termText(t string) string {
	switch t {
	case "errors":
		return "failed requests"
	case "slow":
		return "slow requests"
	}
	return t
}
