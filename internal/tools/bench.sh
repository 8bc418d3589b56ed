#!/usr/bin/env bash
# Times the fleet example against helm template and cdk8s synth on the
# anchors' workload (../shared/anchors), at 1,000 and 10,000 models, and
# runs the Go benchmarks. See BENCHMARKS.md.
#   usage: internal/tools/bench.sh [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
anchors=${ANCHORS:-$root/../shared/anchors}
runs=${1:-5}
bin=$(mktemp -d)/fleet
trap 'rm -rf "$(dirname "$bin")"' EXIT
(cd "$root" && go build -o "$bin" ./examples/fleet)
"$anchors/compare.sh" -n 1000 -r "$runs" -- "$bin" -models '{N}'
"$anchors/compare.sh" -n 10000 -r "$runs" --no-cdk8s -- "$bin" -models '{N}'
(cd "$root" && go test -run XXX -bench . -benchmem ./examples/fleet/)
