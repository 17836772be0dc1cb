package testgen

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/burnrate/burnrate/slo"
)

var promqlBlock = regexp.MustCompile("(?s)```promql\n(.*?)\n```")

// specWith returns the embedded spec changed by edit.
func specWith(edit func(*slo.Spec)) *slo.Spec {
	s := slo.Default()
	if edit != nil {
		edit(s)
	}
	return s
}

func TestIncidentFits(t *testing.T) {
	tests := []struct {
		name string
		edit func(*slo.Spec)
		want string // "" fits
	}{
		{"embedded spec", nil, ""},
		{"other selector, cluster and SLI label", func(s *slo.Spec) {
			s.Selector, s.ClusterLabel, s.SLILabel = `job="apiserver"`, "k8s_cluster", "sli"
		}, ""},
		{"other objective", func(s *slo.Spec) { s.Objective = 0.999 }, "objective differs"},
		{"other windows", func(s *slo.Spec) { s.Alert.Windows = s.Alert.Windows[:1] }, "alert.windows differs"},
		{"a service, even on the apiserver's own SLOs", func(s *slo.Spec) { s.Service = "api" }, "service: the scenarios prove the kube-apiserver's runbook"},
		{"a fix off", func(s *slo.Spec) { s.Fixes.AbsentAsZero = false }, "fixes differs"},
		{"cluster label the scenarios set", func(s *slo.Spec) { s.ClusterLabel = "host" }, `clusterLabel "host" is a label the scenarios set themselves`},
		{"selector on a label the scenarios set", func(s *slo.Spec) { s.Selector = `job="kube-apiserver",method="GET"` }, `selector sets "method", a label the scenarios set themselves`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := IncidentFits(specWith(tc.edit))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrIncidentsDoNotFit) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want ErrIncidentsDoNotFit saying %q", err, tc.want)
			}
		})
	}
}
