#!/usr/bin/env bash
# Latency of `semcode search` as a CLI call (process start, store and model
# open, search, close), one call per query: p50, p90 and p99 (the slowest
# when fewer than 100 calls) of the wall time, and the mean CPU time.
# Usage: bash bench/cli_latency.sh SEMCODE STORE QUERIES.txt [N=30]
set -euo pipefail
BIN=$1 STORE=$2 QUERIES=$3 N=${4:-30}
head -n "$N" "$QUERIES" | while IFS= read -r q; do
  /usr/bin/time -f "%e %U %S" "$BIN" search --store "$STORE" "$q" -n 10 2>&1 >/dev/null | tail -1
done | sort -n | awk '{w[NR]=$1; c+=$2+$3} END {
  n = NR;
  i50 = int(0.50 * n + 0.5); if (i50 < 1) i50 = 1;
  i90 = int(0.90 * n + 0.5); if (i90 < 1) i90 = 1;
  i99 = int(0.99 * n + 0.5); if (i99 < 1) i99 = 1; if (i99 > n) i99 = n;
  printf "CLI search, %d calls: p50 %.2f s, p90 %.2f s, p99 %.2f s wall; CPU (user+sys) mean %.2f s\n", n, w[i50], w[i90], w[i99], c / n }'
