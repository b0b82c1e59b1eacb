# Shared by the benchmarks that drive a semcode server (bench/bgindex.sh,
# bench/grpc_upsert.sh, bench/server.sh); sourced from the repository root
# after BIN (the semcode executable) is set.

# Check that "$BIN" is built, make TMP (/tmp/semcode-bench-NAME.XXXXXX) and,
# on exit, stop the server PID (if any) with SIG (default TERM) and remove TMP.
#   bench_setup NAME [SIG]
bench_setup() {
  [ -x "$BIN" ] || { echo "bench: build first (make)"; exit 1; }
  TMP=$(mktemp -d "/tmp/semcode-bench-$1.XXXXXX")
  PID=
  BENCH_STOP_SIG=${2:-TERM}
  trap bench__cleanup EXIT
}
bench__cleanup() {
  if [ -n "$PID" ]; then kill -"$BENCH_STOP_SIG" "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}

# Start "$BIN" serve on a free loopback port with the store $TMP/store and
# the config $TMP/cfg.json (written when missing: 64 MiB request bodies),
# its stderr appended to $TMP/err; with --grpc also a free gRPC port. Waits
# (up to 30 s) until the ports are written and /readyz answers. Sets PID,
# URL and, with --grpc, GRPC (host:port); returns 1 with the server's
# stderr when it does not come up.
bench_serve_start() {
  local grpc=0
  [ "${1:-}" = --grpc ] && grpc=1
  rm -f "$TMP/port" "$TMP/grpc"
  [ -s "$TMP/cfg.json" ] || echo '{"max_body_bytes": 67108864}' > "$TMP/cfg.json"
  if [ "$grpc" = 1 ]; then
    "$BIN" serve --port 0 --port-file "$TMP/port" --grpc-port-file "$TMP/grpc" --store "$TMP/store" \
      --config "$TMP/cfg.json" --log /dev/null 2>>"$TMP/err" &
  else
    "$BIN" serve --port 0 --port-file "$TMP/port" --store "$TMP/store" \
      --config "$TMP/cfg.json" --log /dev/null 2>>"$TMP/err" &
  fi
  PID=$!
  for _ in $(seq 1 600); do
    [ -s "$TMP/port" ] && { [ "$grpc" = 0 ] || [ -s "$TMP/grpc" ]; } && break
    sleep 0.05
  done
  if [ ! -s "$TMP/port" ]; then
    echo "bench: the server did not start; its stderr:" >&2
    cat "$TMP/err" >&2
    return 1
  fi
  URL="http://127.0.0.1:$(tr -d '\n' < "$TMP/port")"
  [ "$grpc" = 1 ] && GRPC=$(tr -d '\n' < "$TMP/grpc")
  for _ in $(seq 1 600); do curl -sf "$URL/readyz" >/dev/null && return 0; sleep 0.05; done
  echo "bench: $URL/readyz did not answer in 30 s" >&2
  return 1
}

# CPU seconds (user + system) the server PID has used so far.
bench_cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$PID/stat"; }
