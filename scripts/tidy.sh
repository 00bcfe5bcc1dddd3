#!/usr/bin/env bash
# Runs clang-tidy-15 (.clang-tidy) over the project's own sources, with the
# compile commands of the release build; fails on any finding.
#   scripts/tidy.sh [files...]   (default: every .cc under src/, libnatter/, tools/, bench/)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/release/compile_commands.json ] || cmake --preset release >/dev/null
if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(git ls-files 'src/*.cc' 'libnatter/*.cc' 'tools/*.cc' 'bench/*.cc'); fi
printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy-15 -p build/release --quiet
