#!/usr/bin/env bash
# Runs natter-bench against a whole local cluster (scripts/cluster.sh: two
# PostgreSQL instances, three NATS servers, three natterd nodes, HAProxy),
# through HAProxy, with the nodes' CPU read from /proc, then stops the
# cluster. Default scenarios: direct and fanout (the cluster rows of
# docs/benchmarks.md). Extra arguments go to natter-bench.
#   scripts/bench-cluster.sh                     # quick profile, direct + fanout
#   scripts/bench-cluster.sh --scenario history  # other scenarios
set -euo pipefail
build_dir="${BUILD_DIR:-build/release}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR=1
cmake --preset release >/dev/null 2>&1 || cmake --preset release
nice cmake --build "$build_dir" --target natterd natter-bench -- -j"${BENCH_BUILD_JOBS:-2}"

state="$(mktemp -d /tmp/natter-bench-cluster.XXXXXX)"
chmod 755 "$state"  # PostgreSQL runs as its own user when we are root
export NATTER_CLUSTER_DIR="$state" NATTERD="$PWD/$build_dir/natterd"
export NATTER_CLUSTER_BASE_PORT="${NATTER_CLUSTER_BASE_PORT:-26000}"
export NATTER_CLUSTER_NATTERD_ARGS="--requests-per-second 1000000 --request-burst 1000000 --max-conversations-per-hour 1000000 --max-member-adds-per-hour 100000000"
cleanup() {
  scripts/cluster.sh stop >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT
scripts/cluster.sh start

proxy="$(scripts/cluster.sh env | sed -n 's|^PROXY_URL=http://||p')"
pids=()
for n in 1 2 3; do pids+=(--server-pid "$(scripts/cluster.sh env | sed -n "s/^NODE_${n}_PID=//p")"); done
scenarios=()
if ! printf '%s\n' "$@" | grep -q -- '--scenario'; then scenarios=(--scenario direct --scenario fanout); fi

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if ! git diff --quiet HEAD 2>/dev/null; then commit="$commit+dirty"; fi
mkdir -p bench-results/cluster
timeout "${BENCH_TIMEOUT:-3600}" "$build_dir/bench/natter-bench" --server "$proxy" "${pids[@]}" \
  --profile quick --commit "$commit" --out bench-results/cluster "${scenarios[@]}" "$@"
