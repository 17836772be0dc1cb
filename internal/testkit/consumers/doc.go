// Package consumers holds no code, only the tests that load burnrate's
// outputs with the code of the projects that consume them: the
// prometheus-operator's PrometheusRule type and its rule validation, a
// kube-prometheus jsonnet patch evaluated with go-jsonnet, the
// kube-prometheus-stack values as the chart's templates read them, the
// Mimir/Cortex namespace file as mimirtool parses it, and the Thanos ruler's
// partial_response_strategy. Where a consumer's code cannot be imported, the
// test says why and follows that code, citing file and function.
package consumers
