#!/usr/bin/env bash
# The whole cross-node measurement of docs/benchmarks.md ("Cluster: cross-node cost") with one
# build: run-cluster.sh with rooms of 4 on 1, 2 and 3 nodes (and one node without Redis), then
# the same message rate in rooms of 2 and of 8 on one node, which separates the CPU of a
# message taken in (u_in) from the CPU of each delivery (u_out).
#
# Usage: bench/run-cluster-all.sh [OUT]   (default OUT: a new temp dir; results in OUT/*/report.md)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$(mktemp -d /tmp/colachat-cluster-all.XXXXXX)}
mkdir -p "$out"
(cd "$here/.." && go build -o "$out/colachat" ./cmd/colachat)
export BIN=$out/colachat
OUT=$out/main ROOMS=250 CAPACITY=4 RATE=0.5 DURATION=20s CONFIGS="local 1 2 3" REPEAT=${REPEAT:-2} \
	IDLE_NODES=2 IDLE_CLIENTS="2000 8000" "$here/run-cluster.sh"
for cap in 2 8; do
	OUT=$out/fanout-$cap ROOMS=$((1000 / cap)) CAPACITY=$cap RATE=0.5 DURATION=20s CONFIGS="1" REPEAT=1 \
		IDLE_CLIENTS="" "$here/run-cluster.sh"
done
python3 "$here/cluster-report.py" --fanout "$out/fanout-2" "$out/main" "$out/fanout-8" | tee "$out/fanout.md"
echo "results: $out" >&2
