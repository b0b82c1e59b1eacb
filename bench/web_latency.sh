#!/usr/bin/env bash
# The web page's time to first result and page weight on the CPython index
# (issue 21): indexes the standard library (Debian libpython3.11-stdlib,
# /usr/lib/python3.11) into a temporary store, serves it with `semcode serve
# --repo`, and runs bench/web_latency.mjs in Debian's headless chromium over
# the first N queries of bench/queries (one of each repository in turn, as
# bench/index.sh). Needs chromium and node_modules (scripts/setup.sh).
# Usage: bash bench/web_latency.sh [N=50] [TREE=/usr/lib/python3.11]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-50} SRC=${2:-/usr/lib/python3.11}
bash scripts/ensure_debs.sh web_latency chromium libpython3.11-stdlib
make -s -j2 all >/dev/null
WORK=$(mktemp -d /tmp/semcode-bench-web-XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%F); $(/usr/bin/chromium --version 2>/dev/null)"
# WEB_BENCH_INDEX=DIR: an index of TREE made earlier (semcode index TREE --store DIR), reused
INDEX=${WEB_BENCH_INDEX:-$WORK/index}
[ -d "$INDEX" ] || ./build/semcode index "$SRC" --store "$INDEX" --quiet
echo "tree: $SRC, $(./build/semcode stats --store "$INDEX" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["entities"])') entities"
python3 - "$WORK/queries.txt" bench/queries/*.jsonl <<'PY'
import json, sys
files = [[json.loads(l)['query'] for l in open(p) if l.strip()] for p in sorted(sys.argv[2:])]
out = []
for i in range(max(map(len, files))):   # one query of each repository in turn
    out += [f[i].replace('\n', ' ') for f in files if i < len(f)]
open(sys.argv[1], 'w').write('\n'.join(out) + '\n')
PY
./build/semcode serve --host 127.0.0.1 --port 0 --port-file "$WORK/port" --store "$WORK/db" --repo "$SRC" \
  --repo-store "$INDEX" --log /dev/null 2>"$WORK/err" &
pid=$!
for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
flock -w 600 /tmp/semcode-bench.lock node bench/web_latency.mjs "http://127.0.0.1:$(cat "$WORK/port")" "$WORK/queries.txt" "$N"
