// Command burnratelab runs real kube-apiservers, etcd and Prometheus on
// 127.0.0.1, sends a client-go workload through them, breaks one thing per
// scenario (an aggregated API's backend, an admission webhook, etcd's
// latency, expensive LISTs, one instance, sources of false positives) and
// records what the apiservers exposed as gzip-compressed OpenMetrics, with
// a summary of what moved and what the generated rules' burn rates did.
//
// Usage (see lab/README.md; `make lab` runs every scenario):
//
//	burnratelab --apiserver=PATH [--scenarios=healthy,aggregated-refused,...] [--out=lab/recordings/v1.34.2]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/burnrate/burnrate/internal/testkit/process"
)

// config is every flag of the lab. The culprits (APIService, webhook,
// resource, instance) are flags so that a run with other names must lead
// to the same diagnosis.
type config struct {
	apiserver, apiserverVersion, etcd, prometheus, rules, out, work string
	scenarios                                                       string
	suffix, keep                                                    string
	fromStart                                                       bool
	healthy, fault, recovery                                        time.Duration
	rate                                                            float64
	watches                                                         int

	apiService, apiServiceResource, apiServiceKind string

	webhook, webhookResource string
	webhookTimeout           int

	etcdDelay, etcdDelaySevere time.Duration

	listNamespace, listScope     string
	listObjects, listObjectBytes int
	listers                      int

	instanceNames, badInstance string

	proxyService, floodFlowSchema string
	floodWorkers                  int
	maxInflight, maxMutating      int

	// native: Prometheus scrapes native histograms too, and the recording
	// is a TSDB block (nativeHistograms).
	nativeFlag string
	native     bool
}

func main() {
	var c config
	flag.StringVar(&c.apiserver, "apiserver", "", "kube-apiserver binary (lab/build-apiserver.sh prints it)")
	flag.StringVar(&c.apiserverVersion, "apiserver-version", "v1.34.2", "version of that binary, for the recordings' directory and notes")
	flag.StringVar(&c.etcd, "etcd", "etcd", "etcd binary (Debian's etcd-server)")
	flag.StringVar(&c.prometheus, "prometheus", "", "prometheus binary (default: go tool -n prometheus)")
	flag.StringVar(&c.rules, "rules", "rules/kube-apiserver.rules.yaml", "rule file Prometheus loads")
	flag.StringVar(&c.out, "out", "", "recordings directory (default lab/recordings/<apiserver-version>)")
	flag.StringVar(&c.work, "work", "", "working directory for certificates, data and logs (default ~/.cache/burnrate-lab/run)")
	flag.StringVar(&c.nativeFlag, "native-histograms", "auto", "scrape native histograms as well as the classic ones and record a TSDB block (<scenario>.tsdb.tar.gz) instead of OpenMetrics: on, off, or auto (on from kube-apiserver v1.37, whose NativeHistograms feature gate is on by default)")
	flag.StringVar(&c.scenarios, "scenarios", "all", "comma-separated scenarios, or all: "+strings.Join(scenarioNames(), ","))
	flag.DurationVar(&c.healthy, "healthy", 3*time.Minute, "healthy phase")
	flag.DurationVar(&c.fault, "fault", 5*time.Minute, "fault phase")
	flag.DurationVar(&c.recovery, "recovery", 2*time.Minute, "recovery phase")
	flag.Float64Var(&c.rate, "rate", 20, "workload requests per second (all instances together)")
	flag.IntVar(&c.watches, "watches", 4, "open watches of the workload")
	flag.StringVar(&c.apiService, "apiservice", "v1alpha1.widgets.lab.example", "APIService name (<version>.<group>) of the aggregated-API scenarios")
	flag.StringVar(&c.apiServiceResource, "apiservice-resource", "gadgets", "resource the aggregated API serves")
	flag.StringVar(&c.apiServiceKind, "apiservice-kind", "Gadget", "kind of that resource")
	flag.StringVar(&c.webhook, "webhook", "policy-check.lab.example", "name of the validating webhook (and of its configuration)")
	flag.StringVar(&c.webhookResource, "webhook-resource", "configmaps", "core resource the webhook validates on CREATE and UPDATE")
	flag.IntVar(&c.webhookTimeout, "webhook-timeout", 5, "the webhook's timeoutSeconds")
	flag.DurationVar(&c.etcdDelay, "etcd-delay", 300*time.Millisecond, "latency the etcd proxy adds to every chunk etcd sends back")
	flag.DurationVar(&c.etcdDelaySevere, "etcd-delay-severe", time.Second, "latency the etcd proxy adds in etcd-slower")
	flag.StringVar(&c.listNamespace, "list-namespace", "bulk", "namespace of the expensive LISTs' objects")
	flag.StringVar(&c.listScope, "list-scope", "namespace", "scope of the expensive LISTs: namespace or cluster")
	flag.IntVar(&c.listObjects, "list-objects", 4000, "configmaps the expensive LISTs return")
	flag.IntVar(&c.listObjectBytes, "list-object-bytes", 2048, "data bytes per such configmap")
	flag.IntVar(&c.listers, "listers", 6, "clients sending unpaginated LISTs without resourceVersion back to back")
	flag.StringVar(&c.instanceNames, "instances", "apiserver-a,apiserver-b,apiserver-c", "instance label values of the three apiservers of the multi-instance scenario")
	flag.StringVar(&c.badInstance, "bad-instance", "apiserver-b", "the instance behind the slow etcd path")
	flag.StringVar(&c.proxyService, "proxy-service", "no-endpoints", "Service without endpoints that services/proxy requests go to")
	flag.StringVar(&c.floodFlowSchema, "flood-flowschema", "lab-tenants", "FlowSchema and PriorityLevelConfiguration of the flooding client")
	flag.IntVar(&c.floodWorkers, "flood-workers", 60, "concurrent clients of the request flood")
	flag.IntVar(&c.maxInflight, "max-requests-inflight", 0, "kube-apiserver --max-requests-inflight (0: its default)")
	flag.IntVar(&c.maxMutating, "max-mutating-requests-inflight", 0, "kube-apiserver --max-mutating-requests-inflight (0: its default)")
	flag.StringVar(&c.suffix, "suffix", "", "appended to the scenario's name for its recording, notes and cluster label (e.g. -long for a long run beside the short one)")
	flag.StringVar(&c.keep, "keep", "all", "series the recording keeps: all (recordedNames) or slo (sloNames: only what the rules, the runbook and diagnose read, SLI buckets at the thresholds only; for long recordings)")
	flag.BoolVar(&c.fromStart, "from-start", false, "start Prometheus before the apiservers and begin the healthy phase, and the recording, at their start, so that the recording holds their start-up (for the long healthy recording)")
	flag.Parse()
	if err := c.complete(); err != nil {
		fmt.Fprintln(os.Stderr, "burnratelab:", err)
		os.Exit(2)
	}
	scs, err := selectScenarios(c.scenarios)
	if err != nil {
		fmt.Fprintln(os.Stderr, "burnratelab:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failed := 0
	for _, sc := range scs {
		start := time.Now()
		if c.suffix != "" {
			renamed := *sc
			renamed.name += c.suffix
			sc = &renamed
		}
		logf("=== scenario %s", sc.name)
		if err := runScenario(ctx, &c, sc); err != nil {
			failed++
			logf("scenario %s failed after %s: %v", sc.name, time.Since(start).Round(time.Second), err)
		} else {
			logf("scenario %s recorded in %s", sc.name, time.Since(start).Round(time.Second))
		}
		if ctx.Err() != nil {
			break
		}
	}
	if failed > 0 || ctx.Err() != nil {
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
}

func (c *config) complete() error {
	if c.apiserver == "" {
		return fmt.Errorf("--apiserver is required (lab/build-apiserver.sh builds it)")
	}
	if c.out == "" {
		c.out = filepath.Join("lab", "recordings", c.apiserverVersion)
	}
	native, err := nativeHistograms(c.nativeFlag, c.apiserverVersion)
	if err != nil {
		return err
	}
	c.native = native
	if c.work == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return err
		}
		c.work = filepath.Join(cache, "burnrate-lab", "run")
	}
	if c.prometheus == "" {
		bin, err := process.GoTool("prometheus")
		if err != nil {
			return err
		}
		c.prometheus = bin
	}
	if p, err := exec.LookPath(c.etcd); err != nil {
		return fmt.Errorf("etcd: %v (apt-get install etcd-server)", err)
	} else {
		c.etcd = p
	}
	if len(strings.Split(c.instanceNames, ",")) != 3 {
		return fmt.Errorf("--instances wants three names")
	}
	if !strings.Contains(","+c.instanceNames+",", ","+c.badInstance+",") {
		return fmt.Errorf("--bad-instance %q is not one of --instances", c.badInstance)
	}
	if c.keep != "all" && c.keep != "slo" {
		return fmt.Errorf("--keep %q: want all or slo", c.keep)
	}
	if _, _, err := splitAPIService(c.apiService); err != nil {
		return err
	}
	return nil
}

// splitAPIService splits an APIService name <version>.<group>.
func splitAPIService(name string) (version, group string, err error) {
	version, group, ok := strings.Cut(name, ".")
	if !ok || group == "" {
		return "", "", fmt.Errorf("APIService name %q is not <version>.<group>", name)
	}
	return version, group, nil
}

// nativeHistograms resolves --native-histograms. The NativeHistograms
// feature gate (k8s.io/component-base/metrics/features/kube_features.go,
// featureGates) is alpha and off in 1.36 and beta and on from 1.37; with
// it on, every histogram of kube-apiserver gets native buckets besides
// its classic ones (k8s.io/component-base/metrics/opts.go,
// HistogramOpts.toPromHistogramOpts).
func nativeHistograms(flag, version string) (bool, error) {
	switch flag {
	case "on":
		return true, nil
	case "off":
		return false, nil
	case "auto":
		var major, minor int
		if _, err := fmt.Sscanf(version, "v%d.%d", &major, &minor); err != nil {
			return false, fmt.Errorf("--native-histograms=auto: cannot read the minor version of --apiserver-version %q; set on or off", version)
		}
		return major > 1 || (major == 1 && minor >= 37), nil
	}
	return false, fmt.Errorf("--native-histograms=%q: want on, off or auto", flag)
}
