#!/usr/bin/env python3
"""Put two `semcode eval --queries --json` reports side by side (issue 14:
the old product-path numbers next to the new ones).

Usage: python3 bench/quality_compare.py OLD.json NEW.json [--metrics LIST] [--kinds LIST]
    --metrics  level.metric items (default entity.mrr_10,entity.ndcg_10,file.ndcg_10);
               levels entity, file; metrics hit_1, hit_10, mrr_10, ndcg_10
    --kinds    group kinds to show (default all,category,language; also repo)
Prints a Markdown table: one row per group and mode run in both reports, each
metric as "old → new (±delta)". Groups or modes in only one report are listed
below the table. The two reports must be of the same queries (same counts per
group), else the script says where they differ and exits 1.
"""
import argparse
import json
import sys

MODES = ("keyword", "dense", "hybrid")
LABEL = {"hit_1": "hit@1", "hit_10": "hit@10", "mrr_10": "MRR@10", "ndcg_10": "NDCG@10"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--metrics", default="entity.mrr_10,entity.ndcg_10,file.ndcg_10")
    ap.add_argument("--kinds", default="all,category,language")
    a = ap.parse_args()
    old, new = (json.load(open(p)) for p in (a.old, a.new))
    metrics = [m.split(".") for m in a.metrics.split(",")]
    for lvl, met in metrics:
        if lvl not in ("entity", "file") or met not in LABEL:
            sys.exit(f"quality_compare: unknown metric {lvl}.{met}")
    kinds = a.kinds.split(",")
    modes = [m for m in MODES if m in old["modes"] and m in new["modes"]]
    og = {(g["kind"], g["name"]): g for g in old["groups"]}
    ng = {(g["kind"], g["name"]): g for g in new["groups"]}
    bad = [f"{k[0]} {k[1]}: {og[k]['queries']} vs {ng[k]['queries']} queries"
           for k in og if k in ng and og[k]["queries"] != ng[k]["queries"]]
    if bad:
        print("quality_compare: the reports are not of the same queries:\n  " + "\n  ".join(bad), file=sys.stderr)
        sys.exit(1)
    head = " | ".join(f"{lvl} {LABEL[met]}" for lvl, met in metrics)
    print(f"| group | n | mode | {head} |")
    print("| --- | ---: | --- |" + " ---: |" * len(metrics))
    for g in new["groups"]:
        key = (g["kind"], g["name"])
        if g["kind"] not in kinds or key not in og:
            continue
        label = g["name"] if g["kind"] == "all" else f"{g['kind']} {g['name']}"
        for i, m in enumerate(modes):
            cells = []
            for lvl, met in metrics:
                o, n = og[key][m][lvl][met], g[m][lvl][met]
                cells.append(f"{o:.3f} → {n:.3f} ({n - o:+.3f})")
            print(f"| {label if i == 0 else ''} | {g['queries'] if i == 0 else ''} | {m} | {' | '.join(cells)} |")
    only = [f"{k[0]} {k[1]} only in {'old' if k in og else 'new'}" for k in sorted(set(og) ^ set(ng))
            if k[0] in kinds]
    only += [f"mode {m} only in one report" for m in MODES if (m in old["modes"]) != (m in new["modes"])]
    for s in only:
        print(f"\n- {s}", end="")
    if only:
        print()


if __name__ == "__main__":
    main()
