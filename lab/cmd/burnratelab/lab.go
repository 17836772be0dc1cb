package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/burnrate/burnrate/internal/testkit/process"
)

// lab is one running set-up: etcd, its proxies, the apiservers, Prometheus,
// the lab's servers and the workload.
type lab struct {
	cfg       *config
	sc        *scenario
	dir       string
	pki       *pki
	ps        *process.Group
	etcd      string
	proxies   []*delayProxy
	names     []string // instance label values
	ports     []int
	admin     []*rest.Config // one per instance
	flood     *rest.Config
	promURL   string
	drv       *driver
	backend   *switchServer
	webhook   *webhookServer
	whAddr    string
	extraStop []func()
	stopFault func()
	notesMu   sync.Mutex
	notes     []string // what the scenario did, for the recording's notes
}

func (l *lab) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	l.notesMu.Lock()
	l.notes = append(l.notes, time.Now().UTC().Format("15:04:05")+" "+s)
	l.notesMu.Unlock()
	logf("%s: %s", l.sc.name, s)
}

// labNamespace is the namespace of the workload (and the one the webhook
// watches, through its label).
const labNamespace = "lab"

func runScenario(ctx context.Context, c *config, sc *scenario) (err error) {
	l := &lab{cfg: c, sc: sc, ps: &process.Group{Grace: 15 * time.Second}}
	l.dir = filepath.Join(c.work, sc.name)
	os.RemoveAll(l.dir)
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return err
	}
	defer func() {
		for _, f := range l.extraStop {
			f()
		}
		l.ps.StopAll()
		for _, p := range l.proxies {
			p.close()
		}
		os.RemoveAll(filepath.Join(l.dir, "etcd-data"))
		os.RemoveAll(filepath.Join(l.dir, "prometheus-data"))
	}()
	svcName := "lab-aggregated"
	if l.pki, err = newPKI(l.dir, []string{svcName + "." + labNamespace + ".svc"}); err != nil {
		return err
	}
	n := 1
	l.names = []string{"apiserver-0"}
	if sc.instances == 3 {
		n = 3
		l.names = strings.Split(c.instanceNames, ",")
	}
	for range n {
		port, err := process.FreePort()
		if err != nil {
			return err
		}
		l.ports = append(l.ports, port)
	}
	// With --from-start Prometheus scrapes the instances' ports before
	// they listen, and the healthy phase, the recording's start, is the
	// apiservers' start: the recording holds their start-up.
	ph := phases{}
	if c.fromStart {
		if err := l.startPrometheus(ctx); err != nil {
			return err
		}
		ph.healthy = time.Now()
	}
	t0 := time.Now()
	if l.etcd, err = startEtcd(ctx, l.ps, l.dir, c.etcd); err != nil {
		return err
	}
	var extra []string
	if c.maxInflight > 0 || sc.maxInflight > 0 {
		extra = append(extra, fmt.Sprintf("--max-requests-inflight=%d", max(c.maxInflight, sc.maxInflight)))
	}
	if c.maxMutating > 0 || sc.maxMutating > 0 {
		extra = append(extra, fmt.Sprintf("--max-mutating-requests-inflight=%d", max(c.maxMutating, sc.maxMutating)))
	}
	hc := httpsClient(l.pki.ca.pem)
	var aps []*process.Proc
	for i := range n {
		// Every instance reaches etcd through its own proxy, with no delay
		// until a scenario sets one.
		px, err := newDelayProxy(l.etcd)
		if err != nil {
			return err
		}
		l.proxies = append(l.proxies, px)
		port := l.ports[i]
		p, err := l.ps.Start(l.names[i], filepath.Join(l.dir, l.names[i]+".log"), c.apiserver, apiserverArgs(l.pki, l.dir, port, px.addr(), extra)...)
		if err != nil {
			return err
		}
		aps = append(aps, p)
		cfg := &rest.Config{Host: fmt.Sprintf("https://127.0.0.1:%d", port), BearerToken: l.pki.adminToken,
			TLSClientConfig: rest.TLSClientConfig{CAData: l.pki.ca.pem}, QPS: -1, Burst: 1000,
			ContentConfig: rest.ContentConfig{ContentType: "application/vnd.kubernetes.protobuf", AcceptContentTypes: "application/vnd.kubernetes.protobuf,application/json"},
			UserAgent:     "burnratelab-workload"}
		l.admin = append(l.admin, cfg)
	}
	for i, p := range aps {
		if err := ready(ctx, p, hc, fmt.Sprintf("https://127.0.0.1:%d/readyz", l.ports[i]), l.pki.adminToken, 3*time.Minute); err != nil {
			return err
		}
	}
	l.flood = rest.CopyConfig(l.admin[0])
	l.flood.BearerToken = l.pki.floodToken
	l.flood.UserAgent = "burnratelab-flood"
	l.note("etcd and %d kube-apiserver(s) ready in %s", n, time.Since(t0).Round(time.Second))
	if !c.fromStart {
		if err := l.startPrometheus(ctx); err != nil {
			return err
		}
	}
	if l.drv, err = newDriver(l.admin, labNamespace); err != nil {
		return err
	}
	cs := l.drv.clients[0]
	if err := l.baseObjects(ctx, cs); err != nil {
		return err
	}
	if sc.setup != nil {
		if err := sc.setup(ctx, l); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
	}

	// The workload runs from a little before the healthy phase to the end.
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	rate := c.rate
	if sc.rate > 0 {
		rate = sc.rate
	}
	go l.drv.run(wctx, rate, l.drv.ops())
	l.drv.watch(wctx, c.watches)
	// Load balancers and kubelets probe every instance.
	for i := range l.drv.clients {
		cl := l.drv.clients[i]
		every(wctx, l.drv.stats, "GET /readyz (probe)", 5*time.Second, func(ctx context.Context) error { return raw(ctx, cl, "/readyz") })
		every(wctx, l.drv.stats, "GET /livez (probe)", 10*time.Second, func(ctx context.Context) error { return raw(ctx, cl, "/livez") })
	}
	if sc.workload != nil {
		sc.workload(wctx, l)
	}
	if err := sleep(ctx, 15*time.Second); err != nil {
		return err
	}
	l.drv.stats.take()

	if !c.fromStart {
		ph.healthy = time.Now()
	}
	l.note("healthy phase (%s from %s); load average %s", c.healthy, ph.healthy.UTC().Format("15:04:05"), loadavg())
	if err := sleep(ctx, c.healthy-time.Since(ph.healthy)); err != nil {
		return err
	}
	st := map[string]string{"healthy": formatStats(l.drv.stats.take())}
	ph.fault = time.Now()
	l.note("fault phase (%s); load average %s", c.fault, loadavg())
	if err := sc.fault(ctx, l); err != nil {
		return fmt.Errorf("fault: %w", err)
	}
	if err := sleep(ctx, c.fault-time.Since(ph.fault)); err != nil {
		return err
	}
	st["fault"] = formatStats(l.drv.stats.take())
	ph.recovery = time.Now()
	l.note("recovery phase (%s); load average %s", c.recovery, loadavg())
	if sc.recover != nil {
		if err := sc.recover(ctx, l); err != nil {
			return fmt.Errorf("recover: %w", err)
		}
	}
	if err := sleep(ctx, c.recovery-time.Since(ph.recovery)); err != nil {
		return err
	}
	ph.end = time.Now()
	l.note("end; load average %s", loadavg())
	st["recovery"] = formatStats(l.drv.stats.take())
	wcancel()
	// Two more scrapes and, mostly, one more evaluation of the rules.
	if err := sleep(ctx, settle); err != nil {
		return err
	}
	for i, p := range aps {
		if p.Exited() {
			return fmt.Errorf("%s exited during the run; log %s", l.names[i], p.Log)
		}
	}
	return l.record(ctx, ph, st)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// phases are the start of each phase and the end of the run.
type phases struct{ healthy, fault, recovery, end time.Time }

// startPrometheus starts Prometheus scraping every instance's /metrics
// every 5 s with the repository's generated rules loaded. Each target's
// instance label is the instance's name, and every series gets
// cluster=<scenario>.
func (l *lab) startPrometheus(ctx context.Context) error {
	rules, err := os.ReadFile(l.cfg.rules)
	if err != nil {
		return err
	}
	rf := filepath.Join(l.dir, "kube-apiserver.rules.yaml")
	if err := os.WriteFile(rf, rules, 0o644); err != nil {
		return err
	}
	var targets strings.Builder
	for i, port := range l.ports {
		fmt.Fprintf(&targets, "      - targets: ['127.0.0.1:%d']\n        labels: {instance: %s, cluster: %s}\n", port, l.names[i], l.sc.name)
	}
	// With native histograms, Prometheus v0.316.0 scrapes them when
	// scrape_native_histograms is true, which also makes the protobuf
	// format its first choice (config/config.go,
	// ScrapeConfig.Validate: DefaultProtoFirstScrapeProtocols), and keeps
	// the classic buckets of a histogram that has both only with
	// always_scrape_classic_histograms (ScrapeConfig.AlwaysScrapeClassicHistogramsEnabled;
	// model/textparse/protobufparse.go, ProtobufParser.Next, parses them
	// only with parseClassicHistograms):
	// one recording holds both forms of the same requests.
	native := ""
	if l.cfg.native {
		native = "    scrape_native_histograms: true\n    always_scrape_classic_histograms: true\n"
	}
	conf := fmt.Sprintf(`global:
  scrape_interval: 5s
  scrape_timeout: 5s
  evaluation_interval: 1m
rule_files: [%q]
scrape_configs:
  - job_name: kube-apiserver
    scheme: https
    tls_config: {ca_file: %q}
    authorization: {credentials: %q}
%s    static_configs:
%s`, rf, filepath.Join(l.dir, "ca.crt"), l.pki.adminToken, native, targets.String())
	cf := filepath.Join(l.dir, "prometheus.yml")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		return err
	}
	port, err := process.FreePort()
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := l.ps.Start("prometheus", filepath.Join(l.dir, "prometheus.log"), l.cfg.prometheus,
		"--config.file="+cf, "--storage.tsdb.path="+filepath.Join(l.dir, "prometheus-data"),
		"--web.listen-address="+addr, "--log.level=warn", "--storage.tsdb.retention.time=1d",
		// The snapshot API, for the recording's block (record.go).
		"--web.enable-admin-api")
	if err != nil {
		return err
	}
	l.promURL = "http://" + addr
	return ready(ctx, p, &http.Client{Timeout: 5 * time.Second}, l.promURL+"/-/ready", "", time.Minute)
}

// baseObjects creates the workload's namespace and objects.
func (l *lab) baseObjects(ctx context.Context, cs *kubernetes.Clientset) error {
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: labNamespace, Labels: map[string]string{"burnrate-lab/webhook": "on"}}}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	for i := range 20 {
		_, err := cs.CoreV1().ConfigMaps(labNamespace).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("base-%d", i)}, Data: map[string]string{"k": strings.Repeat("x", 200)}}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
	}
	return nil
}

// serveBackend starts the lab's HTTPS server for the aggregated API (in
// refuse mode: nothing listens yet).
func (l *lab) serveBackend() error {
	version, group, _ := splitAPIService(l.cfg.apiService)
	h := aggregatedAPI(group, version, l.cfg.apiServiceResource, l.cfg.apiServiceKind)
	var err error
	l.backend, err = newSwitchServer(l.pki.backendCert, l.pki.backendKey, h)
	if err != nil {
		return err
	}
	l.extraStop = append(l.extraStop, func() { l.backend.setMode(modeRefuse) })
	return nil
}

// registerAPIService creates the Service of type ExternalName pointing at
// localhost and the APIService on it. kube-aggregator resolves an
// ExternalName service to https://<externalName>:<APIService port>
// (k8s.io/apiserver/pkg/util/proxy/proxy.go, ResolveCluster), so no
// Endpoints (which refuse loopback addresses) and no ClusterIP (a private
// range) are involved.
func (l *lab) registerAPIService(ctx context.Context) error {
	cs := l.drv.clients[0]
	version, group, _ := splitAPIService(l.cfg.apiService)
	var port int32
	fmt.Sscan(l.backend.port(), &port)
	_, err := cs.CoreV1().Services(labNamespace).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "lab-aggregated"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost",
			Ports: []corev1.ServicePort{{Name: "https", Port: port, TargetPort: intstr.FromInt32(port)}}}}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	body := map[string]any{"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": map[string]any{"name": l.cfg.apiService},
		"spec": map[string]any{"group": group, "version": version, "groupPriorityMinimum": 1000, "versionPriority": 15,
			"caBundle": l.pki.backendCA.pem,
			"service":  map[string]any{"namespace": labNamespace, "name": "lab-aggregated", "port": port}}}
	b, _ := json.Marshal(body)
	return cs.Discovery().RESTClient().Post().AbsPath("/apis/apiregistration.k8s.io/v1/apiservices").
		SetHeader("Content-Type", "application/json").Body(b).Do(ctx).Error()
}

// apiServiceAvailable reports the APIService's Available condition.
func (l *lab) apiServiceAvailable(ctx context.Context) (string, error) {
	cs := l.drv.clients[0]
	b, err := cs.Discovery().RESTClient().Get().AbsPath("/apis/apiregistration.k8s.io/v1/apiservices/"+l.cfg.apiService).SetHeader("Accept", "application/json").DoRaw(ctx)
	if err != nil {
		return "", err
	}
	var as struct {
		Status struct {
			Conditions []struct{ Type, Status, Reason, Message string } `json:"conditions"`
		} `json:"status"`
	}
	if err := json.Unmarshal(b, &as); err != nil {
		return "", err
	}
	for _, c := range as.Status.Conditions {
		if c.Type == "Available" {
			return c.Status + " " + c.Reason + ": " + c.Message, nil
		}
	}
	return "unknown", nil
}

func (l *lab) waitAPIService(ctx context.Context, want string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		s, err := l.apiServiceAvailable(ctx)
		if err == nil && strings.HasPrefix(s, want+" ") {
			l.note("APIService %s Available=%s", l.cfg.apiService, s)
			return nil
		}
		last = s
		if err != nil {
			last = err.Error()
			logf("%s: APIService %s: %v", l.sc.name, l.cfg.apiService, err)
		}
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
	}
	return fmt.Errorf("APIService %s not Available=%s after %s: %s", l.cfg.apiService, want, timeout, last)
}

// watchAPIService notes every change of the APIService's Available
// condition until ctx is done.
func (l *lab) watchAPIService(ctx context.Context) {
	go func() {
		last := ""
		for ctx.Err() == nil {
			s, err := l.apiServiceAvailable(ctx)
			if err == nil && s != last {
				l.note("APIService %s Available=%s", l.cfg.apiService, s)
				last = s
			}
			sleep(ctx, time.Second)
		}
	}()
}

// groupClients are the clients of the aggregated API: a controller listing
// the resource cluster-wide and in a namespace and getting one object,
// discovery of the group as kubectl does it, and a client fetching the
// group's OpenAPI v3 document once a second.
func (l *lab) groupClients(ctx context.Context) {
	version, group, _ := splitAPIService(l.cfg.apiService)
	gv := "/apis/" + group + "/" + version
	res := l.cfg.apiServiceResource
	for i, cs := range l.drv.clients {
		off := time.Duration(i) * 300 * time.Millisecond
		go func() {
			if sleep(ctx, off) != nil {
				return
			}
			every(ctx, l.drv.stats, "LIST "+group+" "+res+" cluster", 2*time.Second, func(ctx context.Context) error { return raw(ctx, cs, gv+"/"+res) })
			every(ctx, l.drv.stats, "LIST "+group+" "+res+" ns", 2*time.Second, func(ctx context.Context) error { return raw(ctx, cs, gv+"/namespaces/"+labNamespace+"/"+res) })
			every(ctx, l.drv.stats, "GET "+group+" "+res, 2*time.Second, func(ctx context.Context) error { return raw(ctx, cs, gv+"/namespaces/"+labNamespace+"/"+res+"/a") })
			every(ctx, l.drv.stats, "discovery "+gv, 5*time.Second, func(ctx context.Context) error { return raw(ctx, cs, gv) })
			every(ctx, l.drv.stats, "GET /openapi/v3"+gv, time.Second, func(ctx context.Context) error { return raw(ctx, cs, "/openapi/v3"+gv) })
		}()
	}
}

// startWebhookServer starts the lab's webhook on https://127.0.0.1:PORT
// (answering "allowed") and registers a ValidatingWebhookConfiguration
// with failurePolicy Fail for CREATE and UPDATE of the webhook resource in
// the lab namespace.
func (l *lab) startWebhookServer(ctx context.Context) error {
	l.webhook = &webhookServer{mode: modeServe}
	srv, err := newSwitchServer(l.pki.backendCert, l.pki.backendKey, l.webhook)
	if err != nil {
		return err
	}
	if err := srv.setMode(modeServe); err != nil {
		return err
	}
	l.extraStop = append(l.extraStop, func() { srv.setMode(modeRefuse) })
	url := "https://" + srv.addr + "/validate"
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	to := int32(l.cfg.webhookTimeout)
	_, err = l.drv.clients[0].AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: l.cfg.webhook},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    l.cfg.webhook,
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: l.pki.backendCA.pem},
			Rules:                   []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}, Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{l.cfg.webhookResource}}}},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			TimeoutSeconds:          &to,
			AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"burnrate-lab/webhook": "on"}},
		}},
	}, metav1.CreateOptions{})
	return err
}

// setupFlood lets the flood user list configmaps in the lab namespace and
// puts it in its own small priority level: one queue of five, so that a
// flood is rejected with 429 rather than queued for long.
func (l *lab) setupFlood(ctx context.Context) error {
	cs := l.drv.clients[0]
	name := l.cfg.floodFlowSchema
	_, err := cs.RbacV1().Roles(labNamespace).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}}}}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	_, err = cs.RbacV1().RoleBindings(labNamespace).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
		Subjects: []rbacv1.Subject{{Kind: "Group", APIGroup: "rbac.authorization.k8s.io", Name: "lab-tenants"}}}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	shares := int32(5)
	_, err = cs.FlowcontrolV1().PriorityLevelConfigurations().Create(ctx, &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementLimited,
			Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: &shares,
				LimitResponse: flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeQueue,
					Queuing: &flowcontrolv1.QueuingConfiguration{Queues: 1, HandSize: 1, QueueLengthLimit: 5}}}}}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	_, err = cs.FlowcontrolV1().FlowSchemas().Create(ctx, &flowcontrolv1.FlowSchema{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: flowcontrolv1.FlowSchemaSpec{PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: name},
			MatchingPrecedence:  500,
			DistinguisherMethod: &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType},
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects:      []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindGroup, Group: &flowcontrolv1.GroupSubject{Name: "lab-tenants"}}},
				ResourceRules: []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}, Namespaces: []string{"*"}, ClusterScope: true}}}}}}, metav1.CreateOptions{})
	return err
}

// setupHeadlessService creates a headless Service selecting no pod and its
// Endpoints without subsets, as the endpoints controller (not running in
// the lab) would leave them: services/proxy to it then fails with 503 "no
// endpoints available for service" (pkg/registry/core/service/storage/storage.go,
// REST.ResourceLocation; without an Endpoints object it would be a 404).
func (l *lab) setupHeadlessService(ctx context.Context) error {
	cs := l.drv.clients[0]
	_, err := cs.CoreV1().Services(labNamespace).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: l.cfg.proxyService},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "none"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	//nolint:staticcheck // Endpoints are deprecated, and still what ResourceLocation reads.
	_, err = cs.CoreV1().Endpoints(labNamespace).Create(ctx, &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: l.cfg.proxyService}}, metav1.CreateOptions{})
	return err
}

// settle is how long the lab keeps Prometheus running after the workload
// stops, so that the last scrapes and rule evaluations are in.
const settle = 15 * time.Second

// loadavg is the machine's load average (1, 5 and 15 minutes): the lab's
// latencies depend on it.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
