package promtest

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

func TestMarshalWritesOnlyWhatIsSet(t *testing.T) {
	minute := model.Duration(time.Minute)
	tests := []struct {
		name string
		file File
		want string
	}{{
		name: "minimal group: empty assertions stay as [] and optional keys are left out",
		file: File{
			RuleFiles:          []string{"r.yaml"},
			EvaluationInterval: minute,
			GroupEvalOrder:     []string{"g"},
			Tests: []Group{{
				Name:        "steady",
				Interval:    minute,
				InputSeries: []InputSeries{{Series: `up{job="a"}`, Values: "1x3"}},
				AlertRuleTests: []AlertTest{{
					EvalTime: model.Duration(2 * time.Minute), Alertname: "A", ExpAlerts: []ExpAlert{},
				}},
				PromQLExprTests: []ExprTest{{Expr: "up", EvalTime: 0, ExpSamples: []ExpSample{}}},
			}},
		},
		want: `# h1
# h2
rule_files:
  - r.yaml
evaluation_interval: 1m
group_eval_order:
  - g
tests:
  - name: steady
    interval: 1m
    input_series:
      - series: up{job="a"}
        values: 1x3
    alert_rule_test:
      - eval_time: 2m
        alertname: A
        exp_alerts: []
    promql_expr_test:
      - expr: up
        eval_time: 0s
        exp_samples: []
`,
	}, {
		name: "every optional key set",
		file: File{
			RuleFiles:    []string{"r.yaml"},
			FuzzyCompare: true,
			Tests: []Group{{
				Interval:       minute,
				InputSeries:    []InputSeries{},
				ExternalLabels: map[string]string{"cluster": "c1"},
				ExternalURL:    "http://x",
				StartTimestamp: StartTimestamp{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
				PromQLExprTests: []ExprTest{{
					Expr: "h", ExpSamples: []ExpSample{{Labels: "h", Histogram: "{{count:1}}"}},
				}},
			}},
		},
		want: `# h1
# h2
rule_files:
  - r.yaml
group_eval_order: []
tests:
  - interval: 1m
    input_series: []
    promql_expr_test:
      - expr: h
        eval_time: 0s
        exp_samples:
          - labels: h
            value: 0
            histogram: '{{count:1}}'
    external_labels:
      cluster: c1
    external_url: http://x
    start_timestamp: "2026-01-02T03:04:05Z"
fuzzy_compare: true
`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.file.Marshal("h1\nh2\n")
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Marshal:\n%s\nwant:\n%s", got, tt.want)
			}
			back, err := Decode(got)
			if err != nil {
				t.Fatalf("Decode of Marshal's output: %v", err)
			}
			again, err := back.Marshal("h1\nh2")
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(got) {
				t.Errorf("Marshal after Decode:\n%s\nwant:\n%s", again, got)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []Problem
	}{{
		name: "unknown field, named by the part of the file",
		doc:  "rule_files: [r.yaml]\ntests:\n  - interval: 1m\n    alert_rule_test:\n      - eval_time: 1m\n        severity: page\n",
		want: []Problem{{Line: 6, Msg: `unknown field "severity" in an alert_rule_test entry`}},
	}, {
		name: "bad duration: no line from the decoder, found by value",
		doc:  "rule_files: [r.yaml]\nevaluation_interval: 1x\n",
		want: []Problem{{Line: 2, Msg: `unknown unit "x" in duration "1x"`}},
	}, {
		name: "bad start_timestamp",
		doc:  "tests:\n  - start_timestamp: yesterday\n",
		want: []Problem{{Line: 2, Msg: `start_timestamp: cannot parse "yesterday" as Unix seconds or RFC 3339 time`}},
	}, {
		name: "wrong kind of node, named by the part of the file",
		doc:  "tests:\n  - input_series: {a: b}\n",
		want: []Problem{{Line: 2, Msg: "cannot unmarshal !!map into []promtest.InputSeries"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.doc))
			de, ok := errors.AsType[*DecodeError](err)
			if !ok {
				t.Fatalf("Decode error %v is not a *DecodeError", err)
			}
			if !reflect.DeepEqual(de.Problems, tt.want) {
				t.Errorf("problems:\n got %+v\nwant %+v", de.Problems, tt.want)
			}
			if !strings.HasPrefix(de.Error(), "invalid test file: ") {
				t.Errorf("Error() = %q", de.Error())
			}
		})
	}
}

func TestParseStartTimestamp(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"0", time.Unix(0, 0).UTC()},
		{"1700000000.5", time.Unix(1700000000, 500_000_000).UTC()},
		{"2026-01-02T03:04:05Z", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := ParseStartTimestamp(tt.in)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParseStartTimestamp(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if _, err := ParseStartTimestamp("noon"); err == nil {
		t.Error(`ParseStartTimestamp("noon") succeeded`)
	}
}

func TestLocatorLine(t *testing.T) {
	l := NewLocator([]byte("rule_files:\n  - a\n  - b\ntests:\n  - name: x\n    input_series: []\n"))
	tests := []struct {
		path []any
		want int
	}{
		{[]any{"rule_files", 1}, 3},
		{[]any{"tests", 0, "input_series"}, 6},
		{[]any{"tests", 5}, 5}, // deepest node reached: the tests sequence
		{[]any{"nope"}, 1},
	}
	for _, tt := range tests {
		if got := l.At(tt.path...).Line(); got != tt.want {
			t.Errorf("line %v = %d, want %d", tt.path, got, tt.want)
		}
	}
}
