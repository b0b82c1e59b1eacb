#!/usr/bin/env python3
"""CoSQA as a repository, for `semcode eval --queries` (issue 14).

Writes the 6,267 corpus functions of CoSQA (code_idx_map.txt) as a source
tree, one function per file (fNNNNN.py, NNNNN = the corpus index, so a
file name says nothing about its content), and the dev and test queries as
query files in the realistic-query format (bench/queries, one JSON object a
line): category "behaviour", language "python", the target being the gold
function by path and name. Also a repos tsv naming the tree (split "all":
its dev and test queries are separate files, not separate repositories).

Generated under build/, never committed:
    build/queries/repos/cosqa/fNNNNN.py
    build/queries/cosqa-dev.jsonl, build/queries/cosqa-test.jsonl
    build/queries/repos-cosqa.tsv

Usage: python3 tools/cosqa_repo.py [--src DIR] [--out DIR]
    --src  the CoSQA files (default /work/shared/benchmarks/cosqa, or $COSQA_DIR)
    --out  build/queries (default)
Idempotent: files whose content is unchanged are not rewritten (so an index
of the tree is updated incrementally, not rebuilt).
"""
import argparse
import json
import os
import re
import sys

DEF_RE = re.compile(r"\s*(?:async\s+)?def\s+([A-Za-z_][A-Za-z0-9_]*)")


def write_if_changed(path, text):
    """Write text to path unless it already holds exactly that; True if written."""
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return False
    except FileNotFoundError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default=os.environ.get("COSQA_DIR", "/work/shared/benchmarks/cosqa"))
    ap.add_argument("--out", default="build/queries")
    a = ap.parse_args()

    with open(os.path.join(a.src, "code_idx_map.txt"), encoding="utf-8") as f:
        corpus = json.load(f)
    by_idx = {}
    for code, idx in corpus.items():
        if not isinstance(idx, int) or idx in by_idx:
            sys.exit(f"cosqa_repo: bad or duplicate corpus index {idx!r}")
        by_idx[idx] = code

    tree = os.path.join(a.out, "repos", "cosqa")
    os.makedirs(tree, exist_ok=True)
    names = {}
    written = 0
    want = set()
    for idx in sorted(by_idx):
        code = by_idx[idx]
        m = DEF_RE.match(code)
        if not m:
            sys.exit(f"cosqa_repo: corpus function {idx} does not start with a def")
        names[idx] = m.group(1)
        rel = f"f{idx:05d}.py"
        want.add(rel)
        written += write_if_changed(os.path.join(tree, rel), code.rstrip("\n") + "\n")
    stale = [n for n in os.listdir(tree) if n not in want]
    for n in stale:
        os.remove(os.path.join(tree, n))

    counts = {}
    for split in ("dev", "test"):
        with open(os.path.join(a.src, f"cosqa-retrieval-{split}-500.json"), encoding="utf-8") as f:
            qs = json.load(f)
        lines = []
        for q in qs:
            idx = q["retrieval_idx"]
            if idx not in by_idx:
                sys.exit(f"cosqa_repo: {split} query {q.get('idx')} names corpus index {idx}, not in the corpus")
            lines.append(json.dumps({
                "query": q["doc"],
                "repo": "cosqa",
                "category": "behaviour",
                "language": "python",
                "targets": [{"path": f"f{idx:05d}.py", "name": names[idx]}],
                "id": q["idx"],
            }, ensure_ascii=False))
        write_if_changed(os.path.join(a.out, f"cosqa-{split}.jsonl"), "\n".join(lines) + "\n")
        counts[split] = len(lines)

    write_if_changed(os.path.join(a.out, "repos-cosqa.tsv"),
                     "repo\tsplit\tlanguage\tsource\tsubdir\n"
                     "cosqa\tall\tpython\ttools/cosqa_repo.py\t.\n")
    print(f"cosqa_repo: {len(by_idx)} functions in {tree} ({written} written, {len(stale)} removed); "
          f"queries dev {counts['dev']}, test {counts['test']}", file=sys.stderr)


if __name__ == "__main__":
    main()
