#!/usr/bin/env bash
# Snapshot cost of the embedded store: builds a store of N clustered points
# of dimension D with payloads and an HNSW graph (`semcode store-demo`),
# then times `semcode snapshot create` (file size), `semcode snapshot
# restore` into a fresh store (verify + insert + load, graph taken from the
# file), and the first open of the restored store. Peer: the same store's
# own files (du) and its build time; Qdrant's snapshot of a collection is a
# tar of its segments (no peer run here: Qdrant cannot be installed).
# INDEX=flat builds the store without its HNSW graph (store-demo --index
# flat): the 1,000,000-point run did not fit a session with the graph; the
# graph's part (its file, its load) is then measured at smaller N.
# Usage: [INDEX=flat] bench/snapshot.sh [N=100000] [D=128] [binary=build/semcode]
# Results: docs/BENCHMARKS.md ("Snapshots").
set -eu
n=${1:-100000}
d=${2:-128}
bin=$(realpath "${3:-build/semcode}")
dir=$(mktemp -d /tmp/semcode-bench-snap.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
now() { date +%s.%N; }
echo "# $(date -u '+%Y-%m-%d %H:%M UTC')  $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
t0=$(now); "$bin" store-demo --store src --points "$n" --dim "$d" --index "${INDEX:-auto}" >/dev/null; t1=$(now)
printf 'points %d  dim %d  index %s  build %.1f s  store %s (graph %s)\n' "$n" "$d" "${INDEX:-auto}" "$(echo "$t1 - $t0" | bc)" \
  "$(du -sh src | cut -f1)" "$(du -sh src/hnsw 2>/dev/null | cut -f1)"
t0=$(now); "$bin" snapshot create demo --store src --out snap.snapshot >/dev/null; t1=$(now)
printf 'snapshot create  %.2f s  %d bytes (%.1f bytes/point)\n' "$(echo "$t1 - $t0" | bc)" "$(stat -c %s snap.snapshot)" \
  "$(echo "$(stat -c %s snap.snapshot) / $n" | bc -l)"
t0=$(now); "$bin" snapshot restore snap.snapshot --store dst >/dev/null; t1=$(now)
printf 'snapshot restore %.2f s  (store %s)\n' "$(echo "$t1 - $t0" | bc)" "$(du -sh dst | cut -f1)"
t0=$(now); "$bin" snapshot list demo --store dst >/dev/null; t1=$(now)
printf 'reopen restored  %.2f s  (graph loaded, not rebuilt)\n' "$(echo "$t1 - $t0" | bc)"
