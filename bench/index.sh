#!/usr/bin/env bash
# Indexing and search benchmark of the product path (issue 8), on CPython's
# standard library (Debian libpython3.11-stdlib): cold index, no-change
# re-index, re-index after touching 10 files, disk bytes per entity, search
# latency in process (bench/repo_latency.c, 100 queries, the first 100 dev
# queries of CoSQA as realistic query text) and as CLI calls
# (bench/cli_latency.sh: p50 / p90 / p99 of 30 calls, CLI_CALLS=N).
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
python3 - "$WORK/queries.txt" <<'PY'
import json, sys
qs = json.load(open('../shared/benchmarks/cosqa/cosqa-retrieval-dev-500.json'))
open(sys.argv[1], 'w').write('\n'.join(q['doc'].replace('\n', ' ') for q in qs[:100]) + '\n')
PY
./build/bench/repo_latency "$STORE" "$WORK/queries.txt"
bash bench/cli_latency.sh ./build/semcode "$STORE" "$WORK/queries.txt" "${CLI_CALLS:-30}"
