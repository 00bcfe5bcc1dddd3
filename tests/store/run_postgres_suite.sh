#!/usr/bin/env bash
# Runs the PostgreSQL instances of the store suites (inside
# scripts/with-postgres.sh) and fails unless they really ran: a filter that
# matches nothing must not pass.
set -euo pipefail
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$1" --gtest_filter='Postgres/*' 2>&1 | tee "$out"
ran=$(sed -n 's/^\[==========\] \([0-9]*\) tests\? from .* ran\..*/\1/p' "$out")
if [ -z "$ran" ] || [ "$ran" -lt 10 ]; then
  echo "expected the PostgreSQL store suites to run, ran: ${ran:-none}" >&2
  exit 1
fi
