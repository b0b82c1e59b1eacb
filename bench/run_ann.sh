#!/usr/bin/env bash
# bench/run_ann.sh: ANN benchmark of issue 3. semcode HNSW vs hnswlib vs
# FAISS IndexHNSWFlat on one clustered synthetic data set (see bench/ann.cpp
# for how it is generated), same m / ef_construct, both cores for builds,
# one thread for queries. Data and ground truth are cached in bench/data/.
#
#   bench/run_ann.sh                      # 1,000,000 x 128, 1,000 queries, m=16, efc=200
#   N=100000 bench/run_ann.sh             # smaller while developing
#   EXTRA="--only semcode,filter" bench/run_ann.sh
#   EXTRA="--only faiss" ANN_BIN=/tmp/ann bench/run_ann.sh   # a prebuilt binary
#
# EXTRA is passed to build/bench/ann: --only takes a comma list of
# semcode, hnswlib, faiss, quant, filter (quant and filter need semcode).
# ANN_BIN runs that binary instead of building build/bench/ann (so a long run
# is not affected by edits in the tree). The load average is recorded before
# and after the run.
#
# Runs under flock /tmp/semcode-bench.lock so one benchmark runs at a time.
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
cd "$(dirname "$0")/.."
N=${N:-1000000}; DIM=${DIM:-128}; NQ=${NQ:-1000}; M=${M:-16}; EFC=${EFC:-200}
CENTROIDS=${CENTROIDS:-4096}; THREADS=${THREADS:-2}; EXTRA=${EXTRA:-}
# GOMP busy-waits by default; on a shared machine that starves FAISS.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
ANN_BIN=${ANN_BIN:-}; bin_note=$ANN_BIN
if [ -z "$ANN_BIN" ]; then
  make -j2 >/dev/null
  make -f bench/ann.mk >/dev/null
  ANN_BIN=./build/bench/ann
fi
mkdir -p bench/data bench/out
out=bench/out/ann_${N}x${DIM}_$(date -u +%Y%m%dT%H%M%SZ).md
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
  echo "command: N=$N DIM=$DIM NQ=$NQ M=$M EFC=$EFC CENTROIDS=$CENTROIDS THREADS=$THREADS EXTRA='$EXTRA'${bin_note:+ ANN_BIN=$bin_note} bench/run_ann.sh"
  flock ${FLOCK_WAIT:+-w $FLOCK_WAIT} /tmp/semcode-bench.lock sh -c 'echo "start: $(date -u "+%Y-%m-%d %H:%M:%S UTC"), load average $(cut -d" " -f1-3 /proc/loadavg)"; echo; exec "$@"' sh "$ANN_BIN" --n "$N" --dim "$DIM" --nq "$NQ" --m "$M" \
    --efc "$EFC" --centroids "$CENTROIDS" --threads "$THREADS" --data bench/data $EXTRA
  echo
  echo "end: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out"
echo "written: $out" >&2
