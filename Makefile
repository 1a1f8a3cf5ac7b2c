# event-engine: build, test, bench, demo.
#
#   make demo     run the demo application
#   make test     every test of every language, and the lints (what CI runs)
#   make bench    the benchmarks (not part of CI)

CARGO ?= cargo
NPM ?= npm
PREFIX ?= /usr/local
# Where cargo puts what it builds (the Node.js tests run the engine binary from there).
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)

.PHONY: all build demo test test-rust test-node lint bench bench-smoke bench-node clean

all: build

build:
	$(CARGO) build --workspace --release

demo:
	$(CARGO) run --release -p event-engine --example counter

test: lint test-rust test-node

test-rust:
	$(CARGO) test --workspace

# The Node.js SDK (bindings/node): a debug build of the addon (it reuses what test-rust built)
# and of the engine, then node:test against the real engine. Needs Node.js >= 18, and python3
# with pyzmq for the interoperability test (.ci/run installs it).
test-node:
	$(CARGO) build -p event-engine-cli
	cd bindings/node && EVENT_ENGINE_NODE_PROFILE=debug $(NPM) ci --no-audit --no-fund
	cd bindings/node && EE_ENGINE_BIN=$(TARGET_DIR)/debug/event-engine $(NPM) test

# Node.js SDK throughput (release builds; not part of CI). Results: docs/benchmarks.md.
bench-node:
	$(CARGO) build --release -p event-engine-cli
	$(CARGO) build --release -p event-engine-node --example raw_sub
	cd bindings/node && EVENT_ENGINE_NODE_PROFILE=release $(NPM) ci --no-audit --no-fund
	cd bindings/node && EE_ENGINE_BIN=$(TARGET_DIR)/release/event-engine EE_RAW_SUB_BIN=$(TARGET_DIR)/release/examples/raw_sub node bench/bench.js

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clean:
	$(CARGO) clean
