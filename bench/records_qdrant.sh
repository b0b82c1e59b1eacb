#!/usr/bin/env bash
# Development records in the Qdrant backend (issue 20): `semcode ingest git`
# of a REAL history (default: this repository's own, cloned) into the
# embedded store and through `--store qdrant://127.0.0.1:PORT/COLL` into a
# `semcode serve` on loopback (the Qdrant-compatible server: Qdrant itself
# cannot be installed here), then the same `search --in commits` queries
# against both. Measured, built-in model, each step one process:
#   1. cold ingest: wall time, peak RSS; on Qdrant the records' requests and
#      bytes (the "store" object of `ingest --json`);
#   2. no-op re-run (nothing new: the cursor, one read);
#   3. --full re-run (every commit read again, all unchanged: hash reads only);
#   4. ten queries (QUERIES below) in dense, keyword and
#      hybrid modes from an empty folder pointing at the Qdrant store
#      (another machine) and from the embedded one: wall per call, top-1
#      agreement, top-10 overlap.
# Usage: [SEMCODE_BIN=...] bash bench/records_qdrant.sh [GIT_REPO (this one)]
# Runs under the shared benchmark lock (/tmp/semcode-bench.lock, waits up to
# LOCK_WAIT seconds, default 900, then runs without it and says so).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=${1:-$PWD}
LOCK_WAIT=${LOCK_WAIT:-900}
# SEMCODE_BIN: a binary built already (nothing is built then)
if [ -z "${SEMCODE_BIN:-}" ]; then make -s -j2 all >/dev/null; fi
BIN=${SEMCODE_BIN:-$PWD/build/semcode}
WORK=$(mktemp -d /tmp/semcode-bench-recq-XXXXXX)
QUERIES=$WORK/queries.txt
cat > "$QUERIES" <<'Q'
qdrant backend cluster checks
snapshot restore under concurrent writes
HNSW graph vacuum after deletes
git ingestion of commits linked to code entities
tenant isolation of API keys
BM25 keyword search with sparse vectors
embedding cache for the remote provider
MCP server tools for code search
syntax highlighting in the web page
fix a leak found by AddressSanitizer
Q
SRV=
cleanup() {
  [ -n "$SRV" ] && kill -TERM "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

. bench/ingest_lib.sh

# one JSON field path of $WORK/out.json ("a.b"), or "-"
sub() { python3 -c "import json,functools;d=json.load(open('$WORK/out.json'));print(functools.reduce(lambda o,k:(o or {}).get(k),'$1'.split('.'),d) or '-')"; }

run() {
  machine
  git clone -q --no-hardlinks "$SRC" "$WORK/repo"
  local n=$(git -C "$WORK/repo" rev-list --count HEAD)
  echo "history: $SRC, $n commits on $(git -C "$WORK/repo" rev-parse --abbrev-ref HEAD)"
  "$BIN" serve --host 127.0.0.1 --port 0 --port-file "$WORK/port" --store "$WORK/server" --log "$WORK/server.log" \
    2>"$WORK/server.err" &
  SRV=$!
  for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
  local url="qdrant://127.0.0.1:$(cat "$WORK/port")/history"
  mkdir -p "$WORK/machine-b"

  for step in cold no-op full; do
    local extra=()
    [ "$step" = full ] && extra=(--full)
    read -r s kb < <(timed "$BIN" ingest git "$WORK/repo" --store "$WORK/emb" --json -q "${extra[@]}")
    echo "embedded $step: $(field commits_walked) read, $(field commits_written) written, $(field unchanged) unchanged in ${s}s wall; peak RSS $((kb / 1024)) MiB"
    read -r s kb < <(timed "$BIN" ingest git "$WORK/repo" --store "$url" --json -q "${extra[@]}")
    echo "qdrant   $step: $(field commits_walked) read, $(field commits_written) written, $(field unchanged) unchanged in ${s}s wall; peak RSS $((kb / 1024)) MiB; $(sub store.requests) requests, $(sub store.bytes_sent) B sent, $(sub store.bytes_received) B received"
  done
  echo "server records collection: $(curl -s "http://127.0.0.1:$(cat "$WORK/port")/collections/history_records" | python3 -c 'import json,sys;r=json.load(sys.stdin)["result"];print(r["points_count"],"points")'); server store $(du -sm "$WORK/server" | cut -f1) MB; embedded folder $(du -sm "$WORK/emb" | cut -f1) MB"

  for mode in dense keyword hybrid; do
    python3 - "$BIN" "$WORK" "$url" "$mode" "$QUERIES" <<'PY'
import json, subprocess, sys, time
bin_, work, url, mode, qfile = sys.argv[1:]
queries = [q.strip() for q in open(qfile) if q.strip() and not q.startswith('#')]
def ask(q, store, cwd):
    t = time.time()
    out = subprocess.run([bin_, 'search', q, '--in', 'commits', '--mode', mode, '--limit', '10', '--json', '--store', store],
                         cwd=cwd, capture_output=True, text=True, check=True).stdout
    return time.time() - t, json.loads(out)
we = wq = 0.0; te = tq = 0.0; top1 = 0; overlap = 0.0
for q in queries:
    s1, e = ask(q, work + '/emb', work + '/repo')
    s2, d = ask(q, url, work + '/machine-b')
    we += s1; wq += s2; te += e['took_ms']; tq += d['took_ms']
    a = [r['id'] for r in e['results']]; b = [r['id'] for r in d['results']]
    top1 += bool(a) and bool(b) and a[0] == b[0]
    overlap += len(set(a) & set(b)) / max(1, len(a))
n = len(queries)
print(f"{mode:8s} {n} queries: embedded {we / n * 1e3:.0f} ms/call ({te / n:.1f} ms took), "
      f"qdrant from machine B {wq / n * 1e3:.0f} ms/call ({tq / n:.1f} ms took); top-1 same {top1}/{n}, top-10 overlap {overlap / n:.2f}")
PY
  done
}

with_bench_lock run
