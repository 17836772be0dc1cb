package openslo

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"gopkg.in/yaml.v3"

	"github.com/burnrate/burnrate/internal/importspec"
	"github.com/burnrate/burnrate/slo"
)

// counterQuery reads the query of metric spec m as a counter.
func (c *converter) counterQuery(o *object, m *yaml.Node, field string, counter bool) (importspec.Counter, importspec.Pos, bool) {
	q, ok := c.query(o, m)
	if !ok {
		return importspec.Counter{}, q.at, false
	}
	ct, err := importspec.ParseCounter(q.query)
	if err != nil {
		c.p.Fail(q.at, "%s: %s: %v", describe(o), field, err)
		return importspec.Counter{}, q.at, false
	}
	if !counter && !ct.Rated {
		c.p.Fail(q.at, "%s: %s: counter is false, so the query is a gauge's value, not a count of events; burnrate takes the rate of a counter over each window. Write the counter with counter: true, or its rate", describe(o), field)
		return importspec.Counter{}, q.at, false
	}
	return ct, q.at, true
}

const shapes = "burnrate's SLO needs both queries on one counter, the good (or bad) query adding one matcher to the total query's (good: code!~\"5..\"; bad: code=~\"5..\"), or good the histogram's bucket (…_bucket{le=\"0.3\"}) and total its _count, so that its generated tests know which series to write"

// ratio converts a ratioMetric (v1alpha: ratioMetrics) to out: a raw SLO
// when good or bad adds one matcher to total, a latency SLO when good is
// a histogram bucket and total its count.
func (c *converter) ratio(o *object, rm *yaml.Node, out *importspec.SLO, s *sloOut, index int) bool {
	counter := str(rm, "counter") == "true"
	if o.version == v1alpha {
		counter = str(rm, "incremental") == "true"
	}
	if raw := keyNode(rm, "raw"); raw != nil {
		c.p.Fail(o.at(raw), "%s: a raw ratioMetric (rawType %s) is a ratio already, with no count of events behind it; burnrate's long windows weigh each base window by its events, so it needs good (or bad) and total counters", describe(o), str(rm, "rawType"))
		return false
	}
	total, totalAt, ok := c.counterQuery(o, key(rm, "total"), "total", counter)
	if !ok {
		return false
	}
	if bad := key(rm, "bad"); bad != nil {
		b, badAt, ok := c.counterQuery(o, bad, "bad", counter)
		if !ok {
			return false
		}
		extra, sub := importspec.Extra(total.Matchers, b.Matchers)
		if b.Metric != total.Metric || !sub || len(extra) != 1 {
			c.p.Fail(badAt, "%s: bad reads %s{%s} and total %s{%s}; %s", describe(o), b.Metric, importspec.Selector(b.Matchers), total.Metric, importspec.Selector(total.Matchers), shapes)
			return false
		}
		out.Kind = string(slo.KindRaw)
		out.Raw = &importspec.Raw{Errors: importspec.RateQuery(b), Total: importspec.RateQuery(total)}
		return true
	}
	good, goodAt, ok := c.counterQuery(o, key(rm, "good"), "good", counter)
	if !ok {
		return false
	}
	extra, sub := importspec.Extra(total.Matchers, good.Matchers)
	if good.Metric == total.Metric && sub && len(extra) == 1 {
		// Bad events are total events that good's matcher does not select:
		// its negation selects exactly those (an absent label counts as
		// the empty value for both).
		bad := importspec.Counter{Metric: total.Metric, Matchers: append(append([]*labels.Matcher{}, total.Matchers...), importspec.Negate(extra[0]))}
		out.Kind = string(slo.KindRaw)
		out.Raw = &importspec.Raw{Errors: importspec.RateQuery(bad), Total: importspec.RateQuery(total)}
		return true
	}
	if base, ok := strings.CutSuffix(good.Metric, "_bucket"); ok {
		le, rest := leOf(good.Matchers)
		totalBase, isCount := strings.CutSuffix(total.Metric, "_count")
		if le != nil && isCount && totalBase == base {
			if extra, sub := importspec.Extra(total.Matchers, rest); sub && len(extra) == 0 {
				return c.latency(o, goodAt, base, total.Matchers, le, out, s, index)
			}
		}
	}
	_ = totalAt
	c.p.Fail(goodAt, "%s: good reads %s{%s} and total %s{%s}; %s", describe(o), good.Metric, importspec.Selector(good.Matchers), total.Metric, importspec.Selector(total.Matchers), shapes)
	return false
}

// leOf is the le="…" matcher of ms, if that is one bound, and the others.
func leOf(ms []*labels.Matcher) (*float64, []*labels.Matcher) {
	var le *float64
	for _, m := range ms {
		if m.Name == "le" && m.Type == labels.MatchEqual {
			if v, err := strconv.ParseFloat(m.Value, 64); err == nil {
				le = &v
			}
		}
	}
	return le, importspec.Without(ms, "le")
}

// latency makes out an SLO of kind latency on histogram base, selected by
// matchers, with threshold le.
func (c *converter) latency(o *object, at importspec.Pos, base string, matchers []*labels.Matcher, le *float64, out *importspec.SLO, s *sloOut, index int) bool {
	out.Kind = string(slo.KindLatency)
	out.Latency = []importspec.Threshold{{Seconds: *le}}
	s.latency = append(s.latency, latencyOut{index: index, metric: base, matchers: matchers, at: at})
	return true
}

// threshold converts a thresholdMetric where it is a latency SLO: the
// query reads a classic histogram's buckets, and the objective says how
// long a request may take (op lt or lte, value a bucket's bound). Each
// request is then an occurrence, good when it took at most value.
func (c *converter) threshold(src, o *object, obj, tm *yaml.Node, out *importspec.SLO, s *sloOut, index int) bool {
	m := tm
	if o.version == v1alpha {
		m = tm // source, queryType and query sit on thresholdMetric itself
	}
	q, ok := c.query(src, m)
	if !ok {
		return false
	}
	if strings.Contains(q.query, "histogram_quantile") {
		c.p.Fail(q.at, "%s: thresholdMetric on a quantile compares one number per evaluation with value (good and bad samples, not requests); burnrate counts requests. Query the histogram's buckets instead (e.g. http_request_duration_seconds_bucket{job=\"api\"}) and burnrate counts the requests slower than value", describe(o))
		return false
	}
	ct, err := importspec.ParseCounter(q.query)
	base, isBucket := strings.CutSuffix(ct.Metric, "_bucket")
	if err != nil || !isBucket {
		why := "it does not read a histogram's _bucket series"
		if err != nil {
			why = err.Error()
		}
		c.p.Fail(q.at, "%s: thresholdMetric: %s. A threshold on any other metric compares its samples with value (good and bad samples, not events), which burn-rate alerts on events cannot render; burnrate converts a thresholdMetric on a classic histogram's buckets as a latency SLO", describe(o), why)
		return false
	}
	op, value := str(obj, "op"), key(obj, "value")
	if op != "lt" && op != "lte" {
		c.p.Fail(o.at(at(obj, "op")), "%s: op %q: a latency SLO counts requests at most value as good (op: lte, or lt); burnrate cannot count requests above a bound as good", describe(o), op)
		return false
	}
	v, err := strconv.ParseFloat(fmt.Sprint(str(obj, "value")), 64)
	if value == nil || err != nil {
		c.p.Fail(o.at(obj), "%s: a thresholdMetric objective needs value, the bucket bound a request may take", describe(o))
		return false
	}
	le, rest := leOf(ct.Matchers)
	if le != nil && *le != v {
		c.p.Fail(q.at, "%s: the query selects le=%v and the objective's value is %v; leave le out of the query", describe(o), *le, v)
		return false
	}
	if op == "lt" {
		c.p.Warn(o.at(at(obj, "op")), "%s: op lt: a histogram bucket counts requests of at most its bound, so a request of exactly %v counts as good", describe(o), v)
	}
	return c.latency(o, q.at, base, rest, &v, out, s, index)
}

var _ = importspec.Pos{}
