#!/usr/bin/env bash
# Runs Qdrant's own HTTP test suite (tests/openapi of qdrant/qdrant, every
# request and response checked against Qdrant's OpenAPI document) against
# build/semcode serve: one fresh server with an empty temporary store per
# test file, on a free 127.0.0.1 port. Prints passed/failed per file and the
# totals for the basic files (BASIC below) and for all files.
#
# Qdrant's code is never part of this repository: the script extracts
# tests/openapi and docs/redoc/master/openapi.json of the tag QDRANT_REF
# (default v1.19.0) from a git copy of qdrant/qdrant (QDRANT_GIT, a bare or
# normal git directory; default the workplace mirror) into build/qdrant-suite/.
# Python: Debian's python3-pytest, python3-requests, python3-jsonschema,
# python3-retry (scripts/setup.sh installs them); schemathesis is not packaged,
# tests/qdrant/schemathesis/ stands in for the few names the helpers import,
# tests/qdrant/qdrant_timeout.py for pytest-timeout (a test over its
# @pytest.mark.timeout, or over QDRANT_TEST_TIMEOUT seconds, default 60, fails),
# and tests/qdrant/pytest_cases/ and jsons.py for the names test_group.py
# imports from pytest_cases and jsons (not packaged either).
#
# Usage: tests/qdrant/run.sh [--basic] [test_file.py ...]   (make qdrant-suite)
#   --basic       only the basic files
#   QDRANT_SUITE_TIMEOUT  seconds per file before it counts as hung (default 300)
#   QDRANT_SUITE_KEEP=1   keep build/qdrant-suite/logs/<file>.{log,server.err,xml}
# Exit status: 0 when every selected test ran (failures are counted, not fatal),
# 1 when the suite could not run or a server crashed or hung.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=${SEMCODE_BIN:-$ROOT/build/semcode}
QDRANT_GIT=${QDRANT_GIT:-/work/.mirror/qdrant+qdrant/repo}
QDRANT_REF=${QDRANT_REF:-v1.19.0}
SUITE=$ROOT/build/qdrant-suite
PY=/usr/bin/python3
TIMEOUT=${QDRANT_SUITE_TIMEOUT:-300}

# The basic files: service, collections, retrieve, count, delete, batch
# update, filters, payload operations, recommend, score threshold, uuid ids,
# dimension validation.
BASIC="test_service.py test_root_api.py test_k8s_health.py test_collection_exists.py
test_collection_update.py test_collection_metadata.py test_alias.py test_basic_retrieve_api.py
test_count.py test_delete_points.py test_filtered_delete.py test_batch_update.py test_filter.py
test_filter_has_vector.py test_filter_is_empty.py test_filter_min_should.py test_filter_slice.py
test_filter_values_count.py test_filter_values_count_missing_field.py test_payload_operations.py
test_payload_selector.py test_recommend.py test_score_threshold.py test_uuid_ops.py
test_vector_dimension_validation.py"

[ -x "$BIN" ] || { echo "qdrant-suite: $BIN is missing; run make first"; exit 1; }
$PY -c 'import pytest, requests, jsonschema, retry' 2>/dev/null || {
  echo "qdrant-suite: Debian's python3-pytest python3-requests python3-jsonschema python3-retry are needed (bash scripts/setup.sh)"; exit 1; }
commit=$(git -C "$QDRANT_GIT" rev-parse --verify -q "$QDRANT_REF^{commit}") || {
  echo "qdrant-suite: no $QDRANT_REF in $QDRANT_GIT; set QDRANT_GIT to a git copy of qdrant/qdrant that has it"; exit 1; }

if [ "$(cat "$SUITE/COMMIT" 2>/dev/null)" != "$commit" ]; then
  rm -rf "$SUITE"; mkdir -p "$SUITE"
  git -C "$QDRANT_GIT" archive "$commit" tests/openapi docs/redoc/master/openapi.json | tar -x -C "$SUITE" || {
    echo "qdrant-suite: extracting $QDRANT_REF failed"; exit 1; }
  echo "$commit" > "$SUITE/COMMIT"
fi
echo "qdrant-suite: qdrant/qdrant $QDRANT_REF ($commit) against $BIN"

basic_only=0; files=()
for a in "$@"; do
  case $a in
    --basic) basic_only=1 ;;
    *) files+=("$(basename "$a")") ;;
  esac
done
if [ ${#files[@]} -eq 0 ]; then
  if [ $basic_only = 1 ]; then read -r -a files <<< "$(echo $BASIC)"
  else mapfile -t files < <(cd "$SUITE/tests/openapi" && ls test_*.py); fi
fi

TMP=$(mktemp -d /tmp/semcode-qdrant.XXXXXX)
LOGS=$TMP/logs; mkdir -p "$LOGS"
server=""
cleanup() {
  [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
  if [ "${QDRANT_SUITE_KEEP:-0}" = 1 ]; then
    rm -rf "$SUITE/logs"; mv "$LOGS" "$SUITE/logs" && echo "qdrant-suite: logs in $SUITE/logs"
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

RESULTS=$TMP/results.tsv; : > "$RESULTS"
bad=0
for f in "${files[@]}"; do
  [ -f "$SUITE/tests/openapi/$f" ] || { echo "qdrant-suite: no such test file $f"; bad=1; continue; }
  name=${f%.py}; store=$TMP/$name.store
  "$BIN" serve --host 127.0.0.1 --port 0 --port-file "$TMP/$name.port" --store "$store" \
    --log "$TMP/$name.access" 2>"$LOGS/$name.server.err" &
  server=$!
  for _ in $(seq 1 100); do [ -s "$TMP/$name.port" ] && break; sleep 0.1; done
  if [ ! -s "$TMP/$name.port" ]; then
    echo "qdrant-suite: the server for $f did not start"; cat "$LOGS/$name.server.err"; exit 1
  fi
  port=$(tr -d '\n' < "$TMP/$name.port")
  (cd "$SUITE/tests" && PYTHONPATH="$ROOT/tests/qdrant" QDRANT_HOST="http://127.0.0.1:$port" \
     OPENAPI_FILE="$SUITE/docs/redoc/master/openapi.json" HTTP_SERVER_HOST=127.0.0.1 \
     timeout -k 5 "$TIMEOUT" $PY -m pytest -p no:cacheprovider -p qdrant_timeout -q -rfE --tb=short \
       --junitxml="$LOGS/$name.xml" "openapi/$f" > "$LOGS/$name.log" 2>&1)
  rc=$?
  note=""
  [ $rc = 124 ] || [ $rc = 137 ] && { note="hung (over ${TIMEOUT}s)"; bad=1; }
  if ! kill -0 "$server" 2>/dev/null; then note="${note:+$note; }server died"; bad=1
  else
    kill -TERM "$server"; wait "$server"; src=$?
    [ $src = 0 ] || { note="${note:+$note; }server exit $src on SIGTERM"; bad=1; }
  fi
  server=""
  $PY - "$LOGS/$name.xml" "$f" "$note" >> "$RESULTS" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
path, name, note = sys.argv[1:4]
p = f = s = 0
try:
    # one verdict per test case: an error in its teardown after a failure
    # counts once; a collection error (no test case) counts as one failure
    root = ET.parse(path).getroot()
    cases = list(root.iter("testcase"))
    for case in cases:
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}: f += 1
        elif "skipped" in tags: s += 1
        else: p += 1
    if not cases:
        f += sum(int(x.get("errors", 0)) for x in root.iter("testsuite"))
except (OSError, ET.ParseError):
    note = note or "no result"
print(f"{name}\t{p}\t{f}\t{s}\t{note}")
PYEOF
  tail -n 1 "$RESULTS" | awk -F'\t' '{printf "%-48s %4d passed %4d failed %3d skipped %s\n", $1, $2, $3, $4, $5}'
done

$PY - "$RESULTS" "$(echo $BASIC)" <<'PYEOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
basic = set(sys.argv[2].split())
def total(sel, label):
    p = sum(int(r[1]) for r in sel); f = sum(int(r[2]) for r in sel); s = sum(int(r[3]) for r in sel)
    n = p + f
    pct = f" ({100 * p / n:.0f} %)" if n else ""
    print(f"{label}: {len(sel)} files, {p} passed, {f} failed, {s} skipped{pct}")
print()
total([r for r in rows if r[0] in basic], "basic files")
total(rows, "all files")
PYEOF
exit $bad
