#!/usr/bin/env bash
# Upsert throughput over gRPC next to HTTP (issue 18), one semcode server.
#
#   bench/grpc_upsert.sh [N] [DIM] [BATCH] [CONC]     (defaults 20000 384 256 4)
#
# Starts build/semcode serve (free loopback HTTP and gRPC ports, temporary
# store) and, for hnsw_config.m = 16 (the default graph, built on every
# acknowledged write) and m = 0 (no graph: the protocol and the durable
# store write are the whole cost), loads N x DIM points into a fresh
# collection over HTTP (JSON, `points` form), gRPC (Qdrant's official
# @qdrant/js-client-grpc, no compression) and gRPC with gzip (that client's
# default), BATCH points a request, CONC in flight, wait=true
# (bench/grpc_upsert.mjs). Prints points/s and server CPU seconds per run.
# The peer is HTTP on the same server and data. Run it alone:
#   flock /tmp/semcode-bench.lock bench/grpc_upsert.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}; DIM=${2:-384}; BATCH=${3:-256}; CONC=${4:-4}
BIN=${SEMCODE_BIN:-build/semcode}
. bench/server_lib.sh
bench_setup grpc

echo "== machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ); commit $(git rev-parse --short HEAD); load average $(cut -d' ' -f1-3 /proc/loadavg)"
bench_serve_start --grpc
export SEMCODE_URL=$URL
echo "== $N x $DIM points, batches of $BATCH, $CONC in flight, wait=true"
for m in 0 16; do
  node bench/grpc_upsert.mjs http "$URL" "$PID" "$N" "$DIM" "$BATCH" "$CONC" "$m"
  node bench/grpc_upsert.mjs grpc "$GRPC" "$PID" "$N" "$DIM" "$BATCH" "$CONC" "$m"
  node bench/grpc_upsert.mjs grpc-gzip "$GRPC" "$PID" "$N" "$DIM" "$BATCH" "$CONC" "$m"
done
echo "== peak RSS of the server: $(awk '/VmHWM/{print $2, $3}' /proc/$PID/status)"
