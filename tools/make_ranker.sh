#!/usr/bin/env bash
# Reproduces the ranking stage's weights (src/store/rank_weights.h, issue 14):
#   1. tools/ranker_data.sh: pseudo-queries over doc-stripped sub-trees of the
#      built-in model's training sources (build/ranker/)
#   2. bench/queries/fetch.sh: the realistic queries' repositories
#   3. semcode eval --dump-features on the pseudo-queries and on the DEV split
#      (never the test split) with the current model
#   4. tools/train_ranker.py: listwise training on the pseudo-queries plus the
#      dev sets (the written dev split and CoSQA dev, never a test split), L2
#      and dev weight chosen by leave-one-out on the dev sets (repositories;
#      CoSQA dev in two halves), then the number of boosted trees on top of
#      the linear score by the same leave-one-out (L2 and dev weight fixed at
#      the values the linear grid chose, docs/QUALITY.md: the full grid with
#      trees takes hours on 2 cores; TRAIN_RANKER_ARGS overrides); the
#      call-graph features are dropped (zero weight): on dev they did not
#      beat the stage without them (docs/QUALITY.md, "Session 9")
#   5. tools/calibrate_confidence.py: the confidence's logistic fit on dev
# Run via `make ranker` after `make model` (features depend on the model).
set -euo pipefail
cd "$(dirname "$0")/.."
SEMCODE=${SEMCODE:-build/semcode}
OUT=${OUT:-build/ranker}
LOCK=${LOCK:-/tmp/semcode-bench.lock}
locked() { if [ "$LOCK" = none ]; then "$@"; else flock "$LOCK" "$@"; fi; }
bash tools/ranker_data.sh
bash bench/queries/fetch.sh >/dev/null
lang_of() { case $1 in py-*) echo python ;; go-*) echo go ;; rust-*) echo rust ;; ruby-*) echo ruby ;;
  js-*) echo javascript ;; ts-*) echo typescript ;; java-*) echo java ;; c-*) echo c ;; *) echo unknown ;; esac; }
{ printf 'repo\tsplit\tlanguage\tsource\tsubdir\n'
  for d in "$OUT"/repos-nodoc/*/; do n=$(basename "$d"); printf '%s\ttrain\t%s\tcorpus\t%s\n' "$n" "$(lang_of "$n")" "$d"; done; } > "$OUT/repos.tsv"
locked "$SEMCODE" eval --queries "$OUT"/queries/*.jsonl --repos "$OUT/repos-nodoc" --repos-tsv "$OUT/repos.tsv" \
  --split all --work "$OUT/work-nodoc" --mode hybrid --dump-features "$OUT/train.features.jsonl" > "$OUT/train.md"
locked "$SEMCODE" eval --queries bench/queries/*.jsonl --repos build/queries/repos --split dev \
  --work "$OUT/work-dev" --mode hybrid --dump-features "$OUT/dev.features.jsonl" > "$OUT/dev.md"
python3 tools/cosqa_repo.py ${COSQA_DIR:+--src "$COSQA_DIR"}
locked "$SEMCODE" eval --queries build/queries/cosqa-dev.jsonl --repos build/queries/repos \
  --repos-tsv build/queries/repos-cosqa.tsv --split all --work "$OUT/work-cosqa" --mode hybrid \
  --dump-features "$OUT/cosqa-dev.raw.jsonl" > "$OUT/cosqa-dev.md"
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
with open(f"{out}/cosqa-dev.features.jsonl", "w") as f:  # two halves, so leave-one-out can score CoSQA
    for i, line in enumerate(open(f"{out}/cosqa-dev.raw.jsonl")):
        o = json.loads(line)
        if "feature_names" not in o:
            o["repo"] = "cosqa-dev-" + "ab"[i % 2]
        f.write(json.dumps(o) + "\n")
PY
/usr/bin/python3 tools/train_ranker.py --train "$OUT/train.features.jsonl" \
  --dev "$OUT/dev.features.jsonl" "$OUT/cosqa-dev.features.jsonl" \
  --out src/store/rank_weights.h ${TRAIN_RANKER_ARGS:---l2 0.01 --dev-weight 64 --trees 0,100,200,300 --depth 3 --drop cov_callees,cov_callers,log_fanin,cand_callers}
make -s all
/usr/bin/python3 tools/calibrate_confidence.py --semcode "$SEMCODE" --work "$OUT/work-dev" --per-repo 10
make -s all
echo "make_ranker: wrote src/store/rank_weights.h and rebuilt"
