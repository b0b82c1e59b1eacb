#!/usr/bin/env bash
# Git ingestion benchmark (issue 16): commits per second of `semcode ingest
# git`, cold and incremental, and peak memory, on a SYNTHETIC history: no
# large real history can be fetched on the benchmark machine, so
# bench/gen_git_history.py writes one (STEPS steps on main, about 1.03
# commits each: a commit changing 1-3 of 200 Python/C files, every 60th a
# merge of a two-commit topic branch) through `git fast-import`.
# Measured, built-in model, each step one process:
#   1. cold: every commit into an empty store, no code index (no links);
#   2. incremental: MORE more steps appended, then ingest (only they are read);
#   3. no-op: ingest again with nothing new;
#   4. linked: the tree indexed (semcode index), then the whole history
#      ingested into that store, commits linked to the entities their diffs
#      touched (each changed file parsed at the commit).
# No peer: git itself has no embedding step; `git log --numstat` over the
# same history is printed as the cost of reading the diffs alone.
# Usage: bash bench/git_ingest.sh [STEPS (50000)] [MORE (1000)]
# Runs under the shared benchmark lock (/tmp/semcode-bench.lock, waits up to
# LOCK_WAIT seconds, default 900, then runs without it and says so).
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-50000}
MORE=${2:-1000}
LOCK_WAIT=${LOCK_WAIT:-900}
make -s -j2 all >/dev/null
BIN=$PWD/build/semcode
GEN=$PWD/bench/gen_git_history.py
WORK=$(mktemp -d /tmp/semcode-bench-git-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
REPO=$WORK/repo

. bench/ingest_lib.sh

run() {
  machine
  git init -q -b main "$REPO"
  local t0=$(date +%s.%N)
  python3 "$GEN" "$STEPS" | git -C "$REPO" fast-import --quiet
  git -C "$REPO" reset -q --hard main
  local n=$(git -C "$REPO" rev-list --count main)
  echo "synthetic history: $STEPS steps, $n commits on main (generated and imported in $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-5)s)"
  read -r s kb < <(timed git -C "$REPO" log --numstat --format=%H main)
  echo "peer: git log --numstat over it: ${s}s"

  read -r s kb < <(timed "$BIN" ingest git "$REPO" --store "$WORK/store" --json -q)
  local w=$(field commits_walked)
  echo "cold: $w commits in ${s}s wall = $(echo "$w / $s" | bc) commits/s; peak RSS $((kb / 1024)) MiB"

  python3 "$GEN" "$MORE" --start "$STEPS" | git -C "$REPO" fast-import --quiet
  git -C "$REPO" reset -q --hard main
  read -r s kb < <(timed "$BIN" ingest git "$REPO" --store "$WORK/store" --json -q)
  w=$(field commits_walked)
  echo "incremental: $w new commits in ${s}s wall = $(echo "$w / $s" | bc) commits/s (process start and store open included); peak RSS $((kb / 1024)) MiB"

  read -r s kb < <(timed "$BIN" ingest git "$REPO" --store "$WORK/store" --json -q)
  echo "no-op re-run: $(field commits_walked) commits read, ${s}s wall"
  echo "store: $(du -sb "$WORK/store" | cut -f1) bytes"

  read -r s kb < <(timed "$BIN" index "$REPO" --store "$WORK/linked" --json -q)
  echo "index of the tree for links: ${s}s"
  read -r s kb < <(timed "$BIN" ingest git "$REPO" --store "$WORK/linked" --json -q)
  w=$(field commits_walked)
  echo "linked cold: $w commits in ${s}s wall = $(echo "$w / $s" | bc) commits/s, $(field links) links; peak RSS $((kb / 1024)) MiB"
}

with_bench_lock run
