#!/usr/bin/env bash
# Runs the sparse-vector benchmark (bench/sparse.c: search latency through
# the store against a brute-force scan, upsert rate, index memory, reopen
# time), then its peer, SciPy's sparse matrices (bench/sparse_scipy.py, on
# the same data and queries), under the shared bench lock, in a fresh
# temporary directory that is removed afterwards.
# Usage: bench/run_sparse.sh [binary] [n_points]
set -eu
bin=${1:-build/bench/sparse}
dir=$(mktemp -d /tmp/semcode-bench-sparse.XXXXXX)
trap 'rm -rf "$dir"' EXIT
echo "# $(date -u '+%Y-%m-%d %H:%M UTC')  $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
bash "$(dirname "$0")/../scripts/ensure_debs.sh" sparse python3-scipy
mkdir "$dir/dump"
flock /tmp/semcode-bench.lock env SPARSE_DUMP="$dir/dump" "$bin" "$dir/db" "${2:-100000}"
flock /tmp/semcode-bench.lock /usr/bin/python3 "$(dirname "$0")/sparse_scipy.py" "$dir/dump"
