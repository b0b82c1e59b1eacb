#!/usr/bin/env bash
# bench/parse.sh [TREE [LANG]]: `semcode parse` against its peer,
# universal-ctags (`ctags -R`), over the same tree in the same run. Default
# tree: CPython's Lib/ as Debian installs it (/usr/lib/python3.11, package
# libpython3.11-stdlib), LANG python; also used with Go's sources
# (/usr/share/go-1.19/src, package golang-1.19-src) and LANG go. Two comparisons:
#   LANG:   both parse only the files of LANG (ctags --languages=Python|Go,
#           semcode --lang LANG), which is the like-for-like one;
#   all:    both with their defaults over every file of the tree (semcode
#           also chunks text files and skips binaries).
# Each command runs RUNS times after one warm-up; the best wall time is
# kept. semcode writes JSON Lines, ctags a tags file, both to bench/out/.
# Prints a Markdown table (wall, user+sys CPU, files/s, MB/s, entities/s,
# and the 1-minute load average when the row was measured: the machine is
# shared, and wall times mean little when the load exceeds the cores).
# Run it under the shared lock: flock /tmp/semcode-bench.lock bench/parse.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TREE=${1:-/usr/lib/python3.11}
LANG_NAME=${2:-python}
case "$LANG_NAME" in
  python) CTAGS_LANG=Python; EXT=py ;;
  go) CTAGS_LANG=Go; EXT=go ;;
  *) echo "parse.sh: LANG must be python or go" >&2; exit 2 ;;
esac
RUNS=${RUNS:-5}
BIN=${BIN:-build/semcode}
OUT=bench/out/parse
mkdir -p "$OUT"
[ -d "$TREE" ] || { echo "parse.sh: no tree at $TREE (apt-get install libpython3.11-stdlib)" >&2; exit 1; }
command -v ctags >/dev/null || { echo "parse.sh: ctags missing (apt-get install universal-ctags)" >&2; exit 1; }
[ -x "$BIN" ] || make -j2 >/dev/null

# best-of-N wall and the user+sys CPU of that run: "wall cpu"
best() {
  local best_w="" best_c="" t w c
  "$@" >/dev/null 2>&1 # warm-up (page cache)
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -o "$OUT/time.txt" -f "%e %U %S" "$@" >/dev/null 2>&1
    t=$(tail -1 "$OUT/time.txt")
    w=$(echo "$t" | awk '{print $1}'); c=$(echo "$t" | awk '{print $2 + $3}')
    if [ -z "$best_w" ] || awk -v a="$w" -v b="$best_w" 'BEGIN{exit !(a < b)}'; then best_w=$w; best_c=$c; fi
  done
  echo "$best_w $best_c"
}

# "parsed bytes entities chunks" from the summary line of a JSON Lines output
summary() {
  tail -1 "$1" | sed -n 's/^{"type":"summary","files":[0-9]*,"parsed":\([0-9]*\),"bytes":\([0-9]*\),"entities":\([0-9]*\),"chunks":\([0-9]*\).*/\1 \2 \3 \4/p'
}

row() { # name wall cpu files bytes entities (+ the 1-minute load average now)
  awk -v n="$1" -v w="$2" -v c="$3" -v f="$4" -v b="$5" -v e="$6" -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN{
    if (w <= 0) w = 0.01;
    printf "| %s | %.2f | %.2f | %d | %.1f | %d | %.0f | %.1f | %.0f | %s |\n", n, w, c, f, b/1e6, e, f/w, b/1e6/w, e/w, l }'
}

NCORES=$(nproc)
PY_FILES=$(find "$TREE" -name "*.$EXT" -type f -not -path '*/__pycache__/*' | wc -l)
PY_BYTES=$(find "$TREE" -name "*.$EXT" -type f -not -path '*/__pycache__/*' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
ALL_FILES=$(find "$TREE" -type f -not -path '*/__pycache__/*' | wc -l)
ALL_BYTES=$(find "$TREE" -type f -not -path '*/__pycache__/*' -printf '%s\n' | awk '{s+=$1} END {print s+0}')

echo "tree: $TREE ($PY_FILES .$EXT files, $((PY_BYTES / 1000000)) MB; $ALL_FILES files in all)"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $NCORES cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "ctags: $(ctags --version | head -1)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| run | wall s | cpu s | files | MB | entities | files/s | MB/s | entities/s | load |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"

# --- one language ---
read -r w c < <(best ctags -R --languages=$CTAGS_LANG -f "$OUT/tags.$EXT" "$TREE")
ents=$(grep -vc '^!_TAG' "$OUT/tags.$EXT" || true)
row "ctags -R --languages=$CTAGS_LANG" "$w" "$c" "$PY_FILES" "$PY_BYTES" "$ents"
ctags_py=$w; ctags_cpu=$c
for th in 1 "$NCORES"; do
  read -r w c < <(best "$BIN" parse "$TREE" --json --lang "$LANG_NAME" --threads "$th" -o "$OUT/$EXT.$th.jsonl")
  "$BIN" parse "$TREE" --json --lang "$LANG_NAME" --threads "$th" -o "$OUT/$EXT.$th.jsonl"
  read -r files bytes ents _ < <(summary "$OUT/$EXT.$th.jsonl")
  row "semcode parse --json --lang $LANG_NAME --threads $th" "$w" "$c" "$files" "$bytes" "$ents"
  [ "$th" = "$NCORES" ] && sc_py=$w
  [ "$th" = 1 ] && sc_cpu=$c
done

# --- Whole tree, defaults ---
read -r w c < <(best ctags -R -f "$OUT/tags.all.$EXT" "$TREE")
ents=$(grep -vc '^!_TAG' "$OUT/tags.all.$EXT" || true)
row "ctags -R" "$w" "$c" "$ALL_FILES" "$ALL_BYTES" "$ents"
read -r w c < <(best "$BIN" parse "$TREE" --json -o "$OUT/all.$EXT.jsonl")
"$BIN" parse "$TREE" --json -o "$OUT/all.$EXT.jsonl"
read -r _ _ ents chunks < <(summary "$OUT/all.$EXT.jsonl")
row "semcode parse --json (+$chunks chunks)" "$w" "$c" "$ALL_FILES" "$ALL_BYTES" "$ents"

echo
awk -v l="$LANG_NAME" -v s="$sc_py" -v c="$ctags_py" 'BEGIN{ printf "%s: semcode/ctags wall ratio %.2f (goal <= 2)\n", l, s / (c > 0 ? c : 0.01) }'
awk -v l="$LANG_NAME" -v s="$sc_cpu" -v c="$ctags_cpu" 'BEGIN{ printf "%s: semcode/ctags CPU ratio %.2f (one thread each)\n", l, s / (c > 0 ? c : 0.01) }'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
