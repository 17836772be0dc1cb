package consumers

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/prometheus/prometheus/model/rulefmt"
	yamlv3 "gopkg.in/yaml.v3"

	"github.com/burnrate/burnrate/internal/slomodel"
)

// mimirNamespace is a rule namespace as mimirtool reads it
// (pkg/mimirtool/rules/rules.go, RuleNamespace, whose groups are
// pkg/mimirtool/rules/rwrulefmt.RuleGroup: rulefmt's group inline plus
// Mimir's own fields).
type mimirNamespace struct {
	Namespace string `yaml:"namespace"`
	Groups    []struct {
		rulefmt.RuleGroup `yaml:",inline"`
		SourceTenants     []string `yaml:"source_tenants,omitempty"`
	} `yaml:"groups"`
}

// parseMimir parses a namespace file as mimirtool's rules.ParseBytes
// (pkg/mimirtool/rules/parser.go) does: every document decoded with unknown
// fields refused, then the groups validated by rulefmt. Mimir's module is
// not imported: its go.mod (v1.3.1-0.20260423142704-aced80d74930, the
// proxy's latest) requires github.com/prometheus/prometheus v1.99.0 and
// replaces it with grafana/mimir-prometheus. That replace does not apply to
// a module importing Mimir, so minimal version selection would pick the
// upstream tag v1.99.0 (from 2022) over our v0.316.0; building Mimir needs
// its fork, which only a replace directive here could bring, and the team
// allows none.
func parseMimir(data []byte) ([]mimirNamespace, error) {
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var nss []mimirNamespace
	for {
		var ns mimirNamespace
		err := dec.Decode(&ns)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		nss = append(nss, ns)
	}
	for _, ns := range nss {
		var plain rulefmt.RuleGroups
		for _, g := range ns.Groups {
			plain.Groups = append(plain.Groups, g.RuleGroup)
		}
		out, err := yamlv3.Marshal(plain)
		if err != nil {
			return nil, err
		}
		if err := parseRulesErr(out); err != nil {
			return nil, err
		}
	}
	return nss, nil
}

func TestMimirNamespaceFile(t *testing.T) {
	data := committed(t, "rules/mimir/kube-apiserver.mimir.yaml")
	nss, err := parseMimir(data)
	if err != nil {
		t.Fatalf("mimirtool's parsing refuses it: %v", err)
	}
	if len(nss) != 1 || nss[0].Namespace != "kube-apiserver" {
		t.Fatalf("namespaces %+v, want one, kube-apiserver", nss)
	}
	want := groupsOf(t, "", slomodel.ProfileOptimized)
	if len(nss[0].Groups) != len(want) {
		t.Fatalf("%d groups, want %d", len(nss[0].Groups), len(want))
	}
	for i, g := range nss[0].Groups {
		if g.Name != want[i].Name || !sameRules(want[i], g.RuleGroup) {
			t.Errorf("group %d: %s differs from the rule file's %s", i, g.Name, want[i].Name)
		}
	}
	// The strictness the parse relies on: an unknown key fails.
	if _, err := parseMimir(append(bytes.Clone(data), []byte("tenant: a\n")...)); err == nil {
		t.Error("a namespace file with an unknown key parsed")
	}
}
