#!/usr/bin/env bash
# Pseudo-query sets for training the ranking stage (issue 14): copies of a
# few sub-trees of the built-in model's training sources (Debian's
# golang-1.19-src, rust-src, libpython3.11-stdlib, ruby3.1, openjdk-17-source,
# linux-source-6.1 and the npm packages pinned in tools/corpus) into
# $OUT/repos/NAME, and tools/ranker_queries.py's queries over them in
# $OUT/queries/NAME.jsonl. Never the evaluation repositories of bench/queries,
# never a reserved project. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
SEMCODE=${SEMCODE:-build/semcode}
OUT=${OUT:-build/ranker}
PER_REPO=${PER_REPO:-250}
mkdir -p "$OUT/repos" "$OUT/queries"

PKGS=(golang-1.19-src rust-src libpython3.11-stdlib ruby3.1 libruby3.1 openjdk-17-source linux-source-6.1 unzip xz-utils)
bash scripts/ensure_debs.sh ranker_data "${PKGS[@]}"
if [ ! -d tools/corpus/node_modules/rxjs ]; then
  (cd tools/corpus && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
fi

copy() { # name source-dir
  [ -d "$OUT/repos/$1" ] && return 0
  mkdir -p "$OUT/repos/$1.tmp" && cp -r "$2/." "$OUT/repos/$1.tmp/" && mv "$OUT/repos/$1.tmp" "$OUT/repos/$1"
}
copy py-email /usr/lib/python3.11/email
copy py-asyncio /usr/lib/python3.11/asyncio
copy go-http /usr/share/go-1.19/src/net/http
copy go-text /usr/share/go-1.19/src/text
copy rust-alloc /usr/src/rustc-1.63.0/library/alloc/src
copy ruby-net /usr/lib/ruby/3.1.0/net
copy js-eslint-linter tools/corpus/node_modules/eslint/lib/linter
copy ts-rxjs tools/corpus/node_modules/rxjs/src/internal
if [ ! -d "$OUT/repos/java-util" ]; then
  rm -rf "$OUT/java.tmp" && mkdir -p "$OUT/java.tmp"
  unzip -q -o /usr/lib/jvm/openjdk-17/lib/src.zip 'java.base/java/util/concurrent/*' -d "$OUT/java.tmp"
  mv "$OUT/java.tmp/java.base/java/util/concurrent" "$OUT/repos/java-util" && rm -rf "$OUT/java.tmp"
fi
if [ ! -d "$OUT/repos/c-kernel-lib" ]; then
  rm -rf "$OUT/linux.tmp" && mkdir -p "$OUT/linux.tmp"
  tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$OUT/linux.tmp" --strip-components=2 linux-source-6.1/lib
  mv "$OUT/linux.tmp" "$OUT/repos/c-kernel-lib"
fi

# The same trees with every doc comment cut out (semcode eval --repo's
# stripping): the pseudo-queries are doc sentences, so an index that kept
# them would make the task a copy lookup; users' questions do not repeat the
# doc either. The ranker trains on these (tools/train_ranker.py).
mkdir -p "$OUT/repos-nodoc"
for d in "$OUT"/repos/*/; do
  n=$(basename "$d")
  [ -d "$OUT/repos-nodoc/$n" ] && continue
  rm -rf "$OUT/strip.tmp"
  "$SEMCODE" eval --repo "$d" --work "$OUT/strip.tmp" --max-queries 1 >/dev/null 2>&1
  mv "$OUT/strip.tmp/tree" "$OUT/repos-nodoc/$n" && rm -rf "$OUT/strip.tmp"
done

args=()
for d in "$OUT"/repos/*/; do
  n=$(basename "$d")
  [ -s "$OUT/queries/$n.jsonl" ] || args+=("$n=$d")
done
if [ ${#args[@]} -gt 0 ]; then
  /usr/bin/python3 tools/ranker_queries.py --semcode "$SEMCODE" --out "$OUT/queries" --per-repo "$PER_REPO" "${args[@]}"
fi
wc -l "$OUT"/queries/*.jsonl | tail -1
