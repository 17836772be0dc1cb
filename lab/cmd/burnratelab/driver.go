package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// stats counts the driver's requests by operation and outcome (HTTP code,
// or the client-side error), as the clients saw them.
type stats struct {
	mu sync.Mutex
	m  map[string]map[string]int
}

func (s *stats) add(op string, err error) {
	code := "200"
	if err != nil {
		var st apierrors.APIStatus
		switch {
		case err.Error() == "skipped":
			code = "skipped"
		case errors.As(err, &st) && st.Status().Code != 0:
			code = fmt.Sprint(st.Status().Code)
		case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "deadline exceeded") || strings.Contains(err.Error(), "Timeout"):
			code = "client-timeout"
		default:
			code = "error"
		}
	}
	s.mu.Lock()
	if s.m == nil {
		s.m = map[string]map[string]int{}
	}
	if s.m[op] == nil {
		s.m[op] = map[string]int{}
	}
	s.m[op][code]++
	s.mu.Unlock()
}

// take returns the counts since the last take and resets them.
func (s *stats) take() map[string]map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.m
	s.m = nil
	return m
}

func formatStats(m map[string]map[string]int) string {
	var b strings.Builder
	for _, op := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "  %-28s", op)
		for _, c := range slices.Sorted(maps.Keys(m[op])) {
			fmt.Fprintf(&b, " %s:%d", c, m[op][c])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// driver sends the lab's workload to the apiserver instances, round robin.
type driver struct {
	clients []*kubernetes.Clientset
	ns      string
	stats   *stats
	seq     atomic.Int64
	mu      sync.Mutex
	pool    []string // configmaps the driver created and has not deleted
	sem     chan struct{}
}

func newDriver(cfgs []*rest.Config, ns string) (*driver, error) {
	d := &driver{ns: ns, stats: &stats{}, sem: make(chan struct{}, 128)}
	for _, c := range cfgs {
		cs, err := kubernetes.NewForConfig(c)
		if err != nil {
			return nil, err
		}
		d.clients = append(d.clients, cs)
	}
	return d, nil
}

func (d *driver) client() *kubernetes.Clientset {
	return d.clients[int(d.seq.Add(1))%len(d.clients)]
}

// op is one kind of request of the workload.
type op struct {
	name string
	fn   func(ctx context.Context, c *kubernetes.Clientset) error
}

// ops is the mix of the steady workload: every verb at every scope the
// rules distinguish, as controllers and kubectl send them.
func (d *driver) ops() []op {
	cm := func(i int) string { return fmt.Sprintf("base-%d", i%20) }
	return []op{
		{"GET configmap", func(ctx context.Context, c *kubernetes.Clientset) error {
			_, err := c.CoreV1().ConfigMaps(d.ns).Get(ctx, cm(rand.IntN(20)), metav1.GetOptions{})
			return err
		}},
		{"LIST configmaps ns", func(ctx context.Context, c *kubernetes.Clientset) error {
			_, err := c.CoreV1().ConfigMaps(d.ns).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"CREATE configmap", func(ctx context.Context, c *kubernetes.Clientset) error {
			name := fmt.Sprintf("w-%d-%d", time.Now().UnixNano(), rand.IntN(1000))
			_, err := c.CoreV1().ConfigMaps(d.ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"v": "0"}}, metav1.CreateOptions{})
			if err == nil {
				d.mu.Lock()
				d.pool = append(d.pool, name)
				d.mu.Unlock()
			}
			return err
		}},
		{"LIST pods ns (RV=0)", func(ctx context.Context, c *kubernetes.Clientset) error {
			_, err := c.CoreV1().Pods(d.ns).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
			return err
		}},
		{"UPDATE configmap", func(ctx context.Context, c *kubernetes.Clientset) error {
			name := d.pick(false)
			if name == "" {
				return nil
			}
			o, err := c.CoreV1().ConfigMaps(d.ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			o.Data = map[string]string{"v": fmt.Sprint(time.Now().UnixNano())}
			_, err = c.CoreV1().ConfigMaps(d.ns).Update(ctx, o, metav1.UpdateOptions{})
			return err
		}},
		{"LIST configmaps cluster (paged)", func(ctx context.Context, c *kubernetes.Clientset) error {
			_, err := c.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{Limit: 500})
			return err
		}},
		{"PATCH configmap", func(ctx context.Context, c *kubernetes.Clientset) error {
			name := d.pick(false)
			if name == "" {
				return nil
			}
			_, err := c.CoreV1().ConfigMaps(d.ns).Patch(ctx, name, types.MergePatchType, []byte(fmt.Sprintf(`{"metadata":{"labels":{"touched":"%d"}}}`, rand.IntN(100))), metav1.PatchOptions{})
			return err
		}},
		{"GET namespace", func(ctx context.Context, c *kubernetes.Clientset) error {
			_, err := c.CoreV1().Namespaces().Get(ctx, d.ns, metav1.GetOptions{})
			return err
		}},
		{"GET configmap", func(ctx context.Context, c *kubernetes.Clientset) error {
			_, err := c.CoreV1().ConfigMaps(d.ns).Get(ctx, cm(rand.IntN(20)), metav1.GetOptions{})
			return err
		}},
		{"LIST namespaces", func(ctx context.Context, c *kubernetes.Clientset) error {
			_, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
			return err
		}},
		{"DELETE configmap", func(ctx context.Context, c *kubernetes.Clientset) error {
			name := d.pick(true)
			if name == "" {
				return nil
			}
			return c.CoreV1().ConfigMaps(d.ns).Delete(ctx, name, metav1.DeleteOptions{})
		}},
		{"LIST secrets ns", func(ctx context.Context, c *kubernetes.Clientset) error {
			_, err := c.CoreV1().Secrets(d.ns).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"discovery /api,/apis", func(ctx context.Context, c *kubernetes.Clientset) error {
			_, err := c.Discovery().ServerGroups()
			return err
		}},
		{"LIST events cluster", func(ctx context.Context, c *kubernetes.Clientset) error {
			_, err := c.CoreV1().Events("").List(ctx, metav1.ListOptions{Limit: 100})
			return err
		}},
	}
}

// pick returns a configmap of the pool; with remove, the oldest, taken out
// of the pool (to be deleted), but only while the pool holds more than 20.
func (d *driver) pick(remove bool) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.pool) == 0 {
		return ""
	}
	if remove {
		if len(d.pool) <= 20 {
			return ""
		}
		n := d.pool[0]
		d.pool = d.pool[1:]
		return n
	}
	return d.pool[len(d.pool)-1-rand.IntN(min(len(d.pool), 20))]
}

// run sends rate requests per second, cycling through ops, until ctx is
// done. Each request runs on its own goroutine (at most 128 at once; a
// tick with none free is counted as "skipped").
func (d *driver) run(ctx context.Context, rate float64, ops []op) {
	if rate <= 0 {
		return
	}
	t := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		o := ops[i%len(ops)]
		select {
		case d.sem <- struct{}{}:
		default:
			d.stats.add(o.name, errors.New("skipped"))
			continue
		}
		c := d.client()
		go func() {
			defer func() { <-d.sem }()
			rctx, cancel := context.WithTimeout(ctx, 70*time.Second)
			defer cancel()
			err := o.fn(rctx, c)
			if ctx.Err() == nil {
				d.stats.add(o.name, err)
			}
		}()
	}
}

// watch runs n informer-like clients of the driver's configmaps: a LIST
// with resourceVersion "0" (served from the watch cache), then a WATCH from
// the list's resourceVersion with bookmarks, ended by the server after 1 to
// 2 minutes and resumed from the last resourceVersion seen; an ERROR event
// (410 Gone) leads to a new LIST, as client-go's reflector does.
//
// A WATCH without resourceVersion is not used: on etcd 3.4 it waits 3 s
// for the watch cache to reach etcd's current revision and then ends with
// an ERROR event "Too large resource version" (code 504), because etcd 3.4
// cannot answer the progress request the cache would need
// (k8s.io/apiserver/pkg/storage/cacher/watch_cache.go,
// watchCache.waitUntilFreshAndBlock, blockTimeout 3 s).
func (d *driver) watch(ctx context.Context, n int) {
	for i := range n {
		go func() {
			c := d.clients[i%len(d.clients)]
			rv := ""
			for ctx.Err() == nil {
				start := time.Now()
				if rv == "" {
					l, err := c.CoreV1().ConfigMaps(d.ns).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
					d.stats.add("LIST configmaps ns (informer RV=0)", err)
					if err == nil {
						rv = l.ResourceVersion
					}
				}
				if rv != "" {
					to := int64(60 + rand.IntN(60))
					w, err := c.CoreV1().ConfigMaps(d.ns).Watch(ctx, metav1.ListOptions{ResourceVersion: rv, TimeoutSeconds: &to, AllowWatchBookmarks: true})
					d.stats.add("WATCH configmaps ns", err)
					if err == nil {
						for ev := range w.ResultChan() {
							if ev.Type == watch.Error {
								d.stats.add("WATCH configmaps ns: ERROR event", apierrors.FromObject(ev.Object))
								rv = ""
								break
							}
							if o, ok := ev.Object.(metav1.Object); ok {
								rv = o.GetResourceVersion()
							}
						}
						w.Stop()
					}
				}
				// Never more than one attempt a second.
				if sleep(ctx, time.Second-time.Since(start)) != nil {
					return
				}
			}
		}()
	}
}

// every starts fn every interval until ctx is done, counting its outcome
// under name. Calls overlap, as a client's do when the server is slow (at
// most 100 at once; a tick with none free is counted as "skipped").
func every(ctx context.Context, st *stats, name string, interval time.Duration, fn func(ctx context.Context) error) {
	sem := make(chan struct{}, 100)
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case sem <- struct{}{}:
				go func() {
					defer func() { <-sem }()
					rctx, cancel := context.WithTimeout(ctx, 70*time.Second)
					err := fn(rctx)
					cancel()
					if ctx.Err() == nil {
						st.add(name, err)
					}
				}()
			default:
				st.add(name, errors.New("skipped"))
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// raw GETs an absolute path through c's REST client.
func raw(ctx context.Context, c *kubernetes.Clientset, path string) error {
	return c.Discovery().RESTClient().Get().AbsPath(path).Do(ctx).Error()
}
