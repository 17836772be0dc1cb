package peers

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// TestRender renders the peer cost table's specs (internal/rulegen's
// testdata/peers) with Sloth's and Pyrra's own code; both rule files load
// in Prometheus' rule parser with a recording rule and an alert per SLO.
func TestRender(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: -short: builds Sloth and Pyrra with go run")
	}
	peers := filepath.Join("..", "..", "rulegen", "testdata", "peers")
	for _, tc := range []struct {
		name   string
		render func(dir string) (string, error)
	}{
		{"sloth", func(dir string) (string, error) { return Sloth(dir, filepath.Join(peers, "kube-apiserver.sloth.yaml")) }},
		{"pyrra", func(dir string) (string, error) {
			return Pyrra(dir, filepath.Join(peers, "apiserver-read.pyrra.yaml"), filepath.Join(peers, "apiserver-write.pyrra.yaml"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.render(t.TempDir())
			if errors.Is(err, ErrUnreachable) && os.Getenv("CI") != "true" {
				t.Skip("SKIP:", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			rgs, errs := rulefmt.ParseFile(out, false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger())
			if len(errs) > 0 {
				t.Fatal(errs[0])
			}
			records, alerts := 0, 0
			for _, g := range rgs.Groups {
				for _, r := range g.Rules {
					if r.Alert != "" {
						alerts++
					} else {
						records++
					}
				}
			}
			if records == 0 || alerts < 2 {
				t.Errorf("%s: %d records and %d alerts, want records and an alert per SLO", out, records, alerts)
			}
			t.Logf("%s: %d groups, %d records, %d alerts", tc.name, len(rgs.Groups), records, alerts)
		})
	}
}
