#!/usr/bin/env bash
# Runs the exact-search benchmark single-threaded, under the shared bench
# lock so that only one benchmark uses the machine at a time.
# Usage: bench/run_exact.sh [binary] [n_rows] [n_queries]
set -eu
bin=${1:-build/bench/exact}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
echo "# $(date -u '+%Y-%m-%d %H:%M UTC')  $(lscpu | sed -n 's/^Model name: *//p')"
exec flock /tmp/semcode-bench.lock "$bin" "${2:-100000}" "${3:-1000}"
