#!/usr/bin/env bash
# The quality harness run through the product path (issue 8): for each
# language, the held-out units of the built-in model's split (whole
# directories, or top-level module files, never trained on: see
# tools/split_pairs.py) are copied into one tree, and `semcode eval --repo`
# cuts their doc comments out, indexes the copy as `semcode index` does and
# searches every documented entity by its doc comment in keyword, dense and
# hybrid mode (MRR with a result limit of 100, R@1, R@10; docs/QUALITY.md).
#
# Usage: bash bench/quality_repo.sh [LANG...]     (default: every language
#        whose held-out sources are on this machine)
# Env:   TEMPLATES="0 1 2 3"  prepared-text variants to compare (default 0)
#        WHOLE_DOC=1          query with the whole doc comment, not its first paragraph
#        SPLIT=DIR            the split (default build/model/split; made from
#                             build/model/pairs by tools/split_pairs.py when missing,
#                             the pairs by tools/corpus.sh as `make model` does)
# The held-out units of a language depend only on that language's sources,
# so a partial corpus (PAIRS_DIR with some sources) gives the same trees.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s -j2 all >/dev/null
SPLIT=${SPLIT:-build/model/split}
PAIRS=${PAIRS_DIR:-build/model/pairs}
TEMPLATES=${TEMPLATES:-0}
if [ ! -f "$SPLIT/heldout_units.json" ]; then
  [ -d "$PAIRS" ] || bash tools/corpus.sh
  CAP_TRAIN=${CAP_TRAIN:-40000} python3 tools/split_pairs.py "$PAIRS" "$SPLIT" > /dev/null
fi
WORK=$(mktemp -d /tmp/semcode-quality-repo-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# Source name (tools/corpus.sh) -> the folder its pairs were extracted from.
python3 - "$SPLIT/heldout_units.json" "$WORK" "$@" <<'PY'
import json, os, shutil, sys
units, work, want = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3:]
roots = {"go": "/usr/share/go-1.19/src", "python": "/usr/lib/python3.11", "ruby": "/usr/lib/ruby/3.1.0",
         "java": "build/model/src/java", "c": "build/model/src/linux", "rust": "/usr/src/rustc-1.63.0/library"}
for p in ("eslint", "webpack", "typescript", "date-fns", "rxjs"):
    roots["npm-" + p] = "tools/corpus/node_modules/" + p
exts = {"python": (".py",), "go": (".go",), "ruby": (".rb",), "java": (".java",), "c": (".c", ".h"),
        "rust": (".rs",), "javascript": (".js", ".mjs", ".cjs", ".jsx"), "typescript": (".ts",), "tsx": (".tsx",)}
for lang, us in sorted(units.items()):
    if want and lang not in want:
        continue
    n = 0
    for key, paths in sorted(us.items()):
        source, unit = key.split(":", 1)
        root = roots.get(source)
        if not root or not os.path.isdir(root):
            continue
        files = set()
        for p in paths:
            rel = p.split("/", 1)[1]
            d = os.path.dirname(rel)
            if d and d == unit:  # a held-out directory: all its files of this language
                for f in os.listdir(os.path.join(root, d)):
                    if f.endswith(exts.get(lang, ())) and os.path.isfile(os.path.join(root, d, f)):
                        files.add(os.path.join(d, f))
            else:  # a held-out top-level module file
                files.add(rel)
        for rel in sorted(files):
            dst = os.path.join(work, lang, source, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(os.path.join(root, rel), dst)
            n += 1
    if n:
        print(f"tree {lang}: {n} files from {len(us)} held-out units", file=sys.stderr)
PY
extra=()
[ "${WHOLE_DOC:-0}" = 1 ] && extra+=(--whole-doc)
for t in $TEMPLATES; do
  for d in "$WORK"/*/; do
    lang=$(basename "$d")
    [ "$lang" = "out" ] && continue
    build/semcode eval --repo "$d" --template "$t" --limit 100 --json "${extra[@]}" > "$WORK/out.$lang.$t.json"
  done
done
python3 - "$WORK" $TEMPLATES <<'PY'
import glob, json, os, sys
work, templates = sys.argv[1], sys.argv[2:]
modes = ("keyword", "dense", "hybrid")
print("| template | language | files | entities (pool) | documented | queries | keyword MRR | R@1 | R@10 | dense MRR | R@1 | R@10 | hybrid MRR | R@1 | R@10 |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for t in templates:
    rows = []
    for f in sorted(glob.glob(f"{work}/out.*.{t}.json")):
        d = json.load(open(f))
        lang = f.split("/out.")[1].rsplit(".", 2)[0]
        tot = [r for r in d["rows"] if r["language"] == "all"][0]
        rows.append((lang, d, tot))
        cells = " | ".join(f"{tot[m]['mrr']:.3f} | {tot[m]['r1']:.3f} | {tot[m]['r10']:.3f}" for m in modes)
        print(f"| {t} | {lang} | {d['files']} | {d['entities']} | {tot['documented']} | {tot['queries']} | {cells} |")
    if rows:
        n = sum(r[2]["queries"] for r in rows)
        mean = " | ".join(
            f"**{sum(r[2][m]['mrr'] for r in rows) / len(rows):.3f}** | {sum(r[2][m]['r1'] for r in rows) / len(rows):.3f} | "
            f"{sum(r[2][m]['r10'] for r in rows) / len(rows):.3f}" for m in modes)
        print(f"| {t} | **mean** (unweighted) | | | | {n} | {mean} |")
        pooled = " | ".join(
            f"{sum(r[2][m]['mrr'] * r[2]['queries'] for r in rows) / max(n, 1):.3f} | "
            f"{sum(r[2][m]['r1'] * r[2]['queries'] for r in rows) / max(n, 1):.3f} | "
            f"{sum(r[2][m]['r10'] * r[2]['queries'] for r in rows) / max(n, 1):.3f}" for m in modes)
        print(f"| {t} | all queries (weighted) | | | | {n} | {pooled} |")
for f in sorted(glob.glob(f"{work}/out.*.json")):
    d = json.load(open(f))
    print(f"{os.path.basename(f)}: docs cut {d['docs_stripped']}, files with new parse errors {d['files_broken']}, "
          f"documented entities not asked {d['queries_dropped']}, index {d['seconds_index']:.1f} s, "
          f"searches {d['seconds_search']:.1f} s", file=sys.stderr)
PY
