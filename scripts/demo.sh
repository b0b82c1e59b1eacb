#!/usr/bin/env bash
# The main job: index a real repository available on every Debian machine
# (CPython's standard library, /usr/lib/python3.11) with the built-in model,
# then run a few searches by meaning. The index lives in a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:-/usr/lib/python3.11}
store=$(mktemp -d /tmp/semcode-demo-XXXXXX)
trap 'rm -rf "$store"' EXIT
./build/semcode index "$src" --store "$store"
for q in "parse a json string into python objects" \
         "read a gzip compressed file" \
         "send an email through an smtp server" \
         "compute the md5 digest of a file"; do
  echo
  echo "\$ semcode search \"$q\" -n 3"
  ./build/semcode search --store "$store" "$q" -n 3
done
echo
./build/semcode stats --store "$store" | head -20
