#!/usr/bin/env bash
# End-to-end tests: starts the real build/semcode serve (built beforehand,
# nothing is built here) twice (twice per runner slot, E2E_JOBS) on free
# loopback ports with temporary stores: one open server (no keys; small body limit and timeout for the
# bad-input tests; an embedding cache) and one with API keys and two tenants. Runs the node
# tests in tests/e2e/ against them, then stops both with SIGTERM and checks
# that they shut down cleanly. Exit status: non-zero if anything failed.
set -u
cd "$(dirname "$0")/../.."
BIN=${SEMCODE_BIN:-build/semcode}
[ -x "$BIN" ] || { echo "e2e: $BIN is missing; run make first"; exit 1; }
[ -d node_modules/@qdrant/js-client-rest ] || { echo "e2e: node_modules missing; run scripts/setup.sh"; exit 1; }

TMP=$(mktemp -d /tmp/semcode-e2e.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  if [ "${SEMCODE_E2E_KEEP:-0}" = 1 ]; then echo "e2e: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

# E2E_JOBS: test files run at a time (default 1). Each runner slot has its
# own pair of servers (open and auth), so files running at once never share
# a server; the files themselves use temporary directories and free ports.
jobs=${E2E_JOBS:-1}
case $jobs in ''|*[!0-9]*|0) echo "e2e: E2E_JOBS='$jobs' is not a positive number"; exit 2 ;; esac

cat > "$TMP/auth.json" <<'JSON'
{"api_keys": [
  {"key": "admin-key-0123456789abcdef", "role": "admin"},
  {"key": "read-key-0123456789abcdef", "role": "read"},
  {"key": "write-key-0123456789abcdef", "role": "write"},
  {"key": "tenant-a-admin-0123456789", "role": "admin", "tenant": "a"},
  {"key": "tenant-a-read-01234567890", "role": "read", "tenant": "a"},
  {"key": "tenant-b-admin-0123456789", "role": "admin", "tenant": "b"}
]}
JSON

start() { # name config -> sets port in $TMP/name.port
  local name=$1 cfg=$2
  "$BIN" serve --host 127.0.0.1 --port 0 --port-file "$TMP/$name.port" --store "$TMP/$name.store" \
    --config "$cfg" --log "$TMP/$name.log" 2>"$TMP/$name.err" &
  pids+=($!)
  for _ in $(seq 1 100); do [ -s "$TMP/$name.port" ] && return 0; sleep 0.1; done
  echo "e2e: server $name did not start"; cat "$TMP/$name.err"; return 1
}
for ((i = 1; i <= jobs; i++)); do
  cat > "$TMP/open$i.json" <<JSON
{"max_body_bytes": 1048576, "timeout_s": 2, "embedding_cache": "$TMP/open$i-cache.db"}
JSON
  start "open$i" "$TMP/open$i.json" || exit 1
  start "auth$i" "$TMP/auth.json" || exit 1
done
export SEMCODE_E2E_LOGS="$TMP"

# E2E_EXCLUDE: test files (basenames, space-separated) left out of this run;
# make check leaves the single-threaded CLI and tracker files out of the
# ThreadSanitizer run (they are run plainly and under ASan) and says so and
# why (E2E_EXCLUDE_WHY).
# The slowest files start first (E2E_FIRST, from the ASan and TSan runs of
# 2026-12-07; only the order changes), so
# that with E2E_JOBS > 1 no long file is left running alone at the end.
E2E_FIRST=${E2E_FIRST:-"switch_serve cli trackers jobs jobs_sources bgindex records_backend args backend web qdrant_cluster remote multirepo tenants watch"}
files=()
for f in $E2E_FIRST; do [ -f "tests/e2e/$f.test.mjs" ] && files+=("tests/e2e/$f.test.mjs"); done
for f in tests/e2e/*.test.mjs; do
  case " $E2E_FIRST " in *" $(basename "$f" .test.mjs) "*) continue ;; esac
  files+=("$f")
done
kept=()
for f in "${files[@]}"; do
  case " ${E2E_EXCLUDE:-} " in *" $(basename "$f" .test.mjs) "*) continue ;; esac
  kept+=("$f")
done
files=("${kept[@]}")
[ -n "${E2E_EXCLUDE:-}" ] && echo "e2e: not in this run (E2E_EXCLUDE): ${E2E_EXCLUDE}${E2E_EXCLUDE_WHY:+ (${E2E_EXCLUDE_WHY})}"
echo "e2e: ${#files[@]} files, $jobs at a time"

# Each file is its own `node --test` run (TAP: its "# pass N" lines are what
# .ci/run adds up) with the URLs of a free slot's servers; its output is
# shown whole when it ends, with its wall time.
status=0; next=0; failed_files=()
declare -A slot_of file_of start_of
free=(); for ((i = 1; i <= jobs; i++)); do free+=("$i"); done
launch() { # slot: runs files[next] on that slot's servers, in the background
  local i=$1 f=${files[$next]}
  SEMCODE_URL="http://127.0.0.1:$(tr -d '\n' < "$TMP/open$i.port")" \
  SEMCODE_AUTH_URL="http://127.0.0.1:$(tr -d '\n' < "$TMP/auth$i.port")" \
    node --test "$f" >"$TMP/out.$next" 2>&1 &
  slot_of[$!]=$i; file_of[$!]=$next; start_of[$!]=$SECONDS
  next=$((next + 1))
}
running=0
while [ $next -lt ${#files[@]} ] || [ $running -gt 0 ]; do
  while [ $next -lt ${#files[@]} ] && [ ${#free[@]} -gt 0 ]; do
    launch "${free[0]}"; free=("${free[@]:1}"); running=$((running + 1))
  done
  # (only the test runs: a server ending early shows at the shutdown check)
  wait -n -p done_pid "${!slot_of[@]}"; rc=$?
  k=${file_of[$done_pid]}
  cat "$TMP/out.$k"
  echo "e2e: ${files[$k]} took $((SECONDS - start_of[$done_pid])) s$([ $rc -eq 0 ] || echo ", failed with status $rc")"
  [ $rc -eq 0 ] || { status=1; failed_files+=("${files[$k]}"); }
  free+=("${slot_of[$done_pid]}"); running=$((running - 1))
  unset "slot_of[$done_pid]"
done
[ ${#failed_files[@]} -eq 0 ] || echo "e2e: failed: ${failed_files[*]}"

# Graceful shutdown: SIGTERM, then each server must exit 0.
for p in "${pids[@]}"; do kill -TERM "$p"; done
for p in "${pids[@]}"; do
  wait "$p"; rc=$?
  if [ $rc -ne 0 ]; then echo "e2e: server pid $p exited with $rc"; status=1; fi
done
pids=()
if [ $status -ne 0 ]; then for f in "$TMP"/*.err; do echo "== $f"; tail -n 30 "$f"; done; fi
# The access log must never contain a key.
if grep -q "key-0123456789" "$TMP"/*.log "$TMP"/*.err; then echo "e2e: an API key appears in a log"; status=1; fi
exit $status
