# burnrate: `make rules` regenerates the committed rule files and runbooks;
# `make test` runs the fast checks (minutes) and `make check` the slow proofs
# (real Prometheus, promtool mutants, Sloth, synthetic clusters, scale, go
# install). All need only Go; promtool and Prometheus v0.316.0 come from the
# `tool` directives in go.mod and are built on first use.

GO       ?= go
BIN      := bin/burnrate
PROMTOOL := $(GO) tool promtool

# Each output: profile and directory. The generate lines of `rules` and the
# --check lines of `check-generated` both come from this list.
OUTPUTS := optimized:rules kubernetes-mixin:rules/kubernetes-mixin
# Every generated rule file in the rules format, for promtool check rules.
RULE_FILES = $(shell find rules examples/rules -name '*.rules.yaml' | sort)
TESTS    = $(sort $(wildcard rules/*.test.yaml rules/kubernetes-mixin/*.test.yaml examples/rules/*.test.yaml))
# make test's share of them (its 5-minute budget): every test of the
# embedded apiserver spec in both profiles, and the examples' records,
# SLI-health and low-traffic tests; the examples' per-pair tests run under
# promtool in make check.
TESTS_FAST = $(sort $(wildcard rules/*.test.yaml rules/kubernetes-mixin/*.test.yaml) $(wildcard examples/rules/*.records.test.yaml examples/rules/*.sli-health.test.yaml examples/rules/*.low-traffic.test.yaml))

# The example specs of other services (README "Your own service"), generated
# together into examples/rules with the optimized profile.
EXAMPLES := $(sort $(wildcard examples/*.yaml))
# The other formats, for the distributions users come from: format, preset
# (- for none) and directory. internal/testkit/consumers loads each with its
# consumer's own code.
FORMAT_OUTPUTS := prometheusrule:kube-prometheus:rules/kube-prometheus \
	json:kube-prometheus:rules/kube-prometheus \
	kube-prometheus-stack:kube-prometheus-stack:rules/kube-prometheus-stack \
	prometheusrule:kube-prometheus-stack:rules/kube-prometheus-stack \
	mimir:-:rules/mimir
format_args = --format $(word 1,$(subst :, ,$(1))) $(if $(filter-out -,$(word 2,$(subst :, ,$(1)))),--preset $(word 2,$(subst :, ,$(1)))) --out $(word 3,$(subst :, ,$(1)))

# The mixin profile keeps the mixin's four identical
# code_verb:apiserver_request_total:increase1h rules (one per code class),
# which promtool's duplicate-rules lint reports. That one finding is expected;
# any other lint finding fails.
MIXIN_RULES    := rules/kubernetes-mixin/kube-apiserver.rules.yaml
MIXIN_EXPECTED := code_verb:apiserver_request_total:increase1h

.PHONY: all build rules test check tools vet unit unit-all check-rules check-generated rule-tests rule-tests-promtool install-check browser

all: rules

build:
	$(GO) build -o $(BIN) ./cmd/burnrate

rules: build
	@set -e; for o in $(OUTPUTS); do \
		$(BIN) generate --profile "$${o%%:*}" --out "$${o#*:}"; \
	done
	$(BIN) generate --out examples/rules $(EXAMPLES)
	@set -e; $(foreach o,$(FORMAT_OUTPUTS),$(BIN) generate $(call format_args,$(o));)

# The fast checks: vet and gofmt, the unit tests with -short (every test
# that starts Prometheus, runs promtool on mutants, builds Sloth, simulates
# a cluster for minutes or renders hundreds of SLOs skips itself), promtool
# on every generated rule file, the generated rule tests, and the stale
# check. Under 5 minutes with warm caches.
test: vet unit check-rules check-generated rule-tests

# The slow proofs, which `make test` leaves out: every unit test without
# -short, the generated rule tests under promtool, and install-check. CI
# (.ci/run) runs `make test`, then this.
check: unit-all rule-tests-promtool install-check

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt would change the files above"; exit 1; }

# The end-to-end tests (make check) start a real Prometheus v0.316.0 built
# from the `tool` directive in go.mod; build both tools first so that a
# cold first build (minutes) does not count against the test timeout.
tools:
	$(GO) tool -n prometheus >/dev/null
	$(GO) tool -n promtool >/dev/null

# The HTML report's browser test (internal/diagnose/html_browser_test.go)
# drives Debian's chromium; it skips without one, and fails under CI=true.
browser:
	command -v chromium || (apt-get update && apt-get install -y chromium)

unit:
	$(GO) test -short -timeout 15m ./...

unit-all: tools
	$(GO) test -timeout 60m ./...

# promtool check rules with every lint fatal, on every generated rule file.
check-rules:
	$(PROMTOOL) check rules --lint=all --lint-fatal $(filter-out $(MIXIN_RULES),$(RULE_FILES))
	@out=$$($(PROMTOOL) check rules --lint=all --lint-fatal $(MIXIN_RULES) 2>&1); code=$$?; \
	if [ $$code -ne 3 ] || [ "$$(printf '%s\n' "$$out" | grep -c '^Metric: ')" -ne 1 ] \
		|| ! printf '%s\n' "$$out" | grep -qx 'Metric: $(MIXIN_EXPECTED)'; then \
		printf '%s\n' "$$out"; echo "promtool: want exactly the known duplicate-rules finding ($(MIXIN_EXPECTED)), exit 3; got exit $$code"; exit 1; \
	fi; echo "$(MIXIN_RULES): only the known duplicate-rules finding ($(MIXIN_EXPECTED))"

# go install <module>/cmd/burnrate@<version> and go get -tool of HEAD,
# through a file module proxy into an empty module cache (TestGoInstall in
# cmd/burnrate/install_test.go; about 2 minutes), and checks that the
# module zip stays under 5 MB. Part of `make check`.
install-check:
	BURNRATE_INSTALL_CHECK=1 $(GO) test -run '^TestGoInstall$$' -timeout 30m -v ./cmd/burnrate

# The generated rule unit tests, with burnrate test (in-process, a file per
# core); rule-tests-promtool runs them under promtool (make check), and the
# sameness tests of internal/ruletest prove the two runners agree.
rule-tests: build
	$(BIN) test $(TESTS_FAST)

rule-tests-promtool:
	$(PROMTOOL) test rules $(TESTS)

# Fails when `make rules` would change a committed file.
check-generated: build
	@set -e; for o in $(OUTPUTS); do \
		$(BIN) generate --check --profile "$${o%%:*}" --out "$${o#*:}"; \
	done
	$(BIN) generate --check --out examples/rules $(EXAMPLES)
	@set -e; $(foreach o,$(FORMAT_OUTPUTS),$(BIN) generate --check $(call format_args,$(o));)

# Times `promtool test rules` and `burnrate test` on the generated unit tests
# of each profile, one after the other, and prints both wall times and their
# ratio (see BenchmarkRuleTests in cmd/burnrate/bench_test.go). Needs the
# generated test files (make rules). More runs: make bench-test-runner BENCHTIME=3x
BENCHTIME ?= 1x

.PHONY: bench-test-runner
bench-test-runner:
	$(GO) test -run '^$$' -bench '^BenchmarkRuleTests$$' -benchtime $(BENCHTIME) ./cmd/burnrate

# Times `burnrate diagnose` per incident scenario against the end-to-end
# Prometheus server (BenchmarkDiagnose in diagnose/e2e_test.go).
.PHONY: bench-diagnose
bench-diagnose: tools
	$(GO) test -run '^$$' -bench '^BenchmarkDiagnose$$' -benchtime 20x ./internal/diagnose

# Runs each fuzz target for FUZZTIME, one after the other: the spec loader
# (FuzzParse); spec -> rules -> Prometheus's rule loader -> a generated test
# group run in-process (FuzzGenerate); and Sloth import -> generate, on any
# input and on latency SLIs built from fuzzed parts (FuzzImportGenerates,
# FuzzImportLatencyGenerates). Their seed corpora in testdata/fuzz/ run in
# every `go test`; a failure the fuzzer finds is written there as a new
# seed. More: make fuzz FUZZTIME=10m
FUZZTIME ?= 60s
FUZZ_TARGETS := ./slo:FuzzParse ./internal/testgen:FuzzGenerate \
	./cmd/burnrate:FuzzImportGenerates ./cmd/burnrate:FuzzImportLatencyGenerates

.PHONY: fuzz
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) "$${t%%:*}"; \
	done

# Samples touched per evaluation and per minute and evaluation time of every
# rule set for the kube-apiserver's read and write SLOs (BenchmarkRuleCost):
# burnrate's optimized profile, kubernetes-mixin at aa38e2b and at #1283,
# Sloth v0.16.0 and Pyrra v0.10.1 (rendered by their own code with go run,
# so the module proxy or a warm module cache is needed), once Prometheus
# holds COST_HISTORY of the cluster (recorded series synthesised at their
# own interval), and the peer table with each as a multiple of burnrate's.
# COST_SIZE=full is 40 resources (32k bucket series); COST_RESOURCES=N
# overrides the size; COST_PROFILES picks rule sets.
COST_SIZE      ?= small
COST_HISTORY   ?= 30d
COST_RESOURCES ?= 0
COST_PROFILES  ?= optimized,kubernetes-mixin,pr1283,sloth,pyrra
# COST_PROMETHEUS=true also runs each rule set in a real Prometheus on the
# same data for its evaluation times (about 6 minutes more per rule set).
COST_PROMETHEUS ?= true
.PHONY: bench-cost
bench-cost:
	$(GO) test -run '^$$' -bench '^BenchmarkRuleCost$$' -benchtime 1x -timeout 90m -v ./internal/rulegen \
		-args -cost.size=$(COST_SIZE) -cost.history=$(COST_HISTORY) -cost.resources=$(COST_RESOURCES) -cost.profiles=$(COST_PROFILES) -cost.prometheus=$(COST_PROMETHEUS)

# The lab (lab/README.md): builds kube-apiserver $(LAB_APISERVER) from the
# module proxy (cached by version), takes etcd from Debian's etcd-server,
# runs every scenario on 127.0.0.1 against real processes and rewrites
# lab/recordings/$(LAB_APISERVER). Takes hours; not part of `make test` or
# `make check`.
# One scenario: make lab LAB_SCENARIOS=webhook-500
LAB_APISERVER ?= v1.34.2
LAB_SCENARIOS ?= all
LAB_FLAGS     ?=

.PHONY: lab
lab: tools
	@command -v etcd >/dev/null || { echo "etcd not found: installing Debian's etcd-server"; apt-get update && apt-get install -y etcd-server; }
	@set -e; bin=$$(./lab/build-apiserver.sh $(LAB_APISERVER)); \
	$(GO) run ./lab/cmd/burnratelab --apiserver "$$bin" --apiserver-version $(LAB_APISERVER) --scenarios $(LAB_SCENARIOS) $(LAB_FLAGS)
