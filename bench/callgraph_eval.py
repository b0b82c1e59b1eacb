#!/usr/bin/env python3
"""Precision and recall of semcode's call resolution on hand-labelled call sites.

bench/callgraph_labels.jsonl holds one call site a line, labelled by reading
the code (docs/QUALITY.md, "Call graph"): {lang, root, path, line, name,
target}, target "PATH::QUALIFIED_NAME" of the entity the call reaches in that
repository, or null for a call outside it (builtins, libraries, macros,
function pointers, values). Constructor calls are labelled with the class.

The script indexes each root into a temporary store (semcode index --store),
asks `semcode callees --json PATH:LINE` for the entity around each site and
compares the edges of that line and name with the label:
  TP  the gold target is among the predicted callees
  FP  each predicted callee that is not the gold target
  FN  a gold target that was not predicted
precision = TP / (TP + FP), recall = TP / (sites with a gold target).

usage: bench/callgraph_eval.py [--labels FILE] [--semcode build/semcode] [--queries DIR] [--model DIR] [--json]
  --labels FILE  bench/callgraph_labels.jsonl (default; 281 sites, 4 languages) or
                 bench/callgraph_heldout.jsonl (41 Java sites labelled after the rules were fixed)
  --queries DIR  where $QUERIES in a root points (default build/queries/repos,
                 else /work/main/build/queries/repos); --model DIR: $MODEL (build/model/src)
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict


def norm_qname(q):
    return q.replace("(*", "").replace("(", "").replace(")", "")


def matches(pred_path, pred_qname, gold):
    gpath, gq = gold.split("::", 1)
    if pred_path != gpath:
        return False
    q = norm_qname(pred_qname)
    return q == gq or q.endswith("." + gq) or q.endswith("::" + gq)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--semcode", default="build/semcode")
    ap.add_argument("--labels", default="bench/callgraph_labels.jsonl")
    ap.add_argument("--queries", default=None)
    ap.add_argument("--model", default=None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    queries = a.queries or next((d for d in ("build/queries/repos", "/work/main/build/queries/repos")
                                 if os.path.isdir(d)), "build/queries/repos")
    model = a.model or next((d for d in ("build/model/src", "/work/main/build/model/src") if os.path.isdir(d)),
                            "build/model/src")
    labels = [json.loads(l) for l in open(a.labels) if l.strip()]
    tmp = tempfile.mkdtemp(prefix="cg_eval")
    stores = {}
    cache = {}
    per = defaultdict(lambda: {"sites": 0, "gold": 0, "tp": 0, "fp": 0, "fn": 0, "external_ok": 0, "external": 0})
    for lab in labels:
        root = lab["root"].replace("$QUERIES", queries).replace("$MODEL", model)
        if root not in stores:
            store = os.path.join(tmp, str(len(stores)))
            subprocess.run([a.semcode, "index", root, "--store", store, "-q"], check=True,
                           stdout=subprocess.DEVNULL)
            stores[root] = store
        key = (root, lab["path"], lab["line"])
        if key not in cache:
            r = subprocess.run([a.semcode, "callees", "--json", "--store", stores[root],
                                f"{lab['path']}:{lab['line']}"], capture_output=True, text=True)
            cache[key] = json.loads(r.stdout)["callees"] if r.returncode == 0 else []
        preds = {(e["callee"]["path"], e["callee"]["qualified_name"])
                 for e in cache[key] if e["line"] == lab["line"] and e["name"] == lab["name"] and e["callee"]}
        s = per[lab["lang"]]
        s["sites"] += 1
        gold = lab["target"]
        hit = gold is not None and any(matches(p, q, gold) for p, q in preds)
        fp = len([1 for p, q in preds if gold is None or not matches(p, q, gold)])
        if gold is None:
            s["external"] += 1
            s["external_ok"] += not preds
        else:
            s["gold"] += 1
            s["tp"] += hit
            s["fn"] += not hit
        s["fp"] += fp
        if a.verbose and (fp or (gold and not hit)):
            print(f"  {lab['lang']} {lab['path']}:{lab['line']} {lab['name']}: gold {gold}, predicted {sorted(preds)}",
                  file=sys.stderr)
    tot = defaultdict(int)
    rows = []
    for lang in sorted(per):
        s = per[lang]
        for k, v in s.items():
            tot[k] += v
        rows.append((lang, s))
    rows.append(("all", tot))
    out = {}
    for lang, s in rows:
        p = s["tp"] / (s["tp"] + s["fp"]) if s["tp"] + s["fp"] else 0.0
        r = s["tp"] / s["gold"] if s["gold"] else 0.0
        out[lang] = dict(s, precision=round(p, 3), recall=round(r, 3))
    if a.json:
        print(json.dumps(out, indent=1))
    else:
        print(f"{'language':<11} {'sites':>5} {'in-repo':>7} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} {'recall':>6} "
              f"{'external left unresolved':>24}")
        for lang, s in out.items():
            print(f"{lang:<11} {s['sites']:>5} {s['gold']:>7} {s['tp']:>4} {s['fp']:>4} {s['fn']:>4} "
                  f"{s['precision']:>9.3f} {s['recall']:>6.3f} {s['external_ok']:>13}/{s['external']}")


if __name__ == "__main__":
    main()
