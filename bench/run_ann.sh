#!/usr/bin/env bash
# bench/run_ann.sh: ANN benchmark of issue 3. semcode HNSW vs hnswlib vs
# FAISS IndexHNSWFlat on one clustered synthetic data set (see bench/ann.cpp
# for how it is generated), same m / ef_construct, both cores for builds,
# one thread for queries. Data and ground truth are cached in bench/data/.
#
#   bench/run_ann.sh                      # 1,000,000 x 128, 1,000 queries, m=16, efc=200
#   N=100000 bench/run_ann.sh             # smaller while developing
#   EXTRA="--only semcode,filter" bench/run_ann.sh
#
# Runs under flock /tmp/semcode-bench.lock so one benchmark runs at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}; DIM=${DIM:-128}; NQ=${NQ:-1000}; M=${M:-16}; EFC=${EFC:-200}
CENTROIDS=${CENTROIDS:-4096}; THREADS=${THREADS:-2}; EXTRA=${EXTRA:-}
make -j2 >/dev/null
make -f bench/ann.mk >/dev/null
mkdir -p bench/data bench/out
out=bench/out/ann_${N}x${DIM}_$(date -u +%Y%m%dT%H%M%SZ).md
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
  echo "command: N=$N DIM=$DIM NQ=$NQ M=$M EFC=$EFC CENTROIDS=$CENTROIDS THREADS=$THREADS EXTRA='$EXTRA' bench/run_ann.sh"
  echo
  flock /tmp/semcode-bench.lock ./build/bench/ann --n "$N" --dim "$DIM" --nq "$NQ" --m "$M" \
    --efc "$EFC" --centroids "$CENTROIDS" --threads "$THREADS" --data bench/data $EXTRA
} | tee "$out"
echo "written: $out" >&2
