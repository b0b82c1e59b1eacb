#!/usr/bin/env bash
# Time to the first MCP answer on a cold 50,000-file tree (issue 19, Measured).
# Builds TREE (default /tmp/semcode-cold50k) of N (default 50000) Python files:
# the .py files of SRC (default /usr/lib/python3.11) hard-linked into copy_001,
# copy_002, ... until N files, then runs bench/mcp_cold.mjs with a fresh, empty
# store (no index: `semcode mcp` starts the first index run in the background).
# Usage: bash bench/mcp_cold.sh [TREE] [N] [SRC]    (results: docs/BENCHMARKS.md)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tree=${1:-/tmp/semcode-cold50k}
want=${2:-50000}
src=${3:-/usr/lib/python3.11}
if [ ! -f "$tree/.complete" ] || [ "$(cat "$tree/.complete")" != "$want" ]; then
    rm -rf "$tree"
    mkdir -p "$tree/copy_001"
    (cd "$src" && find . -name '*.py' -not -path '*/site-packages/*' -print0 | xargs -0 cp --parents -t "$tree/copy_001")
    per=$(find "$tree/copy_001" -type f | wc -l)
    [ "$per" -gt 0 ] || { echo "no .py files under $src" >&2; exit 1; }
    have=$per; i=1
    while [ "$have" -lt "$want" ]; do
        i=$((i + 1))
        cp -al "$tree/copy_001" "$(printf '%s/copy_%03d' "$tree" "$i")"
        have=$((have + per))
    done
    # trim the last copy to exactly N files
    extra=$((have - want))
    if [ "$extra" -gt 0 ]; then
        find "$(printf '%s/copy_%03d' "$tree" "$i")" -type f > "$tree/.last"
        head -n "$extra" "$tree/.last" | xargs rm -f
        rm -f "$tree/.last"
    fi
    echo "$want" > "$tree/.complete"
fi
echo "tree: $tree, $(find "$tree" -type f -name '*.py' | wc -l) files; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
store=$(mktemp -d /tmp/semcode-cold-store.XXXXXX)
trap 'rm -rf "$store"' EXIT
node "$here/mcp_cold.mjs" "$tree" "$store" "${QUERY:-read the configuration file}" "${CALLS:-5}" "${GAP_MS:-2000}"
