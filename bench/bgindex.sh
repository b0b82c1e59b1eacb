#!/usr/bin/env bash
# Background indexing benchmark (issue 18): HTTP upsert throughput with the
# default HNSW collection, then search while the graph catches up.
#
#   bench/bgindex.sh [N] [DIM] [BATCH] [CONC]     (defaults 100000 384 256 4)
#   BIN=/path/to/semcode bench/bgindex.sh ...     (another build, e.g. main's)
#
# 1. bench/server_data.mjs: N x DIM clustered points, 64 queries, exact top-10.
# 2. build/semcode serve on a fresh store; PUT /collections/bench (Cosine,
#    default HNSW config); bench/server_load.mjs upserts the points in
#    batches of BATCH with CONC requests in flight (wait=true): points/s,
#    the server's CPU seconds and the client's. The client serializes every
#    request body before the clock starts (fair: this measures the server,
#    which still parses, validates, writes durably and answers after the
#    fsync); node still sends the ~391 MB and shares the cores.
# 3. bench/bgindex_probe.mjs, right after the last acknowledgement: 200
#    points' own vectors must come back first; then rounds of the 64 queries
#    until the collection is green: recall@10 and p50/p99 per round, status,
#    indexed_vectors_count, seconds to green.
# 4. kill -9 of the server, restart on the same store: seconds until it
#    answers, points_count.
# The peer (LanceDB) side of the upsert comparison is bench/server.sh's.
# Run it alone: flock /tmp/semcode-bench.lock bench/bgindex.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}; DIM=${2:-384}; BATCH=${3:-256}; CONC=${4:-4}
BIN=${BIN:-build/semcode}
. bench/server_lib.sh
bench_setup bgindex KILL

echo "== machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ); load average $(cut -d' ' -f1-3 /proc/loadavg); $BIN"
node bench/server_data.mjs "$TMP" "$N" "$DIM" 64 clustered >/dev/null
bench_serve_start
curl -sf -X PUT "$URL/collections/bench" -H 'content-type: application/json' \
  -d "{\"vectors\":{\"size\":$DIM,\"distance\":\"Cosine\"}}" >/dev/null
echo "== upsert $N x $DIM over HTTP (batches of $BATCH, $CONC in flight, wait=true)"
C0=$(bench_cpu_s)
node bench/server_load.mjs "$URL" bench "$N" "$DIM" "$BATCH" "$CONC" "$TMP/points.f32"
echo "   server CPU seconds for the load: $(awk -v a="$C0" -v b="$(bench_cpu_s)" 'BEGIN{print b - a}'); load average now $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== search right after the last acknowledgement and while the graph catches up"
node bench/bgindex_probe.mjs "$URL" bench "$TMP" "$N" "$DIM" 200
echo "== kill -9 and restart"
kill -KILL "$PID"; wait "$PID" 2>/dev/null || true
T0=$(date +%s.%N)
bench_serve_start
echo "   answering after $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b - a}') s; $(curl -sf "$URL/collections/bench" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s).result;console.log(`points_count ${r.points_count}, status ${r.status}, indexed_vectors_count ${r.indexed_vectors_count}`)})')"
