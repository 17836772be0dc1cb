package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// scenario is one recording: what is set up before the healthy phase,
// what extra clients run, how the fault starts and how it ends.
type scenario struct {
	name, what  string // what: the fault, for the notes
	instances   int    // 1 or 3
	rate        float64
	maxInflight int
	maxMutating int
	setup       func(ctx context.Context, l *lab) error
	workload    func(ctx context.Context, l *lab)
	fault       func(ctx context.Context, l *lab) error
	recover     func(ctx context.Context, l *lab) error
}

func scenarios() []*scenario {
	return []*scenario{
		{
			name:  "healthy",
			what:  "none: the fault phase changes nothing",
			fault: func(ctx context.Context, l *lab) error { l.note("no fault"); return nil },
		},
		{
			name: "aggregated-refused",
			what: "APIService registered at the start of the fault phase on a Service of type ExternalName (localhost) whose port " +
				"refuses connections; its clients start with it. Recovery: the backend starts serving.",
			setup: func(ctx context.Context, l *lab) error { return l.serveBackend() },
			fault: func(ctx context.Context, l *lab) error {
				if err := l.registerAPIService(ctx); err != nil {
					return err
				}
				l.note("APIService %s registered; backend 127.0.0.1:%s refuses connections", l.cfg.apiService, l.backend.port())
				l.watchAPIService(ctx)
				l.groupClients(ctx)
				return nil
			},
			recover: func(ctx context.Context, l *lab) error {
				l.note("backend serving")
				return l.backend.setMode(modeServe)
			},
		},
		{
			name: "aggregated-hang",
			what: "APIService Available and used (LIST, GET, discovery, OpenAPI v3 once a second) through the healthy phase; " +
				"at the fault its backend closes every connection and from then on accepts connections and never answers. Recovery: serving again.",
			setup:    servingAPIService,
			workload: func(ctx context.Context, l *lab) { l.watchAPIService(ctx); l.groupClients(ctx) },
			fault: func(ctx context.Context, l *lab) error {
				l.note("backend hangs (accepts, never answers)")
				return l.backend.setMode(modeHang)
			},
			recover: func(ctx context.Context, l *lab) error {
				l.note("backend serving")
				return l.backend.setMode(modeServe)
			},
		},
		aggregatedFlap(),
		webhookScenario("webhook-500", modeError, "answers HTTP 500"),
		webhookScenario("webhook-hang", modeHang, "accepts the request and never answers (past timeoutSeconds)"),
		slowEtcdScenario("etcd-slow", "every chunk etcd sends to the apiserver is delayed by --etcd-delay in the TCP proxy between them",
			func(c *config) time.Duration { return c.etcdDelay }),
		slowEtcdScenario("etcd-slower", "as etcd-slow, with --etcd-delay-severe (default 1 s) per chunk: one round trip alone crosses the 1 s threshold of resource-scoped reads and of writes",
			func(c *config) time.Duration { return c.etcdDelaySevere }),
		{
			name: "list-expensive",
			what: "--listers clients LIST the --list-objects configmaps of --list-namespace back to back, unpaginated and " +
				"without resourceVersion (served from etcd, not the watch cache, with etcd 3.4)",
			setup: func(ctx context.Context, l *lab) error { return l.bulkObjects(ctx) },
			fault: func(ctx context.Context, l *lab) error {
				l.note("%d listers start (%s scope, %d objects of %d bytes)", l.cfg.listers, l.cfg.listScope, l.cfg.listObjects, l.cfg.listObjectBytes)
				lctx, cancel := context.WithCancel(ctx)
				l.extraStop = append(l.extraStop, cancel)
				l.stopFault = cancel
				ns := l.cfg.listNamespace
				if l.cfg.listScope == "cluster" {
					ns = ""
				}
				for i := range l.cfg.listers {
					cs := l.drv.clients[i%len(l.drv.clients)]
					go func() {
						for lctx.Err() == nil {
							rctx, c := context.WithTimeout(lctx, 70*time.Second)
							_, err := cs.CoreV1().ConfigMaps(ns).List(rctx, metav1.ListOptions{})
							c()
							if lctx.Err() == nil {
								l.drv.stats.add("LIST "+l.cfg.listScope+" configmaps unpaginated (lister)", err)
							}
						}
					}()
				}
				return nil
			},
			recover: func(ctx context.Context, l *lab) error { l.stopFault(); l.note("listers stop"); return nil },
		},
		badInstanceScenario("instance-slow-etcd", "--etcd-delay", func(c *config) time.Duration { return c.etcdDelay }),
		badInstanceScenario("instance-slower-etcd", "--etcd-delay-severe", func(c *config) time.Duration { return c.etcdDelaySevere }),
		{
			name: "false-positives",
			what: "at once: services/proxy to a Service without endpoints (--proxy-service) twice a second; a flood of LISTs " +
				"from a user in its own FlowSchema and priority level (--flood-flowschema, 1 queue of 5) by --flood-workers clients",
			setup: func(ctx context.Context, l *lab) error {
				if err := l.setupHeadlessService(ctx); err != nil {
					return err
				}
				return l.setupFlood(ctx)
			},
			fault: func(ctx context.Context, l *lab) error {
				fctx, cancel := context.WithCancel(ctx)
				l.extraStop = append(l.extraStop, cancel)
				l.stopFault = cancel
				cs := l.drv.clients[0]
				every(fctx, l.drv.stats, "GET services/proxy "+l.cfg.proxyService, 500*time.Millisecond, func(ctx context.Context) error {
					return raw(ctx, cs, "/api/v1/namespaces/"+labNamespace+"/services/"+l.cfg.proxyService+":http/proxy/")
				})
				fc, err := kubernetes.NewForConfig(l.flood)
				if err != nil {
					return err
				}
				for range l.cfg.floodWorkers {
					go func() {
						for fctx.Err() == nil {
							rctx, c := context.WithTimeout(fctx, 70*time.Second)
							_, err := fc.CoreV1().ConfigMaps(labNamespace).List(rctx, metav1.ListOptions{})
							c()
							if fctx.Err() == nil {
								l.drv.stats.add("LIST configmaps ns (flood)", err)
							}
						}
					}()
				}
				l.note("services/proxy to %s and flood of %d clients start", l.cfg.proxyService, l.cfg.floodWorkers)
				return nil
			},
			recover: func(ctx context.Context, l *lab) error {
				l.stopFault()
				l.note("proxy requests and flood stop")
				return nil
			},
		},
	}
}

// slowEtcdScenario delays every chunk etcd sends to every instance by
// delay, in the TCP proxies between them.
func slowEtcdScenario(name, what string, delay func(*config) time.Duration) *scenario {
	return &scenario{
		name: name,
		what: what,
		fault: func(ctx context.Context, l *lab) error {
			for _, p := range l.proxies {
				p.setDelay(delay(l.cfg))
			}
			l.note("etcd proxy delay %s on every instance", delay(l.cfg))
			return nil
		},
		recover: func(ctx context.Context, l *lab) error {
			for _, p := range l.proxies {
				p.setDelay(0)
			}
			l.note("etcd proxy delay 0")
			return nil
		},
	}
}

func webhookScenario(name, mode, what string) *scenario {
	return &scenario{
		name: name,
		what: "validating webhook --webhook (failurePolicy Fail, timeoutSeconds --webhook-timeout, CREATE and UPDATE of --webhook-resource " +
			"in the workload's namespace) served by the lab on https://127.0.0.1; it allows everything, and in the fault phase " + what + ". Recovery: allows again.",
		setup: func(ctx context.Context, l *lab) error { return l.startWebhookServer(ctx) },
		fault: func(ctx context.Context, l *lab) error {
			l.webhook.set(mode)
			l.note("webhook %s: %s", l.cfg.webhook, what)
			return nil
		},
		recover: func(ctx context.Context, l *lab) error {
			l.webhook.set(modeServe)
			l.note("webhook %s allows again", l.cfg.webhook)
			return nil
		},
	}
}

// bulkObjects creates the expensive LISTs' configmaps, 8 at a time.
func (l *lab) bulkObjects(ctx context.Context) error {
	cs := l.drv.clients[0]
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: l.cfg.listNamespace}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	t0 := time.Now()
	data := strings.Repeat("d", l.cfg.listObjectBytes)
	errs := make(chan error, 8)
	next := make(chan int)
	for range 8 {
		go func() {
			var first error
			for i := range next {
				if first != nil {
					continue
				}
				_, first = cs.CoreV1().ConfigMaps(l.cfg.listNamespace).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bulk-%05d", i)}, Data: map[string]string{"d": data}}, metav1.CreateOptions{})
			}
			errs <- first
		}()
	}
	for i := range l.cfg.listObjects {
		next <- i
	}
	close(next)
	for range 8 {
		if err := <-errs; err != nil {
			return err
		}
	}
	l.note("created %d configmaps of %d bytes in %s in %s", l.cfg.listObjects, l.cfg.listObjectBytes, l.cfg.listNamespace, time.Since(t0).Round(time.Second))
	return nil
}

func scenarioNames() []string {
	var n []string
	for _, s := range scenarios() {
		n = append(n, s.name)
	}
	return n
}

func selectScenarios(list string) ([]*scenario, error) {
	all := scenarios()
	if list == "all" {
		return all, nil
	}
	var out []*scenario
	for _, name := range strings.Split(list, ",") {
		found := false
		for _, s := range all {
			if s.name == name {
				out = append(out, s)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown scenario %q (have %s)", name, strings.Join(scenarioNames(), ", "))
		}
	}
	return out, nil
}

// badInstanceScenario is three apiservers of which --bad-instance reaches
// etcd through a proxy adding delay(cfg) to every chunk etcd sends back.
func badInstanceScenario(name, flag string, delay func(*config) time.Duration) *scenario {
	return &scenario{
		name:      name,
		what:      "three apiservers; the TCP proxy between --bad-instance and etcd delays every chunk by " + flag,
		instances: 3,
		fault: func(ctx context.Context, l *lab) error {
			for i, n := range l.names {
				if n == l.cfg.badInstance {
					l.proxies[i].setDelay(delay(l.cfg))
				}
			}
			l.note("etcd proxy delay %s on %s", delay(l.cfg), l.cfg.badInstance)
			return nil
		},
		recover: func(ctx context.Context, l *lab) error {
			for _, p := range l.proxies {
				p.setDelay(0)
			}
			l.note("etcd proxy delay 0")
			return nil
		},
	}
}

// servingAPIService starts the lab's aggregated API serving, registers its
// APIService and waits until it is Available.
func servingAPIService(ctx context.Context, l *lab) error {
	if err := l.serveBackend(); err != nil {
		return err
	}
	if err := l.backend.setMode(modeServe); err != nil {
		return err
	}
	if err := l.registerAPIService(ctx); err != nil {
		return err
	}
	return l.waitAPIService(ctx, "True", 2*time.Minute)
}

// aggregatedFlap is the aggregated API of aggregated-hang whose backend
// flaps through the fault phase: it hangs for flapHang, then serves for
// flapServe, and again, so that the APIService's Available condition goes
// back and forth.
func aggregatedFlap() *scenario {
	const flapHang, flapServe = 40 * time.Second, 40 * time.Second
	var stop context.CancelFunc
	return &scenario{
		name:     "aggregated-flap",
		what:     fmt.Sprintf("APIService Available and used as in aggregated-hang; through the fault phase its backend hangs for %s, then serves for %s, and again. Recovery: serving.", flapHang, flapServe),
		setup:    servingAPIService,
		workload: func(ctx context.Context, l *lab) { l.watchAPIService(ctx); l.groupClients(ctx) },
		fault: func(ctx context.Context, l *lab) error {
			var fctx context.Context
			fctx, stop = context.WithCancel(ctx)
			go func() {
				for {
					for _, m := range []struct {
						mode string
						d    time.Duration
					}{{modeHang, flapHang}, {modeServe, flapServe}} {
						l.note("backend %s for %s", m.mode, m.d)
						if err := l.backend.setMode(m.mode); err != nil {
							l.note("backend: %v", err)
						}
						select {
						case <-fctx.Done():
							return
						case <-time.After(m.d):
						}
					}
				}
			}()
			return nil
		},
		recover: func(ctx context.Context, l *lab) error {
			if stop != nil {
				stop()
			}
			l.note("backend serving")
			return l.backend.setMode(modeServe)
		},
	}
}
