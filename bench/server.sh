#!/usr/bin/env bash
# HTTP and gRPC server benchmark (issues 9 and 18), semcode and a peer on the
# same data: the one command for the whole comparison.
#
#   bench/server.sh [N] [DIM] [SECONDS]     (defaults 100000 384 10)
#   BATCH=256 CONC=4 bench/server.sh ...    (upsert batch size and requests in flight)
#   PEER=none bench/server.sh ...           (semcode only)
#   INPROC=0 bench/server.sh ...            (without the in-process semcode column)
#   DATA=uniform bench/server.sh ...        (the uniform data of the first runs)
#
# 1. bench/server_data.mjs writes N x DIM points (default: a clustered
#    Gaussian mixture as bench/synth.h), 64 queries from the same
#    distribution and their exact cosine top-10 (ground truth) into a
#    temporary directory.
# 2. semcode over HTTP: starts build/semcode serve on a free loopback port
#    with a temporary store; creates the default HNSW collection (Cosine) and
#    loads the points through the HTTP API (Qdrant `batch` form, BATCH points
#    a request, default 256, CONC in flight, default 4, wait=true): upsert
#    points/s and the server's CPU seconds. The graph is built in the
#    background, so the collection is yellow after the load.
# 3. During background indexing: recall@10 of the 64 queries, then POST
#    /points/query (limit 10, the queries in rotation) with wrk at 1, 8 and
#    32 connections for SECONDS each; the status and indexed_vectors_count at
#    the end of each run are recorded (a run that ends green is marked).
# 4. Seconds from the last acknowledgement until the collection is green.
# 5. After green: recall@10 through the index and exactly, then wrk at 1, 8
#    and 32 connections through the index (HNSW) and with params.exact =
#    true; peak RSS of the server (VmHWM). The server is stopped.
# 6. semcode over gRPC: a fresh server and store, the same points loaded
#    with Qdrant's official @qdrant/js-client-grpc (no compression, same
#    BATCH and CONC, wait=true; bench/grpc_upsert.mjs): points/s, server CPU
#    seconds and peak RSS.
# 7. semcode in-process (bench/server_inproc.c): the same load, recall and
#    searches through the store API with 1, 8 and 32 calling threads.
# 8. peer: LanceDB's Node package IN-PROCESS (bench/peer/lancedb.mjs; no
#    HTTP), the same points, queries, limit and concurrencies; skipped with a
#    hint when bench/peer/node_modules is missing (npm ci --prefix bench/peer
#    --ignore-scripts --omit=optional).
# 9. bench/server_compare.mjs prints all side by side with the ratios.
# Run it alone: flock /tmp/semcode-bench.lock bench/server.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}; DIM=${2:-384}; SECS=${3:-10}; PEER=${PEER:-lancedb}; DATA=${DATA:-clustered}
BATCH=${BATCH:-256}; CONC=${CONC:-4}; INPROC=${INPROC:-1}
BIN=build/semcode
command -v wrk >/dev/null || { echo "bench: wrk missing (apt-get install wrk)"; exit 1; }
. bench/server_lib.sh
bench_setup server

# "STATUS INDEXED/POINTS" of the collection bench.
coll_state() {
  curl -sf "$URL/collections/bench" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s).result;console.log(`${r.status} ${r.indexed_vectors_count}/${r.points_count}`)})'
}

T_START=$(date +%s)
echo "== machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(date -u +%Y-%m-%dT%H:%MZ); commit $(git rev-parse --short HEAD 2>/dev/null || echo -); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== data: $N x $DIM points ($DATA), 64 queries, exact top-10 (bench/server_data.mjs)"
node bench/server_data.mjs "$TMP" "$N" "$DIM" 64 "$DATA"

bench_serve_start
curl -sf -X PUT "$URL/collections/bench" -H 'content-type: application/json' \
  -d "{\"vectors\":{\"size\":$DIM,\"distance\":\"Cosine\"}}" >/dev/null
echo "== semcode: upsert $N x $DIM over HTTP (batches of $BATCH, $CONC in flight, wait=true)"
C0=$(bench_cpu_s)
node bench/server_load.mjs "$URL" bench "$N" "$DIM" "$BATCH" "$CONC" "$TMP/points.f32" | tee "$TMP/semcode_load.json"
T_ACK=$(date +%s.%N)
awk -v a="$C0" -v b="$(bench_cpu_s)" 'BEGIN{print b - a}' > "$TMP/semcode_load_cpu"
echo "   server CPU seconds for the load: $(cat "$TMP/semcode_load_cpu"); collection: $(coll_state)"

cat > "$TMP/query.lua" <<LUA
local bodies = {}
for line in io.lines("$TMP/queries.txt") do
  bodies[#bodies + 1] = '{"query":' .. line .. ',"limit":10' .. os.getenv("EXTRA") .. '}'
end
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/collections/bench/points/query", {["Content-Type"] = "application/json"}, bodies[(n % #bodies) + 1])
end
LUA

run() { # label extra conns
  local out
  out=$(EXTRA="$2" wrk -t "$(( $3 < 2 ? 1 : 2 ))" -c "$3" -d "${SECS}s" --latency -s "$TMP/query.lua" "$URL" 2>&1)
  local rps p50 p99 errs state
  rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/{print $2}')
  p50=$(printf '%s\n' "$out" | awk '$1=="50%"{print $2}')
  p99=$(printf '%s\n' "$out" | awk '$1=="99%"{print $2}')
  errs=$(printf '%s\n' "$out" | awk '/Non-2xx/{print $4}')
  state=$(coll_state)
  printf '%-6s c=%-3s %10s req/s   p50 %-9s p99 %-9s %s %s\n' "$1" "$3" "$rps" "$p50" "$p99" "${errs:+non-2xx $errs}" \
    "$([ "$1" = during ] && echo "(at its end: $state)")"
  echo "$1 $3 $rps $p50 $p99 $state" >> "$TMP/semcode_runs.txt"
}
echo "== while the graph catches up: recall@10, then /points/query, limit 10, ${SECS}s per run (wrk)"
node bench/server_recall.mjs "$URL" bench "$TMP" "$TMP/semcode_recall_during.json"
for c in 1 8 32; do run during "" "$c"; done
echo "== waiting for green"
until [ "$(coll_state | cut -d' ' -f1)" = green ]; do sleep 0.5; done
awk -v a="$T_ACK" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f\n", b - a}' > "$TMP/semcode_green_s"
echo "   green $(cat "$TMP/semcode_green_s") s after the last acknowledgement: $(coll_state)"
echo "== after green: recall@10, then /points/query, limit 10, ${SECS}s per run (wrk)"
node bench/server_recall.mjs "$URL" bench "$TMP" "$TMP/semcode_recall.json"
for c in 1 8 32; do run hnsw "" "$c"; done
for c in 1 8 32; do run exact ',"params":{"exact":true}' "$c"; done
awk '/VmHWM/{print $2}' "/proc/$PID/status" > "$TMP/semcode_hwm"
echo "== server peak RSS: $(cat "$TMP/semcode_hwm") kB; load average $(cut -d' ' -f1-3 /proc/loadavg)"
kill -TERM "$PID" && wait "$PID" 2>/dev/null || true
PID=

echo "== semcode: upsert $N x $DIM over gRPC (official client, no compression; batches of $BATCH, $CONC in flight), fresh server and store"
rm -rf "$TMP/store"
bench_serve_start --grpc
SEMCODE_URL=$URL node bench/grpc_upsert.mjs grpc "$GRPC" "$PID" "$N" "$DIM" "$BATCH" "$CONC" 16 "$TMP/points.f32" \
  | tee "$TMP/semcode_grpc_load.json"
awk '/VmHWM/{print $2}' "/proc/$PID/status" > "$TMP/semcode_grpc_hwm"
echo "   server peak RSS: $(cat "$TMP/semcode_grpc_hwm") kB; load average $(cut -d' ' -f1-3 /proc/loadavg)"
kill -TERM "$PID" && wait "$PID" 2>/dev/null || true
PID=

if [ "$INPROC" = 1 ]; then
  echo "== semcode in-process (bench/server_inproc.c: store API, no HTTP), same data and queries"
  [ build/bench/server_inproc -nt bench/server_inproc.c ] || make -s -f bench/bench.mk build/bench/server_inproc >/dev/null
  build/bench/server_inproc "$TMP" "$N" "$DIM" "$SECS" "$TMP/inproc-store" "$TMP/inproc.json"
  rm -rf "$TMP/inproc-store"
fi

if [ "$PEER" = lancedb ]; then
  if [ -d bench/peer/node_modules/@lancedb/lancedb ]; then
    echo "== peer: LanceDB in-process (bench/peer/lancedb.mjs), same data and queries"
    node bench/peer/lancedb.mjs "$TMP" "$N" "$DIM" "$SECS" "$TMP/lance" "$TMP/peer.json" 2> >(grep -v ' WARN ' >&2)
    echo "== load average $(cut -d' ' -f1-3 /proc/loadavg)"
  else
    echo "== peer skipped: npm ci --prefix bench/peer --ignore-scripts --omit=optional"
  fi
fi
echo "== side by side (whole run $(( $(date +%s) - T_START )) s; load average $(cut -d' ' -f1-3 /proc/loadavg))"
node bench/server_compare.mjs "$TMP"
