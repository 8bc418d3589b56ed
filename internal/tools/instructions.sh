#!/usr/bin/env bash
# Counts the instructions the fleet example executes to render N models
# (valgrind's callgrind), whole process. On this project's shared 2-core
# machines timings drift by 15% from hour to hour; instruction counts
# repeat to 0.3%, so a change to the render path is judged by them first
# (BENCHMARKS.md, "Rendering at 10,000 models").
#   usage: internal/tools/instructions.sh [MODELS] [BINARY...]
# With no binary it builds ./examples/fleet. Needs valgrind (apt install valgrind).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
models=${1:-10000}
shift || true
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind (apt install valgrind)" >&2; exit 2; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
bins=("$@")
if [ ${#bins[@]} -eq 0 ]; then
  (cd "$root" && go build -o "$work/fleet" ./examples/fleet)
  bins=("$work/fleet")
fi
for b in "${bins[@]}"; do
  ir=""
  # Go's signals (async preemption, off here) can trip valgrind: a few tries.
  for try in 1 2 3 4; do
    GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$work/cg" "$b" -models "$models" >/dev/null 2>"$work/err" || true
    ir=$(awk '/Collected/ {print $4}' "$work/err")
    [ -n "$ir" ] && break
  done
  [ -n "$ir" ] || { echo "instructions.sh: valgrind failed on $b:" >&2; tail -5 "$work/err" >&2; exit 1; }
  printf '%s: %s instructions, %s a model (%s models)\n' "$b" "$ir" "$((ir / models))" "$models"
done
