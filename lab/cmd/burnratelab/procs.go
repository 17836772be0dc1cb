package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// procs are the processes the lab started; stopAll ends each of them.
type procs struct {
	mu   sync.Mutex
	list []*proc
}

type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

func (ps *procs) start(name, logPath string, bin string, args ...string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// The child dies with the lab, even if the lab is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() { cmd.Wait(); logf.Close(); close(p.done) }()
	ps.mu.Lock()
	ps.list = append(ps.list, p)
	ps.mu.Unlock()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) stop() {
	if p.exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// stopAll stops the processes in reverse start order.
func (ps *procs) stopAll() {
	ps.mu.Lock()
	list := ps.list
	ps.list = nil
	ps.mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		list[i].stop()
	}
}

// waitHTTP polls url until it answers 200 or the process exits.
func waitHTTP(ctx context.Context, p *proc, client *http.Client, url, token string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		if p.exited() {
			b, _ := os.ReadFile(p.log)
			return fmt.Errorf("%s exited before %s was ready; log tail:\n%s", p.name, url, tail(string(b), 3000))
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s: %s not ready after %s (last: %s); log %s", p.name, url, timeout, last, p.log)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func httpsClient(caPEM []byte) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// startEtcd starts Debian's etcd (or the one in $PATH) on 127.0.0.1 with a
// fresh data directory and returns its client address.
func startEtcd(ctx context.Context, ps *procs, dir, bin string) (string, error) {
	cport, err := freePort()
	if err != nil {
		return "", err
	}
	pport, err := freePort()
	if err != nil {
		return "", err
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", cport)
	peer := fmt.Sprintf("http://127.0.0.1:%d", pport)
	p, err := ps.start("etcd", filepath.Join(dir, "etcd.log"), bin,
		"--name=lab", "--data-dir="+filepath.Join(dir, "etcd-data"),
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=lab="+peer, "--initial-cluster-state=new",
		"--quota-backend-bytes=4294967296", "--log-level=warn")
	if err != nil {
		return "", err
	}
	if err := waitHTTP(ctx, p, &http.Client{Timeout: 5 * time.Second}, client+"/health", "", time.Minute); err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", cport), nil
}

// etcdVersion is the first line of `etcd --version`.
func etcdVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

// apiserverArgs are kube-apiserver's flags for one lab instance.
//
// --endpoint-reconciler-type=none: the reconciler would write the
// instances' address into the Endpoints of default/kubernetes, and
// Endpoints validation refuses loopback addresses
// (pkg/apis/core/validation/validation.go, validateEndpointAddress via
// ValidateEndpointIP).
func apiserverArgs(p *pki, dir string, port int, etcd string, extra []string) []string {
	args := []string{
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port),
		"--etcd-servers=http://" + etcd,
		"--endpoint-reconciler-type=none",
		"--tls-cert-file=" + filepath.Join(p.dir, "apiserver.crt"),
		"--tls-private-key-file=" + filepath.Join(p.dir, "apiserver.key"),
		"--client-ca-file=" + filepath.Join(p.dir, "ca.crt"),
		"--token-auth-file=" + p.tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + p.saPub,
		"--service-account-signing-key-file=" + p.saKey,
		"--service-cluster-ip-range=10.96.0.0/24",
		"--proxy-client-cert-file=" + p.frontProxy + ".crt",
		"--proxy-client-key-file=" + p.frontProxy + ".key",
		"--requestheader-client-ca-file=" + p.frontProxyCA,
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--profiling=false",
		"--v=1",
	}
	return append(args, extra...)
}
