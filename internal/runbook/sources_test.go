package runbook

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/slo"
)

// metricNames lists the metric names a query reads.
func metricNames(t *testing.T, q string) []string {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			out = append(out, vs.Name)
		}
		return nil
	})
	return out
}

// TestBurnQueries: each source reads what it says: burnrate's records, the
// mixin's recorded burn rates (and raw series for the terms), or raw
// series only; the raw burn rates cover the windows asked for.
func TestBurnQueries(t *testing.T) {
	rb, err := newSpec(slo.Default())
	if err != nil {
		t.Fatal(err)
	}
	recorded := func(n string) bool { return strings.Contains(n, ":") }
	for _, tc := range []struct {
		src               Source
		sliRecorded       bool
		termsRecorded     bool
		wantSLI, notInSLI []string
	}{
		{SourceRecords, true, true, []string{"apiserver_request:burnrate1h", "apiserver_request:burnrate3d"}, nil},
		{SourceMixin, true, false, []string{"apiserver_request:burnrate1h", "apiserver_request:burnrate5m", "apiserver_request_total"}, []string{"apiserver_request:burnrate3d"}},
		{SourceRaw, false, false, []string{"apiserver_request_total", "apiserver_request_sli_duration_seconds_bucket", "[1h]", "[5m]", `"1h"`}, []string{"[3d]", "[30m]"}},
	} {
		t.Run(tc.src.String(), func(t *testing.T) {
			ws := []slo.Duration{slo.Duration(5 * time.Minute), slo.Duration(time.Hour)}
			if tc.src == SourceRecords {
				ws = nil
			}
			sli, terms, err := rb.BurnQueries(tc.src, 5*time.Minute, ws)
			if err != nil {
				t.Fatal(err)
			}
			anyRecorded := false
			for _, n := range metricNames(t, sli) {
				anyRecorded = anyRecorded || recorded(n)
				if recorded(n) && !tc.sliRecorded || !recorded(n) && tc.src == SourceRecords {
					t.Errorf("sli reads %s", n)
				}
			}
			if anyRecorded != tc.sliRecorded {
				t.Errorf("sli reads recorded series: %v, want %v", anyRecorded, tc.sliRecorded)
			}
			for _, n := range metricNames(t, terms) {
				if recorded(n) != tc.termsRecorded {
					t.Errorf("terms read %s", n)
				}
			}
			for _, s := range tc.wantSLI {
				if !strings.Contains(sli, s) {
					t.Errorf("sli query has no %q:\n%s", s, sli)
				}
			}
			for _, s := range tc.notInSLI {
				if strings.Contains(sli, s) {
					t.Errorf("sli query has %q:\n%s", s, sli)
				}
			}
			if tc.src != SourceRecords && !strings.Contains(terms, "[5m]") {
				t.Errorf("terms do not read the 5m window:\n%s", terms)
			}
		})
	}
}

// TestSourceMarker: burnrate's records are found by the events record, the
// mixin's by its burn rate over the window; a service has no mixin.
func TestSourceMarker(t *testing.T) {
	rb, err := newSpec(slo.Default())
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := rb.SourceMarker(SourceRecords, time.Hour); !ok || n != rb.EventsRecord {
		t.Errorf("records marker %q %v", n, ok)
	}
	if n, ok := rb.SourceMarker(SourceMixin, 5*time.Minute); !ok || n != "apiserver_request:burnrate5m" {
		t.Errorf("mixin marker %q %v", n, ok)
	}
	if _, ok := rb.SourceMarker(SourceRaw, time.Hour); ok {
		t.Error("raw series have a marker")
	}
	svc := slo.Default()
	svc.Service = "shop"
	svc.SLILabel = "slo"
	svc.ServiceLabel = "service"
	rb, err = newSpec(svc)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rb.SourceMarker(SourceMixin, time.Hour); ok {
		t.Error("a service has the mixin's records")
	}
	if n, ok := rb.SourceMarker(SourceRecords, time.Hour); !ok || n != rb.EventsRecord || len(rb.Own) == 0 {
		t.Errorf("a service's records marker %q %v, selected by %v", n, ok, rb.Own)
	}
}
