# event-engine: build, test, bench, demo.
#
#   make demo     run the demo application
#   make test     every test of every language, and the lints (what CI runs)
#   make bench    the benchmarks (not part of CI)

CARGO ?= cargo
PREFIX ?= /usr/local

.PHONY: all build demo test test-rust test-python python-env bench-python lint bench bench-smoke clean

all: build

build:
	$(CARGO) build --workspace --release

demo:
	$(CARGO) run --release -p event-engine --example counter

test: lint test-rust bench-smoke test-python

test-rust:
	$(CARGO) test --workspace

# The Python SDK (pyevents/): a virtualenv under target/ with maturin, pytest and pyzmq; the
# package is built by pip from source (`pip install ./pyevents`), in the dev profile to reuse
# what `cargo test` built, and tested against the real engine (the CLI).
PYTHON ?= python3
PY_VENV ?= target/python-venv
PY := $(PY_VENV)/bin/python
PY_ENV := PATH="$(abspath $(PY_VENV))/bin:$$PATH"

$(PY):
	$(PYTHON) -m venv $(PY_VENV)
	$(PY) -m pip install -q --disable-pip-version-check "maturin>=1.5,<2" "pytest>=7" "pyzmq>=22" "mypy>=1"

python-env: $(PY)

test-python: $(PY)
	$(CARGO) build -p event-engine-cli
	$(PY_ENV) MATURIN_PEP517_ARGS="--profile dev" $(PY) -m pip install -q --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps ./pyevents
	EE_ENGINE_BIN="$(abspath target/debug/event-engine)" $(PY) -m pytest -q pyevents/tests

bench-python: $(PY)
	$(CARGO) build --release -p event-engine-cli
	$(PY_ENV) $(PY) -m pip install -q --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps ./pyevents
	EE_ENGINE_BIN="$(abspath target/release/event-engine)" $(PY) pyevents/bench/bench.py

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
