// Package diagnose runs the runbook's drill-down queries and checks the
// series an SLO spec needs against a live Prometheus through its HTTP API.
//
// Diagnose walks the steps of the KubeAPIErrorBudgetBurn runbook (the table
// of internal/runbook, which also renders the page) and turns them into a
// report: which SLI burns and how fast, whether errors or slow requests
// burn it, and the top rows of every drill-down step with the runbook
// section and fix each points to. Lint checks that the request
// counter, the latency histogram and every bucket a threshold names exist,
// and names the rules that would come out empty or never count slow
// requests.
package diagnose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// Config says how to reach Prometheus.
type Config struct {
	// URL is Prometheus' base URL, e.g. http://prometheus:9090.
	URL string
	// BearerTokenFile holds a bearer token sent with every request.
	BearerTokenFile string
	// BasicAuthUser and BasicAuthPasswordFile set HTTP basic auth.
	BasicAuthUser, BasicAuthPasswordFile string
	// CAFile verifies Prometheus' TLS certificate; InsecureSkipVerify skips it.
	CAFile             string
	InsecureSkipVerify bool
	// Headers are extra HTTP headers, name to value.
	Headers map[string]string
	// QueryTimeout bounds each query (default 15s).
	QueryTimeout time.Duration
}

// Client queries one Prometheus.
type Client struct {
	api     v1.API
	timeout time.Duration
	url     string
}

// NewClient builds a client from cfg. Authentication and TLS go through
// github.com/prometheus/common/config, as in Prometheus' own scrape and
// remote-read clients.
func NewClient(cfg Config) (*Client, error) {
	if cfg.URL == "" {
		return nil, errors.New("no Prometheus URL; pass --prometheus http://host:9090")
	}
	for _, f := range []struct{ flag, path string }{
		{"bearer token file", cfg.BearerTokenFile}, {"basic auth password file", cfg.BasicAuthPasswordFile}, {"CA file", cfg.CAFile},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.ReadFile(f.path); err != nil {
			return nil, fmt.Errorf("%s: %w", f.flag, err)
		}
	}
	hc := config.DefaultHTTPClientConfig
	if cfg.BearerTokenFile != "" {
		hc.Authorization = &config.Authorization{Type: "Bearer", CredentialsFile: cfg.BearerTokenFile}
	}
	if cfg.BasicAuthUser != "" || cfg.BasicAuthPasswordFile != "" {
		hc.BasicAuth = &config.BasicAuth{Username: cfg.BasicAuthUser, PasswordFile: cfg.BasicAuthPasswordFile}
	}
	hc.TLSConfig = config.TLSConfig{CAFile: cfg.CAFile, InsecureSkipVerify: cfg.InsecureSkipVerify}
	if len(cfg.Headers) > 0 {
		hc.HTTPHeaders = &config.Headers{Headers: map[string]config.Header{}}
		for k, v := range cfg.Headers {
			hc.HTTPHeaders.Headers[k] = config.Header{Values: []string{v}}
		}
	}
	if err := hc.Validate(); err != nil {
		return nil, fmt.Errorf("prometheus client config: %w", err)
	}
	httpClient, err := config.NewClientFromConfig(hc, "burnrate")
	if err != nil {
		return nil, fmt.Errorf("prometheus client config: %w", err)
	}
	httpClient.Transport = statusTripper{httpClient.Transport}
	c, err := api.NewClient(api.Config{Address: cfg.URL, Client: httpClient})
	if err != nil {
		return nil, fmt.Errorf("prometheus URL %q: %w", cfg.URL, err)
	}
	t := cfg.QueryTimeout
	if t <= 0 {
		t = 15 * time.Second
	}
	return &Client{api: v1.NewAPI(c), timeout: t, url: cfg.URL}, nil
}

// Kind classifies a failure to talk to Prometheus.
type Kind int

// The kinds of failure; the CLI maps each to its own exit code.
const (
	KindOther       Kind = iota // a query Prometheus rejected, or anything else
	KindUnreachable             // no connection: down, wrong host or port, TLS failure
	KindAuth                    // HTTP 401 or 403
	KindServer                  // HTTP 5xx or an answer that is not the Prometheus API
	KindTimeout                 // no answer within the query timeout
)

func (k Kind) String() string {
	switch k {
	case KindUnreachable:
		return "unreachable"
	case KindAuth:
		return "unauthorized"
	case KindServer:
		return "server error"
	case KindTimeout:
		return "timeout"
	}
	return "error"
}

// HTTPError is an HTTP answer that is not the Prometheus API's.
type HTTPError struct {
	Code int
	Body string
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("HTTP %d %s", e.Code, http.StatusText(e.Code))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// statusTripper turns 401, 403, 5xx and other statuses the Prometheus API
// does not use into an *HTTPError, so they are told apart from a query
// error (400, 422 with a JSON body).
type statusTripper struct{ next http.RoundTripper }

func (t statusTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	switch c := resp.StatusCode; {
	case c/100 == 2, c == http.StatusBadRequest, c == http.StatusUnprocessableEntity:
		return resp, nil
	default:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, &HTTPError{Code: c, Body: strings.TrimSpace(string(b))}
	}
}

// Classify tells what kind of failure err is.
func Classify(err error) Kind {
	var he *HTTPError
	var ne net.Error
	var ae *v1.Error
	switch {
	case err == nil:
		return KindOther
	case errors.As(err, &he):
		if he.Code == http.StatusUnauthorized || he.Code == http.StatusForbidden {
			return KindAuth
		}
		return KindServer
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	case errors.As(err, &ne) && ne.Timeout():
		return KindTimeout
	case errors.As(err, &ae) && ae.Type == v1.ErrTimeout:
		return KindTimeout
	case errors.As(err, &ae) && (ae.Type == v1.ErrServer || ae.Type == v1.ErrBadResponse):
		return KindServer
	case errors.As(err, &ae):
		return KindOther
	case errors.As(err, new(*net.OpError)), errors.As(err, new(*url.Error)):
		return KindUnreachable
	}
	return KindOther
}

// Error is a failure to talk to Prometheus, with its kind.
type Error struct {
	Kind Kind
	URL  string
	Err  error
}

func (e *Error) Error() string {
	var hint string
	switch e.Kind {
	case KindUnreachable:
		hint = "cannot connect to Prometheus; check --prometheus, that it runs, and --ca-file for TLS"
	case KindAuth:
		hint = "Prometheus refused the credentials; check --bearer-token-file or --basic-auth-*"
	case KindServer:
		hint = "Prometheus answered with an error"
	case KindTimeout:
		hint = "Prometheus did not answer in time; raise --query-timeout or check its load"
	default:
		hint = "query failed"
	}
	return fmt.Sprintf("%s (%s): %v", hint, e.URL, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// wrap attaches the kind to err.
func (c *Client) wrap(err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: Classify(err), URL: c.url, Err: err}
}

// Ping checks that Prometheus answers a trivial query.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.query(ctx, "vector(1)", time.Now())
	return err
}

// query runs an instant query under the client's timeout.
func (c *Client) query(ctx context.Context, q string, ts time.Time) (v1Vector, error) {
	v, err := c.queryValue(ctx, q, ts)
	if err != nil {
		return nil, err
	}
	return toVector(v)
}

// queryValue runs an instant query and returns its raw result, native
// histograms included.
func (c *Client) queryValue(ctx context.Context, q string, ts time.Time) (model.Value, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	v, _, _, err := c.api.Query(ctx, q, ts, v1.WithTimeout(c.timeout))
	if err != nil {
		return nil, c.wrap(err)
	}
	return v, nil
}
