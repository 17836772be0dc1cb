package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/burnrate/burnrate/internal/diagnose"
	"github.com/burnrate/burnrate/slo"
)

// Exit codes of the verbs that talk to Prometheus (diagnose, lint), beside
// exitOK, exitFail and exitUsage.
const (
	exitUnreachable = 3 // Prometheus is down or unreachable
	exitAuth        = 4 // Prometheus answered 401 or 403
	exitServer      = 5 // Prometheus answered 5xx or something that is not its API
	exitTimeout     = 6 // Prometheus did not answer within --query-timeout
)

// promFlags are the flags shared by diagnose and lint.
type promFlags struct {
	cfg     diagnose.Config
	headers headerFlag
	cluster string
	at      string
	output  string
}

func (f *promFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.cfg.URL, "prometheus", "", "Prometheus base URL, e.g. http://prometheus:9090 (required)")
	fs.StringVar(&f.cluster, "cluster", "", "only this value of the spec's cluster label (default: every cluster)")
	fs.StringVar(&f.at, "time", "", "evaluation time, RFC 3339 or Unix seconds (default: now)")
	fs.StringVar(&f.output, "output", "text", "output format: text or json")
	fs.DurationVar(&f.cfg.QueryTimeout, "query-timeout", 15*time.Second, "timeout of each query")
	fs.StringVar(&f.cfg.BearerTokenFile, "bearer-token-file", "", "file holding a bearer token")
	fs.StringVar(&f.cfg.BasicAuthUser, "basic-auth-user", "", "HTTP basic auth user")
	fs.StringVar(&f.cfg.BasicAuthPasswordFile, "basic-auth-password-file", "", "file holding the HTTP basic auth password")
	fs.StringVar(&f.cfg.CAFile, "ca-file", "", "CA certificate file to verify Prometheus' TLS certificate")
	fs.BoolVar(&f.cfg.InsecureSkipVerify, "insecure-skip-verify", false, "do not verify Prometheus' TLS certificate")
	fs.Var(&f.headers, "header", `extra HTTP header "Name: value" (repeatable), e.g. "X-Scope-OrgID: team-a"`)
}

// flagSet returns verb's flag set (diagnose or lint) with the shared flags
// registered in f, printing errors to stderr. Its usage message is synopsis,
// about (paragraphs, no trailing newline), the verb's exit codes and the
// flags, which include those the caller registers afterwards.
func (f *promFlags) flagSet(verb, synopsis, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s\n\n%s\n\n%s\nFlags:\n", synopsis, about, verbExitCodes(verb))
		fs.PrintDefaults()
	}
	return fs
}

// check validates the flags after parsing; it returns the evaluation time.
// formats lists the --output values the verb takes besides text and json.
func (f *promFlags) check(formats ...string) (time.Time, error) {
	if f.cfg.URL == "" {
		return time.Time{}, errors.New("--prometheus is required")
	}
	if u, err := url.Parse(f.cfg.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return time.Time{}, fmt.Errorf("--prometheus %q: want an http:// or https:// URL with a host, e.g. http://localhost:9090", f.cfg.URL)
	}
	if all := append([]string{"text", "json"}, formats...); !slices.Contains(all, f.output) {
		return time.Time{}, fmt.Errorf("--output %q: want %s or %s", f.output, strings.Join(all[:len(all)-1], ", "), all[len(all)-1])
	}
	f.cfg.Headers = f.headers.m
	return parseTime(f.at)
}

// parseTime reads RFC 3339 or Unix seconds; "" is now.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Now(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.UnixMilli(int64(f * 1000)), nil
	}
	return time.Time{}, fmt.Errorf("--time %q: want RFC 3339 (2026-11-27T10:00:00Z) or Unix seconds", s)
}

type headerFlag struct{ m map[string]string }

func (h *headerFlag) String() string { return "" }

func (h *headerFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("want \"Name: value\", got %q", v)
	}
	if h.m == nil {
		h.m = map[string]string{}
	}
	h.m[strings.TrimSpace(name)] = strings.TrimSpace(value)
	return nil
}

// promExit maps a failure to reach Prometheus to its exit code.
func promExit(err error) int {
	var de *diagnose.Error
	if !errors.As(err, &de) {
		return exitFail
	}
	switch de.Kind {
	case diagnose.KindUnreachable:
		return exitUnreachable
	case diagnose.KindAuth:
		return exitAuth
	case diagnose.KindServer:
		return exitServer
	case diagnose.KindTimeout:
		return exitTimeout
	}
	return exitFail
}

// loadSpec loads the spec file, or the embedded spec for "", for lint and
// diagnose.
func loadSpec(path string) (*slo.Spec, error) {
	if path == "" {
		return slo.Default(), nil
	}
	return slo.Load(path)
}

// lintSpec is loadSpec for lint, which checks the kube-apiserver's series
// only: a spec with a service is refused at its service line.
func lintSpec(path string) (*slo.Spec, error) {
	s, err := loadSpec(path)
	if err != nil || s.Service == "" {
		return s, err
	}
	return nil, s.Errors([]slo.FieldError{{Path: slo.Path{"service"},
		Msg: "lint checks the kube-apiserver's series, so it takes a spec without service (the kube-apiserver's); for this service, load its rules and watch its SLI-health alert, which reports missing series and buckets, or run burnrate diagnose --spec, whose Step 0 counts the series its steps read"}})
}

func runDiagnose(args []string, stdout, stderr io.Writer) int {
	var f promFlags
	var window, spec string
	fs := f.flagSet("diagnose", "burnrate diagnose --prometheus URL [--spec FILE] [flags]", `Runs the drill-down steps of the spec's runbook (default: the embedded
kube-apiserver spec, KubeAPIErrorBudgetBurn) through the Prometheus HTTP
API and prints what they find: which SLI burns and how fast, whether
failed or slow requests burn it, and the top culprits of every step with
their share, the runbook section each points to and its fix. For a spec
with a service the steps are its own runbook's: which SLO burns, errors
or slow, then the bad requests by each of its drilldown labels. Steps run in parallel, each query under --query-timeout; a failed
step is reported and the others still run. A step whose metric has no
series says "not scraped: step X skipped". The burn-rate steps read the
series recorded by burnrate's rules; without them, the kubernetes-mixin's
recorded burn rates, else they compute the burn from the raw series with
the spec's selectors, and the report says which.`, stderr)
	fs.StringVar(&window, "window", "", "the range the queries read: one of the alert's windows (1h, 6h, 1d, 3d, or a short window); use the alert's long label (default: the fastest pair's long window, 1h)")
	fs.StringVar(&spec, "spec", "", "spec file, e.g. examples/checkout.yaml (default: the embedded kube-apiserver spec)")
	fs.Lookup("output").Usage = "output format: text, json, or html (one self-contained page: the report with charts of the burning SLIs' burn rates and of the first culprits)"
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "burnrate diagnose: unexpected argument %q; the spec goes in --spec\n", pos[0])
		return exitUsage
	}
	at, err := f.check("html")
	if err != nil {
		fmt.Fprintf(stderr, "burnrate diagnose: %v\n", err)
		return exitUsage
	}
	var w time.Duration
	if window != "" {
		d, err := model.ParseDuration(window)
		if err != nil {
			fmt.Fprintf(stderr, "burnrate diagnose: --window %q: %v\n", window, err)
			return exitUsage
		}
		w = time.Duration(d)
	}
	s, err := loadSpec(spec)
	if err != nil {
		fmt.Fprintf(stderr, "burnrate diagnose: %v\n", err)
		return exitFail
	}
	plan, err := diagnose.NewPlan(s, w, f.cluster)
	if err != nil {
		fmt.Fprintf(stderr, "burnrate diagnose: %v\n", err)
		return exitUsage
	}
	c, err := diagnose.NewClient(f.cfg)
	if err != nil {
		fmt.Fprintf(stderr, "burnrate diagnose: %v\n", err)
		return exitUsage
	}
	r, err := diagnose.Diagnose(context.Background(), c, plan, diagnose.Options{Time: at})
	if err != nil {
		fmt.Fprintf(stderr, "burnrate diagnose: %v\n", err)
		return promExit(err)
	}
	switch f.output {
	case "json":
		err = r.WriteJSON(stdout)
	case "html":
		err = diagnose.WriteHTML(context.Background(), stdout, c, plan, r, diagnose.HTMLOptions{ClusterLabel: s.ClusterLabel})
	default:
		err = r.WriteText(stdout, s.ClusterLabel)
	}
	if err != nil {
		fmt.Fprintf(stderr, "burnrate diagnose: %v\n", err)
		return exitFail
	}
	if n := r.Failed(); n > 0 {
		fmt.Fprintf(stderr, "burnrate diagnose: %d of %d steps failed\n", n, len(r.Steps))
		return exitFail
	}
	return exitOK
}
