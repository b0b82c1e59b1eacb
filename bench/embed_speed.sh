#!/usr/bin/env bash
# Inference speed of the built-in model: code entities per second on one
# core, from prepared text to vector (tokenize + pool + normalise), on real
# functions: the code side of the held-out pairs (build/model/split/
# heldout.jsonl, made by `make model`), each text as the model sees it.
# Peer: none here (the CodeSearchNet NBoW baseline ran on GPUs); the goal
# from issue 5 is 20,000 entities/s.
# usage: bench/embed_speed.sh [MODEL] [PAIRS]
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-models/builtin.scm}
PAIRS=${2:-build/model/split/heldout.jsonl}
TMP=$(mktemp)
trap 'rm -f "$TMP"' EXIT
python3 -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    c = json.loads(line)["code"]
    print(c.replace("\\", "\\\\").replace("\n", "\\n"))
' "$PAIRS" > "$TMP"
echo "texts: $(wc -l < "$TMP"), mean $(( $(wc -c < "$TMP") / $(wc -l < "$TMP") )) bytes"
for i in 1 2 3; do
  taskset -c 0 build/semcode embed --model "$MODEL" --code --bench < "$TMP"
done
