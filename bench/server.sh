#!/usr/bin/env bash
# HTTP server benchmark (issue 9). Peer: none run here (see docs/BENCHMARKS.md).
#
#   bench/server.sh [N] [DIM] [SECONDS]     (defaults 100000 384 10)
#
# Starts build/semcode serve on a free loopback port with a temporary store,
# loads N x DIM pseudo-random points through the HTTP API (batches of 1000,
# Qdrant `batch` form, 2 requests in flight) and reports upsert points/s;
# then drives POST /points/query (limit 10, 64 rotating query vectors) with
# wrk at 1, 8 and 32 connections for SECONDS each, once through the default
# index (HNSW, built during the load) and once with params.exact = true.
# Prints requests/s and p50/p99 latency per run and the server's peak RSS
# (VmHWM). Run it alone: flock /tmp/semcode-bench.lock bench/server.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}; DIM=${2:-384}; SECS=${3:-10}
BIN=build/semcode
command -v wrk >/dev/null || { echo "bench: wrk missing (apt-get install wrk)"; exit 1; }
[ -x "$BIN" ] || { echo "bench: build first (make)"; exit 1; }
TMP=$(mktemp -d /tmp/semcode-bench-server.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

echo '{"max_body_bytes": 67108864}' > "$TMP/cfg.json"
"$BIN" serve --port 0 --port-file "$TMP/port" --store "$TMP/store" --config "$TMP/cfg.json" --log /dev/null \
  2>"$TMP/err" &
PID=$!
for _ in $(seq 1 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
URL="http://127.0.0.1:$(tr -d '\n' < "$TMP/port")"

echo "== machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(date -u +%Y-%m-%dT%H:%MZ)"
curl -sf -X PUT "$URL/collections/bench" -H 'content-type: application/json' \
  -d "{\"vectors\":{\"size\":$DIM,\"distance\":\"Cosine\"}}" >/dev/null
echo "== upsert $N x $DIM (batches of 1000, 2 in flight)"
node bench/server_load.mjs "$URL" bench "$N" "$DIM" 1000 2
curl -sf "$URL/collections/bench" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s).result;console.log(`   points_count ${r.points_count}, indexed_vectors_count ${r.indexed_vectors_count}`)})'

cat > "$TMP/query.lua" <<LUA
math.randomseed(7)
local bodies = {}
for i = 1, 64 do
  local v = {}
  for j = 1, $DIM do v[j] = string.format("%.4f", math.random() * 2 - 1) end
  bodies[i] = '{"query":[' .. table.concat(v, ",") .. '],"limit":10' .. os.getenv("EXTRA") .. '}'
end
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/collections/bench/points/query", {["Content-Type"] = "application/json"}, bodies[(n % 64) + 1])
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
}
echo "== search /points/query, limit 10, ${SECS}s per run (wrk)"
for c in 1 8 32; do run hnsw "" "$c"; done
for c in 1 8 32; do run exact ',"params":{"exact":true}' "$c"; done
echo "== server peak RSS: $(awk '/VmHWM/{print $2, $3}' /proc/$PID/status)"
