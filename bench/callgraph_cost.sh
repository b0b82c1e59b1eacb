#!/usr/bin/env bash
# bench/callgraph_cost.sh [TREE EXT]...: call-site extraction cost relative
# to parsing (bench/callgraph_cost.c), one tree and file extension a pair.
# Default: CPython's Lib (py), Go's sources (go), npm semver (js), expat (c).
# RUNS (default 5) alternating runs, best of each kept; one thread.
# Run it under the shared lock: flock /tmp/semcode-bench.lock bench/callgraph_cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
make -s -f bench/bench.mk build/bench/callgraph_cost >/dev/null
Q=${QUERIES:-build/queries/repos}
[ -d "$Q" ] || Q=/work/main/build/queries/repos
if [ $# -eq 0 ]; then
  set -- /usr/lib/python3.11 py /usr/share/go-1.19/src go "$Q/semver" js "$Q/expat" c
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1 /proc/loadavg); $(date -u +%F)"
while [ $# -ge 2 ]; do
  echo "== $1 (*.$2)"
  find "$1" -name "*.$2" -type f | sort | build/bench/callgraph_cost "${RUNS:-5}"
  shift 2
done
