#!/usr/bin/env bash
# Runs every suite against the build in $1: unit tests, then integration tests
# that start real natterd processes on loopback with temporary data directories.
set -euo pipefail
build_dir="${1:-build/release}"
# Sanitizer builds stop at their first report, so the test that caused it fails.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
# libvips' own threads synchronise where ThreadSanitizer cannot see (scripts/tsan.supp).
tsan_suppressions="$(cd "$(dirname "$0")" && pwd)/tsan.supp"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$tsan_suppressions}"
excluded=()
case "$build_dir" in
  *asan*|*tsan*)
    # Tests that bound memory allow for the sanitizer's own (ASan keeps freed
    # memory in quarantine, TSan keeps shadow memory for what was touched).
    case "$build_dir" in *asan*) export NATTER_SANITIZER=address ;; *) export NATTER_SANITIZER=thread ;; esac
    # test_client* and test_e2ee_client load libnatter into Python through ctypes, and the JVM
    # test into a JVM: a sanitized library cannot be loaded into a process
    # without its runtime. The release run covers them; sanitized natterd
    # (and natter CLI) processes serve every other suite.
    excluded=(-E 'integration\.(test_client(_hostile|_retention|_media_capi)?|test_e2ee_client)$|^jvm\.')
    ;;
esac
cd "$build_dir"
ctest --output-on-failure --timeout 600 -j2 -L unit
ctest --output-on-failure --timeout 600 -L integration ${excluded[@]+"${excluded[@]}"}
