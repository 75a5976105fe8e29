# camchain — the README's two commands are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin
RUN_DIR ?= .camchain-run

.PHONY: all build run test test-short bench fuzz deps clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# Everything the tests need that Go modules do not bring: the independent
# Ethereum implementation (ethers, pinned in test/interop/package-lock.json).
deps: test/interop/node_modules/.package-lock.json

test/interop/node_modules/.package-lock.json: test/interop/package.json test/interop/package-lock.json
	npm ci --prefix test/interop --no-audit --no-fund
	@touch $@

# The demo: a hub with its own single-validator ledger on embedded defaults.
run: build
	@[ -f $(RUN_DIR)/hub/FORMAT ] || $(BIN)/camchaind init --data $(RUN_DIR)/hub
	@echo
	@echo "In another terminal, try:"
	@echo "  curl -s http://127.0.0.1:8080/api/v1/status"
	@echo "  $(BIN)/camchain wallet new --keystore $(RUN_DIR)/wallet     # 24 words + your passphrase"
	@echo "  $(BIN)/camchain audit --keystore $(RUN_DIR)/wallet"
	@echo "Stop the hub with Ctrl-C; its data stays in $(RUN_DIR)/ (make clean removes it)."
	@echo
	$(BIN)/camchaind run --data $(RUN_DIR)/hub

test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m ./...

# Benchmarks: prints the table of every figure the issues ask for and
# writes bench/latest.json.
bench: build
	$(GO) run ./tools/bench

# Run each fuzz target for a short while (FUZZTIME=1m make fuzz for longer).
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf $(BIN) $(RUN_DIR)
