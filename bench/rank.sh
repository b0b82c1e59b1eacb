#!/usr/bin/env bash
# Cost of the ranking stage (issue 14: <= 5 ms per query at 100,000
# entities) and search latency in process with it on: indexes a tree of
# about 100,000 entities (CPython's standard library, Go's and Rust's
# standard libraries, from Debian's libpython3.11-stdlib, golang-1.19-src
# and rust-src) and runs bench/repo_latency.c with the 435 written queries of
# bench/queries as query text (their texts only; nothing is scored or tuned
# here). Also the same on CPython's Lib alone (the issue's latency target).
# Usage: bash bench/rank.sh
set -euo pipefail
cd "$(dirname "$0")/.."
make -s -j2 all >/dev/null
LIBS=$(make --no-print-directory -s -f Makefile -f bench/vars.mk print-LDLIBS)
mkdir -p build/bench
cc -std=c17 -D_GNU_SOURCE -O2 -Wall -Werror -Iinclude bench/repo_latency.c build/libsemcode.a $LIBS -o build/bench/repo_latency
bash scripts/ensure_debs.sh rank libpython3.11-stdlib golang-1.19-src rust-src
WORK=${WORK:-build/bench/rank}
mkdir -p "$WORK"
if [ ! -d "$WORK/big" ]; then
  mkdir -p "$WORK/big.tmp"
  cp -r /usr/lib/python3.11 "$WORK/big.tmp/python"
  cp -r /usr/share/go-1.19/src "$WORK/big.tmp/go"
  cp -r /usr/src/rustc-1.63.0/library "$WORK/big.tmp/rust"
  mv "$WORK/big.tmp" "$WORK/big"
fi
cat bench/queries/*.jsonl | /usr/bin/python3 -c 'import json,sys; [print(json.loads(l)["query"]) for l in sys.stdin]' > "$WORK/queries.txt"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u '+%F %H:%M') UTC; commit $(git rev-parse --short HEAD)"
for t in big big/python; do
  store="$WORK/store-$(echo "$t" | tr / -)"
  ./build/semcode index "$WORK/$t" --store "$store" --quiet --json > "$WORK/index.json"
  echo "== $t: $(/usr/bin/python3 -c "import json;d=json.load(open('$WORK/index.json'));e=d['entities'];print(e['added']+e['updated']+e['unchanged'], 'entities changed this run;', d['seconds']['total'], 's')")"
  ./build/bench/repo_latency "$store" "$WORK/queries.txt"
done
