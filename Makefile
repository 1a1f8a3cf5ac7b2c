# event-engine: build, test, bench, demo.
#
#   make demo     run the demo application
#   make test     every test of every language, and the lints (what CI runs)
#   make bench    the benchmarks (not part of CI)
#   make fuzz     libFuzzer on the protocol parser and the engine's request handling (nightly +
#                 cargo-fuzz; FUZZ_SECONDS per target, default 300); `make test` runs the same
#                 checks on stable for a few seconds (crates/event-engine/tests/fuzz_smoke.rs)
#   make bench-attacks   the attacks of docs/architecture.md "Limits and failure behaviour"
#                 against a release engine (needs pyzmq; not part of CI)
#
# C/C++ SDK (bindings/c, docs/c.md):
#   make build-c                 libevent_engine.so/.a in $(TARGET_DIR)/c/release/lib
#   make install PREFIX=/usr/local   library, headers (C and C++), event_engine.pc and the CMake package
#   make examples-c              examples/c/counter and examples/cpp/counter
#   make test-c                  the C SDK's tests (gcc C99 and g++ C++17, plain and under valgrind)
#   make header                  regenerate bindings/c/include/event_engine.h after an API change
#
# Node.js SDK (bindings/node, docs/node.md):
#   make test-node               npm ci (builds a debug addon) and npm test against the engine
#   make bench-node              release builds, then bindings/node/bench/bench.js
#
# Release artifacts (dist/, gitignored; the `dist` profile, release without debug info; about
# 8 minutes cold on 2 cores, seconds when nothing changed):
#   make dist        the abi3 wheel (manylinux2014, CPython >= 3.9), the npm tarball with the
#                    prebuilt addon (installs without cargo), the C/C++ archive (relocatable: lib/,
#                    include/, lib/pkgconfig/, lib/cmake/) and the event-engine binary. All but
#                    the static C library are built by zig (the venv's pip package ziglang) for
#                    glibc 2.17, with libc++ linked in: they need no libstdc++
#   make test-dist   make dist, then installs each artifact with cargo and rustc off PATH and runs
#                    plugins against the dist engine (tests/dist_install.sh); part of `make test`

CARGO ?= cargo
NPM ?= npm
CMAKE ?= cmake
PREFIX ?= /usr/local
DESTDIR ?=
# Where cargo puts what it builds (the Node.js tests run the engine binary from there).
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)

.PHONY: all build demo demo-build demo-rust test test-rust test-demo test-docs lint bench bench-smoke clean \
        fuzz fuzz-smoke bench-attacks \
        build-c header install examples-c test-c test-node bench-node \
        test-python python-env bench-python \
        dist dist-build dist-python dist-node dist-c dist-cli test-dist build-curve build-curve-cli bench-curve test-curve

# The Python SDK (pyevents/): a virtualenv under $(TARGET_DIR)/ with maturin, pytest, pyzmq, mypy; the
# package is built by pip from source (`pip install ./pyevents`), in the dev profile to reuse
# what `cargo test` built, and tested against the real engine (the CLI).
PYTHON ?= python3
PY_VENV ?= $(TARGET_DIR)/python-venv
PY := $(PY_VENV)/bin/python
PY_ENV := PATH="$(abspath $(PY_VENV))/bin:$$PATH"

all: build examples-c

build:
	$(CARGO) build --workspace --release

# The demo: the polyglot application (examples/polyglot), built in release mode. The first run
# builds everything (a few minutes); the run itself takes seconds.
DEMO_APP := examples/polyglot/app.toml

demo: demo-build
	$(PY_ENV) $(TARGET_DIR)/release/event-engine run $(DEMO_APP)

demo-build: $(PY)
	$(CARGO) build --release -p event-engine-cli
	$(PY_ENV) $(PY) -m pip install -q --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps ./pyevents
	cd bindings/node && EVENT_ENGINE_NODE_PROFILE=release $(NPM) ci --no-audit --no-fund
	$(MAKE) --no-print-directory examples-c

# The demo as a test, on the debug builds the SDK tests made (run after them).
test-demo:
	$(PY_ENV) $(TARGET_DIR)/debug/event-engine run $(DEMO_APP) > $(TARGET_DIR)/demo.log 2>&1; \
	    status=$$?; cat $(TARGET_DIR)/demo.log; test $$status -eq 0
	grep -q "collector      finished; 20000 event(s): Reply.c: 5000, Reply.cpp: 5000, Reply.node: 5000, Reply.python: 5000" $(TARGET_DIR)/demo.log

# The Rust-only counter example (examples/rust/counter.rs).
demo-rust:
	$(CARGO) run --release -p event-engine --example counter

test: lint test-rust test-curve bench-smoke test-c test-python test-node test-demo test-docs test-dist

# Every code block of README.md and the guides, run as written (tests/doc_snippets.py), on the
# debug builds the SDK tests made (run after them).
test-docs: $(PY)
	$(CARGO) build -p event-engine-cli -p doc-snippets
	$(PY_ENV) TARGET_DIR="$(abspath $(TARGET_DIR))" $(PY) tests/doc_snippets.py

test-rust:
	$(CARGO) test --workspace

# The CURVE build (docs/security.md): the engine and client crates linked against the system's
# libzmq (Debian's libzmq3-dev, built with libsodium) instead of the one zmq-sys compiles without
# CURVE. Cargo's build-script override for `links = "zmq"` replaces zmq-sys's build script, so
# nothing is vendored and the default build needs no system package. In a target dir of its own
# (the override changes zmq-sys's fingerprint: sharing one, each build would redo the other's).
# Only these crates: a CURVE build of the whole workspace would double CI's time.
HOST_TRIPLE := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
CURVE_TARGET_DIR ?= $(TARGET_DIR)/curve
CURVE_CARGO = CARGO_TARGET_DIR=$(CURVE_TARGET_DIR) $(CARGO) \
    --config 'target.$(HOST_TRIPLE).zmq.rustc-link-lib=["zmq"]'
CURVE_CRATES := -p event-engine -p event-engine-client

build-curve:
	$(CURVE_CARGO) build $(CURVE_CRATES)

# The event-engine command in the CURVE build ($(CURVE_TARGET_DIR)/release/event-engine): what
# `event-engine keygen` and CURVE ports in app.toml need. Not part of `make test` (it compiles
# the NATS bridge's dependencies once more).
build-curve-cli:
	$(CURVE_CARGO) build --release -p event-engine-cli

# The external-plugin table of the benchmarks with a CURVE row (not part of CI).
bench-curve:
	$(CURVE_CARGO) run --release -p event-engine-bench -- --only out

# The CURVE tests (crates/event-engine/tests/curve.rs) in that build, where skipping is an error
# (EE_REQUIRE_CURVE=1), and the unit tests of the key handling.
test-curve:
	EE_REQUIRE_CURVE=1 $(CURVE_CARGO) test $(CURVE_CRATES) --lib --test curve

# The Node.js SDK (bindings/node): a debug build of the addon (it reuses what test-rust built)
# and of the engine, then node:test against the real engine. The interoperability test's Python
# plugin is raw pyzmq: it runs on the Python SDK's virtualenv, which has it.
test-node: $(PY)
	$(CARGO) build -p event-engine-cli
	cd bindings/node && EVENT_ENGINE_NODE_PROFILE=debug $(NPM) ci --no-audit --no-fund
	cd bindings/node && PYTHON="$(abspath $(PY))" EE_ENGINE_BIN=$(TARGET_DIR)/debug/event-engine $(NPM) test

# Node.js SDK throughput (release builds; not part of CI). Results: docs/benchmarks.md.
bench-node:
	$(CARGO) build --release -p event-engine-cli
	$(CARGO) build --release -p event-engine-node --example raw_sub
	cd bindings/node && EVENT_ENGINE_NODE_PROFILE=release $(NPM) ci --no-audit --no-fund
	cd bindings/node && EE_ENGINE_BIN=$(TARGET_DIR)/release/event-engine EE_RAW_SUB_BIN=$(TARGET_DIR)/release/examples/raw_sub node bench/bench.js

$(PY):
	$(PYTHON) -m venv $(PY_VENV)
	$(PY) -m pip install -q --disable-pip-version-check "maturin>=1.5,<2" "pytest>=7" "pyzmq>=22" "mypy>=1" "vermin>=1.6" "tomli>=2; python_version < '3.11'"

python-env: $(PY)

test-python: $(PY)
	$(CARGO) build -p event-engine-cli
	$(PY_ENV) MATURIN_PEP517_ARGS="--profile dev" $(PY) -m pip install -q --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps ./pyevents
	EE_ENGINE_BIN="$(abspath $(TARGET_DIR)/debug/event-engine)" $(PY) -m pytest -q pyevents/tests
	@# The plain-pyzmq v1 client of the tests is what 0.2 users run on Python 3.8: keep it 3.8-clean.
	$(PY) -m pip install -q --disable-pip-version-check "vermin>=1.6"
	$(PY_VENV)/bin/vermin --no-tips --violations -t=3.8- pyevents/tests/v1_client.py pyevents/tests/pipeline/late.py

bench-python: $(PY)
	$(CARGO) build --release -p event-engine-cli
	$(PY_ENV) $(PY) -m pip install -q --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps ./pyevents
	EE_ENGINE_BIN="$(abspath $(TARGET_DIR)/release/event-engine)" $(PY) pyevents/bench/bench.py

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench:
	$(CARGO) run --release -p event-engine-bench

# libFuzzer (cargo-fuzz, nightly): `cargo install cargo-fuzz` and `rustup toolchain install
# nightly` first. The fuzz crate (fuzz/) is outside the workspace; its target dir is separate
# because it builds with sanitizers. Crashes are written to fuzz/artifacts/<target>/.
FUZZ_SECONDS ?= 300
FUZZ_TARGET_DIR ?= $(TARGET_DIR)/fuzz
FUZZ_TARGETS := wire_request engine_requests

fuzz:
	for t in $(FUZZ_TARGETS); do \
	    (cd fuzz && CARGO_TARGET_DIR=$(FUZZ_TARGET_DIR) $(CARGO) +nightly fuzz run $$t -- \
	        -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096) || exit 1; \
	done

# The same for a few seconds each.
fuzz-smoke:
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

bench-attacks: $(PY)
	$(CARGO) build --release -p event-engine-cli
	$(PY) crates/event-engine-bench/attacks.py $(TARGET_DIR)/release/event-engine

# A tiny run of the bench binary: it must work, its figures mean nothing.
bench-smoke:
	$(CARGO) run -p event-engine-bench -- --smoke

clean:
	$(CARGO) clean
	rm -f examples/c/counter examples/cpp/counter

# ---------------------------------------------------------------------------------------------
# C/C++ SDK. C_PROFILE=release (default) or debug (what test-c uses: it shares the build of
# `cargo test`). Cargo names the library libevent_engine_c (the engine crate owns
# libevent_engine); it is staged and installed as libevent_engine.so.$(C_VERSION) with the
# soname libevent_engine.so.0, and libevent_engine.a.

C_PROFILE ?= release
C_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
C_CARGO_FLAGS := $(if $(filter debug,$(C_PROFILE)),,--profile $(C_PROFILE))
C_OUT := $(TARGET_DIR)/c/$(C_PROFILE)
# The shared library build-c stages (dist-c gives the zig-built one).
C_SO ?= $(TARGET_DIR)/$(C_PROFILE)/libevent_engine_c.so
C_LIB := $(C_OUT)/lib
C_INCLUDE := bindings/c/include
C_STATIC_LIBS := -lstdc++ -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
# The same for the CMake package's static target (a CMake list; libc is linked anyway).
C_EMPTY :=
C_STATIC_LIBS_CMAKE := $(subst $(C_EMPTY) $(C_EMPTY),;,$(patsubst -l%,%,$(filter-out -lc,$(C_STATIC_LIBS))))
C_SOVERSION := $(firstword $(subst ., ,$(C_VERSION)))
C_SIZEOF_VOID_P := $(shell echo $$(( $$(getconf LONG_BIT) / 8 )))
C_CMAKE_DIR := $(DESTDIR)$(PREFIX)/lib/cmake/event_engine
C_CMAKE_SED := sed -e 's|@VERSION@|$(C_VERSION)|g' -e 's|@SOVERSION@|$(C_SOVERSION)|g' \
    -e 's|@STATIC_LIBS@|$(C_STATIC_LIBS_CMAKE)|g' -e 's|@SIZEOF_VOID_P@|$(C_SIZEOF_VOID_P)|g'
C_WARN := -Wall -Wextra -Werror -pedantic -g
C_LINK = -L$(C_LIB) -levent_engine -Wl,-rpath,$(abspath $(C_LIB)) -lpthread

build-c:
	$(CARGO) build $(C_CARGO_FLAGS) -p event-engine-c --lib
	mkdir -p $(C_LIB)
	cp -f $(C_SO) $(C_LIB)/libevent_engine.so.$(C_VERSION)
	ln -sf libevent_engine.so.$(C_VERSION) $(C_LIB)/libevent_engine.so.0
	ln -sf libevent_engine.so.0 $(C_LIB)/libevent_engine.so
	cp -f $(TARGET_DIR)/$(C_PROFILE)/libevent_engine_c.a $(C_LIB)/libevent_engine.a

header:
	EE_UPDATE_HEADER=1 $(CARGO) build -p event-engine-c --lib

install: build-c
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0755 $(C_LIB)/libevent_engine.so.$(C_VERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libevent_engine.so.$(C_VERSION) $(DESTDIR)$(PREFIX)/lib/libevent_engine.so.0
	ln -sf libevent_engine.so.0 $(DESTDIR)$(PREFIX)/lib/libevent_engine.so
	install -m 0644 $(C_LIB)/libevent_engine.a $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 $(C_INCLUDE)/event_engine.h $(C_INCLUDE)/event_engine.hpp $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(C_VERSION)|g' \
	    -e 's|@STATIC_LIBS@|$(C_STATIC_LIBS)|g' bindings/c/event_engine.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/event_engine.pc
	install -d $(C_CMAKE_DIR)
	$(C_CMAKE_SED) bindings/c/cmake/event_engineConfig.cmake.in > $(C_CMAKE_DIR)/event_engineConfig.cmake
	$(C_CMAKE_SED) bindings/c/cmake/event_engineConfigVersion.cmake.in \
	    > $(C_CMAKE_DIR)/event_engineConfigVersion.cmake

examples-c: build-c
	$(CC) -std=c99 $(C_WARN) -I$(C_INCLUDE) examples/c/counter.c -o examples/c/counter $(C_LINK)
	$(CXX) -std=c++17 $(C_WARN) -I$(C_INCLUDE) examples/cpp/counter.cpp -o examples/cpp/counter $(C_LINK)

# The tests are built against the debug library (the build `cargo test` already made), each
# test as C99 with gcc and as C++17 with g++, test_api also statically linked, and test_cpp (the
# C++ layer, event_engine.hpp) with g++ only; run.sh runs them plainly and under valgrind, the
# end-to-end ones through the Rust peer.
C_TESTS := test_api test_client test_host test_e2e test_sdk_cases
C_TEST_OUT := $(TARGET_DIR)/c/debug/tests
C_TEST_LINK := -L$(TARGET_DIR)/c/debug/lib -levent_engine -Wl,-rpath,$(abspath $(TARGET_DIR)/c/debug/lib) -lpthread

test-c:
	$(MAKE) --no-print-directory C_PROFILE=debug build-c examples-c
	$(CARGO) build -p event-engine-c --example rust_peer
	mkdir -p $(C_TEST_OUT)
	for t in $(C_TESTS); do \
	    $(CC) -std=c99 $(C_WARN) -I$(C_INCLUDE) bindings/c/tests/$$t.c -o $(C_TEST_OUT)/$$t-c $(C_TEST_LINK) || exit 1; \
	    $(CXX) -std=c++17 $(C_WARN) -I$(C_INCLUDE) -x c++ bindings/c/tests/$$t.c -x none -o $(C_TEST_OUT)/$$t-cpp $(C_TEST_LINK) || exit 1; \
	done
	$(CXX) -std=c++17 $(C_WARN) -I$(C_INCLUDE) bindings/c/tests/test_cpp.cpp -o $(C_TEST_OUT)/test_cpp $(C_TEST_LINK)
	$(CC) -std=c99 $(C_WARN) -I$(C_INCLUDE) bindings/c/tests/test_api.c -o $(C_TEST_OUT)/test_api-static \
	    $(TARGET_DIR)/c/debug/lib/libevent_engine.a $(C_STATIC_LIBS)
	rm -rf $(C_TEST_OUT)/prefix
	$(MAKE) --no-print-directory C_PROFILE=debug install PREFIX=$(abspath $(C_TEST_OUT))/prefix
	export PKG_CONFIG_PATH=$(abspath $(C_TEST_OUT))/prefix/lib/pkgconfig; \
	$(CC) -std=c99 $(C_WARN) examples/c/counter.c -o $(C_TEST_OUT)/counter-installed \
	    $$(pkg-config --cflags --libs event_engine) && \
	$(CXX) -std=c++17 $(C_WARN) examples/cpp/counter.cpp -o $(C_TEST_OUT)/counter-installed-static \
	    $$(pkg-config --cflags event_engine) $$(pkg-config --variable=libdir event_engine)/libevent_engine.a \
	    $$(pkg-config --static --libs-only-l event_engine | sed 's/-levent_engine//')
	@# The installed counter runs with no LD_LIBRARY_PATH: the .pc file's Libs carry the rpath.
	env -u LD_LIBRARY_PATH ldd $(C_TEST_OUT)/counter-installed | \
	    grep -F " => $(abspath $(C_TEST_OUT))/prefix/lib/libevent_engine.so.0 "
	@# The CMake package (lib/cmake/event_engine): examples/cpp/CMakeLists.txt with find_package.
	@# Shared: the build rpath names the prefix, so the binary finds the library with no
	@# LD_LIBRARY_PATH. Static (-DEE_STATIC=ON), from a copy of the prefix: the package is relocatable.
	rm -rf $(C_TEST_OUT)/cmake-build $(C_TEST_OUT)/cmake-build-static $(C_TEST_OUT)/prefix-moved
	$(CMAKE) -S examples/cpp -B $(C_TEST_OUT)/cmake-build -DCMAKE_CXX_COMPILER=$(CXX) \
	    -DCMAKE_PREFIX_PATH=$(abspath $(C_TEST_OUT))/prefix
	$(CMAKE) --build $(C_TEST_OUT)/cmake-build
	env -u LD_LIBRARY_PATH ldd $(C_TEST_OUT)/cmake-build/counter | \
	    grep -F " => $(abspath $(C_TEST_OUT))/prefix/lib/libevent_engine.so.0 "
	cp -a $(C_TEST_OUT)/prefix $(C_TEST_OUT)/prefix-moved
	$(CMAKE) -S examples/cpp -B $(C_TEST_OUT)/cmake-build-static -DCMAKE_CXX_COMPILER=$(CXX) \
	    -DCMAKE_PREFIX_PATH=$(abspath $(C_TEST_OUT))/prefix-moved -DEE_STATIC=ON
	$(CMAKE) --build $(C_TEST_OUT)/cmake-build-static
	grep -q "prefix-moved/lib/libevent_engine.a -lstdc++" $(C_TEST_OUT)/cmake-build-static/CMakeFiles/counter.dir/link.txt
	! ldd $(C_TEST_OUT)/cmake-build-static/counter | grep -q libevent_engine
	rm -rf $(C_TEST_OUT)/prefix-moved
	bindings/c/tests/run.sh $(C_TEST_OUT) $(TARGET_DIR)/debug/examples/rust_peer

# ---------------------------------------------------------------------------------------------
# Release artifacts in $(DIST_DIR), built in the `dist` profile (Cargo.toml: release without
# debug info). Everything native but the static C library is built ONCE, by zig for glibc 2.17
# with libc++ linked in, in $(TARGET_DIR)/$(DIST_TRIPLE)/dist: one `cargo build` for the CLI,
# the C library and the Node.js addon, then maturin for the wheel with the same compiler
# wrappers, so libzmq and the workspace are compiled once for all four. Every file needs at most
# GLIBC_2.17 and no libstdc++. The static C library is the exception: it is for g++ users, whose
# programs link libstdc++, so it is built by this machine's gcc (host, dist profile: libzmq and the
# C crate's dependencies once more), in a target dir of its own, $(DIST_HOST): with --target
# equal to the host, cargo links build scripts with the zig linker too, so sharing one dir, each
# build would redo the other's.

DIST_DIR ?= $(CURDIR)/dist
DIST_PLATFORM := linux-$(shell uname -m)
DIST_STAGE := $(TARGET_DIR)/dist-stage
DIST_C := event-engine-c-$(C_VERSION)-$(DIST_PLATFORM)
DIST_CLI := event-engine-$(C_VERSION)-$(DIST_PLATFORM)
STRIP ?= strip
# maturin's `zig cc` runs `python -m ziglang` of the venv; installed only for dist (50 MB).
PY_ZIG := $(PY_VENV)/.ziglang
DIST_ARCH := $(shell uname -m)
DIST_TRIPLE := $(DIST_ARCH)-unknown-linux-gnu
DIST_TRIPLE_ENV := $(subst -,_,$(DIST_TRIPLE))
DIST_OUT := $(TARGET_DIR)/$(DIST_TRIPLE)/dist
DIST_HOST := $(TARGET_DIR)/dist-host
# The compiler wrappers (`maturin zig cc/c++/ar` for glibc 2.17) and the environment that makes
# cargo, the cc crate and maturin use them for $(DIST_TRIPLE); build scripts stay host-built.
DIST_ZIG := $(TARGET_DIR)/dist-zig
DIST_ZIG_ENV = CC_$(DIST_TRIPLE_ENV)=$(DIST_ZIG)/cc CXX_$(DIST_TRIPLE_ENV)=$(DIST_ZIG)/c++ \
    AR_$(DIST_TRIPLE_ENV)=$(DIST_ZIG)/ar \
    CARGO_TARGET_$(shell echo $(DIST_TRIPLE_ENV) | tr a-z A-Z)_LINKER=$(DIST_ZIG)/cc
# What binding.js looks for: event-engine.linux-x64-gnu.node on x86-64.
DIST_NODE_ADDON = bindings/node/event-engine.linux-$(shell node -p process.arch)-gnu.node

dist: dist-python dist-node dist-c dist-cli
	@ls -l $(DIST_DIR)

$(PY_ZIG): | $(PY)
	$(PY) -m pip install -q --disable-pip-version-check "ziglang>=0.13,<1"
	touch $@

# The one zig build of the CLI, the C library (.so) and the Node.js addon.
dist-build: $(PY_ZIG)
	mkdir -p $(DIST_ZIG)
	for t in cc c++; do \
	    printf '#!/bin/sh\nexec "%s" zig %s -- -fno-sanitize=all -target %s "$$@"\n' \
	        "$(abspath $(PY_VENV))/bin/maturin" $$t $(DIST_ARCH)-linux-gnu.2.17 > $(DIST_ZIG)/$$t.new; \
	    cmp -s $(DIST_ZIG)/$$t.new $(DIST_ZIG)/$$t && rm $(DIST_ZIG)/$$t.new || mv $(DIST_ZIG)/$$t.new $(DIST_ZIG)/$$t; \
	done
	printf '#!/bin/sh\nexec "%s" zig ar -- "$$@"\n' "$(abspath $(PY_VENV))/bin/maturin" > $(DIST_ZIG)/ar
	chmod +x $(DIST_ZIG)/cc $(DIST_ZIG)/c++ $(DIST_ZIG)/ar
	$(PY_ENV) $(DIST_ZIG_ENV) $(CARGO) build --profile dist --target $(DIST_TRIPLE) \
	    -p event-engine-cli -p event-engine-c -p event-engine-node

# maturin without --zig (its own wrappers would be other compilers to cargo's fingerprints, and
# libzmq would be built again): ours, through the environment; maturin checks the manylinux2014
# policy (glibc symbol versions, allowed libraries) of the result.
dist-python: dist-build
	mkdir -p $(DIST_DIR)
	rm -f $(DIST_DIR)/pyevents-*.whl
	$(PY_ENV) $(DIST_ZIG_ENV) $(PY_VENV)/bin/maturin build --profile dist --target $(DIST_TRIPLE) --strip \
	    --compatibility manylinux2014 -m pyevents/Cargo.toml -o $(DIST_DIR)

# The addon, stripped, where binding.js loads it, packed with the package's files. The tarball's
# install script finds it and builds nothing.
dist-node: dist-build
	mkdir -p $(DIST_DIR)
	rm -f $(DIST_DIR)/event-engine-[0-9]*.tgz
	$(STRIP) --strip-debug -o $(DIST_NODE_ADDON).tmp $(DIST_OUT)/libevent_engine_node.so
	mv -f $(DIST_NODE_ADDON).tmp $(DIST_NODE_ADDON)
	cd bindings/node && $(NPM) pack --pack-destination $(DIST_DIR)

# `make install` into a staging prefix, with the zig-built .so and the host-built .a (C_PROFILE=dist);
# the .pc file's prefix is made relative to where it is (${pcfiledir}), so the archive works
# wherever it is unpacked (the CMake package already does).
dist-c: dist-build
	rm -rf $(DIST_STAGE)/c && mkdir -p $(DIST_STAGE)/c $(DIST_DIR)
	$(MAKE) --no-print-directory C_PROFILE=dist C_SO=$(DIST_OUT)/libevent_engine_c.so \
	    TARGET_DIR=$(DIST_HOST) CARGO_TARGET_DIR=$(DIST_HOST) \
	    install PREFIX=/$(DIST_C) DESTDIR=$(DIST_STAGE)/c
	$(STRIP) --strip-debug $(DIST_STAGE)/c/$(DIST_C)/lib/libevent_engine.so.$(C_VERSION) \
	    $(DIST_STAGE)/c/$(DIST_C)/lib/libevent_engine.a
	sed -i 's|^prefix=.*|prefix=$${pcfiledir}/../..|' $(DIST_STAGE)/c/$(DIST_C)/lib/pkgconfig/event_engine.pc
	install -m 0644 LICENSE $(DIST_STAGE)/c/$(DIST_C)/
	tar -C $(DIST_STAGE)/c -czf $(DIST_DIR)/$(DIST_C).tar.gz --owner=0 --group=0 $(DIST_C)

dist-cli: dist-build
	rm -rf $(DIST_STAGE)/cli && mkdir -p $(DIST_STAGE)/cli/$(DIST_CLI) $(DIST_DIR)
	install -m 0755 $(DIST_OUT)/event-engine $(DIST_STAGE)/cli/$(DIST_CLI)/
	$(STRIP) --strip-debug $(DIST_STAGE)/cli/$(DIST_CLI)/event-engine
	install -m 0644 LICENSE $(DIST_STAGE)/cli/$(DIST_CLI)/
	tar -C $(DIST_STAGE)/cli -czf $(DIST_DIR)/$(DIST_CLI).tar.gz --owner=0 --group=0 $(DIST_CLI)

# The artifacts installed as a user would, with no cargo or rustc on PATH (tests/dist_install.sh).
test-dist: dist
	DIST_DIR=$(DIST_DIR) tests/dist_install.sh
