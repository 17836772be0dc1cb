package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/burnrate/burnrate/internal/testkit/e2eprom"
	"github.com/burnrate/burnrate/slo"
)

// TestDiagnoseLintE2E runs the two verbs as a user would, against a real
// Prometheus holding the incident scenarios.
func TestDiagnoseLintE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: real Prometheus; make check runs it")
	}
	srv, err := e2eprom.Start()
	if err != nil {
		t.Fatalf("e2e Prometheus: %v", err)
	}
	t.Cleanup(srv.Stop)
	at := strconv.FormatInt(srv.End.Unix(), 10)

	t.Run("diagnose aggregated API", func(t *testing.T) {
		code, stdout, stderr := runCLI("diagnose", "--prometheus", srv.URL, "--cluster", "aggregated-api-unreachable", "--window", "3d", "--time", at)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, want := range []string{
			`SLI "read" burns`,
			"failed requests burn",
			`1. [apiservices] {name="v3.projectcalico.org"}`,
			`2. [errors] {code="503", subresource="openapi/v3/", verb="GET"}`,
			"runbook: Step 6: Is an aggregated API down? (https://github.com/burnrate/burnrate/blob/main/runbooks/kubernetes/KubeAPIErrorBudgetBurn.md#step-6-is-an-aggregated-api-down)",
			"fix: if the control plane cannot reach pod IPs",
			"Failures the SLI does not count as such",
			`[aggregator-terminations] {code="503", group="projectcalico.org", resource="networkpolicies", verb="LIST"}`,
		} {
			if !strings.Contains(stdout, want) {
				t.Errorf("report lacks %q:\n%s", want, stdout)
			}
		}
		if testing.Verbose() {
			t.Logf("burnrate diagnose output:\n%s", stdout)
		}
	})
	t.Run("diagnose html", func(t *testing.T) {
		code, stdout, stderr := runCLI("diagnose", "--prometheus", srv.URL, "--cluster", "aggregated-api-unreachable", "--window", "3d", "--time", at, "--output", "html")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, want := range []string{"<!DOCTYPE html>", "Burn rate of SLI read", `<path class="series"`, "v3.projectcalico.org", "Step 6: Is an aggregated API down?"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		if strings.Contains(stdout, "query failed") {
			t.Error("a chart's range query failed")
		}
	})
	t.Run("diagnose json", func(t *testing.T) {
		code, stdout, stderr := runCLI("diagnose", "--prometheus", srv.URL, "--cluster", "slow-etcd", "--window", "1d", "--time", at, "--output", "json")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var r struct {
			SLI, Term string
			Culprits  []struct {
				Step   string
				Labels map[string]string
			}
		}
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("%v\n%s", err, stdout)
		}
		if r.SLI != "write" || r.Term != "slow" || len(r.Culprits) < 3 || r.Culprits[0].Step != "etcd-latency" || r.Culprits[1].Step != "slow" ||
			r.Culprits[2].Step != "etcd-time" || r.Culprits[2].Labels["operation"] != "update" {
			t.Errorf("json report: %+v", r)
		}
	})
	t.Run("lint dropped bucket", func(t *testing.T) {
		code, stdout, stderr := runCLI("lint", "--prometheus", srv.URL, "--cluster", e2eprom.DroppedCluster, "--time", at)
		if code != exitFail {
			t.Errorf("exit %d, want %d: %s", code, exitFail, stderr)
		}
		if !strings.Contains(stdout, `error [read] bucket: bucket le="30" of apiserver_request_sli_duration_seconds_bucket is missing`) {
			t.Errorf("lint does not report the dropped bucket:\n%s", stdout)
		}
		if testing.Verbose() {
			t.Logf("burnrate lint output:\n%s", stdout)
		}
	})
	t.Run("lint clean", func(t *testing.T) {
		code, stdout, stderr := runCLI("lint", "--prometheus", srv.URL, "--cluster", "failing-webhook", "--time", at)
		if code != exitOK || !strings.HasSuffix(stdout, "no errors\n") {
			t.Errorf("exit %d: %s\n%s", code, stderr, stdout)
		}
	})
}

// TestDiagnoseServiceE2E runs burnrate diagnose --spec on a service as a
// user would, against a real Prometheus holding a synthetic incident of
// the checkout example (half the requests to /checkout fail) and the
// series its rules record.
func TestDiagnoseServiceE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: real Prometheus; make check runs it")
	}
	spec := "../../examples/checkout.yaml"
	s, err := slo.Load(spec)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := e2eprom.StartService(s, []e2eprom.HTTPFault{{Name: "prod", Handler: "/checkout", ErrorShare: 0.5}})
	if err != nil {
		t.Fatalf("e2e Prometheus: %v", err)
	}
	t.Cleanup(srv.Stop)
	at := strconv.FormatInt(srv.End.Unix(), 10)

	code, stdout, stderr := runCLI("diagnose", "--prometheus", srv.URL, "--spec", spec, "--cluster", "prod", "--time", at)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		`SLI "availability" burns`,
		"failed requests burn 100.0% of it",
		`1. [errors-by-handler] {handler="/checkout", slo="availability"}`,
		"runbook: Step 5: Where do the failures concentrate? (https://runbooks.example.com/checkout/checkouterrorbudgetburn#step-5-where-do-the-failures-concentrate)",
		"errors-by-instance       found",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	for _, unwanted := range []string{"[errors-by-instance]", "APIService", "etcd"} {
		if strings.Contains(stdout, unwanted) {
			t.Errorf("report has %q:\n%s", unwanted, stdout)
		}
	}
	if testing.Verbose() {
		t.Logf("burnrate diagnose output:\n%s", stdout)
	}
}
