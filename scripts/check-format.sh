#!/usr/bin/env bash
# Fails when a C++ file of the repository differs from what .clang-format makes
# of it (clang-format-15); lists those files. `-i` formats them instead.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cc' '*.h')
if [ "${1:-}" = "-i" ]; then
  clang-format-15 -i "${files[@]}"
  exit 0
fi
if ! out=$(clang-format-15 --dry-run --Werror "${files[@]}" 2>&1); then
  echo "$out" | grep -oE '^[^: ]+\.(cc|h):[0-9]+' | cut -d: -f1 | sort -u | sed 's/^/not formatted (scripts\/check-format.sh -i): /'
  exit 1
fi
echo "format: ${#files[@]} files as .clang-format makes them"
