#!/usr/bin/env bash
# The Qdrant store backend at the scale of a real tree (issue 20): index and
# search of a source tree (default the whole CPython 3.11 standard library)
# through `--store qdrant://...` against `semcode serve` on loopback (the
# Qdrant-compatible server of this project; Qdrant itself cannot be installed
# here), next to the same tree indexed into the embedded store. Peer: the
# embedded store (same binary, same model, same tree).
# Prints, for each: index wall time, entities, the store's requests /
# retries / bytes sent and received (the backend's counters, SEMCODE_DEBUG),
# the server's store size; then Q queries (default 10, from bench/queries)
# in each of dense / keyword / hybrid as CLI calls: mean wall time per call,
# mean took_ms, and top-1 / top-10 agreement between the two stores.
# Usage: bash bench/qdrant_backend.sh [TREE=/usr/lib/python3.11] [Q=10]
# Results: docs/BENCHMARKS.md ("The Qdrant backend on the CPython library").
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=${1:-/usr/lib/python3.11}
Q=${2:-10}
BIN=$(realpath build/semcode)
[ -x "$BIN" ] || { echo "bench: build first (make)"; exit 1; }
WORK=$(mktemp -d /tmp/semcode-bench-qdrant.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
now() { date +%s.%N; }
echo "# $(date -u '+%Y-%m-%d %H:%M UTC')  $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
cp -r "$SRC" "$WORK/e"
cp -r "$SRC" "$WORK/q"
echo "tree: $SRC ($(find "$WORK/e" -type f | wc -l) files, $(du -sh "$WORK/e" | cut -f1))"

"$BIN" serve --host 127.0.0.1 --port 0 --port-file "$WORK/port" --store "$WORK/server" --log "$WORK/server.log" \
  2>"$WORK/server.err" &
PID=$!
for _ in $(seq 200); do [ -s "$WORK/port" ] && curl -sf "http://127.0.0.1:$(cat "$WORK/port")/readyz" >/dev/null && break; sleep 0.1; done
PORT=$(cat "$WORK/port")
URL="qdrant://127.0.0.1:$PORT/cpython"

# index: wall time, entities, the backend's counters (logged at close with SEMCODE_DEBUG)
index() { # NAME TREE [--store URL]
  local name=$1 tree=$2; shift 2
  local t0 t1
  t0=$(now)
  SEMCODE_DEBUG=1 "$BIN" index --json "$@" "$tree" >"$WORK/$name.json" 2>"$WORK/$name.err" ||
    { echo "bench: index into $name failed:"; tail -5 "$WORK/$name.err"; exit 1; }
  t1=$(now)
  python3 - "$WORK/$name.json" "$name" "$(echo "$t1 - $t0" | bc)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
st = d.get('seconds', {})
print(f"index {sys.argv[2]:9s} {float(sys.argv[3]):7.1f} s wall  {d['files']['parsed']} files, "
      f"{d['entities']['added']} entities; stages: parse {st.get('parse', 0):.1f} s, embed {st.get('embed', 0):.1f} s, "
      f"store {st.get('store', 0):.1f} s")
PY
  grep -o 'store qdrant://.*' "$WORK/$name.err" | tail -1 | sed 's/^/  /' || true
}
index embedded "$WORK/e"
index qdrant "$WORK/q" --store "$URL"
echo "  embedded store: $(du -sh "$WORK/e/.semcode" | cut -f1) (index folder, state and cache included);" \
  "server store: $(du -sh "$WORK/server" | cut -f1); the q tree's index folder: $(du -sh "$WORK/q/.semcode" | cut -f1)"
curl -s "http://127.0.0.1:$PORT/collections/cpython" |
  python3 -c "import json,sys; r=json.load(sys.stdin)['result']; print('  server collection:', r['points_count'], 'points, status', r['status'])"
t0=$(now); "$BIN" index --json "$WORK/q" >/dev/null 2>&1; t1=$(now)
printf '  no-change re-index through qdrant: %.1f s\n' "$(echo "$t1 - $t0" | bc)"

python3 - bench/queries/*.jsonl <<PY >"$WORK/queries.txt"
import json, sys
files = [[json.loads(l)['query'] for l in open(p) if l.strip()] for p in sorted(sys.argv[1:])]
out = []
for i in range(max(map(len, files))):
    out += [f[i].replace('\n', ' ') for f in files if i < len(f)]
print('\n'.join(out[:$Q]))
PY
for mode in dense keyword hybrid; do
  for side in e q; do
    : >"$WORK/$side.$mode"
    t0=$(now)
    while IFS= read -r qq; do
      (cd "$WORK/$side" && SEMCODE_DEBUG=1 "$BIN" search "$qq" --mode "$mode" --limit 10 --json 2>>"$WORK/$side.$mode.err" |
        tr -d '\n' >>"$WORK/$side.$mode"; echo >>"$WORK/$side.$mode")
    done <"$WORK/queries.txt"
    t1=$(now)
    echo "$(echo "($t1 - $t0) * 1000 / $Q" | bc)" >"$WORK/$side.$mode.wall"
  done
  python3 - "$WORK" "$mode" <<'PY2'
import json, re, sys
w, mode = sys.argv[1], sys.argv[2]
def load(side):
    out = []
    for l in open(f"{w}/{side}.{mode}"):
        d = json.loads(l)
        out.append({'took': d.get('took_ms', 0),
                    'hits': [r['path'] + ':' + str(r.get('qualified_name') or r.get('name')) for r in d['results']]})
    return out
e, q = load('e'), load('q')
top1 = sum(a['hits'][:1] == b['hits'][:1] for a, b in zip(e, q))
ov = sum(len(set(a['hits']) & set(b['hits'])) / max(1, len(a['hits'])) for a, b in zip(e, q)) / len(e)
reqs = sent = recv = 0
for line in open(f"{w}/q.{mode}.err"):
    m = re.search(r'(\d+) requests \((\d+) retries\), (\d+) bytes sent, (\d+) received', line)
    if m: reqs += int(m[1]); sent += int(m[3]); recv += int(m[4])
we, wq = (open(f"{w}/{s}.{mode}.wall").read().strip() for s in 'eq')
te = sum(x['took'] for x in e) / len(e); tq = sum(x['took'] for x in q) / len(q)
print(f"search {mode:7s} {len(e)} queries: embedded {we} ms/call (took {te:.1f} ms), qdrant {wq} ms/call (took {tq:.1f} ms); "
      f"qdrant {reqs / len(q):.1f} requests, {sent / len(q) / 1e3:.1f} kB sent, {recv / len(q) / 1e3:.1f} kB received per call; "
      f"top-1 same {top1}/{len(e)}, top-10 overlap {ov:.2f}")
PY2
done
echo "# end $(date -u '+%H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
