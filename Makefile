# camchain — the README's two commands are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin
RUN_DIR ?= .camchain-run

.PHONY: all build run test bench fuzz faults deps clean ui release soak

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# Everything the tests need that Go modules do not bring: the independent
# implementations (ethers, @noble/hashes and @noble/curves, pinned in
# test/interop/package-lock.json).
deps: test/interop/node_modules/.package-lock.json ui/node_modules/.package-lock.json

test/interop/node_modules/.package-lock.json: test/interop/package.json test/interop/package-lock.json
	npm ci --prefix test/interop --no-audit --no-fund
	@touch $@

# The web UI's toolchain and browser tests (esbuild, typescript, noble;
# playwright-core, ethers, siwe), pinned in ui/package-lock.json.
ui/node_modules/.package-lock.json: ui/package.json ui/package-lock.json
	npm ci --prefix ui --no-audit --no-fund
	@touch $@

# The web UI: type-check ui/src, then build it into internal/webui/dist,
# which is committed (go build needs no Node.js) and embedded in camchaind.
# make test fails when the committed build is stale (internal/webui).
ui: ui/node_modules/.package-lock.json
	cd ui && npx tsc --noEmit -p . && node build.mjs

# The demo: a hub with its own single-validator ledger and a camera agent on
# the built-in sample clip, paired with a demo wallet (scripts/run-demo.sh).
run: build
	RUN_DIR=$(RUN_DIR) BIN=$(BIN) scripts/run-demo.sh

# The whole suite, within a 20-minute budget on a 2-core machine. Long runs
# (make fuzz, and any fault or soak run) stay out of it; tests keep only
# their short forms here. Both modules' tests (the main one and
# tools/release) go to one tools/testreport, which prints each package's
# result in go test's format, the output of every failure, the ten slowest
# tests, and closes on one count ("tests: N passed, N failed, N skipped");
# the exit status fails if either go test run or testreport does.
#
# The tailnet test (test/e2e) runs a real headscale, whose module is
# tools/headscale (it pins its own tailscale.com): bin/headscale is built
# here, outside the tests' timeout, and again only when that module changes.
HEADSCALE := $(BIN)/headscale
$(HEADSCALE): tools/headscale/go.mod tools/headscale/go.sum
	cd tools/headscale && $(GO) build -o $(abspath $(HEADSCALE)) github.com/juanfont/headscale/cmd/headscale

# test/e2e runs its real-process tests one after another, then those that
# mostly wait four at a time: 13 min on this 2-core machine in CI
# (2026-12-03), hence a per-package timeout above it. The machine idles
# through much of that waiting, so tools/release's tests (cross builds,
# packages, qemu; about 1.5 min) run beside the main module's, into a file
# that reaches testreport after them.
test: deps $(HEADSCALE)
	$(GO) vet ./...
	cd tools/release && $(GO) vet ./...
	cd tools/headscale && $(GO) vet ./...
	$(GO) build -o $(BIN)/testreport ./tools/testreport
	set -o pipefail; rel=$$(mktemp -d); \
	{ (cd tools/release && $(GO) test -json -count=1 -timeout 15m ./... >$$rel/json; echo $$? >$$rel/rc) & \
	  CAMCHAIN_HEADSCALE=$(abspath $(HEADSCALE)) $(GO) test -json -count=1 -timeout 25m ./...; a=$$?; \
	  wait; cat $$rel/json; b=$$(cat $$rel/rc); rm -rf $$rel; \
	  [ $$a = 0 ] && [ "$$b" = 0 ]; } | $(BIN)/testreport

# Release artifacts (tools/release, its own module): static binaries for
# linux amd64, arm64, armv7 and the agent also for mipsle softfloat; the
# hub's and the agent's .deb; the hub's multi-arch OCI image (a tarball,
# no Docker engine), compose.yaml and a Home Assistant add-on; an SPDX SBOM
# per binary and SHA256SUMS; then every artifact is checked. make test
# builds and installs a subset (amd64, arm64, mipsle agent) instead.
DIST ?= dist
release:
	cd tools/release && $(GO) run . -repo ../.. -out $(abspath $(DIST)) $(if $(VERSION),-version $(VERSION))

# Benchmarks: prints the table of every figure the issues ask for and
# writes bench/latest.json.
bench: build
	$(GO) run ./tools/bench

# The soak (not in make test): SOAK_AGENTS real camchain-agent processes
# against one camchaind for SOAK_DURATION, then every card compared with
# the hub's copy (zero lost segments) and the hub's RSS over the run (flat);
# prints a summary, exits 1 otherwise. SOAK_S3=1 keeps the hub's recordings
# in a real S3 bucket (versitygw on loopback) alone; SOAK_OUTAGE=3m with it
# kills the object store that long a third into the run (tools/soak).
SOAK_DURATION ?= 30m
SOAK_AGENTS ?= 50
soak: build
	SOAK_DURATION=$(SOAK_DURATION) $(GO) run ./tools/soak -bin $(BIN) -agents $(SOAK_AGENTS)

# The fault harness, long form (test/e2e TestFaults; make test runs its
# short form): four validators as camchaind processes on 127.0.0.2-5 and a
# streaming camera; every validator killed and restarted in turn, every
# pair killed (the ledger halts, then resumes), the camera's hub down for a
# minute, a validator's state tampered with on disk; the hub's object
# store down for 3 minutes (TestRecordingsInBucket); and evidence bundles
# from the bound hub verified against the genesis before and after the
# validators change the set (TestEvidenceAcrossValidatorChanges).
faults:
	CAMCHAIN_FAULTS=long $(GO) test -count=1 -v -timeout 30m -run '^(TestFaults|TestRecordingsInBucket|TestEvidenceAcrossValidatorChanges)$$' ./test/e2e

# Run each fuzz target for a short while (FUZZTIME=1m make fuzz for longer).
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf $(BIN) $(RUN_DIR) $(DIST)
