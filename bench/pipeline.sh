#!/usr/bin/env bash
# Embedding pipeline throughput (issue 7): prepared texts of real functions
# (CPython's standard library, /usr/lib/python3.11, as `semcode parse`
# extracts them, in the index's text template) embedded through the
# provider API: the built-in model in process without a cache, with a cold
# and a warm cache, and the remote OpenAI-compatible path against a local
# `semcode serve` (its /v1/embeddings answers with the same built-in model)
# at concurrency 1, 4 and 16. Peer: the in-process rate of the same run (the
# remote path's overhead is the ratio). Timed runs hold
# /tmp/semcode-bench.lock (waiting at most LOCK_WAIT seconds, then running
# without it and saying so).
# usage: [BEFORE_BIN=driver] [LOCK_WAIT=s] bench/pipeline.sh [SRC_DIR] [N_TEXTS] [BATCH] [CALL]
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=${1:-/usr/lib/python3.11}
N=${2:-20000}
BATCH=${3:-64}
CALL=${4:-2048}
LOCK_WAIT=${LOCK_WAIT:-1200}
make -s -j2 all >/dev/null
make -s -f bench/bench.mk build/bench/pipeline >/dev/null
TMP=$(mktemp -d /tmp/semcode-bench-pipeline.XXXXXX)
SERVER=
cleanup() { [ -n "$SERVER" ] && kill -TERM "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

# Prepared texts: "<kind> <qualified name>", doc (<= 600 bytes), source
# (<= 1,500 bytes), path as words; functions and methods only; one per line.
{ build/semcode parse --json "$SRC" 2>/dev/null || true; } | python3 -c '
import json, re, sys
src, n = sys.argv[1], int(sys.argv[2])
cache, out = {}, 0
for line in sys.stdin:
    e = json.loads(line)
    if e.get("type") != "entity" or e["kind"] not in ("function", "method"):
        continue
    p = e["path"]
    if p not in cache:
        cache = {p: open(src + "/" + p, "rb").read()}
    code = cache[p][e["start_byte"]:e["end_byte"]][:1500].decode("utf-8", "ignore")
    doc = (e.get("doc") or "")[:600]
    words = " ".join(w for w in re.split(r"[^A-Za-z0-9]+", p) if w)
    t = "\n".join(x for x in (e["kind"] + " " + e["qualified_name"], doc, code, words) if x)
    print(t.replace("\\", "\\\\").replace("\n", "\\n"))
    out += 1
    if out == n:
        break
' "$SRC" "$N" > "$TMP/texts"

build/semcode serve --host 127.0.0.1 --port 0 --port-file "$TMP/port" --store "$TMP/store" --log "$TMP/log" 2>"$TMP/err" &
SERVER=$!
for _ in $(seq 1 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
URL="http://127.0.0.1:$(cat "$TMP/port")/v1"

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)"
echo "command: bench/pipeline.sh $SRC $N $BATCH $CALL"
# BEFORE_BIN: a second driver binary (e.g. linked with an older src/embed/remote.c) run in the same session.
run() {
  echo; echo "driver: build/bench/pipeline"
  SEMCODE_SERVER_PID=$SERVER build/bench/pipeline "$TMP/texts" models/builtin.scm "$URL" "$BATCH" "$CALL" "$TMP/cache.db" 1 4 16
  if [ -n "${BEFORE_BIN:-}" ]; then
    echo; echo "driver: $BEFORE_BIN"
    SEMCODE_SERVER_PID=$SERVER "$BEFORE_BIN" "$TMP/texts" models/builtin.scm "$URL" "$BATCH" "$CALL" "$TMP/cache.db" 1 4 16
  fi
}
exec 9>/tmp/semcode-bench.lock
if flock -w "$LOCK_WAIT" 9; then
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (bench lock held)"
  run
else
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (bench lock NOT held: another benchmark may be running)"
  run
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
