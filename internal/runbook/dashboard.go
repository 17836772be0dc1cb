package runbook

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/burnrate/burnrate/slo"
)

// The drill-down dashboard (internal/dashboard) has one row per section of
// the Diagnosis; the runbook's sections link back to their row. Both sides
// take the dashboard's uid and the row's panel ids from here.

// DashboardUID is the uid of spec s's dashboard of the given kind (slo or
// drilldown): burnrate-<spec name>-<kind>, cut to Grafana's 40 characters
// with a hash of the whole when longer.
func DashboardUID(s *slo.Spec, kind string) string {
	uid := "burnrate-" + s.Name + "-" + kind
	if len(uid) <= 40 {
		return uid
	}
	sum := sha256.Sum256([]byte(uid))
	return uid[:31] + "-" + hex.EncodeToString(sum[:])[:8]
}

// DrilldownTitle is the drill-down dashboard's title.
func DrilldownTitle(s *slo.Spec) string { return s.Alert.Name + " drill-down" }

// RowPanelID is the id of the row of section n in the drill-down
// dashboard, and SectionPanelID the id of the text panel that opens it
// (the section's heading, its link to the runbook and its fix).
func RowPanelID(n int) uint32     { return uint32(100 * (n + 1)) }
func SectionPanelID(n int) uint32 { return RowPanelID(n) + 1 }

// DashboardURL is the address of section sec's row in the drill-down
// dashboard, in the Grafana of the spec's dashboards.grafanaURL, or "" when
// the spec names none. Grafana opens ?viewPanel=<id> on that panel (the
// numeric id: Grafana's dashboard scenes kept it, grafana/grafana#74005).
func (r *Runbook) DashboardURL(sec Section) string {
	base := r.Spec.Dashboards.GrafanaURL
	if base == "" {
		return ""
	}
	return fmt.Sprintf("%s/d/%s/%s?viewPanel=%d", base, DashboardUID(r.Spec, "drilldown"), slug(DrilldownTitle(r.Spec)), SectionPanelID(sec.Number))
}

// slug is a dashboard title as Grafana writes it in a URL: lower case,
// runs of other characters turned into one dash (Grafana finds the
// dashboard by uid whatever the slug).
func slug(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	return b.String()
}
