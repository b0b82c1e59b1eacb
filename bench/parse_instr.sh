#!/usr/bin/env bash
# bench/parse_instr.sh TREE [LANG]: load-independent costs of `semcode parse`
# against `ctags -R` over the same tree: instructions counted by valgrind's
# callgrind, one thread, JSON output included (what bench/parse.sh times).
# Prints one Markdown row: semcode total, tree-sitter parse, extraction
# walk, JSON output, ctags total, and the ratio. Slow (callgrind runs the
# code ~50x slower): use a subtree for quick checks (Lib/email, net/http).
set -euo pipefail
cd "$(dirname "$0")/.."
TREE=${1:?usage: bench/parse_instr.sh TREE [python|go]}
LANG_NAME=${2:-python}
case "$LANG_NAME" in
  python) CTAGS_LANG=Python ;;
  go) CTAGS_LANG=Go ;;
  *) echo "parse_instr.sh: LANG must be python or go" >&2; exit 2 ;;
esac
BIN=${BIN:-build/semcode}
OUT=bench/out/parse
mkdir -p "$OUT"
command -v valgrind >/dev/null || { echo "parse_instr.sh: valgrind missing (apt-get install valgrind)" >&2; exit 1; }

# total instructions of a command
instr() { valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.out" "$@" 2>&1 | sed -n 's/.*Collected : //p'; }
# inclusive instructions of a function in the last profile
incl() {
  callgrind_annotate --inclusive=yes "$OUT/cg.out" 2>/dev/null |
    awk -v f="$1" '$0 ~ f && !done { gsub(",", "", $1); print $1; done = 1 }' || true
}

ct=$(instr ctags -R --languages=$CTAGS_LANG -f "$OUT/tags.instr" "$TREE")
sc=$(instr "$BIN" parse "$TREE" --json --lang "$LANG_NAME" --threads 1 -o "$OUT/instr.jsonl")
ts=$(incl ':ts_parser_parse ')
ex=$(incl 'parse_extract_tree ')
js=$(incl 'cli__on_file ')
awk -v t="$TREE" -v sc="$sc" -v ts="${ts:-0}" -v ex="${ex:-0}" -v js="${js:-0}" -v ct="$ct" 'BEGIN{
  printf "| %s | %.0f M | %.0f M (%.0f %%) | %.0f M (%.0f %%) | %.0f M (%.0f %%) | %.0f M | %.1f× |\n",
    t, sc/1e6, ts/1e6, 100*ts/sc, ex/1e6, 100*ex/sc, js/1e6, 100*js/sc, ct/1e6, sc/ct }'
