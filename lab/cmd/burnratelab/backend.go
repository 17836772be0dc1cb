package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/burnrate/burnrate/internal/testkit/process"
)

// Modes of the lab's APIService backend and webhook server.
const (
	modeRefuse = "refuse" // nothing listens on the port: connections are refused
	modeServe  = "serve"  // answers correctly
	modeHang   = "hang"   // accepts connections and never answers (not even the TLS handshake)
	modeError  = "500"    // webhook only: answers HTTP 500
)

// switchServer is an HTTPS server on a fixed port of 127.0.0.1 whose mode
// can change at run time: serve (an http.Server), hang (a raw listener that
// accepts and holds every connection) or refuse (no listener).
type switchServer struct {
	addr    string
	handler http.Handler
	tls     *tls.Config
	mu      sync.Mutex
	mode    string
	srv     *http.Server
	hangLn  net.Listener
	hung    []net.Conn
}

func newSwitchServer(certPEM, keyPEM []byte, h http.Handler) (*switchServer, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	port, err := process.FreePort()
	if err != nil {
		return nil, err
	}
	return &switchServer{addr: fmt.Sprintf("127.0.0.1:%d", port), handler: h, tls: &tls.Config{Certificates: []tls.Certificate{cert}}, mode: modeRefuse}, nil
}

func (s *switchServer) port() string { _, p, _ := net.SplitHostPort(s.addr); return p }

// setMode stops whatever serves the port and starts the new mode. Open
// connections of the old mode are closed, so a client cannot keep using a
// connection the old mode answered on.
func (s *switchServer) setMode(mode string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mode == s.mode {
		return nil
	}
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
	if s.hangLn != nil {
		s.hangLn.Close()
		s.hangLn = nil
		for _, c := range s.hung {
			c.Close()
		}
		s.hung = nil
	}
	s.mode = mode
	switch mode {
	case modeRefuse:
		return nil
	case modeServe:
		ln, err := listenRetry(s.addr)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: s.handler, TLSConfig: s.tls, ErrorLog: nil}
		s.srv = srv
		go srv.ServeTLS(ln, "", "")
		return nil
	case modeHang:
		ln, err := listenRetry(s.addr)
		if err != nil {
			return err
		}
		s.hangLn = ln
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				s.mu.Lock()
				s.hung = append(s.hung, c)
				s.mu.Unlock()
				// Read and drop whatever the client sends; never write.
				go io.Copy(io.Discard, c)
			}
		}()
		return nil
	}
	return fmt.Errorf("unknown mode %q", mode)
}

func listenRetry(addr string) (net.Listener, error) {
	var err error
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, err
}

// aggregatedAPI is the handler of the lab's APIService backend: one group
// version with one namespaced, read-only resource, its legacy discovery
// document and its OpenAPI v2 and v3 documents (what kube-aggregator's
// availability controller, discovery aggregation and OpenAPI aggregation
// fetch from a backend).
func aggregatedAPI(group, version, resource, kind string) http.Handler {
	gv := group + "/" + version
	item := func(ns, name string) map[string]any {
		return map[string]any{"apiVersion": gv, "kind": kind, "metadata": map[string]any{"name": name, "namespace": ns, "resourceVersion": "1", "uid": "00000000-0000-0000-0000-" + fmt.Sprintf("%012d", len(name))}, "spec": map[string]any{}}
	}
	write := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.Trim(r.URL.Path, "/")
		switch {
		case p == "healthz" || p == "readyz" || p == "livez":
			io.WriteString(w, "ok")
		case p == "apis":
			write(w, map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{map[string]any{
				"name": group, "versions": []any{map[string]any{"groupVersion": gv, "version": version}},
				"preferredVersion": map[string]any{"groupVersion": gv, "version": version}}}})
		case p == "apis/"+group:
			write(w, map[string]any{"kind": "APIGroup", "apiVersion": "v1", "name": group,
				"versions":         []any{map[string]any{"groupVersion": gv, "version": version}},
				"preferredVersion": map[string]any{"groupVersion": gv, "version": version}})
		case p == "apis/"+gv:
			write(w, map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": []any{map[string]any{
				"name": resource, "singularName": strings.ToLower(kind), "namespaced": true, "kind": kind, "verbs": []string{"get", "list"}}}})
		case p == "openapi/v2":
			write(w, map[string]any{"swagger": "2.0", "info": map[string]any{"title": "burnrate-lab", "version": version}, "paths": map[string]any{}})
		case p == "openapi/v3":
			write(w, map[string]any{"paths": map[string]any{"apis/" + gv: map[string]any{"serverRelativeURL": "/openapi/v3/apis/" + gv + "?hash=0001"}}})
		case p == "openapi/v3/apis/"+gv:
			write(w, map[string]any{"openapi": "3.0.0", "info": map[string]any{"title": "burnrate-lab", "version": version}, "paths": map[string]any{}})
		case strings.HasPrefix(p, "apis/"+gv+"/"):
			parts := strings.Split(strings.TrimPrefix(p, "apis/"+gv+"/"), "/")
			ns := ""
			if len(parts) >= 3 && parts[0] == "namespaces" {
				ns, parts = parts[1], parts[2:]
			}
			switch {
			case len(parts) == 1 && parts[0] == resource:
				write(w, map[string]any{"apiVersion": gv, "kind": kind + "List", "metadata": map[string]any{"resourceVersion": "1"},
					"items": []any{item(ns, "a"), item(ns, "b"), item(ns, "c")}})
			case len(parts) == 2 && parts[0] == resource && ns != "":
				write(w, item(ns, parts[1]))
			default:
				http.NotFound(w, r)
			}
		default:
			http.NotFound(w, r)
		}
	})
}

// webhookMode is the behaviour of the lab's validating webhook.
type webhookServer struct {
	mu   sync.Mutex
	mode string
}

func (wh *webhookServer) set(mode string) { wh.mu.Lock(); wh.mode = mode; wh.mu.Unlock() }

func (wh *webhookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	wh.mu.Lock()
	mode := wh.mode
	wh.mu.Unlock()
	switch mode {
	case modeError:
		http.Error(w, "lab: webhook broken", http.StatusInternalServerError)
		return
	case modeHang:
		// Hold the request until the apiserver gives up on it (its
		// timeoutSeconds) and closes the connection.
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Minute):
		}
		return
	}
	var review struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Request    struct {
			UID string `json:"uid"`
		} `json:"request"`
	}
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
		"response": map[string]any{"uid": review.Request.UID, "allowed": true}})
}
