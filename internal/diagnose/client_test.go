package diagnose

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// TestClientAuth: the bearer token, basic auth, extra headers and the CA
// file reach Prometheus as configured.
func TestClientAuth(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	token := write("token", "s3cret\n")
	password := write("password", "hunter2")
	ok := `{"status":"success","data":{"resultType":"vector","result":[]}}`
	check := func(want func(r *http.Request) bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !want(r) {
				http.Error(w, "no", http.StatusUnauthorized)
				return
			}
			w.Write([]byte(ok))
		}
	}
	tests := []struct {
		name string
		cfg  Config
		want func(r *http.Request) bool
		tls  bool
	}{
		{"bearer token file", Config{BearerTokenFile: token}, func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer s3cret" }, false},
		{"basic auth", Config{BasicAuthUser: "alice", BasicAuthPasswordFile: password}, func(r *http.Request) bool {
			u, p, ok := r.BasicAuth()
			return ok && u == "alice" && p == "hunter2"
		}, false},
		{"headers", Config{Headers: map[string]string{"X-Scope-OrgID": "team-a"}}, func(r *http.Request) bool { return r.Header.Get("X-Scope-OrgID") == "team-a" }, false},
		{"CA file", Config{}, func(r *http.Request) bool { return r.TLS != nil }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *httptest.Server
			if tt.tls {
				srv = httptest.NewTLSServer(check(tt.want))
				ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
				tt.cfg.CAFile = write("ca.pem", string(ca))
			} else {
				srv = httptest.NewServer(check(tt.want))
			}
			defer srv.Close()
			tt.cfg.URL = srv.URL
			c, err := NewClient(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Ping(context.Background()); err != nil {
				t.Fatalf("ping: %v", err)
			}
			if tt.tls {
				// Without the CA the certificate is not trusted.
				c, err := NewClient(Config{URL: srv.URL})
				if err != nil {
					t.Fatal(err)
				}
				err = c.Ping(context.Background())
				if err == nil || Classify(err) != KindUnreachable {
					t.Errorf("ping without CA: %v (%s), want unreachable", err, Classify(err))
				}
			}
		})
	}
}
