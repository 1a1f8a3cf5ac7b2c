#!/usr/bin/env bash
# Installs the release artifacts of `make dist` as a user would, with no cargo or rustc on PATH,
# and runs plugins against the dist engine binary:
#
#   1. the event-engine binary (tarball): --version, and `check` of every app below;
#   2. the wheel, into a fresh venv: a Python plugin (examples/python/counter.py);
#   3. the npm tarball, into a fresh npm project, offline: two plugins, one `require`d
#      (examples/node/counter.js) and one ES module (`import`);
#   4. the C/C++ archive, unpacked: examples/c/counter.c (gcc) and examples/cpp/counter.cpp (g++)
#      built through pkg-config, the C++ one also statically and through the CMake package.
#
# Each app is a generator of TypeA events, the plugins launched by `event-engine run`, and a
# collector that must get every answer. Install times are printed, and each native file's
# "floor": the newest glibc (and libstdc++) symbol version it needs; the wheel's, the addon's,
# the shared C library's and the binary's must be <= 2.17 (all are built with zig).
#
#   tests/dist_install.sh                        (run by `make test-dist`, after `make dist`)
#   DIST_DIR=dist EE_DIST_FROM_SOURCE=1 tests/dist_install.sh
#
# EE_DIST_FROM_SOURCE=1 also times `pip install ./pyevents` and `npm install ./bindings/node`
# (with cargo, each in its own cold CARGO_TARGET_DIR unless EE_DIST_SOURCE_TARGET names one) for
# comparison.
# EE_DIST_KEEP=1 keeps the scratch directory.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
DIST_DIR=$(cd "${DIST_DIR:-$REPO/dist}" && pwd)
N=${EE_DIST_EVENTS:-500}
ORIG_PATH=$PATH

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ee-dist-install.XXXXXX")
if [ "${EE_DIST_KEEP:-}" = 1 ]; then
    echo "dist_install: scratch directory $WORK (kept)"
else
    trap 'rm -rf "$WORK"' EXIT
fi

fail() { echo "dist_install: FAIL: $*" >&2; exit 1; }
step() { echo; echo "=== dist_install: $*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
one() { # the one file matching a glob, else fail
    local matches=( $1 )
    [ ${#matches[@]} -eq 1 ] && [ -e "${matches[0]}" ] || fail "expected one $1, found: ${matches[*]}"
    echo "${matches[0]}"
}
size() { du -h "$1" | cut -f1; }
# The newest glibc (and libstdc++) symbol versions a binary needs: the oldest system it runs on.
floor() {
    local syms; syms=$(objdump -T "$1")
    local c cxx
    c=$(grep -oE 'GLIBC_[0-9.]+' <<< "$syms" | sort -uV | tail -n 1)
    cxx=$(grep -oE 'GLIBCXX_[0-9.]+' <<< "$syms" | sort -uV | tail -n 1 || true)
    echo "${c:-none}${cxx:+ $cxx}"
}
# Prints the floor of $2 (named $1) and fails if it needs more than glibc 2.17, or libstdc++.
check_floor() {
    local f; f=$(floor "$2")
    echo "dist_install: FLOOR $1: $f"
    case $f in
        GLIBC_2.1[0-7]|GLIBC_2.[0-9]) ;;
        *) fail "$1 needs $f (more than glibc 2.17, or libstdc++)" ;;
    esac
}

# Runs app.toml in $1 with the dist engine; every expected line ($2...) must be in its report.
run_app() {
    local dir=$1; shift
    "$ENGINE" check "$dir/app.toml" || fail "event-engine check $dir/app.toml"
    local status=0
    (cd "$dir" && timeout 120 "$ENGINE" run app.toml) > "$dir/run.log" 2>&1 || status=$?
    cat "$dir/run.log"
    [ $status -eq 0 ] || fail "event-engine run $dir/app.toml exited $status"
    for expected in "$@"; do
        grep -qF -- "$expected" "$dir/run.log" || fail "'$expected' is not in the report of $dir/app.toml"
    done
}

WHEEL=$(one "$DIST_DIR/pyevents-*.whl")
TGZ=$(one "$DIST_DIR/event-engine-[0-9]*.tgz")
C_TAR=$(one "$DIST_DIR/event-engine-c-*-linux-*.tar.gz")
CLI_TAR=$(one "$DIST_DIR/event-engine-[0-9]*-linux-*.tar.gz")
echo "dist_install: artifacts in $DIST_DIR:"
for f in "$WHEEL" "$TGZ" "$C_TAR" "$CLI_TAR"; do printf '  %6s  %s\n' "$(size "$f")" "$(basename "$f")"; done
case $(basename "$WHEEL") in
    *-cp39-abi3-*manylinux2014_"$(uname -m)"*) ;;
    *) fail "the wheel is not abi3 cp39 manylinux2014: $(basename "$WHEEL")" ;;
esac

# No Rust toolchain from here on: drop every PATH entry that has cargo or rustc.
clean_path=
IFS=: read -r -a path_dirs <<< "$PATH"
for d in "${path_dirs[@]}"; do
    [ -n "$d" ] || continue
    if [ -e "$d/cargo" ] || [ -e "$d/rustc" ]; then continue; fi
    clean_path=${clean_path:+$clean_path:}$d
done
export PATH=$clean_path
unset CARGO RUSTC RUSTUP_TOOLCHAIN CARGO_TARGET_DIR CARGO_HOME RUSTUP_HOME CARGO_BUILD_TARGET
if command -v cargo >/dev/null || command -v rustc >/dev/null; then
    fail "cargo or rustc is still on PATH ($(command -v cargo rustc | tr '\n' ' '))"
fi
echo "dist_install: cargo and rustc are not on PATH"

step "the event-engine binary"
tar -C "$WORK" -xzf "$CLI_TAR"
ENGINE=$(one "$WORK/event-engine-[0-9]*-linux-*/event-engine")
check_floor event-engine "$ENGINE"
version=$("$ENGINE" --version)
echo "$version"
want=$(basename "$CLI_TAR" | sed -n 's/^event-engine-\([0-9][^-]*\)-linux-.*/\1/p')
case $version in *"$want"*) ;; *) fail "--version says '$version', the archive is $want" ;; esac

step "the wheel: pip install into a fresh venv"
python3 -m venv "$WORK/venv"
t=$(now)
"$WORK/venv/bin/python" -m pip install -q --disable-pip-version-check --no-index "$WHEEL"
echo "dist_install: TIME pip install of the wheel: $(elapsed "$t") s"
native=$(one "$WORK/venv/lib/python3*/site-packages/pyevents/_native*.so")
check_floor "the wheel's $(basename "$native")" "$native"
"$WORK/venv/bin/python" -c 'import pyevents, sys; print("pyevents", pyevents.__file__)'
mkdir "$WORK/python"
cp "$REPO/examples/python/counter.py" "$WORK/python/"
cat > "$WORK/python/app.toml" <<EOF
[[generators]]
name = "producer"
count = $N
event = "TypeAThis is message {i}"

[[plugins]]
name = "python"
subscriptions = ["TypeA"]
[plugins.run]
command = ["$WORK/venv/bin/python", "counter.py"]
env = { EE_COUNT = "$N" }

[[collectors]]
name = "collector"
subscriptions = ["TypeB"]
count = $N
EOF
run_app "$WORK/python" "collector      finished; $N event(s)" "python         finished; process exit 0"

step "the npm tarball: npm install into a fresh project (offline)"
mkdir "$WORK/node"
cat > "$WORK/node/package.json" <<'EOF'
{ "name": "ee-dist-test", "version": "1.0.0", "private": true }
EOF
t=$(now)
(cd "$WORK/node" && npm install --offline --no-audit --no-fund --loglevel=error "$TGZ")
echo "dist_install: TIME npm install of the tarball: $(elapsed "$t") s"
pkg=$WORK/node/node_modules/event-engine
ls "$pkg"/event-engine.*.node >/dev/null 2>&1 || fail "no prebuilt addon in $pkg"
[ ! -e "$pkg/Cargo.toml" ] || fail "the tarball carries Rust sources"
addon=$(one "$pkg/event-engine.*.node")
check_floor "the npm addon" "$addon"
# The install script (whether or not this npm ran it) takes the prebuilt addon and builds nothing.
(cd "$pkg" && node scripts/build.js) || fail "the installed package's install script fails without cargo"
cp "$REPO/examples/node/counter.js" "$WORK/node/counter.cjs"
cat > "$WORK/node/counter.mjs" <<'EOF'
// The counter as an ES module: the package's "import" entry.
import { Plugin } from 'event-engine';

const count = Number(process.env.EE_COUNT);
const reply = process.env.EE_REPLY_TYPE;
const plugin = await Plugin.connect(); // launched by `event-engine run`
let answered = 0;
for await (const event of plugin) {
  await plugin.publish(`${reply}${event.length - 5}`);
  if (++answered === count) break;
}
await plugin.quit();
console.log(`counter.mjs: answered ${answered} events`);
EOF
cat > "$WORK/node/app.toml" <<EOF
[[generators]]
name = "producer"
count = $N
event = "TypeAThis is message {i}"

[[plugins]]
name = "cjs"
subscriptions = ["TypeA"]
[plugins.run]
command = ["node", "counter.cjs"]
env = { EE_COUNT = "$N", EE_REPLY_TYPE = "Reply.cjs:" }

[[plugins]]
name = "esm"
subscriptions = ["TypeA"]
[plugins.run]
command = ["node", "counter.mjs"]
env = { EE_COUNT = "$N", EE_REPLY_TYPE = "Reply.esm:" }

[[collectors]]
name = "collector"
subscriptions = ["Reply.cjs:", "Reply.esm:"]
count = $((2 * N))
EOF
run_app "$WORK/node" "collector      finished; $((2 * N)) event(s): Reply.cjs: $N, Reply.esm: $N" \
    "cjs            finished; process exit 0" "esm            finished; process exit 0"

step "the C/C++ archive: unpacked, examples built with pkg-config and CMake"
mkdir "$WORK/unpacked" "$WORK/c"
tar -C "$WORK/unpacked" -xzf "$C_TAR"
CDIR=$(one "$WORK/unpacked/event-engine-c-*")
for f in lib/libevent_engine.so lib/libevent_engine.so.0 lib/libevent_engine.a include/event_engine.h \
         include/event_engine.hpp lib/pkgconfig/event_engine.pc lib/cmake/event_engine/event_engineConfig.cmake \
         lib/cmake/event_engine/event_engineConfigVersion.cmake; do
    [ -e "$CDIR/$f" ] || fail "$f is not in $(basename "$C_TAR")"
done
check_floor libevent_engine.so "$CDIR/lib/libevent_engine.so"
readelf -d "$CDIR/lib/libevent_engine.so" | grep -qF '[libevent_engine.so.0]' || fail "no soname libevent_engine.so.0"
export PKG_CONFIG_PATH=$CDIR/lib/pkgconfig
echo "pkg-config: $(pkg-config --cflags --libs event_engine)"
gcc -std=c99 -Wall -Wextra -Werror -pedantic "$REPO/examples/c/counter.c" -o "$WORK/c/counter-c" \
    $(pkg-config --cflags --libs event_engine)
g++ -std=c++17 -Wall -Wextra -Werror -pedantic "$REPO/examples/cpp/counter.cpp" -o "$WORK/c/counter-cpp" \
    $(pkg-config --cflags --libs event_engine)
g++ -std=c++17 -Wall -Wextra -Werror "$REPO/examples/cpp/counter.cpp" -o "$WORK/c/counter-static" \
    $(pkg-config --cflags event_engine) "$(pkg-config --variable=libdir event_engine)/libevent_engine.a" \
    $(pkg-config --static --libs-only-l event_engine | sed 's/-levent_engine//')
for b in counter-c counter-cpp; do
    env -u LD_LIBRARY_PATH ldd "$WORK/c/$b" | grep -F "libevent_engine.so.0 => $CDIR/lib/" \
        || fail "$b does not find libevent_engine.so.0 in the unpacked archive"
done
! ldd "$WORK/c/counter-static" | grep -q libevent_engine || fail "counter-static links libevent_engine.so"
cmake -S "$REPO/examples/cpp" -B "$WORK/c/cmake-build" -DCMAKE_PREFIX_PATH="$CDIR" > "$WORK/c/cmake.log" \
    || { cat "$WORK/c/cmake.log"; fail "cmake configure with the unpacked archive"; }
cmake --build "$WORK/c/cmake-build" > "$WORK/c/cmake-build.log" \
    || { cat "$WORK/c/cmake-build.log"; fail "cmake build"; }
cp "$WORK/c/cmake-build/counter" "$WORK/c/counter-cmake"
{
    cat <<EOF
[[generators]]
name = "producer"
count = $N
event = "TypeAThis is message {i}"
EOF
    for b in c cpp static cmake; do
        cat <<EOF

[[plugins]]
name = "$b"
subscriptions = ["TypeA"]
[plugins.run]
command = ["./counter-$b"]
env = { EE_COUNT = "$N", EE_REPLY_TYPE = "Reply.$b:" }
EOF
    done
    cat <<EOF

[[collectors]]
name = "collector"
subscriptions = ["Reply.c:", "Reply.cpp:", "Reply.static:", "Reply.cmake:"]
count = $((4 * N))
EOF
} > "$WORK/c/app.toml"
run_app "$WORK/c" "collector      finished; $((4 * N)) event(s): Reply.c: $N, Reply.cmake: $N, Reply.cpp: $N, Reply.static: $N"

if [ "${EE_DIST_FROM_SOURCE:-}" = 1 ]; then
    step "for comparison: installs from source (with cargo)"
    export PATH=$ORIG_PATH
    export CARGO_TARGET_DIR=${EE_DIST_SOURCE_TARGET:-$WORK/cargo-target-python}
    echo "dist_install: CARGO_TARGET_DIR=$CARGO_TARGET_DIR"
    python3 -m venv "$WORK/venv-src"
    t=$(now)
    "$WORK/venv-src/bin/python" -m pip install -q --disable-pip-version-check "$REPO/pyevents"
    echo "dist_install: TIME pip install ./pyevents (from source): $(elapsed "$t") s"
    mkdir "$WORK/node-src"
    cp "$WORK/node/package.json" "$WORK/node-src/"
    export CARGO_TARGET_DIR=${EE_DIST_SOURCE_TARGET:-$WORK/cargo-target-node}
    echo "dist_install: CARGO_TARGET_DIR=$CARGO_TARGET_DIR"
    t=$(now)
    (cd "$WORK/node-src" && npm install --no-audit --no-fund --loglevel=error "$REPO/bindings/node")
    echo "dist_install: TIME npm install ./bindings/node (from source): $(elapsed "$t") s"
fi

echo
echo "dist_install: OK"
