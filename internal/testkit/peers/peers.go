// Package peers renders the rules of burnrate's peers with their own code,
// for the peer cost table: Sloth v0.16.0 (go run of its command) and Pyrra
// v0.10.1 (its packages, in a module of their own: Pyrra's slo package
// does not build against the Prometheus burnrate uses, and its main
// package embeds a UI build its module does not ship). Both need the Go
// module proxy or a warm module cache. Test support, not part of the
// command.
package peers

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// SlothModule and PyrraModule are the peers' versions.
const (
	SlothModule = "github.com/slok/sloth/cmd/sloth@v0.16.0"
	PyrraModule = "github.com/pyrra-dev/pyrra v0.10.1"
)

// ErrUnreachable wraps a failure to fetch a peer from the module proxy.
var ErrUnreachable = errors.New("peers: the Go module proxy cannot be reached")

var networkFailure = regexp.MustCompile(`dial tcp|no such host|connection refused|i/o timeout|TLS handshake|network is unreachable|proxy.golang.org`)

func goCmd(dir string, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		if networkFailure.Match(buf.Bytes()) {
			return fmt.Errorf("%w: go %s: %s", ErrUnreachable, strings.Join(args, " "), strings.TrimSpace(buf.String()))
		}
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, buf.String())
	}
	return nil
}

// Sloth writes the rules Sloth generates for the spec file into dir and
// returns the rule file's path.
func Sloth(dir, spec string) (string, error) {
	in, err := filepath.Abs(spec)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "sloth.rules.yaml")
	if err := goCmd(dir, "run", SlothModule, "generate", "-i", in, "-o", out); err != nil {
		return "", err
	}
	return out, nil
}

// pyrraGen writes the rules Pyrra generates for a ServiceLevelObjective
// file as pyrra generate does (filesystem.go: the objective's
// IncreaseRules and Burnrates groups).
const pyrraGen = `package main

import (
	"fmt"
	"os"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/pyrra-dev/pyrra/kubernetes/api/v1alpha1"
	"github.com/pyrra-dev/pyrra/slo"
	"sigs.k8s.io/yaml"
)

func main() {
	var groups []monitoringv1.RuleGroup
	for _, in := range os.Args[2:] {
		g, err := generate(in)
		if err != nil {
			fmt.Fprintln(os.Stderr, in+":", err)
			os.Exit(1)
		}
		groups = append(groups, g...)
	}
	b, err := yaml.Marshal(monitoringv1.PrometheusRuleSpec{Groups: groups})
	if err == nil {
		err = os.WriteFile(os.Args[1], b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func generate(in string) ([]monitoringv1.RuleGroup, error) {
	data, err := os.ReadFile(in)
	if err != nil {
		return nil, err
	}
	var config v1alpha1.ServiceLevelObjective
	if err := yaml.UnmarshalStrict(data, &config); err != nil {
		return nil, err
	}
	objective, err := config.Internal()
	if err != nil {
		return nil, err
	}
	increases, err := objective.IncreaseRules(slo.GenerationOptions{})
	if err != nil {
		return nil, err
	}
	burnrates, err := objective.Burnrates(slo.GenerationOptions{})
	if err != nil {
		return nil, err
	}
	return []monitoringv1.RuleGroup{increases, burnrates}, nil
}
`

// Pyrra writes the rules Pyrra generates for the ServiceLevelObjective
// files, all in one rule file in dir, and returns its path.
func Pyrra(dir string, files ...string) (string, error) {
	mod := filepath.Join(dir, "pyrragen")
	if err := os.MkdirAll(mod, 0o755); err != nil {
		return "", err
	}
	for name, data := range map[string]string{
		"go.mod":  "module pyrragen\n\ngo 1.25.0\n\nrequire " + PyrraModule + "\n",
		"main.go": pyrraGen,
	} {
		if err := os.WriteFile(filepath.Join(mod, name), []byte(data), 0o644); err != nil {
			return "", err
		}
	}
	out := filepath.Join(dir, "pyrra.rules.yaml")
	args := []string{"run", ".", out}
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return "", err
		}
		args = append(args, abs)
	}
	if err := goCmd(mod, "mod", "tidy"); err != nil {
		return "", err
	}
	if err := goCmd(mod, args...); err != nil {
		return "", err
	}
	// Pyrra writes the groups as a PrometheusRule's spec, which a rule file
	// holds as it is; check that it parses as one.
	data, err := os.ReadFile(out)
	if err != nil {
		return "", err
	}
	var rf struct {
		Groups []map[string]any `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &rf); err != nil || len(rf.Groups) == 0 {
		return "", fmt.Errorf("pyrra: %s holds no rule groups (%v)", out, err)
	}
	return out, nil
}
