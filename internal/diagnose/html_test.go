package diagnose

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/slo"
)

// TestWriteHTML renders the page from a fake Prometheus: the burn chart
// has a series per window of the burning SLI and a line per pair, a gap in
// a series breaks its path, a culprit's chart keeps only the rows with its
// labels, a label value is escaped, a failed range query is said on the
// page, and the page is the same on every run.
func TestWriteHTML(t *testing.T) {
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	p, err := NewPlan(slo.Default(), 5*time.Minute, "c1")
	if err != nil {
		t.Fatal(err)
	}
	evil := `<script>alert("x")</script>`
	queries := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		q := r.Form.Get("query")
		queries[q]++
		seconds := func(s string) float64 {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return float64(t.UnixMilli()) / 1000
			}
			f, _ := strconv.ParseFloat(s, 64)
			return f
		}
		start, end := seconds(r.Form.Get("start")), seconds(r.Form.Get("end"))
		step, _ := strconv.ParseFloat(r.Form.Get("step"), 64)
		if r.URL.Path != "/api/v1/query_range" || step <= 0 {
			http.Error(w, "unexpected request "+r.URL.String(), http.StatusBadRequest)
			return
		}
		// points writes a series' values from start, every step, skipping
		// the indexes in gap.
		points := func(v float64, gap ...int) string {
			var out []string
			for i, ts := 0, start; ts <= end; i, ts = i+1, ts+step {
				if !slices.Contains(gap, i) {
					out = append(out, fmt.Sprintf(`[%.3f,"%g"]`, ts, v))
				}
			}
			return strings.Join(out, ",")
		}
		var result string
		switch q {
		case p.step(runbook.StepSLI).Query:
			result = fmt.Sprintf(`{"metric":{"cluster":"c1","verb":"read","window":"1h"},"values":[%s]},
				{"metric":{"cluster":"c1","verb":"read","window":"5m"},"values":[%s]},
				{"metric":{"cluster":"c1","verb":"write","window":"5m"},"values":[%s]}`, points(3), points(20, 50, 51), points(0.5))
		case p.step(runbook.StepAPIServices).Query:
			result = fmt.Sprintf(`{"metric":{"cluster":"c1","name":%q},"values":[%s]},
				{"metric":{"cluster":"c1","name":"other"},"values":[%s]}`, evil, points(1), points(1))
		default:
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[%s]}}`, result)
	}))
	defer srv.Close()
	c, err := NewClient(Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	r := &Report{Prometheus: srv.URL, Cluster: "c1", Time: at, Window: "5m", SLI: "read", SLIFactor: 20,
		Burns: []Burn{{"read", "5m", 20}, {"read", "1h", 3}, {"write", "5m", 0.5}},
		Culprits: []Culprit{
			{Step: runbook.StepAPIServices, Labels: map[string]string{"cluster": "c1", "name": evil}, Value: 1, Section: p.section(runbook.StepAPIServices)},
			{Step: runbook.StepErrors, Labels: map[string]string{"cluster": "c1", "code": "503"}, Value: 2, Section: p.section(runbook.StepErrors)},
		}}
	var page, again bytes.Buffer
	if err := WriteHTML(context.Background(), &page, c, p, r, HTMLOptions{ClusterLabel: "cluster", Span: 30 * time.Minute, Points: 120}); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(context.Background(), &again, c, p, r, HTMLOptions{ClusterLabel: "cluster", Span: 30 * time.Minute, Points: 120}); err != nil {
		t.Fatal(err)
	}
	html := page.String()
	if html != again.String() {
		t.Error("two runs on the same data wrote different pages")
	}
	figures := strings.Split(html, `<figure class="chart-figure">`)[1:]
	if len(figures) != 3 {
		t.Fatalf("%d charts, want 3: the read SLI's burn (write does not burn), two culprits", len(figures))
	}
	paths := regexp.MustCompile(`<path class="series" d="([^"]*)"`)
	count := func(fig, s string) int { return strings.Count(fig, s) }
	burn := paths.FindAllStringSubmatch(figures[0], -1)
	if len(burn) != 2 || !strings.Contains(figures[0], "SLI read") {
		t.Errorf("burn chart: %d series, want read's 2 windows:\n%s", len(burn), figures[0])
	} else {
		// 5m first (shortest window first), broken by its gap.
		if got := strings.Count(burn[0][1], "M"); got != 2 {
			t.Errorf("the 5m series with a gap has %d subpaths, want 2: %s", got, burn[0][1])
		}
		if got := strings.Count(burn[1][1], "M"); got != 1 {
			t.Errorf("the 1h series has %d subpaths, want 1", got)
		}
	}
	if got, want := count(figures[0], `<line class="threshold"`), len(p.Spec.Alert.Windows)+1; got != want {
		t.Errorf("burn chart: %d threshold lines, want %d (a pair each and 1)", got, want)
	}
	if got := len(paths.FindAllString(figures[1], -1)); got != 1 {
		t.Errorf("first culprit's chart: %d series, want 1 (its labels only)", got)
	}
	if !strings.Contains(figures[2], "query failed") || paths.MatchString(figures[2]) {
		t.Errorf("second culprit's chart does not say its query failed:\n%s", figures[2])
	}
	if strings.Contains(html, "<script") || !strings.Contains(html, "&lt;script&gt;") {
		t.Error("the label value with a script tag is not escaped")
	}
	if queries[p.step(runbook.StepSLI).Query] != 2 {
		t.Errorf("the SLI step's range query ran %d times for two pages, want once per page", queries[p.step(runbook.StepSLI).Query])
	}
	if !strings.Contains(html, "one point every 16s") {
		t.Errorf("the page does not state the step, 30m/119 rounded up to 16s")
	}
}
