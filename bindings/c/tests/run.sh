#!/usr/bin/env bash
# Runs the C SDK's tests (built by `make test-c`): every test binary (gcc C99, g++ C++17, and
# statically linked), the C++ layer's test_cpp, the end-to-end tests and the counter examples
# through the Rust peer, then the same under valgrind. Ends with "c-sdk: N passed, N failed"
# (checks summed over binaries; a binary that crashes, exits non-zero or reports a valgrind error
# counts as a failure).
#
#   bindings/c/tests/run.sh TEST_DIR RUST_PEER
set -u
dir=$1
peer=$2
here=$(cd "$(dirname "$0")" && pwd)
log_dir=$dir/logs
mkdir -p "$log_dir"
VALGRIND=(valgrind --quiet --error-exitcode=99 --leak-check=full
          --show-leak-kinds=definite,indirect,possible
          --errors-for-leak-kinds=definite,indirect,possible
          --suppressions="$here/valgrind.supp")
total_passed=0
total_failed=0
runs=0

# run NAME COMMAND...: runs one test binary and adds up its "N passed, N failed" lines.
run() {
    local name=$1
    shift
    local log="$log_dir/$name.log"
    local started=$SECONDS
    "$@" >"$log" 2>&1
    local rc=$?
    local passed=0 failed=0 p f
    while read -r p _ f _; do
        passed=$((passed + p))
        failed=$((failed + f))
    done < <(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$log")
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
        failed=1
    fi
    runs=$((runs + 1))
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    if [ "$failed" -eq 0 ]; then
        printf 'ok    %-40s %4d checks  %3ds\n' "$name" "$passed" $((SECONDS - started))
    else
        printf 'FAIL  %-40s exit %d, %d failed (log: %s)\n' "$name" "$rc" "$failed" "$log"
        sed 's/^/    | /' "$log" | tail -n 40
    fi
}

# Every function the header declares is called by at least one C test.
coverage() {
    local header="$here/../include/event_engine.h" f passed=0 failed=0
    for f in $(grep -E '^[a-z].*[ *]ee_[a-z0-9_]+\(' "$header" | sed -E 's/.*[ *](ee_[a-z0-9_]+)\(.*/\1/'); do
        if grep -q "\b$f(" "$here"/*.c; then
            passed=$((passed + 1))
        else
            echo "no C test calls $f"
            failed=$((failed + 1))
        fi
    done
    echo "coverage: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
run every-function-called coverage

# Every function the header declares is wrapped by the C++ layer (but ee_debug_panic, a test aid).
wrapped() {
    local header="$here/../include/event_engine.h" f passed=0 failed=0
    for f in $(grep -E '^[a-z].*[ *]ee_[a-z0-9_]+\(' "$header" | sed -E 's/.*[ *](ee_[a-z0-9_]+)\(.*/\1/'); do
        if [ "$f" = ee_debug_panic ] || grep -q "\b$f\b" "$here/../include/event_engine.hpp"; then
            passed=$((passed + 1))
        else
            echo "event_engine.hpp does not wrap $f"
            failed=$((failed + 1))
        fi
    done
    echo "wrapped: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
run every-function-wrapped wrapped

for lang in c cpp; do
    for t in test_api test_client test_host test_sdk_cases; do
        run "$t-$lang" "$dir/$t-$lang"
    done
    run "test_e2e-$lang" "$peer" --count 20 -- "$dir/test_e2e-$lang"
done
run test_cpp "$dir/test_cpp"
run test_api-static "$dir/test_api-static"
run counter-c "$peer" --count 5 -- examples/c/counter
run counter-cpp "$peer" --count 5 -- examples/cpp/counter
run counter-installed "$peer" --count 5 -- "$dir/counter-installed"
run counter-installed-static "$peer" --count 5 -- "$dir/counter-installed-static"

if [ "${EE_SKIP_VALGRIND:-0}" != 1 ]; then
    for lang in c cpp; do
        for t in test_api test_client test_host test_sdk_cases; do
            run "valgrind-$t-$lang" "${VALGRIND[@]}" "$dir/$t-$lang"
        done
        run "valgrind-test_e2e-$lang" "$peer" --count 20 -- "${VALGRIND[@]}" "$dir/test_e2e-$lang"
    done
    run valgrind-test_cpp "${VALGRIND[@]}" "$dir/test_cpp"
    run valgrind-counter-c "$peer" --count 5 -- "${VALGRIND[@]}" examples/c/counter
    run valgrind-counter-cpp "$peer" --count 5 -- "${VALGRIND[@]}" examples/cpp/counter
fi

echo "c-sdk: $runs runs"
echo "c-sdk: $total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
