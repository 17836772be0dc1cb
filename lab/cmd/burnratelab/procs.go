package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/burnrate/burnrate/internal/testkit/process"
)

// The lab's processes (etcd, the kube-apiserver instances, Prometheus) are
// started and stopped by internal/testkit/process, as the end-to-end
// tests' Prometheus is.

// ready waits until p answers 200 at url, polling every 250ms.
func ready(ctx context.Context, p *process.Proc, client *http.Client, url, token string, timeout time.Duration) error {
	return process.WaitHTTP(ctx, p, url, process.Ready{Client: client, Token: token, Timeout: timeout, Interval: 250 * time.Millisecond})
}

func httpsClient(caPEM []byte) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// startEtcd starts Debian's etcd (or the one in $PATH) on 127.0.0.1 with a
// fresh data directory and returns its client address.
func startEtcd(ctx context.Context, ps *process.Group, dir, bin string) (string, error) {
	cport, err := process.FreePort()
	if err != nil {
		return "", err
	}
	pport, err := process.FreePort()
	if err != nil {
		return "", err
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", cport)
	peer := fmt.Sprintf("http://127.0.0.1:%d", pport)
	p, err := ps.Start("etcd", filepath.Join(dir, "etcd.log"), bin,
		"--name=lab", "--data-dir="+filepath.Join(dir, "etcd-data"),
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=lab="+peer, "--initial-cluster-state=new",
		"--quota-backend-bytes=4294967296", "--log-level=warn")
	if err != nil {
		return "", err
	}
	if err := ready(ctx, p, &http.Client{Timeout: 5 * time.Second}, client+"/health", "", time.Minute); err != nil {
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
