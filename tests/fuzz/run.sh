#!/usr/bin/env bash
# Fuzz targets: tests/fuzz/fuzz_<name>.c, seed corpus tests/fuzz/corpus/<name>/.
#
#   tests/fuzz/run.sh [fuzz] [name...]   build each target with clang
#       -fsanitize=fuzzer,address,undefined and run it FUZZ_SECONDS (default
#       20) seconds on its corpus. New inputs go to build-fuzz/corpus/<name>/,
#       crashers to build-fuzz/artifacts/<name>/ (add them to the seed corpus
#       once fixed).
#   tests/fuzz/run.sh replay [name...]   build each target with a plain
#       main (tests/fuzz/replay_main.c) using $REPLAY_CC (default gcc) with
#       ASan + UBSan, and run it on every seed file: what CI runs.
#
# A target lists the library sources it needs on a "FUZZ_SOURCES:" line of
# its opening comment (default: every src/*/*.c but the CLI and the
# ISA-specific kernels), and extra libraries on a "FUZZ_LIBS:" line. Exit
# status is non-zero when any target fails.
set -u
cd "$(dirname "$0")/../.."

mode=fuzz
if [ $# -gt 0 ] && { [ "$1" = fuzz ] || [ "$1" = replay ]; }; then mode=$1; shift; fi
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
OUT=${FUZZ_OUT:-build-fuzz}
CFLAGS_FUZZ="-std=c17 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -pthread -Iinclude -Isrc \
  -Wall -Wextra -Wshadow -Wpedantic -Wstrict-prototypes -Wmissing-prototypes"
LIBS="-ljansson -lsqlite3 -lroaring -lxxhash -lm -pthread"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"

if [ $# -gt 0 ]; then
  targets=(); for n in "$@"; do targets+=("tests/fuzz/fuzz_$n.c"); done
else
  targets=(tests/fuzz/fuzz_*.c)
fi

# The library for the "@lib" targets, built once before any target (they
# may run in parallel): the sanitizer build for replay, a clang build of it for
# libFuzzer (gcc's and clang's sanitizer runtimes do not mix). The clang
# build carries the coverage hooks (fuzzer-no-link), so libFuzzer is guided
# by the library's own branches, not only the harness's.
wholelib=; alllibs=
if grep -l -E '^.*FUZZ_SOURCES: *@lib *$' "${targets[@]}" >/dev/null 2>&1; then
  alllibs=$(make --no-print-directory -s -f Makefile -f bench/vars.mk print-LDLIBS)
  if [ "$mode" = replay ]; then
    if make -s -j2 SANITIZE=1 build-san/libsemcode.a >/dev/null; then wholelib=build-san/libsemcode.a
    else echo "fuzz: library build failed"; fi
  else
    if make -s -j2 SANITIZE=1 CC=clang CFLAGS=-fsanitize=fuzzer-no-link BUILD=build-fuzz-lib build-fuzz-lib/libsemcode.a >/dev/null
    then wholelib=build-fuzz-lib/libsemcode.a
    else echo "fuzz: clang library build failed"; fi
  fi
fi

# one_target SRC: builds and runs (or replays) one target; non-zero on failure.
one_target() {
  local src=$1 name seeds srcs libs bin cc
  [ -f "$src" ] || { echo "fuzz: no such target $src"; return 1; }
  name=$(basename "$src" .c); name=${name#fuzz_}
  seeds=tests/fuzz/corpus/$name
  mkdir -p "$seeds"
  srcs=$(sed -n 's/^.*FUZZ_SOURCES:\(.*\)$/\1/p' "$src" | head -n 1)
  libs="$LIBS $(sed -n 's/^.*FUZZ_LIBS:\(.*\)$/\1/p' "$src" | head -n 1)"
  # "FUZZ_SOURCES: @lib" links the whole library (targets that need the
  # tree-sitter grammars), built above.
  if [ "$(echo $srcs)" = "@lib" ]; then
    [ -n "$wholelib" ] || { echo "fuzz: no library for $name"; return 1; }
    srcs=$wholelib; libs="$libs $alllibs"
  fi
  if [ -z "$srcs" ]; then
    srcs=$(ls src/*/*.c | grep -v '^src/cli/' | grep -v -E '_(avx2|avx512)\.c$' | tr '\n' ' ')
  fi
  if [ "$mode" = fuzz ]; then
    bin=$OUT/fuzz_$name
    echo "== fuzz $name: clang, ${FUZZ_SECONDS}s"
    # shellcheck disable=SC2086
    if ! clang $CFLAGS_FUZZ -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        "$src" $srcs -o "$bin" $libs; then
      echo "fuzz: build of $name failed"; return 1
    fi
    mkdir -p "$OUT/corpus/$name" "$OUT/artifacts/$name"
    if ! "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$name/" "$OUT/corpus/$name" "$seeds"; then
      echo "fuzz: $name found a failure; see $OUT/artifacts/$name/"; return 1
    fi
  else
    bin=$OUT/replay_$name
    cc=${REPLAY_CC:-gcc}
    echo "== replay $name: $cc, $(ls "$seeds" | wc -l) inputs"
    # shellcheck disable=SC2086
    if ! $cc $CFLAGS_FUZZ $SAN "$src" tests/fuzz/replay_main.c $srcs -o "$bin" $libs; then
      echo "fuzz: build of replay_$name failed"; return 1
    fi
    if ! "$bin" "$seeds"; then echo "fuzz: replay of $name failed"; return 1; fi
  fi
}

jobs=${FUZZ_JOBS:-1}
case $jobs in ''|*[!0-9]*|0) echo "fuzz: FUZZ_JOBS='$jobs' is not a positive number"; exit 2 ;; esac
mkdir -p "$OUT"
status=0
if [ "$jobs" -eq 1 ]; then
  for src in "${targets[@]}"; do one_target "$src" || status=1; done
  exit $status
fi
# A window of FUZZ_JOBS targets; each one's output is shown, in order, when done.
logs=$(mktemp -d /tmp/semcode-fuzz.XXXXXX)
trap 'rm -rf "$logs"' EXIT
pids=(); started=0
for ((k = 0; k < ${#targets[@]}; k++)); do
  while [ $started -lt ${#targets[@]} ] && [ $((started - k)) -lt "$jobs" ]; do
    one_target "${targets[$started]}" >"$logs/$started.log" 2>&1 &
    pids[$started]=$!; started=$((started + 1))
  done
  wait "${pids[$k]}" || status=1
  cat "$logs/$k.log"
done
exit $status
