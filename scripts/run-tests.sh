#!/usr/bin/env bash
# Runs every suite against the build in $1: unit tests, then integration tests
# that start real natterd processes on loopback with temporary data directories.
set -euo pipefail
build_dir="${1:-build/release}"
cd "$build_dir"
ctest --output-on-failure --timeout 600 -j2 -L unit
ctest --output-on-failure --timeout 600 -L integration
