#!/usr/bin/env bash
# Records ingestion benchmark (issue 16): end-to-end records per second of
# `semcode ingest jsonl` on N realistic issue records with comments
# (bench/gen_issues.py: varied templates of symptoms, steps, stack traces,
# code, 0-8 comments each), the built-in model, and peak memory. The whole
# path a tracker connector takes: parse, map, render the three templates,
# cut on token boundaries, embed content / summary / metadata, BM25 terms,
# atomic upserts with HNSW on content. JSON Lines stands for the connectors:
# the GitHub and Jira sources hand the writer the same records, their cost
# beyond it is the HTTP round trips (not measurable here: no real API).
# Measured, each step one process:
#   1. cold: every record into an empty store;
#   2. re-run: the same file again (nothing changed: hashes compared, no embedding);
#   3. search: one query --in issues on the full store (process start included).
# No peer: no other tool here ingests tracker records into a vector store.
# Usage: bash bench/records_ingest.sh [N (100000)]
# Runs under the shared benchmark lock (/tmp/semcode-bench.lock, waits up to
# LOCK_WAIT seconds, default 900, then runs without it and says so).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
LOCK_WAIT=${LOCK_WAIT:-900}
make -s -j2 all >/dev/null
BIN=$PWD/build/semcode
WORK=$(mktemp -d /tmp/semcode-bench-records-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
MAP='id=key,title=summary,body=description,author=reporter,date=created,updated=updated,state=status'
MAP+=',priority=priority,type=type,labels=labels,components=components,comments=comments[].body'

. bench/ingest_lib.sh

run() {
  machine
  python3 bench/gen_issues.py "$N" > "$WORK/issues.jsonl"
  local comments=$(python3 -c "import json,sys;print(sum(len(json.loads(l)['comments']) for l in open('$WORK/issues.jsonl')))")
  echo "data: $N issues, $comments comments, $(du -m "$WORK/issues.jsonl" | cut -f1) MiB of JSON Lines"

  read -r s kb < <(timed "$BIN" ingest jsonl "$WORK/issues.jsonl" --map "$MAP" --kind issue --store "$WORK/store" --json -q)
  local w=$(field written) e=$(field embedded)
  echo "cold: $w records ($e texts embedded) in ${s}s wall = $(echo "$w / $s" | bc) records/s; peak RSS $((kb / 1024)) MiB"

  read -r s kb < <(timed "$BIN" ingest jsonl "$WORK/issues.jsonl" --map "$MAP" --kind issue --store "$WORK/store" --json -q)
  echo "re-run (nothing changed): $(field unchanged) unchanged, $(field written) written in ${s}s wall = $(echo "$(field items) / $s" | bc) records/s; peak RSS $((kb / 1024)) MiB"

  read -r s kb < <(timed "$BIN" search "checkout retries forever when the upstream answers 503" --in issues --state open --store "$WORK/store" --json)
  echo "search --in issues --state open: ${s}s wall (process start and store open included), took_ms $(field took_ms); peak RSS $((kb / 1024)) MiB"
  echo "store: $(du -sm "$WORK/store" | cut -f1) MiB"
}

with_bench_lock run
