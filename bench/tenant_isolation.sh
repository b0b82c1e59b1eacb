#!/usr/bin/env bash
# Tenant isolation (issue 16): how many cross-tenant requests were tried
# across the server's endpoints, and that every one was refused or answered
# nothing of the other tenant. No peer: a count of refusals has none.
#
#   bench/tenant_isolation.sh
#
# Runs tests/e2e/tenants.test.mjs against a fresh `semcode serve --repo`
# (two tenants and the global namespace, each with collections, points, an
# alias, a payload index and development records); every admin and read key
# tries every endpoint on the other two namespaces' data (Qdrant
# collections and points: get, exists, aliases, update, delete, indexes,
# retrieve by id, scroll, count, query incl. order_by and lookup_from,
# batch, search, recommend, matrix, upsert, payload and vector writes;
# alias actions; lists, telemetry, metrics; /code/search per record section
# and naming the other tenant; code endpoints for tenant keys). Prints the
# count, the machine and the date for docs/BENCHMARKS.md; exits non-zero
# if any request leaked or was not refused.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/semcode ] || { echo "tenant_isolation: build/semcode is missing; run make first"; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
SEMCODE_TENANT_COUNT_FILE="$out" node --test tests/e2e/tenants.test.mjs >/dev/null 2>&1 || {
  echo "tenant_isolation: FAILED (run node --test tests/e2e/tenants.test.mjs to see which request leaked)"; exit 1; }
n=$(tr -d '\n' < "$out")
echo "cross-tenant requests tried: $n, refused or empty: $n, leaked: 0"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); $(date -u +%Y-%m-%d)"
