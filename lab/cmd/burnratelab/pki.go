package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// ca is a certificate authority generated for one lab run.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic(err)
	}
	return n
}

func newCA(cn string) (*ca, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &ca{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// issue signs a leaf certificate for cn with the given names and writes it
// and its key as PEM to dir/name.crt and dir/name.key. It returns the two
// PEM blocks.
func (c *ca) issue(dir, name, cn string, dns []string, ips []net.IP, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(48 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	if err := os.WriteFile(filepath.Join(dir, name+".crt"), certPEM, 0o600); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".key"), keyPEM, 0o600); err != nil {
		return nil, nil, err
	}
	return certPEM, keyPEM, nil
}

// pki is every certificate, key and token of one lab run, as files in dir.
type pki struct {
	dir string
	// CA of the apiservers' serving certificates and client certificates.
	ca *ca
	// backendCA signs the serving certificate of the lab's APIService
	// backend and webhook server; its PEM is their caBundle.
	backendCA                *ca
	backendCert, backendKey  []byte
	adminToken, floodToken   string
	saKey, saPub, tokenFile  string
	frontProxyCA, frontProxy string
}

func randomToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return fmt.Sprintf("%x", b)
}

// newPKI generates the lab's certificates, the service-account signing key
// and the static token file. backendDNS are the names the backend's serving
// certificate must carry: kube-aggregator dials an APIService's backend
// with ServerName <service>.<namespace>.svc
// (k8s.io/kube-aggregator/pkg/apiserver/handler_proxy.go, proxyHandler.updateAPIService).
func newPKI(dir string, backendDNS []string) (*pki, error) {
	p := &pki{dir: dir, adminToken: randomToken(), floodToken: randomToken()}
	var err error
	if p.ca, err = newCA("burnrate-lab-ca"); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), p.ca.pem, 0o600); err != nil {
		return nil, err
	}
	loop := []net.IP{net.ParseIP("127.0.0.1")}
	if _, _, err := p.ca.issue(dir, "apiserver", "kube-apiserver", []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"}, loop, x509.ExtKeyUsageServerAuth); err != nil {
		return nil, err
	}
	fp, err := newCA("burnrate-lab-front-proxy-ca")
	if err != nil {
		return nil, err
	}
	p.frontProxyCA = filepath.Join(dir, "front-proxy-ca.crt")
	if err := os.WriteFile(p.frontProxyCA, fp.pem, 0o600); err != nil {
		return nil, err
	}
	if _, _, err := fp.issue(dir, "front-proxy-client", "front-proxy-client", nil, nil, x509.ExtKeyUsageClientAuth); err != nil {
		return nil, err
	}
	p.frontProxy = filepath.Join(dir, "front-proxy-client")
	if p.backendCA, err = newCA("burnrate-lab-backend-ca"); err != nil {
		return nil, err
	}
	if p.backendCert, p.backendKey, err = p.backendCA.issue(dir, "backend", "burnrate-lab-backend", append([]string{"localhost"}, backendDNS...), loop, x509.ExtKeyUsageServerAuth); err != nil {
		return nil, err
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	p.saKey = filepath.Join(dir, "sa.key")
	p.saPub = filepath.Join(dir, "sa.pub")
	if err := os.WriteFile(p.saKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}), 0o600); err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(p.saPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600); err != nil {
		return nil, err
	}
	// Static token file (token,user,uid,"groups"): the admin is in
	// system:masters, which the suggested FlowSchema "exempt" exempts from
	// API Priority and Fairness; the flood user is not.
	p.tokenFile = filepath.Join(dir, "tokens.csv")
	tokens := fmt.Sprintf("%s,lab-admin,uid-admin,\"system:masters\"\n%s,lab-flooder,uid-flooder,\"lab-tenants\"\n", p.adminToken, p.floodToken)
	if err := os.WriteFile(p.tokenFile, []byte(tokens), 0o600); err != nil {
		return nil, err
	}
	return p, nil
}
