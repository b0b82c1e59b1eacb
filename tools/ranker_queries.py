#!/usr/bin/env python3
"""Pseudo-queries for training the ranking stage (issue 14), from the
training corpora of the built-in model, never from the evaluation
repositories of bench/queries or from projects reserved for independent
evaluation.

For each tree given as NAME=DIR, the entities that `semcode parse` reports
become queries in the format of bench/queries (docs: bench/queries/README.md):
  - behaviour: the first sentence of a doc comment, cleaned of markup and
    cut to 14 words, asks for its entity;
  - symbol: the words of a name ("read config file" for readConfigFile,
    sometimes with the enclosing class) ask for it.
The tree itself is copied by the caller to REPOS/NAME so the evaluation
harness can index it like any repository.

usage: ranker_queries.py --semcode build/semcode --out DIR [--per-repo N] [--seed S] NAME=TREE ...
writes DIR/NAME.jsonl
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys

SKIP_START = ("todo", "deprecated", "copyright", "spdx", "xxx", "fixme", "see ", "note", "internal", "private",
              "this file", "license", "@", "#", "-", "*", "=", "|", "{", "[", "<", "(", ":", ">")


def clean_doc(doc, name):
    """First sentence of a doc comment as a user might type it, or None.
    A leading restatement of the name (Go's "Foo does ...", kernel-doc's
    "foo() - does ...") is dropped: people do not type the name they seek."""
    text = doc.strip()
    text = re.sub(r"^\s*" + re.escape(name) + r"(\(\))?\s*(-|:)?\s+", "", text)
    text = re.sub(r"@\w+:.*", "", text, flags=re.S)
    # drop parameter / tag lines and markup
    text = re.split(r"\n\s*\n", text)[0]
    text = re.sub(r"\{@\w+\s+([^}]*)\}", r"\1", text)
    text = re.sub(r"[`*]{1,3}", "", text)
    text = re.sub(r":\w+:", "", text)
    text = re.sub(r"\s+", " ", text).strip()
    m = re.match(r"(.+?[.!?])(\s|$)", text)
    if m:
        text = m.group(1)
    text = text.rstrip(".!? ")
    words = text.split()
    if len(words) < 4 or text.lower().startswith(SKIP_START) or "http" in text or "::" in text:
        return None
    words = words[:14]
    q = " ".join(words)
    return q[0].lower() + q[1:]


def name_words(name):
    """Words of an identifier: parseConfigFile / parse_config_file -> parse config file."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", s)
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", s) if w]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--semcode", default="build/semcode")
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-repo", type=int, default=300)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("trees", nargs="+")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for spec in a.trees:
        name, _, tree = spec.partition("=")
        if not tree or not os.path.exists(tree):
            sys.exit(f"ranker_queries: tree '{spec}' is not NAME=DIR of an existing folder")
        out = subprocess.run([a.semcode, "parse", tree, "--json", "--no-chunks", "--threads", "2"],
                             capture_output=True, text=True, check=True).stdout
        ents, seen = [], {}
        for line in out.splitlines():
            e = json.loads(line)
            if e.get("type") != "entity" or e["kind"] in ("chunk", "module"):
                continue
            rel = e["path"]
            if os.path.isabs(rel):
                rel = os.path.relpath(rel, tree)
            if os.path.isfile(tree):
                rel = os.path.basename(tree)
            key = (rel, e["name"])  # targets name the entity by its simple name, unique in its file
            seen[key] = seen.get(key, 0) + 1
            e["rel"] = rel
            ents.append(e)
        rng = random.Random(f"{a.seed}:{name}")
        rng.shuffle(ents)
        queries, asked = [], set()
        n_doc = a.per_repo * 2 // 3
        for e in ents:  # behaviour queries from doc comments
            if len(queries) >= n_doc:
                break
            key = (e["rel"], e["name"])
            q = clean_doc(e.get("doc") or "", e["name"])
            if not q or seen[key] > 1 or q in asked or e["end_line"] - e["start_line"] < 2:
                continue
            asked.add(q)
            queries.append({"query": q, "repo": name, "category": "behaviour",
                            "targets": [{"path": e["rel"], "name": e["name"]}]})
        for e in ents:  # symbol queries from names
            if len(queries) >= a.per_repo:
                break
            key = (e["rel"], e["name"])
            words = name_words(e["name"])
            if seen[key] > 1 or len(words) < 2 or len(e["name"]) < 6:
                continue
            parent = e.get("parent")
            if parent and rng.random() < 0.3:
                words = name_words(parent.split(".")[-1].split("::")[-1]) + words
            q = " ".join(words)
            if q in asked:
                continue
            asked.add(q)
            queries.append({"query": q, "repo": name, "category": "symbol",
                            "targets": [{"path": e["rel"], "name": e["name"]}]})
        with open(os.path.join(a.out, name + ".jsonl"), "w") as f:
            for q in queries:
                f.write(json.dumps(q) + "\n")
        print(f"ranker_queries: {name}: {len(queries)} queries from {len(ents)} entities", file=sys.stderr)


if __name__ == "__main__":
    main()
