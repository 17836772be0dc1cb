package diagnose

// The HTML report in a real browser: Debian's chromium, headless, driven
// through the DevTools protocol by chromedp, opens the page diagnose wrote
// on the replayed aggregated-hang recording, and the test reads what the
// browser made of it: console errors and exceptions, requests beyond the
// page, the charts' drawn series, and the culprit's name as shown.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/burnrate/burnrate/internal/runbook"
	"github.com/burnrate/burnrate/slo"
)

// chromium returns the chromium binary; without one the test skips (it
// fails under CI=true: make browser installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; make browser installs it (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed (make browser installs it): the HTML report's browser test is skipped")
	return ""
}

// browserPage is what the browser saw of one page.
type browserPage struct {
	// problems are console errors, exceptions and error log entries.
	problems []string
	// requests are the URLs the page requested.
	requests []string
	// charts are the page's charts as the DOM holds them.
	charts []domChart
	// text is the body's rendered text (innerText).
	text string
	// firstCulprit is the rendered text of the first culprit's heading.
	firstCulprit string
}

type domChart struct {
	Title string `json:"title"`
	// Series counts the series paths; Drawn those with a non-empty
	// rendered box; Thresholds the threshold lines.
	Series     int    `json:"series"`
	Drawn      int    `json:"drawn"`
	Thresholds int    `json:"thresholds"`
	Note       string `json:"note"`
}

// openInBrowser serves page on 127.0.0.1 and opens it in a fresh headless
// chromium.
func openInBrowser(t *testing.T, bin string, page []byte) browserPage {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	}))
	defer srv.Close()

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(ctx)
	defer cancelCtx()

	var mu sync.Mutex
	var out browserPage
	listen := func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, strings.Trim(string(a.Value), `"`)+a.Description)
				}
				out.problems = append(out.problems, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			out.problems = append(out.problems, "exception: "+msg)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				out.problems = append(out.problems, fmt.Sprintf("log %s: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			out.requests = append(out.requests, ev.Request.URL)
		}
	}
	if err := chromedp.Listen(ctx, listen); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	const chartsJS = `Array.from(document.querySelectorAll("figure.chart-figure")).map(f => ({
		title: f.querySelector("figcaption").textContent,
		series: f.querySelectorAll("svg.chart path.series").length,
		drawn: Array.from(f.querySelectorAll("svg.chart path.series")).filter(p => {
			const b = p.getBBox(); return p.getAttribute("d") !== "" && (b.width > 0 || b.height > 0);
		}).length,
		thresholds: f.querySelectorAll("svg.chart line.threshold").length,
		note: (f.querySelector(".note") || {textContent: ""}).textContent,
	}))`
	const firstJS = `(document.querySelector("section.culprit h3") || {innerText: ""}).innerText`
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	var err error
	var charts []domChart
	var text, first string
	if charts, err = chromedp.Run(ctx, chromedp.Evaluate[[]domChart](chartsJS)); err == nil {
		if text, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`)); err == nil {
			first, err = chromedp.Run(ctx, chromedp.Evaluate[string](firstJS))
		}
	}
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	// Let late console messages and log entries arrive.
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	return browserPage{problems: slices.Clone(out.problems), requests: slices.Clone(out.requests), charts: charts, text: text, firstCulprit: first}
}

// TestBrowserSeesProblems is the control of TestHTMLReportInBrowser: a page
// that logs a console error, throws and loads an image from a closed port
// is seen doing each, so that a clean page is clean because it is.
func TestBrowserSeesProblems(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a headless chromium; not with -short")
	}
	bin := chromium(t)
	page := []byte(`<!DOCTYPE html><html><head><title>control</title></head><body><p>control</p>
<img src="http://127.0.0.1:9/missing.png" alt="">
<script>console.error("the control's error"); throw new Error("the control's exception");</script>
</body></html>`)
	got := openInBrowser(t, bin, page)
	for _, want := range []string{"console.error: the control's error", "exception: ", "127.0.0.1:9/missing.png"} {
		if !slices.ContainsFunc(got.problems, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("the browser reported no problem with %q; it reported %q", want, got.problems)
		}
	}
	if !slices.Contains(got.requests, "http://127.0.0.1:9/missing.png") {
		t.Errorf("the image's request was not seen: %q", got.requests)
	}
}

// TestHTMLReportInBrowser writes diagnose's HTML page on the replayed
// aggregated-hang recording and opens it in headless chromium: it loads
// with no console error and requests nothing but itself, every chart draws
// its series (one per window of the burning read SLI, with every pair's
// threshold; each of the first culprits' rows), and the first culprit, the
// lab's APIService, is named on the page.
func TestHTMLReportInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real Prometheus and a headless chromium; not with -short")
	}
	bin := chromium(t)
	env, _ := replayServer(t)
	c, err := NewClient(Config{URL: env.URL, QueryTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := diagnoseScenario(t, env, "aggregated-hang", 5*time.Minute)
	p, err := NewPlan(slo.Default(), 5*time.Minute, "aggregated-hang")
	if err != nil {
		t.Fatal(err)
	}
	if r.SLI != "read" || r.SLIFactor < burning || len(r.Culprits) == 0 || r.Culprits[0].Step != runbook.StepAPIServices {
		t.Fatalf("the diagnosis changed: SLI %q burns %.3gx, culprits %v; want read burning and the APIService first", r.SLI, r.SLIFactor, r.Culprits)
	}
	var page bytes.Buffer
	if err := WriteHTML(context.Background(), &page, c, p, r, HTMLOptions{ClusterLabel: "cluster"}); err != nil {
		t.Fatal(err)
	}
	// go test -artifacts keeps the page, to look at.
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), "aggregated-hang.html"), page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got := openInBrowser(t, bin, page.Bytes())

	for _, pr := range got.problems {
		t.Errorf("the page has a problem: %s", pr)
	}
	for _, u := range got.requests {
		if !strings.HasPrefix(u, "http://127.0.0.1:") || strings.Count(strings.TrimPrefix(u, "http://"), "/") != 1 || !strings.HasSuffix(u, "/") {
			t.Errorf("the page requested %s: it must load nothing but itself", u)
		}
	}
	if len(got.requests) != 1 {
		t.Errorf("the page made %d requests (%q), want 1: itself", len(got.requests), got.requests)
	}

	windows := 0
	for _, b := range r.Burns {
		if b.SLI == "read" {
			windows++
		}
	}
	pairs := len(p.Spec.Alert.Windows)
	wantCharts := len(burningSLIs(r)) + min(3, len(r.Culprits))
	if len(got.charts) != wantCharts {
		t.Errorf("%d charts on the page, want %d (a burn chart per burning SLI, one per first culprit)", len(got.charts), wantCharts)
	}
	for i, ch := range got.charts {
		if ch.Series == 0 || ch.Drawn != ch.Series || ch.Note != "" {
			t.Errorf("chart %q: %d series, %d drawn, note %q; want every series drawn", ch.Title, ch.Series, ch.Drawn, ch.Note)
		}
		if i == 0 {
			if !strings.Contains(ch.Title, "SLI read") || ch.Series != windows || ch.Thresholds != pairs+1 {
				t.Errorf("first chart %q: %d series, %d thresholds; want SLI read's burn rate, one series per window (%d) and a line per pair and at 1 (%d)", ch.Title, ch.Series, ch.Thresholds, windows, pairs+1)
			}
		}
	}
	if !strings.Contains(got.firstCulprit, labAPIService) {
		t.Errorf("the first culprit's heading %q does not name the APIService %s", got.firstCulprit, labAPIService)
	}
	if !strings.Contains(got.text, r.Culprits[0].Section.Title) {
		t.Errorf("the page does not show the first culprit's runbook section %q", r.Culprits[0].Section.Title)
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("charts: %+v\nrequests: %q\nfirst culprit: %q", got.charts, got.requests, got.firstCulprit)
	}
}
