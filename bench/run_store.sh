#!/usr/bin/env bash
# Runs the store benchmark (upsert throughput, bytes on disk per point,
# search through the store) under the shared bench lock, in a fresh
# temporary directory that is removed afterwards.
# Usage: bench/run_store.sh [binary] [n_points] [n_queries] [full|normal]
set -eu
bin=${1:-build/bench/store}
dir=$(mktemp -d /tmp/semcode-bench-store.XXXXXX)
trap 'rm -rf "$dir"' EXIT
echo "# $(date -u '+%Y-%m-%d %H:%M UTC')  $(lscpu | sed -n 's/^Model name: *//p')"
flock /tmp/semcode-bench.lock "$bin" "$dir/db" "${2:-100000}" "${3:-1000}" "${4:-full}"
