package synth

import (
	"fmt"
	"math"
	"strconv"

	"github.com/burnrate/burnrate/internal/series"
)

// Metric names produced by the generator.
const (
	MetricRequestTotal = "apiserver_request_total"
	MetricSLIBucket    = "apiserver_request_sli_duration_seconds_bucket"
	MetricSLICount     = "apiserver_request_sli_duration_seconds_count"
	MetricSLISum       = "apiserver_request_sli_duration_seconds_sum"
)

// knownVerbs are the request verbs the generator knows, as the
// kube-apiserver reports them in the verb label.
var knownVerbs = []string{"LIST", "GET", "WATCH", "POST", "PUT", "PATCH", "DELETE", "APPLY", "DELETECOLLECTION", "CONNECT"}

// knownScopes are the values of the scope label; "" is used by non-resource
// requests such as /healthz.
var knownScopes = []string{"resource", "namespace", "cluster", ""}

// knownSubresources are the subresources of resource requests. The streaming
// ones (log, exec, attach, portforward, proxy) are long-running and are the
// ones the kubernetes-mixin excludes from the latency SLI.
var knownSubresources = []string{"", "status", "log", "exec", "attach", "portforward", "proxy"}

// knownCodes are the HTTP codes that may appear in apiserver_request_total
// besides the success codes.
var knownCodes = []string{"200", "201", "404", "409", "429", "500", "503", "504"}

// sliBuckets are the upper bounds of the apiserver_request_sli_duration_seconds
// histogram in Kubernetes, without +Inf.
var sliBuckets = []float64{0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60}

// SLIBuckets returns the upper bounds of the SLI histogram buckets, +Inf last.
func SLIBuckets() []float64 {
	b := make([]float64, 0, len(sliBuckets)+1)
	b = append(b, sliBuckets...)
	return append(b, math.Inf(1))
}

// numBins is the number of histogram bins, (le[i-1], le[i]], including the
// last one, (60, +Inf).
var numBins = len(sliBuckets) + 1

// bucketIndex returns the index of upper bound le in SLIBuckets.
func bucketIndex(le float64) int {
	for i, b := range sliBuckets {
		if b == le {
			return i
		}
	}
	if math.IsInf(le, 1) {
		return len(sliBuckets)
	}
	panic(fmt.Sprintf("synth: %v is not an SLI bucket", le))
}

// binMidpoint is the latency that stands for every request of a bin in _sum.
func binMidpoint(i int) float64 {
	switch {
	case i == 0:
		return sliBuckets[0] / 2
	case i >= len(sliBuckets):
		return 90
	default:
		return (sliBuckets[i-1] + sliBuckets[i]) / 2
	}
}

// LeFormat selects how the le label of the histogram buckets is written.
type LeFormat int

const (
	// LeClassic writes bucket bounds the way Prometheus 2 and the Kubernetes
	// client write them: "1", "5", "0.05", "+Inf". This is the zero value.
	LeClassic LeFormat = iota
	// LeFloat writes them the way Prometheus 3 normalises them: "1.0",
	// "5.0", "0.05", "+Inf".
	LeFloat
	// LeMixed uses LeClassic for even-numbered instances of a cluster and
	// LeFloat for odd-numbered ones, as during a rolling Prometheus upgrade.
	LeMixed
)

// String implements fmt.Stringer.
func (f LeFormat) String() string {
	switch f {
	case LeClassic:
		return "classic"
	case LeFloat:
		return "float"
	case LeMixed:
		return "mixed"
	}
	return "LeFormat(" + strconv.Itoa(int(f)) + ")"
}

// formatLe formats an upper bound. float selects the Prometheus 3 style.
func formatLe(le float64, float bool) string {
	if float {
		return series.LeFloat(le)
	}
	return series.Le(le)
}

// resourceInfo is one API resource of the catalogue.
type resourceInfo struct {
	group, version, resource string
	namespaced               bool
}

// resourceCatalogue lists real Kubernetes resources, the busiest first.
// Cluster.Resources picks a prefix of it; more resources than listed here are
// made up as widgetsN.example.com.
var resourceCatalogue = []resourceInfo{
	{"", "v1", "pods", true},
	{"coordination.k8s.io", "v1", "leases", true},
	{"", "v1", "configmaps", true},
	{"", "v1", "nodes", false},
	{"", "v1", "secrets", true},
	{"apps", "v1", "deployments", true},
	{"", "v1", "services", true},
	{"", "v1", "events", true},
	{"", "v1", "namespaces", false},
	{"discovery.k8s.io", "v1", "endpointslices", true},
	{"apps", "v1", "replicasets", true},
	{"", "v1", "serviceaccounts", true},
	{"apps", "v1", "statefulsets", true},
	{"apps", "v1", "daemonsets", true},
	{"batch", "v1", "jobs", true},
	{"batch", "v1", "cronjobs", true},
	{"", "v1", "persistentvolumeclaims", true},
	{"", "v1", "persistentvolumes", false},
	{"apiextensions.k8s.io", "v1", "customresourcedefinitions", false},
	{"networking.k8s.io", "v1", "ingresses", true},
	{"networking.k8s.io", "v1", "networkpolicies", true},
	{"rbac.authorization.k8s.io", "v1", "roles", true},
	{"rbac.authorization.k8s.io", "v1", "rolebindings", true},
	{"rbac.authorization.k8s.io", "v1", "clusterroles", false},
	{"rbac.authorization.k8s.io", "v1", "clusterrolebindings", false},
	{"storage.k8s.io", "v1", "storageclasses", false},
	{"storage.k8s.io", "v1", "csinodes", false},
	{"storage.k8s.io", "v1", "volumeattachments", false},
	{"autoscaling", "v2", "horizontalpodautoscalers", true},
	{"policy", "v1", "poddisruptionbudgets", true},
	{"scheduling.k8s.io", "v1", "priorityclasses", false},
	{"admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", false},
	{"admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", false},
	{"apiregistration.k8s.io", "v1", "apiservices", false},
	{"flowcontrol.apiserver.k8s.io", "v1", "flowschemas", false},
	{"flowcontrol.apiserver.k8s.io", "v1", "prioritylevelconfigurations", false},
	{"", "v1", "limitranges", true},
	{"", "v1", "resourcequotas", true},
	{"apps", "v1", "controllerrevisions", true},
	{"", "v1", "endpoints", true},
	{"certificates.k8s.io", "v1", "certificatesigningrequests", false},
	{"node.k8s.io", "v1", "runtimeclasses", false},
	{"networking.k8s.io", "v1", "ingressclasses", false},
	{"", "v1", "replicationcontrollers", true},
	{"", "v1", "podtemplates", true},
	{"storage.k8s.io", "v1", "csidrivers", false},
	{"storage.k8s.io", "v1", "csistoragecapacities", true},
	{"admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", false},
}

// resourceAt returns the i-th resource, inventing one past the catalogue.
func resourceAt(i int) resourceInfo {
	if i < len(resourceCatalogue) {
		return resourceCatalogue[i]
	}
	return resourceInfo{"example.com", "v1", fmt.Sprintf("widgets%d", i-len(resourceCatalogue)+1), true}
}

// latencyProfile says how the requests of an endpoint spread over the
// histogram bins.
type latencyProfile int

const (
	// profileFast: most requests well under the SLO threshold.
	profileFast latencyProfile = iota
	// profileListCluster: cluster-wide LISTs, spread up to several seconds.
	profileListCluster
	// profileLong: long-running requests (WATCH, CONNECT, streaming
	// subresources), mostly tens of seconds or longer.
	profileLong
)

// endpointTemplate is a kind of request made to a resource.
type endpointTemplate struct {
	verb, scope, subresource string
	weight                   float64 // relative traffic
}

// namespacedEndpoints are the nine request classes of a namespaced resource.
var namespacedEndpoints = []endpointTemplate{
	{"GET", "resource", "", 10},
	{"LIST", "namespace", "", 3},
	{"LIST", "cluster", "", 0.6},
	{"WATCH", "namespace", "", 0.3},
	{"WATCH", "cluster", "", 0.1},
	{"POST", "resource", "", 1},
	{"PUT", "resource", "", 2},
	{"PATCH", "resource", "", 1.5},
	{"DELETE", "resource", "", 0.5},
}

// clusterEndpoints are the nine request classes of a cluster-scoped resource.
var clusterEndpoints = []endpointTemplate{
	{"GET", "resource", "", 10},
	{"LIST", "cluster", "", 1.5},
	{"WATCH", "cluster", "", 0.2},
	{"POST", "resource", "", 0.3},
	{"PUT", "resource", "", 1},
	{"PATCH", "resource", "", 1.5},
	{"APPLY", "resource", "", 0.3},
	{"DELETE", "resource", "", 0.2},
	{"PUT", "resource", "status", 1},
}

// extraEndpoints are additional request classes of particular resources:
// streaming subresources, status updates and collection deletes.
var extraEndpoints = map[string][]endpointTemplate{
	"pods": {
		{"GET", "resource", "log", 0.2},
		{"CONNECT", "resource", "exec", 0.05},
		{"CONNECT", "resource", "attach", 0.01},
		{"CONNECT", "resource", "portforward", 0.01},
		{"CONNECT", "resource", "proxy", 0.02},
		{"PATCH", "resource", "status", 3},
		{"DELETECOLLECTION", "namespace", "", 0.01},
	},
	"services": {
		{"CONNECT", "resource", "proxy", 0.02},
	},
	"nodes": {
		{"CONNECT", "resource", "proxy", 0.05},
	},
}

// nonResourceEndpoints are requests to non-resource URLs: scope, group,
// version and resource are empty and the path is in the subresource label.
var nonResourceEndpoints = []endpointTemplate{
	{"GET", "", "/healthz", 1},
	{"GET", "", "/livez", 1},
	{"GET", "", "/readyz", 1},
}

// longRunning reports whether requests of this kind are long-running.
func longRunning(verb, subresource string) bool {
	switch verb {
	case "WATCH", "CONNECT":
		return true
	}
	switch subresource {
	case "log", "exec", "attach", "portforward", "proxy":
		return true
	}
	return false
}

// sloThreshold is the latency, in seconds, above which a request of this
// kind is slow by the kube-apiserver SLO: 1s for writes and single-object
// reads, 5s for namespace LISTs, 30s for cluster LISTs.
func sloThreshold(verb, scope string) float64 {
	if verb == "LIST" {
		switch scope {
		case "namespace":
			return 5
		case "cluster":
			return 30
		}
	}
	return 1
}

// successCode is the code of a successful request.
func successCode(verb string) string {
	switch verb {
	case "POST":
		return "201"
	case "CONNECT":
		return "101"
	}
	return "200"
}

// clientErrorCodes are the 4xx codes a request of this verb may get.
func clientErrorCodes(verb, scope string) []string {
	if scope == "" && verb == "GET" {
		return nil
	}
	switch verb {
	case "GET", "DELETE", "CONNECT":
		return []string{"404", "429"}
	case "POST":
		return []string{"409", "429"}
	case "PUT", "PATCH", "APPLY":
		return []string{"404", "409", "429"}
	}
	return []string{"429"}
}

// serverErrorCodes are the 5xx codes a request of this kind may get.
func serverErrorCodes(scope string) []string {
	if scope == "" {
		return []string{"500", "503"}
	}
	return []string{"500", "503", "504"}
}

// codeWeight is the share of a code within its class (4xx or 5xx).
func codeWeight(code string) float64 {
	switch code {
	case "404":
		return 0.6
	case "409":
		return 0.3
	case "429":
		return 0.1
	case "500":
		return 0.5
	case "503":
		return 0.3
	case "504":
		return 0.2
	}
	return 1
}
