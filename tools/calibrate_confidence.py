#!/usr/bin/python3
"""Calibrates the ranking stage's confidence (issue 14: "when nothing scores
above a calibrated threshold, say so"), on the DEVELOPMENT split only.

Positives: each dev query searched in its own repository (label 1 when a
target is among the first 10 results). Negatives: dev queries searched in
another dev repository, where their answer does not exist (label 0): the
situation the flag is for. Each search goes through the product
(`semcode search --json --store WORK/<repo>/store`); the features are the
first result's ranking score s (the runner-up's gap gets weight 0). A logistic
regression (Newton's method) gives P(an answer is found | s, gap); the
search reports low confidence under 0.5. The fit replaces the rank_conf
line of src/store/rank_weights.h.

usage: calibrate_confidence.py --semcode build/semcode --work build/ranker/work-dev
       [--queries 'bench/queries/*.jsonl'] [--tsv 'bench/queries/repos*.tsv'] [--per-repo 30]
"""
import argparse
import glob
import json
import os
import random
import re
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_ranker import logistic_fit  # noqa: E402


def search(semcode, store, q):
    out = subprocess.run([semcode, "search", q, "--store", store, "--json", "-n", "10"], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)["results"]


def is_target(h, t):
    if h["path"] != t["path"]:
        return False
    if "name" in t:
        n = t["name"]
        return h["name"] == n or h["qualified_name"] == n or any(h["qualified_name"].endswith(s + n)
                                                                    for s in (".", "::", "#"))
    return h["start_line"] <= t["line"] <= h["end_line"] and h["kind"] != "chunk"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--semcode", default="build/semcode")
    ap.add_argument("--work", required=True)
    ap.add_argument("--queries", default="bench/queries/*.jsonl")
    ap.add_argument("--tsv", default="bench/queries/repos*.tsv")
    ap.add_argument("--per-repo", type=int, default=30)
    ap.add_argument("--header", default="src/store/rank_weights.h")
    a = ap.parse_args()
    split = {}
    for f in glob.glob(a.tsv):
        for line in open(f).read().splitlines()[1:]:
            c = line.split("\t")
            split[c[0]] = c[1]
    qs = {}
    for f in sorted(glob.glob(a.queries)):
        for line in open(f):
            o = json.loads(line)
            if split.get(o["repo"]) == "dev":
                qs.setdefault(o["repo"], []).append(o)
    repos = sorted(qs)
    rng = random.Random(14)
    rows = []
    for r in repos:
        store = f"{a.work}/{r}/store"
        for o in qs[r]:
            res = search(a.semcode, store, o["query"])
            hit = any(is_target(h, t) for h in res for t in o["targets"])
            rows.append((res, 1.0 if hit else 0.0))
        others = [o for x in repos if x != r for o in qs[x]]
        for o in rng.sample(others, min(a.per_repo, len(others))):
            rows.append((search(a.semcode, store, o["query"]), 0.0))
    # the first result's score alone: its lead over the runner-up is collinear with it and took a
    # negative weight in a fit with both (a clear winner would have looked less certain)
    F = np.asarray([[res[0]["score"], 0.0, 1.0] for res, _ in rows if res])
    t = np.asarray([y for res, y in rows if res])
    th = logistic_fit(F, t)
    p = 1 / (1 + np.exp(-F @ th))
    own = t > 0
    n_pos, n_neg = int(own.sum()), int((~own).sum())
    print(f"calibrate_confidence: {len(t)} searches ({n_pos} answered in their own repository, {n_neg} "
          f"unanswerable or missed); fit {th[0]:.3f} * s + {th[1]:.3f} * gap + {th[2]:.3f}", file=sys.stderr)
    print(f"  at 0.5: flags {np.mean(p[own] < 0.5):.3f} of the answered searches, "
          f"{np.mean(p[~own] < 0.5):.3f} of the others", file=sys.stderr)
    h = open(a.header).read()
    h = re.sub(r"static const double rank_conf\[3\] = \{[^}]*\};",
               f"static const double rank_conf[3] = {{{th[0]:.6g}, {th[1]:.6g}, {th[2]:.6g}}};", h)
    h = h.replace("/* confidence = sigmoid(a * score + b * (score - runner-up) + c) */",
                  "/* confidence = sigmoid(a * score + b * (score - runner-up) + c), fitted by\n"
                  "** tools/calibrate_confidence.py on dev queries asked in their own repository\n"
                  "** (answered) and in another one (no answer exists) */")
    open(a.header, "w").write(h)
    print(f"calibrate_confidence: wrote the confidence of {a.header}", file=sys.stderr)


if __name__ == "__main__":
    main()
