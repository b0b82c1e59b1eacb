#!/usr/bin/env bash
# Indexing and search benchmark of the product path (issue 8), on CPython's
# standard library (Debian libpython3.11-stdlib): cold index, no-change
# re-index, re-index after touching 10 files, disk bytes per entity, search
# latency in process (bench/repo_latency.c, 100 queries) and as CLI calls
# (bench/cli_latency.sh: p50 / p90 / p99 of 30 calls, CLI_CALLS=N).
# The query texts are the first 100 of the written queries of bench/queries
# (every *.jsonl in name order, taken in turn), which ship with the
# repository; COSQA_DIR=DIR uses the first 100 dev queries of CoSQA instead
# (DIR/cosqa-retrieval-dev-500.json: what the runs recorded in
# docs/BENCHMARKS.md before 2026-12 used).
# Usage: bash bench/index.sh [SOURCE_TREE]
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=${1:-/usr/lib/python3.11}
make -s -j2 all >/dev/null
LIBS=$(make --no-print-directory -s -f Makefile -f bench/vars.mk print-LDLIBS)
mkdir -p build/bench
cc -std=c17 -D_GNU_SOURCE -O2 -Wall -Werror -Iinclude bench/repo_latency.c build/libsemcode.a $LIBS -o build/bench/repo_latency
WORK=$(mktemp -d /tmp/semcode-bench-index-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cp -r "$SRC" "$WORK/tree"
STORE="$WORK/store"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%F)"
echo "tree: $SRC ($(find "$WORK/tree" -type f | wc -l) files)"
t() { local s=$(date +%s.%N); "$@" > "$WORK/out.json"; echo "$(date +%s.%N) - $s" | bc; }
cold=$(t ./build/semcode index "$WORK/tree" --store "$STORE" --json)
ents=$(python3 -c "import json;d=json.load(open('$WORK/out.json'));print(d['entities']['added'])")
echo "cold index: ${cold}s wall, $ents entities, $(echo "$ents / $cold" | bc) entities/s"
again=$(t ./build/semcode index "$WORK/tree" --store "$STORE" --json)
echo "no-change re-index: ${again}s wall"
n=0
for f in $(find "$WORK/tree" -name '*.py' | sort | head -10); do
  printf '\n\ndef bench_added_%d(x):\n    """Return x plus one."""\n    return x + 1\n' $n >> "$f"; n=$((n+1))
done
ten=$(t ./build/semcode index "$WORK/tree" --store "$STORE" --json)
echo "10 changed files: ${ten}s wall ($(python3 -c "import json;d=json.load(open('$WORK/out.json'));print(d['files']['parsed'], 'parsed,', d['embeddings']['new'], 'embedded,', d['embeddings']['cached'], 'reused')"))"
bytes=$(du -sb "$STORE" | cut -f1)
echo "store: $bytes bytes, $(echo "$bytes / $ents" | bc) bytes per entity"
if [ -n "${COSQA_DIR:-}" ]; then
  [ -f "$COSQA_DIR/cosqa-retrieval-dev-500.json" ] ||
    { echo "bench/index.sh: COSQA_DIR=$COSQA_DIR has no cosqa-retrieval-dev-500.json (unset COSQA_DIR to use bench/queries)" >&2; exit 2; }
  echo "queries: the first 100 CoSQA dev queries ($COSQA_DIR)"
  python3 - "$WORK/queries.txt" "$COSQA_DIR/cosqa-retrieval-dev-500.json" <<'PY'
import json, sys
qs = json.load(open(sys.argv[2]))
open(sys.argv[1], 'w').write('\n'.join(q['doc'].replace('\n', ' ') for q in qs[:100]) + '\n')
PY
else
  echo "queries: 100 written queries of bench/queries (set COSQA_DIR for CoSQA's)"
  python3 - "$WORK/queries.txt" bench/queries/*.jsonl <<'PY'
import json, sys
files = [[json.loads(l)['query'] for l in open(p) if l.strip()] for p in sorted(sys.argv[2:])]
out = []
for i in range(max(map(len, files))):   # one query of each repository in turn
    out += [f[i].replace('\n', ' ') for f in files if i < len(f)]
open(sys.argv[1], 'w').write('\n'.join(out[:100]) + '\n')
PY
fi
./build/bench/repo_latency "$STORE" "$WORK/queries.txt"
bash bench/cli_latency.sh ./build/semcode "$STORE" "$WORK/queries.txt" "${CLI_CALLS:-30}"
