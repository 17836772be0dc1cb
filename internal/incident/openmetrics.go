package incident

import (
	"fmt"
	"io"
	"time"

	"github.com/burnrate/burnrate/internal/series"
)

// WriteOpenMetrics writes the scenario's samples as OpenMetrics text, the
// input of `promtool tsdb create-blocks-from openmetrics`; the first sample
// is at start (see series.WriteOpenMetrics).
func (sc *Scenario) WriteOpenMetrics(w io.Writer, start time.Time) error {
	if err := series.WriteOpenMetrics(w, sc.Timeline(), start, ScrapeInterval, sc.Series); err != nil {
		return fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	return nil
}
