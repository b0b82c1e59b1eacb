#!/usr/bin/env bash
# End-to-end tests: starts the real build/semcode serve (built beforehand,
# nothing is built here) twice on free loopback ports with temporary
# stores: one open server (no keys; small body limit and timeout for the
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

cat > "$TMP/open.json" <<JSON
{"max_body_bytes": 1048576, "timeout_s": 2, "embedding_cache": "$TMP/open-cache.db"}
JSON
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
start open "$TMP/open.json" || exit 1
start auth "$TMP/auth.json" || exit 1

export SEMCODE_URL="http://127.0.0.1:$(tr -d '\n' < "$TMP/open.port")"
export SEMCODE_AUTH_URL="http://127.0.0.1:$(tr -d '\n' < "$TMP/auth.port")"
export SEMCODE_E2E_LOGS="$TMP"
# E2E_EXCLUDE: test files (basenames, space-separated) left out of this run;
# make check leaves the single-threaded CLI and tracker files out of the
# ThreadSanitizer run (they are run plainly and under ASan) and says so and
# why (E2E_EXCLUDE_WHY).
files=()
for f in tests/e2e/*.test.mjs; do
  case " ${E2E_EXCLUDE:-} " in *" $(basename "$f" .test.mjs) "*) continue ;; esac
  files+=("$f")
done
[ -n "${E2E_EXCLUDE:-}" ] && echo "e2e: not in this run (E2E_EXCLUDE): ${E2E_EXCLUDE}${E2E_EXCLUDE_WHY:+ (${E2E_EXCLUDE_WHY})}"
# E2E_JOBS: test files run at a time (node's default is one less than the
# core count; make check sets the core count: the files mostly wait on servers).
node --test ${E2E_JOBS:+--test-concurrency="$E2E_JOBS"} "${files[@]}"
status=$?

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
