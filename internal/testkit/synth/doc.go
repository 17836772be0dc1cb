// Package synth produces synthetic kube-apiserver metrics and evaluates
// Prometheus rule files over them in process.
//
// The generator side is [Cluster]: a deterministic (seeded) model of one or
// more clusters of kube-apiservers that exposes apiserver_request_total and
// the apiserver_request_sli_duration_seconds histogram with realistic label
// sets, diurnal traffic, error and latency ratios that drift over time and
// differ per instance, verb, resource and scope, and hooks to inject faults
// ([Fault], [Cluster.Adjust]) or to leave series out ([Omission]). Samples
// are streamed ([Cluster.Each]) and never held in memory as a whole, so large
// configurations can be appended straight into a TSDB ([Load], [OpenStorage]).
//
// The evaluator side is [Evaluate]: it loads a [SeriesSource] into a fresh
// TSDB, evaluates every group of a rule file at one fixed interval, in file
// order, the way `promtool test rules` does (with a deterministic group
// order), and returns a [Trace] holding every recorded sample and every
// pending or firing alert per step, plus PromQL query statistics per rule
// and per group.
package synth
