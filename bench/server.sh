#!/usr/bin/env bash
# HTTP server benchmark (issue 9), semcode and a peer on the same data.
#
#   bench/server.sh [N] [DIM] [SECONDS]     (defaults 100000 384 10)
#   PEER=none bench/server.sh ...           (semcode only)
#   DATA=uniform bench/server.sh ...        (the uniform data of the first runs)
#
# 1. bench/server_data.mjs writes N x DIM points (default: a clustered
#    Gaussian mixture as bench/synth.h), 64 queries from the same
#    distribution and their exact cosine top-10 (ground truth) into a
#    temporary directory.
# 2. semcode: starts build/semcode serve on a free loopback port with a
#    temporary store; loads the points through the HTTP API (batches of 1000,
#    Qdrant `batch` form, 2 requests in flight, wait=true) and reports upsert
#    points/s and the server's CPU seconds for it; recall@10 of the 64 queries
#    through the index and exactly; then drives POST /points/query (limit 10,
#    the 64 queries in rotation) with wrk at 1, 8 and 32 connections for
#    SECONDS each, through the default index (HNSW, built during the load) and
#    with params.exact = true; requests/s, p50/p99 and peak RSS (VmHWM). The
#    server is stopped before the peer starts.
# 3. semcode in-process (bench/server_inproc.c): the same load, recall and
#    searches through the store API with 1, 8 and 32 calling threads.
# 4. peer: LanceDB's Node package IN-PROCESS (bench/peer/lancedb.mjs; no
#    HTTP), the same points, queries, limit and concurrencies; skipped with a
#    hint when bench/peer/node_modules is missing (npm ci --prefix bench/peer
#    --ignore-scripts --omit=optional).
# 5. bench/server_compare.mjs prints both side by side with the ratio.
# Run it alone: flock /tmp/semcode-bench.lock bench/server.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}; DIM=${2:-384}; SECS=${3:-10}; PEER=${PEER:-lancedb}; DATA=${DATA:-clustered}
BIN=build/semcode
command -v wrk >/dev/null || { echo "bench: wrk missing (apt-get install wrk)"; exit 1; }
. bench/server_lib.sh
bench_setup server

echo "== machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(date -u +%Y-%m-%dT%H:%MZ); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== data: $N x $DIM points ($DATA), 64 queries, exact top-10 (bench/server_data.mjs)"
node bench/server_data.mjs "$TMP" "$N" "$DIM" 64 "$DATA"

bench_serve_start
curl -sf -X PUT "$URL/collections/bench" -H 'content-type: application/json' \
  -d "{\"vectors\":{\"size\":$DIM,\"distance\":\"Cosine\"}}" >/dev/null
echo "== semcode: upsert $N x $DIM over HTTP (batches of 1000, 2 in flight)"
C0=$(bench_cpu_s)
node bench/server_load.mjs "$URL" bench "$N" "$DIM" 1000 2 "$TMP/points.f32" | tee "$TMP/semcode_load.json"
awk -v a="$C0" -v b="$(bench_cpu_s)" 'BEGIN{print b - a}' > "$TMP/semcode_load_cpu"
echo "   server CPU seconds for the load: $(cat "$TMP/semcode_load_cpu")"
curl -sf "$URL/collections/bench" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s).result;console.log(`   points_count ${r.points_count}, indexed_vectors_count ${r.indexed_vectors_count}`)})'

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
  local rps p50 p99 errs
  rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/{print $2}')
  p50=$(printf '%s\n' "$out" | awk '$1=="50%"{print $2}')
  p99=$(printf '%s\n' "$out" | awk '$1=="99%"{print $2}')
  errs=$(printf '%s\n' "$out" | awk '/Non-2xx/{print $4}')
  printf '%-6s c=%-3s %10s req/s   p50 %-9s p99 %-9s %s\n' "$1" "$3" "$rps" "$p50" "$p99" "${errs:+non-2xx $errs}"
  echo "$1 $3 $rps $p50 $p99" >> "$TMP/semcode_runs.txt"
}
node bench/server_recall.mjs "$URL" bench "$TMP" "$TMP/semcode_recall.json"
echo "== search /points/query, limit 10, ${SECS}s per run (wrk)"
for c in 1 8 32; do run hnsw "" "$c"; done
for c in 1 8 32; do run exact ',"params":{"exact":true}' "$c"; done
awk '/VmHWM/{print $2}' "/proc/$PID/status" > "$TMP/semcode_hwm"
echo "== server peak RSS: $(cat "$TMP/semcode_hwm") kB; load average $(cut -d' ' -f1-3 /proc/loadavg)"
kill -TERM "$PID" && wait "$PID" 2>/dev/null || true
PID=

echo "== semcode in-process (bench/server_inproc.c: store API, no HTTP), same data and queries"
[ build/bench/server_inproc -nt bench/server_inproc.c ] || make -s -f bench/bench.mk build/bench/server_inproc >/dev/null
build/bench/server_inproc "$TMP" "$N" "$DIM" "$SECS" "$TMP/inproc-store" "$TMP/inproc.json"
rm -rf "$TMP/inproc-store"

if [ "$PEER" = lancedb ]; then
  if [ -d bench/peer/node_modules/@lancedb/lancedb ]; then
    echo "== peer: LanceDB in-process (bench/peer/lancedb.mjs), same data and queries"
    node bench/peer/lancedb.mjs "$TMP" "$N" "$DIM" "$SECS" "$TMP/lance" "$TMP/peer.json" 2> >(grep -v ' WARN ' >&2)
    echo "== load average $(cut -d' ' -f1-3 /proc/loadavg)"
  else
    echo "== peer skipped: npm ci --prefix bench/peer --ignore-scripts --omit=optional"
  fi
fi
echo "== side by side"
node bench/server_compare.mjs "$TMP"
