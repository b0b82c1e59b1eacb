#!/usr/bin/env bash
# Writes tests/fixtures/index-v1.tar.gz: the index folder (.semcode/) of
# format 1 (the hashes before xxHash, issue 15) of tests/fixtures/repo, with
# an embedding cache, for the migration tests (tests/e2e/migrate.test.mjs):
# unpacked into a copy of the fixture repository, commands run there find it.
# Format 1 can only be written by a semcode built before the change, so the
# binary is an argument: build commit 39a23c0 (or any earlier one) and pass
# its build/semcode. The committed fixture was made this way on 2026-12-06 (again for the
# session-6 model: the fixture names the model it was built with).
# Usage: bash tools/gen_index_v1_fixture.sh /path/to/format-1/semcode
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: gen_index_v1_fixture.sh FORMAT1_SEMCODE}
T=$(mktemp -d /tmp/semcode-v1.XXXXXX)
trap 'rm -rf "$T"' EXIT
cp -r tests/fixtures/repo "$T/repo"
# A model path that will not exist where the fixture is used: later runs fall
# back to the shipped model, which has the same id.
cp models/builtin.scm "$T/builtin.scm"
"$old" index "$T/repo" --cache --model "$T/builtin.scm" --quiet
tar -C "$T/repo" -czf tests/fixtures/index-v1.tar.gz .semcode
ls -l tests/fixtures/index-v1.tar.gz
