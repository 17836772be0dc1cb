package slomodel

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/burnrate/burnrate/slo"
)

// RawInput is what the generated tests write for an SLO of kind raw: the
// one counter both queries read, labels its total query's matchers match,
// the one matcher the errors query adds and a failed and a successful
// value of it, and whether the queries keep the cluster label.
type RawInput struct {
	Metric                      string
	Labels                      map[string]string
	ErrLabel, ErrValue, OKValue string
	KeepsCluster                bool
}

// RawTestInput reads SLI i's raw queries for the generated tests, which
// know only the common shape: each query reads one counter, the same one,
// and the errors query selects with one more matcher than the total query
// (sum(rate(m{job="a",code=~"5.."}[w])) over sum(rate(m{job="a"}[w]))).
// Other queries are valid rules but cannot be tested from the spec alone.
func (m *Model) RawTestInput(i int) (RawInput, error) {
	sli := m.SLIs[i]
	total, err := oneSelector("total", sli.RawTotal)
	if err != nil {
		return RawInput{}, err
	}
	errs, err := oneSelector("errors", sli.RawErrors)
	if err != nil {
		return RawInput{}, err
	}
	if total.Name != errs.Name || total.Name == "" {
		return RawInput{}, fmt.Errorf("the generated tests need both queries to read the same metric, by name; errors reads %q, total %q", errs.Name, total.Name)
	}
	own := func(v *parser.VectorSelector) map[string]*labels.Matcher {
		out := map[string]*labels.Matcher{}
		for _, lm := range v.LabelMatchers {
			if lm.Name != labels.MetricName {
				out[lm.String()] = lm
			}
		}
		return out
	}
	tm, em := own(total), own(errs)
	var extra []*labels.Matcher
	for k, lm := range em {
		if tm[k] == nil {
			extra = append(extra, lm)
		}
	}
	for k := range tm {
		if em[k] == nil {
			return RawInput{}, fmt.Errorf("the generated tests need the errors query to select with every matcher of the total query; it lacks %s", k)
		}
	}
	if len(extra) != 1 {
		return RawInput{}, fmt.Errorf("the generated tests need the errors query to add exactly one matcher to the total query's (e.g. code=~\"5..\"); it adds %d", len(extra))
	}
	in := RawInput{Metric: total.Name, ErrLabel: extra[0].Name}
	var ok bool
	if in.ErrValue, in.OKValue, ok = slo.ErrorValues(extra[0]); !ok {
		return RawInput{}, fmt.Errorf("the generated tests find no failed value %s matches and no successful value it does not", extra[0])
	}
	sel := slices.Sorted(maps.Keys(tm))
	if in.Labels, err = Satisfy(strings.Join(sel, ",")); err != nil {
		return RawInput{}, err
	}
	if _, set := in.Labels[m.ClusterLabel]; set {
		return RawInput{}, fmt.Errorf("the generated tests write the cluster label %s themselves; select the cluster outside the query", m.ClusterLabel)
	}
	in.KeepsCluster = KeepsLabel(sli.RawTotal, m.ClusterLabel) && KeepsLabel(sli.RawErrors, m.ClusterLabel)
	return in, nil
}

// oneSelector is the one vector selector of query e.
func oneSelector(field string, e parser.Expr) (*parser.VectorSelector, error) {
	var vs []*parser.VectorSelector
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if v, ok := n.(*parser.VectorSelector); ok {
			vs = append(vs, v)
		}
		return nil
	})
	if len(vs) != 1 {
		return nil, fmt.Errorf("the generated tests need raw.%s to read one series selector; it reads %d", field, len(vs))
	}
	return vs[0], nil
}

// KeepsLabel says whether the series of query e keep label l of the series
// it reads: aggregations keep it only when they group by it (or without
// other labels), functions and binary operations keep their vector
// operand's labels. It errs towards true for what it does not know.
func KeepsLabel(e parser.Expr, l string) bool {
	switch n := e.(type) {
	case *parser.AggregateExpr:
		if n.Without {
			return !slices.Contains(n.Grouping, l) && KeepsLabel(n.Expr, l)
		}
		return slices.Contains(n.Grouping, l) && KeepsLabel(n.Expr, l)
	case *parser.ParenExpr:
		return KeepsLabel(n.Expr, l)
	case *parser.Call:
		for _, a := range n.Args {
			if a.Type() == parser.ValueTypeVector || a.Type() == parser.ValueTypeMatrix {
				return KeepsLabel(a, l)
			}
		}
		return false
	case *parser.BinaryExpr:
		if n.LHS.Type() == parser.ValueTypeVector {
			return KeepsLabel(n.LHS, l)
		}
		return KeepsLabel(n.RHS, l)
	case *parser.MatrixSelector:
		return KeepsLabel(n.VectorSelector, l)
	case *parser.SubqueryExpr:
		return KeepsLabel(n.Expr, l)
	case *parser.NumberLiteral:
		return false
	}
	return true
}
