# event-engine: build, test, bench, demo.
#
#   make demo     run the demo application
#   make test     every test of every language, and the lints (what CI runs)
#   make bench    the benchmarks (not part of CI)

CARGO ?= cargo
PREFIX ?= /usr/local

.PHONY: all build demo test test-rust lint bench bench-smoke clean

all: build

build:
	$(CARGO) build --workspace --release

demo:
	$(CARGO) run --release -p event-engine --example counter

test: lint test-rust bench-smoke

test-rust:
	$(CARGO) test --workspace

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench:
	$(CARGO) run --release -p event-engine-bench

# A tiny run of the bench binary: it must work, its figures mean nothing.
bench-smoke:
	$(CARGO) run -p event-engine-bench -- --smoke

clean:
	$(CARGO) clean
