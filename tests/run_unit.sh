#!/usr/bin/env bash
# Runs every unit-test binary given as argument, shows their output, and
# closes with one line of totals: "unit: N passed, N failed".
set -u
passed=0; failed=0; crashed=0
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  printf '%s\n' "$out"
  p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]\+\) test(s)\./\1/p' | awk '{s+=$1} END {print s+0}')
  f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]\+\) test(s), listed below:/\1/p' | awk '{s+=$1} END {print s+0}')
  passed=$((passed + p)); failed=$((failed + f))
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "!! $t exited with status $rc"; crashed=$((crashed + 1)); failed=$((failed + 1))
  fi
done
echo "unit: $passed passed, $failed failed"
[ $failed -eq 0 ]
