package synth

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Firing is, per key of the alerts named alertname, the steps of tr at
// which one fires; key reads an alert's key from its labels.
func Firing[K comparable](tr *Trace, alertname string, key func(labels.Labels) K) (map[K][]bool, error) {
	out := map[K][]bool{}
	for i, st := range tr.Steps {
		for _, a := range st.Alerts {
			if a.State != "firing" {
				continue
			}
			ls, err := parser.NewParser(parser.Options{}).ParseMetric(a.Labels)
			if err != nil {
				return nil, err
			}
			if ls.Get("alertname") != alertname {
				continue
			}
			k := key(ls)
			if out[k] == nil {
				out[k] = make([]bool, len(tr.Steps))
			}
			out[k][i] = true
		}
	}
	return out, nil
}

// Transitions are the steps at which a firing series changes state.
func Transitions(f []bool) []int {
	var out []int
	prev := false
	for i, v := range f {
		if v != prev {
			out = append(out, i)
		}
		prev = v
	}
	return out
}

// SameFiring fails t for every alert (by key) that fires in got, burnrate's
// rules, but never in want, a peer's (named peer), and for every alert of
// want whose changes of state in got differ in number or lie more than
// bound evaluations (of interval) apart. It logs both series of changes and
// returns the largest difference, in evaluations.
func SameFiring[K comparable](t testing.TB, peer string, want, got map[K][]bool, bound int, interval time.Duration) int {
	t.Helper()
	for k := range got {
		if want[k] == nil {
			t.Errorf("burnrate fires %v, which %s never fires", k, peer)
		}
	}
	keys := make([]K, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b K) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	worst := 0
	for _, k := range keys {
		w, g := Transitions(want[k]), Transitions(got[k])
		t.Logf("%v: %s changes at steps %v, burnrate at %v", k, peer, w, g)
		if len(w) != len(g) {
			t.Errorf("%v: %s's alert changes state %d times (%v), burnrate's %d times (%v)", k, peer, len(w), w, len(g), g)
			continue
		}
		for i := range w {
			d := max(w[i]-g[i], g[i]-w[i])
			worst = max(worst, d)
			if d > bound {
				t.Errorf("%v: change %d at step %d in %s, %d in burnrate: more than %d step(s) of %s apart", k, i, w[i], peer, g[i], bound, interval)
			}
		}
	}
	t.Logf("largest difference: %d step(s) of %s", worst, interval)
	return worst
}
