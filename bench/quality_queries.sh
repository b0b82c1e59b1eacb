#!/bin/bash
# Retrieval quality on written queries through the product path (issue 14):
# the realistic query set (bench/queries/*.jsonl over the repositories of
# bench/queries/repos*.tsv) and CoSQA as a repository, each run through
# `semcode eval --queries` (index as `semcode index` does, search as
# `semcode search` does; hit@1, hit@10, MRR@10, NDCG@10 at entity and file
# level, per mode, category, language and repository).
#
# Usage, from anywhere:
#     bash bench/quality_queries.sh [dev|test] [MODEL]
#   dev (default) or test: the split of the realistic set, and CoSQA's
#   dev or test queries. Choose settings on dev; run test to report.
#   MODEL: a model file (default: the shipped built-in model).
# Environment: MODES (default hybrid,dense,keyword), SKIP_FETCH=1 (use the
# copies already in build/queries/repos), COSQA_DIR (CoSQA files),
# NO_COSQA=1 / NO_REPOS=1 (leave one of the two out).
#
# Writes build/quality/<set>-<split>.json (the report), .md (tables, and
# the change from the old product path's report in
# docs/quality/issue14-baseline-<set>-<split>.json when there is one),
# .perq.jsonl (ranks per query and mode, for failure analysis) for
# set = queries and cosqa. Indexes are kept in build/quality/index/<model>/
# so a rerun only searches. Runs under flock /tmp/semcode-bench.lock (the
# machine is shared).
set -euo pipefail

cd "$(dirname "$0")/.."
split=${1:-dev}
model=${2:-}
case "$split" in dev | test) ;; *) echo "usage: bash bench/quality_queries.sh [dev|test] [MODEL]" >&2; exit 2 ;; esac
modes=${MODES:-hybrid,dense,keyword}
out=build/quality
mkdir -p "$out"

# 1. sources
if [ -z "${NO_REPOS:-}" ] && [ -z "${SKIP_FETCH:-}" ]; then
    if [ ! -f bench/queries/fetch.sh ]; then
        echo "quality_queries: bench/queries/fetch.sh is missing (the query set is not in this tree)" >&2
        exit 1
    fi
    sh bench/queries/fetch.sh
fi
if [ -z "${NO_COSQA:-}" ]; then
    python3 tools/cosqa_repo.py ${COSQA_DIR:+--src "$COSQA_DIR"}
fi

# 2. build
make -j2 build/semcode >/dev/null

# 3. the index folder is per model, so runs of two models do not rebuild each other's
if [ -n "$model" ]; then
    tag=$(basename "$model" | tr -c 'A-Za-z0-9._-\n' '_')-$(sha256sum "$model" | cut -c1-12)
    model_args=(--model "$model")
else
    tag=builtin-$(sha256sum models/builtin.scm | cut -c1-12)
    model_args=()
fi
work="$out/index/$tag"
mkdir -p "$work"

run() { # name, then eval arguments
    local name=$1
    shift
    echo "quality_queries: $name ($split, model $tag)" >&2
    flock /tmp/semcode-bench.lock ./build/semcode eval "$@" --repos build/queries/repos --work "$work" \
        --mode "$modes" "${model_args[@]}" --json --per-query "$out/$name-$split.perq.jsonl" >"$out/$name-$split.json"
    python3 - "$out/$name-$split.json" "$name" "$split" "$tag" "$out/$name-$split.perq.jsonl" \
        >"$out/$name-$split.md" <<'PY'
import collections, json, sys
path, name, split, tag, perq = sys.argv[1:6]
r = json.load(open(path))
modes = [m for m in ("keyword", "dense", "hybrid") if m in r["modes"]]
print(f"{name}, {split} split, model {tag}: {r['queries']} queries ({r['queries_skipped']} of other splits "
      f"skipped), {r['targets']} targets, {r['repos']} repositories, {r['entities']} indexed points; "
      f"index {r['seconds_index']:.1f} s, searches {r['seconds_search']:.1f} s\n")
print("| group | n | mode | entity hit@1 | hit@10 | MRR@10 | NDCG@10 | file hit@1 | hit@10 | MRR@10 | NDCG@10 |")
print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for g in r["groups"]:
    label = g["name"] if g["kind"] == "all" else f"{g['kind']} {g['name']}"
    if g["kind"] == "repo":
        label += f" ({g['files']} files, {g['points']} points)"
    for i, m in enumerate(modes):
        e, f = g[m]["entity"], g[m]["file"]
        cells = " | ".join(f"{x[k]:.3f}" for x in (e, f) for k in ("hit_1", "hit_10", "mrr_10", "ndcg_10"))
        print(f"| {label if i == 0 else ''} | {g['queries'] if i == 0 else ''} | {m} | {cells} |")
# where the modes disagree (entity level, top 10), from the per-query ranks
by = collections.defaultdict(dict)
for line in open(perq):
    q = json.loads(line)
    by[(q["query_file"], q["query_line"])][q["mode"]] = q
def found(q, level="entity", k=10):
    return any(0 < x <= k for x in q[level]["ranks"])
print()
for a in modes:
    for b in modes:
        if a < b:
            na = sum(1 for q in by.values() if found(q[a]) and not found(q[b]))
            nb = sum(1 for q in by.values() if found(q[b]) and not found(q[a]))
            print(f"- entity top 10: {a} finds a target that {b} misses in {na} queries, the reverse in {nb}")
print(f"- no mode finds a target in the top 10: {sum(1 for q in by.values() if not any(found(x) for x in q.values()))}"
      f" of {len(by)} queries")
for m in modes:
    miss = [q[m] for q in by.values() if not found(q[m])]
    print(f"- {m} misses {len(miss)}: a target's file is among its top 10 files in {sum(found(x, 'file') for x in miss)}, "
          f"among the files of its top 100 entities in {sum(found(x, 'file', 100) for x in miss)}; a target entity "
          f"is among its top 100 entities in {sum(any(0 < r <= 100 for r in x['entity']['ranks_100']) for x in miss)}")
PY
    # next to the old product path's numbers (docs/QUALITY.md), when they were recorded for this set
    local base=docs/quality/issue14-baseline-$name-$split.json
    if [ -f "$base" ]; then
        { echo; echo "Against the old product path ($base):"; echo
          python3 bench/quality_compare.py "$base" "$out/$name-$split.json"; } >>"$out/$name-$split.md" ||
            echo "quality_queries: not compared with $base (other queries)" >&2
    fi
    cat "$out/$name-$split.md"
    echo
}

if [ -z "${NO_REPOS:-}" ]; then
    shopt -s nullglob
    files=(bench/queries/*.jsonl)
    if [ ${#files[@]} -eq 0 ]; then
        echo "quality_queries: no bench/queries/*.jsonl" >&2
        exit 1
    fi
    run queries --queries "${files[@]}" --split "$split"
fi
if [ -z "${NO_COSQA:-}" ]; then
    run cosqa --queries "build/queries/cosqa-$split.jsonl" --repos-tsv build/queries/repos-cosqa.tsv --split all
fi
