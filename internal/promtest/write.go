package promtest

import (
	"time"

	"github.com/burnrate/burnrate/internal/encode"
)

// write writes f as yaml.v3 would: its fields in order, those omitempty
// leaves out left out.
func (f *File) write(w *encode.Writer) {
	w.Strings(0, "rule_files", f.RuleFiles)
	if f.EvaluationInterval != 0 {
		w.Str(0, "evaluation_interval", f.EvaluationInterval.String())
	}
	w.Strings(0, "group_eval_order", f.GroupEvalOrder)
	w.Items(0, "tests", len(f.Tests), func(i, col int) { f.Tests[i].write(w, col) })
	if f.FuzzyCompare {
		w.Plain(0, "fuzzy_compare", "true")
	}
}

func (g *Group) write(w *encode.Writer, col int) {
	if g.Name != "" {
		w.Str(col, "name", g.Name)
	}
	w.Str(col, "interval", g.Interval.String())
	w.Items(col, "input_series", len(g.InputSeries), func(i, col int) {
		w.Str(col, "series", g.InputSeries[i].Series)
		w.Str(col, "values", g.InputSeries[i].Values)
	})
	if len(g.AlertRuleTests) > 0 {
		w.Items(col, "alert_rule_test", len(g.AlertRuleTests), func(i, col int) {
			at := &g.AlertRuleTests[i]
			w.Str(col, "eval_time", at.EvalTime.String())
			w.Str(col, "alertname", at.Alertname)
			w.Items(col, "exp_alerts", len(at.ExpAlerts), func(i, col int) {
				w.StringMap(col, "exp_labels", at.ExpAlerts[i].ExpLabels)
				w.StringMap(col, "exp_annotations", at.ExpAlerts[i].ExpAnnotations)
			})
		})
	}
	if len(g.PromQLExprTests) > 0 {
		w.Items(col, "promql_expr_test", len(g.PromQLExprTests), func(i, col int) {
			et := &g.PromQLExprTests[i]
			w.Str(col, "expr", et.Expr)
			w.Str(col, "eval_time", et.EvalTime.String())
			w.Items(col, "exp_samples", len(et.ExpSamples), func(i, col int) {
				s := &et.ExpSamples[i]
				w.Str(col, "labels", s.Labels)
				w.Plain(col, "value", encode.Float(s.Value))
				if s.Histogram != "" {
					w.Str(col, "histogram", s.Histogram)
				}
			})
		})
	}
	if len(g.ExternalLabels) > 0 {
		w.StringMap(col, "external_labels", g.ExternalLabels)
	}
	if g.ExternalURL != "" {
		w.Str(col, "external_url", g.ExternalURL)
	}
	if !g.StartTimestamp.IsZero() {
		w.Str(col, "start_timestamp", g.StartTimestamp.UTC().Format(time.RFC3339Nano))
	}
}
