#!/usr/bin/env bash
# The main job, for now: a tour of the embedded vector store (issue 2).
# Later issues replace it with indexing a real repository and searching it.
set -euo pipefail
cd "$(dirname "$0")/.."
store=$(mktemp -d /tmp/semcode-demo-XXXXXX)
trap 'rm -rf "$store"' EXIT
./build/semcode store-demo --store "$store" --points 100000 --dim 384
