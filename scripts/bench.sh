#!/usr/bin/env bash
# Runs natter-bench against a natterd of its own: builds both, starts natterd
# in the background on a temporary data directory and a free port, runs the
# given profile (quick or full) with --server-pid, writes bench-results/, and
# stops natterd by its pid. Extra arguments go to natter-bench.
#   scripts/bench.sh quick            # what `make bench` runs
#   scripts/bench.sh full             # what `make bench-full` runs
#   NATTERD_BIN=/tmp/natterd-before scripts/bench.sh quick   # another build, side by side
set -euo pipefail
profile="${1:-quick}"
shift || true
build_dir="${BUILD_DIR:-build/release}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR=1
cmake --preset release >/dev/null 2>&1 || cmake --preset release
natterd_bin="${NATTERD_BIN:-$build_dir/natterd}"
targets=(natter-bench)
[ -n "${NATTERD_BIN:-}" ] || targets+=(natterd)
nice cmake --build "$build_dir" --target "${targets[@]}" -- -j"${BENCH_BUILD_JOBS:-2}"

data_dir="$(mktemp -d /tmp/natter-bench-data.XXXXXX)"
log="$data_dir/natterd.log"
"$natterd_bin" --data-dir "$data_dir" --port 0 --password-profile minimal \
  --requests-per-second 1000000 --request-burst 1000000 \
  --max-conversations-per-hour 1000000 --max-member-adds-per-hour 100000000 >"$log" 2>&1 &
natterd_pid=$!
cleanup() {
  if kill -0 "$natterd_pid" 2>/dev/null; then
    kill -TERM "$natterd_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$natterd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$natterd_pid" 2>/dev/null || true
  fi
  rm -rf "$data_dir"
}
trap cleanup EXIT

# natterd logs the port it picked; wait for it (bounded).
port=""
for _ in $(seq 100); do
  port="$(sed -nE 's/.*listening on http:\/\/127\.0\.0\.1:([0-9]+).*/\1/p' "$log" | head -n1)"
  [ -n "$port" ] && break
  kill -0 "$natterd_pid" 2>/dev/null || { echo "natterd exited:"; cat "$log"; exit 2; }
  sleep 0.1
done
[ -n "$port" ] || { echo "natterd did not report its port in 10 s"; cat "$log"; exit 2; }

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if ! git diff --quiet HEAD 2>/dev/null; then commit="$commit+dirty"; fi
mkdir -p bench-results
status=0
timeout "${BENCH_TIMEOUT:-3600}" "$build_dir/bench/natter-bench" --server "127.0.0.1:$port" \
  --server-pid "$natterd_pid" --server-data-dir "$data_dir" --profile "$profile" --commit "$commit" --out bench-results "$@" || status=$?
exit "$status"
