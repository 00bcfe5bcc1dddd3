#!/usr/bin/env bash
# What push costs durable sends: natter-bench's direct scenario (1:1 sends
# flat out, every user with an APNs token registered) against natterd without
# push and with push on (APNs and FCM pointed at the local stand-ins), the two
# alternating in one sitting, PUSH_BENCH_ROUNDS times each (3). Prints the
# acknowledged sends a second of each run, and what push costs by the
# medians and by the means.
#   scripts/bench-push.sh                 # quick sizes
#   scripts/bench-push.sh --pairs 200     # extra arguments go to natter-bench
set -euo pipefail
rounds="${PUSH_BENCH_ROUNDS:-3}"
build_dir="${BUILD_DIR:-build/release}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR=1
cmake --preset release >/dev/null 2>&1 || cmake --preset release
nice cmake --build "$build_dir" --target natterd natter-bench -- -j"${BENCH_BUILD_JOBS:-2}"

work="$(mktemp -d /tmp/natter-bench-push.XXXXXX)"
/usr/bin/python3 tests/integration/push_standins.py "$work" >"$work/standin-args" 2>"$work/standins.log" &
standins_pid=$!
natterd_pid=""
cleanup() {
  for pid in $natterd_pid $standins_pid; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do [ -s "$work/standin-args" ] && break; sleep 0.1; done
[ -s "$work/standin-args" ] || { echo "the push stand-ins did not start"; cat "$work/standins.log"; exit 2; }
read -r -a push_args <"$work/standin-args"

# One run: natterd (with the given extra flags) on a fresh data directory,
# natter-bench's direct scenario, natterd stopped; prints acknowledged msg/s.
run() {
  local name="$1"
  shift
  local data="$work/data-$name" log="$work/natterd-$name.log"
  mkdir -p "$data"
  "$build_dir/natterd" --data-dir "$data" --port 0 --password-profile minimal \
    --requests-per-second 1000000 --request-burst 1000000 \
    --max-conversations-per-hour 1000000 --max-member-adds-per-hour 100000000 "$@" >"$log" 2>&1 &
  natterd_pid=$!
  local port=""
  for _ in $(seq 100); do
    port="$(sed -nE 's/.*listening on http:\/\/127\.0\.0\.1:([0-9]+).*/\1/p' "$log" | head -n1)"
    [ -n "$port" ] && break
    kill -0 "$natterd_pid" 2>/dev/null || { echo "natterd exited:" >&2; cat "$log" >&2; exit 2; }
    sleep 0.1
  done
  [ -n "$port" ] || { echo "natterd did not report its port" >&2; exit 2; }
  "$build_dir/bench/natter-bench" --server "127.0.0.1:$port" --server-pid "$natterd_pid" --profile quick \
    --scenario direct --push-tokens --out "$work/out-$name" "${bench_args[@]}" >"$work/bench-$name.txt" 2>&1 ||
    { echo "natter-bench failed ($name):" >&2; cat "$work/bench-$name.txt" >&2; exit 2; }
  kill -TERM "$natterd_pid"
  wait "$natterd_pid" || true
  natterd_pid=""
  /usr/bin/python3 -c '
import glob, json, sys
report = json.load(open(glob.glob(sys.argv[1] + "/*.json")[0]))
print(round(report["scenarios"][0]["figures"]["flat_acked_per_s"]["value"]))' "$work/out-$name"
}

bench_args=("$@")
off=() on=()
for r in $(seq "$rounds"); do
  off+=("$(run "off-$r")")
  on+=("$(run "on-$r" "${push_args[@]}")")
  echo "round $r: push off ${off[-1]} msg/s, push on ${on[-1]} msg/s"
done
/usr/bin/python3 -c '
import statistics, sys
half = (len(sys.argv) - 1) // 2
off = [float(x) for x in sys.argv[1:1 + half]]
on = [float(x) for x in sys.argv[1 + half:]]
for name, average in (("median", statistics.median), ("mean", statistics.mean)):
    a_off, a_on = average(off), average(on)
    print(f"{name}: push off {a_off:.0f} msg/s, push on {a_on:.0f} msg/s: "
          f"push costs {100 * (1 - a_on / a_off):.1f}% of durable sends")
' "${off[@]}" "${on[@]}"
