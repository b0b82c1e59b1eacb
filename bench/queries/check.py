#!/usr/bin/env python3
"""Validate the realistic query set (bench/queries/*.jsonl).

For every query file: each line is a JSON object with the fields of
bench/queries/README.md, its repo is listed in a repos*.tsv, every target path
exists in build/queries/repos/<repo>/ and every target names an entity
(simple or qualified name) or a line inside an entity that `semcode parse`
reports for that file.  Prints per-repository and per-split counts.

Usage, from the repository root, after `sh bench/queries/fetch.sh`:
    python3 bench/queries/check.py [--semcode build/semcode] [FILE.jsonl ...]
Exit status 1 when anything is wrong.  Python standard library only.
"""

import argparse
import collections
import glob
import json
import os
import re
import subprocess
import sys

CATEGORIES = ("behaviour", "concept", "symbol")
FIELDS = {"query", "repo", "category", "targets"}


def read_repos(qdir):
    repos = {}
    problems = []
    for tsv in sorted(glob.glob(os.path.join(qdir, "repos*.tsv"))):
        with open(tsv, encoding="utf-8") as f:
            header = f.readline().rstrip("\n").split("\t")
            if header != ["repo", "split", "language", "source", "subdir"]:
                problems.append(f"{tsv}: bad header {header}")
                continue
            for n, line in enumerate(f, 2):
                line = line.rstrip("\n")
                if not line or line.startswith("#"):
                    continue
                cols = line.split("\t")
                if len(cols) != 5:
                    problems.append(f"{tsv}:{n}: expected 5 columns")
                    continue
                repo, split, lang, source, _subdir = cols
                if repo in repos:
                    problems.append(f"{tsv}:{n}: repo {repo} listed twice")
                if split not in ("dev", "test"):
                    problems.append(f"{tsv}:{n}: split must be dev or test")
                if not re.match(r"^(deb:[a-z0-9.+-]+|npm:(@[^/]+/)?[^@]+@\d+\.\d+\.\d+.*)$",
                                source):
                    problems.append(f"{tsv}:{n}: source {source!r} is not "
                                    "deb:PKG or npm:PKG@EXACT_VERSION")
                repos[repo] = {"split": split, "language": lang}
    return repos, problems


class Entities:
    """Entities of one file as `semcode parse --json --no-chunks` reports them."""

    def __init__(self, semcode):
        self.semcode = semcode
        self.cache = {}

    def get(self, path):
        if path not in self.cache:
            out = subprocess.run([self.semcode, "parse", "--json", "--no-chunks",
                                  "--no-ignore", "--threads", "1", path],
                                 capture_output=True, text=True, check=True).stdout
            ents = []
            for line in out.splitlines():
                obj = json.loads(line)
                if obj.get("type") == "entity" and obj.get("kind") != "chunk":
                    ents.append(obj)
            self.cache[path] = ents
        return self.cache[path]


def check_target(t, base, entities):
    if not isinstance(t, dict) or not isinstance(t.get("path"), str):
        return "target without a path"
    if ("name" in t) == ("line" in t):
        return "target needs exactly one of name or line"
    full = os.path.join(base, t["path"])
    if os.path.isabs(t["path"]) or ".." in t["path"].split("/"):
        return f"path {t['path']} must be relative to the copy"
    if not os.path.isfile(full):
        return f"no file {t['path']}"
    ents = entities.get(full)
    if "name" in t:
        name = t["name"]
        if not any(e["name"] == name or e["qualified_name"] == name for e in ents):
            return f"{t['path']}: semcode reports no entity named {name}"
    else:
        line = t["line"]
        if not isinstance(line, int) or not any(
                e["start_line"] <= line <= e["end_line"] for e in ents):
            return f"{t['path']}: line {line} is in no entity"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--semcode", default="build/semcode")
    ap.add_argument("--repos-dir", default="build/queries/repos")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()

    qdir = os.path.dirname(os.path.abspath(__file__))
    repos, problems = read_repos(qdir)
    files = args.files or sorted(glob.glob(os.path.join(qdir, "*.jsonl")))
    entities = Entities(args.semcode)
    per_repo = collections.Counter()
    per_cat = collections.Counter()
    per_split = collections.Counter()
    seen = {}

    for fn in files:
        stem = os.path.splitext(os.path.basename(fn))[0]
        with open(fn, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                where = f"{os.path.basename(fn)}:{n}"
                if not line.strip():
                    problems.append(f"{where}: empty line")
                    continue
                try:
                    q = json.loads(line)
                except json.JSONDecodeError as e:
                    problems.append(f"{where}: not JSON ({e})")
                    continue
                if not isinstance(q, dict) or not FIELDS <= set(q):
                    problems.append(f"{where}: needs fields {sorted(FIELDS)}")
                    continue
                extra = set(q) - FIELDS
                if extra:
                    problems.append(f"{where}: unknown fields {sorted(extra)}")
                if not isinstance(q["query"], str) or not q["query"].strip():
                    problems.append(f"{where}: empty query")
                    continue
                if q["repo"] != stem:
                    problems.append(f"{where}: repo {q['repo']} in the file of {stem}")
                if q["repo"] not in repos:
                    problems.append(f"{where}: repo {q['repo']} is in no repos*.tsv")
                    continue
                if q["category"] not in CATEGORIES:
                    problems.append(f"{where}: category {q['category']!r}")
                key = (q["repo"], q["query"].strip().lower())
                if key in seen:
                    problems.append(f"{where}: same query as {seen[key]}")
                seen[key] = where
                if not isinstance(q["targets"], list) or not q["targets"]:
                    problems.append(f"{where}: no targets")
                    continue
                base = os.path.join(args.repos_dir, q["repo"])
                if not os.path.isdir(base):
                    problems.append(f"{where}: no copy {base} (run bench/queries/fetch.sh)")
                    continue
                for t in q["targets"]:
                    err = check_target(t, base, entities)
                    if err:
                        problems.append(f"{where}: {err}")
                per_repo[q["repo"]] += 1
                per_cat[(q["repo"], q["category"])] += 1
                per_split[repos[q["repo"]]["split"]] += 1

    print(f"{'repo':12} {'split':5} {'language':11} {'queries':>7} "
          f"{'behav':>5} {'conc':>5} {'symb':>5}")
    for repo in sorted(per_repo):
        r = repos[repo]
        cats = [per_cat[(repo, c)] for c in CATEGORIES]
        print(f"{repo:12} {r['split']:5} {r['language']:11} {per_repo[repo]:7d} "
              f"{cats[0]:5d} {cats[1]:5d} {cats[2]:5d}")
    total = sum(per_repo.values())
    print(f"total {total} queries: " +
          ", ".join(f"{s} {per_split[s]}" for s in sorted(per_split)))
    if not args.files:
        for repo in sorted(set(repos) - set(per_repo)):
            problems.append(f"repo {repo} has no queries ({repo}.jsonl)")
    for p in problems:
        print("error: " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
