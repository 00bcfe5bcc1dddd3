#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-15, the `fuzz` preset) and runs each for
# a bounded time on a copy of its seed corpus in fuzz/corpus/. A crash, a leak,
# a sanitizer report or a timeout fails the run and keeps the input that did it.
#   scripts/fuzz.sh [seconds per target, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
work=$(mktemp -d /tmp/natter-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
failed=0
for corpus in fuzz/corpus/*/; do
  name=$(basename "$corpus")
  mkdir -p "$work/$name" "$work/$name-artifacts"
  echo "fuzz: $name for ${seconds}s"
  # New inputs go to the work copy; the seeds in the repository stay as they are.
  if ! "build/fuzz/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$work/$name-artifacts/" "$work/$name" "$corpus" \
       >"$work/$name.log" 2>&1; then
    failed=$((failed + 1))
    tail -n 60 "$work/$name.log"
    for a in "$work/$name-artifacts"/*; do
      [ -f "$a" ] || continue
      mkdir -p fuzz-failures && cp "$a" "fuzz-failures/$name-$(basename "$a")"
      echo "fuzz: $name failed on fuzz-failures/$name-$(basename "$a") ($(head -c 200 "$a" | od -An -c | head -3))"
    done
  else
    grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$work/$name.log" | sed "s/^/fuzz: $name /"
  fi
done
[ "$failed" -eq 0 ] || { echo "fuzz: $failed target(s) failed"; exit 1; }
echo "fuzz: every target ran ${seconds}s without a failure"
