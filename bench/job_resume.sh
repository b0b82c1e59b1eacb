#!/usr/bin/env bash
# Job resume after kill -9 (issue 16): ROUNDS times, submit a backfill job
# of N generated issue records with comments (bench/gen_issues.py) to
# `semcode serve`, kill -9 the server while the job runs, start it again on
# the same store, let the job resume and finish, and count the records
# lost and duplicated (bench/job_resume.py). Must print "lost 0,
# duplicated 0". No peer: a correctness property under crashes.
# SOURCE=github: GitHub jobs over a local fake GitHub of N issues
# (bench/fake_github.mjs) instead of uploaded JSON Lines.
#
# Usage: [SOURCE=jsonl|github] bash bench/job_resume.sh [ROUNDS (20)] [N (3000)]
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${1:-20}
N=${2:-3000}
BIN=${SEMCODE_BIN:-build/semcode}
LOCK_WAIT=${LOCK_WAIT:-600}
[ -x "$BIN" ] || { echo "job_resume: $BIN is missing; run make first"; exit 1; }
WORK=$(mktemp -d /tmp/semcode-bench-jobs-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

. bench/ingest_lib.sh

SOURCE=${SOURCE:-jsonl}

run() {
  machine
  if [ "$SOURCE" = github ]; then
    echo "data: a fake GitHub of $N issues (every fifth with 2 comments), pages of 100, batches of 128, built-in model"
    python3 bench/job_resume.py "$BIN" "$N" "$WORK" "$ROUNDS" github
    return
  fi
  python3 bench/gen_issues.py "$N" > "$WORK/issues.jsonl"
  echo "data: $N issues, $(du -k "$WORK/issues.jsonl" | cut -f1) KiB of JSON Lines, batches of 128, built-in model"
  python3 bench/job_resume.py "$BIN" "$WORK/issues.jsonl" "$WORK" "$ROUNDS"
}

with_bench_lock run
