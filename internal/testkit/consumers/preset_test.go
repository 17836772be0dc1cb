package consumers

import (
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/burnrate/burnrate/internal/testkit/reference"
	"github.com/burnrate/burnrate/slo"
)

// TestKubePrometheusJob derives the apiserver's job label from
// kube-prometheus' own ServiceMonitor (decoded strictly into the operator's
// type): the operator sets job to the value of the Service label named by
// spec.jobLabel (prometheus-operator pkg/prometheus/promcfg.go,
// generateServiceMonitorConfig: a relabelling of
// __meta_kubernetes_service_label_<jobLabel> to job), and the ServiceMonitor
// selects Services by that label. Both presets must select that job.
func TestKubePrometheusJob(t *testing.T) {
	var sm monitoringv1.ServiceMonitor
	decodeStrict(t, reference.Read(t, "../kube-prometheus/serviceMonitorApiserver.yaml"), &sm)
	job, ok := sm.Spec.Selector.MatchLabels[sm.Spec.JobLabel]
	if sm.Spec.JobLabel == "" || !ok {
		t.Fatalf("jobLabel %q is not among the selector's labels %v; the job cannot be derived", sm.Spec.JobLabel, sm.Spec.Selector.MatchLabels)
	}
	for _, p := range slo.Presets {
		if want := `job="` + job + `"`; p.Selector != want {
			t.Errorf("preset %s selects %s; kube-prometheus' ServiceMonitor scrapes the apiserver as %s", p.Name, p.Selector, want)
		}
	}
}
