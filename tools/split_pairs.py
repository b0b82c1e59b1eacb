#!/usr/bin/env python3
"""Clean, filter, deduplicate and split the pairs of tools/corpus.sh.

Input: one JSON Lines file per source in IN_DIR (`semcode pairs
--undocumented`: doc is "" for entities without a doc comment).
Output in OUT_DIR:
  train.jsonl         training pairs {doc, code, language, path, name}
  heldout.jsonl       held-out pairs, code side in the product's text template
  heldout_raw.jsonl   the same held-out pairs with the code alone (the issue-5
                      protocol: doc comment cut out, no name line, no path)
  heldout_units.json  {language: {unit: [paths]}}, stats.json

Steps (docs/QUALITY.md, issue 14):
* Exclusion: a pair is dropped when its package (Debian package, npm
  package) or any component of its path names a reserved project
  (tools/reserved.txt) or an evaluation repository (bench/queries/repos*.tsv,
  the snapshot tools/eval-repos.tsv and the files in $EXCLUDE_TSV,
  space-separated: repo name, source package, subdirectory), by name tokens
  (tools/reserved.py).
* Cleaning: doc = first paragraph of the doc comment without markup/@tags,
  at least 3 words; tests, code under 3 lines, "deprecated"-like docs dropped.
* Dedup: one pair per normalised code (whitespace collapsed) over all
  sources, so vendored copies and the same file in two packages count once;
  one per (language, doc, name).
* Hold-out: whole units, never trained on. Debian and npm sources: the
  package with its version digits removed (librust-nom-7-dev and
  librust-nom-dev are one unit); the issue-5 sources: the directory (or a
  top-level module file). Units are visited in hash order and held out while
  the language's held-out pairs stay within min(HOLD_FRAC x total,
  HOLD_MAX); CAP_HELD pairs per language are sampled from them.
* Code side (the product's entity text, src/ingest/repo.c
  repo_prepare_text): "<kind> <qualified name>", then with probability
  DOC_KEEP the rest of the doc comment (its first paragraph, the query, cut
  out; at most 600 bytes), the code (at most 600 bytes), the path as words.
* Name queries: an entity without a usable doc becomes a training pair
  whose query is its name split into words ("parseConfigFile" -> "parse
  config file"), when the name has at least NAME_MIN_WORDS words; at most
  NAME_FRAC x the documented pairs per language. Training units only.
  With DOC_NAME_FRAC > 0, that share of the documented training entities
  get such a name-query pair as well.
* Balance: at most CAP_TRAIN documented pairs per language (deterministic
  sample), shuffled with a fixed seed.
"""
import glob
import hashlib
import json
import os
import pickle
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from reserved import Reserved  # noqa: E402

IN_DIR, OUT_DIR = sys.argv[1], sys.argv[2]
ENV = os.environ.get
CAP_TRAIN = int(ENV("CAP_TRAIN", "600000"))
CAP_HELD = int(ENV("CAP_HELD", "3000"))
HOLD_FRAC = float(ENV("HOLD_FRAC", "0.12"))
HOLD_MAX = int(ENV("HOLD_MAX", "6000"))
SALT = ENV("SALT", "")
DOC_KEEP = float(ENV("DOC_KEEP", "0.5"))
NAME_FRAC = float(ENV("NAME_FRAC", "0.5"))
NAME_MIN_WORDS = int(ENV("NAME_MIN_WORDS", "2"))
DOC_NAME_FRAC = float(ENV("DOC_NAME_FRAC", "0.5"))  # documented entities that also get a name-query pair
TEMPLATE = ENV("TEMPLATE", "1") == "1"   # 0: code side = code alone (issue 5)
SRC_MAX = 600
CODE_KEEP = 1500          # characters of code kept per record (the model reads 128 tokens)
NAME_READ = float(ENV("NAME_READ", "0.25"))  # share of undocumented entities read (memory)

TAG = re.compile(r"\{@\w+\s*([^}]*)\}")
HTML = re.compile(r"</?[a-zA-Z][^>]*>")
WS = re.compile(r"\s+")
KDOC = re.compile(r"^[\w.:]+(\(\))?\s+-+\s+")
TESTY = re.compile(r"(^|[/_.])(tests?|testing|testdata|spec|specs|__tests__|fixtures?)([/_.]|$)", re.I)
DEB_ROOT = re.compile(r"^usr/(?:lib/python3/dist-packages|share/nodejs|lib/nodejs|share/gocode/src|"
                      r"share/cargo/registry|lib/ruby/vendor_ruby|lib/x86_64-linux-gnu/ruby/vendor_ruby/[^/]+|"
                      r"share/rubygems-integration/all/gems|share/php)/")
DEB_PREFIX = re.compile(r"^(python3|node|golang|librust|ruby|php)-")
VERSION_TOK = re.compile(r"-(\d+(\.\d+)*|v\d+)(?=-|$)")
CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def clean_doc(doc):
    paras = re.split(r"\n\s*\n", doc.strip())
    d = paras[0] if paras else ""
    lines = [l for l in d.split("\n") if not l.strip().startswith(("@", ":param", ":return", ":raises", "Args:", "Returns:"))]
    d = " ".join(lines)
    d = TAG.sub(r"\1", d)
    d = HTML.sub(" ", d)
    d = d.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("&nbsp;", " ")
    d = WS.sub(" ", d).strip()
    d = KDOC.sub("", d)
    return d[:600]


def doc_rest(doc):
    """The doc comment without its first paragraph (the query)."""
    paras = re.split(r"\n\s*\n", doc.strip(), maxsplit=1)
    return paras[1].strip() if len(paras) > 1 else ""


def words(ident):
    return [w.lower() for w in CAMEL.findall(ident or "")]


def h(s):
    return int(hashlib.md5(s.encode("utf-8", "surrogatepass")).hexdigest()[:12], 16)


def cut(s, n):
    b = s.encode("utf-8", "surrogatepass")
    if len(b) <= n:
        return s
    return b[:n].decode("utf-8", "ignore")


def path_words(p):
    return re.sub(r"[/.\-]", " ", p)


GENERIC = {"src", "lib", "include", "dist", "cli", "usr", "share", "source", "sources", "pkg", "main",
           "java", "android", "deps", "gocode", "nodejs", "registry", "python3", "dist-packages", "all",
           "gems", "rubygems-integration", "php", "cargo", "github.com", "."}


def eval_repo_names():
    """Names of the evaluation repositories of bench/queries/repos*.tsv
    (columns repo, split, language, source, subdir) and of $EXCLUDE_TSV:
    the repo name, the source package without its ecosystem prefix,
    version or -dev suffix (deb:python3-yaml -> yaml, npm:ws@8.2 -> ws),
    and the last meaningful component of the subdirectory."""
    files = sorted(glob.glob(os.path.join(HERE, "..", "bench", "queries", "repos*.tsv")))
    files.append(os.path.join(HERE, "eval-repos.tsv"))
    files += [f for f in ENV("EXCLUDE_TSV", "").split() if f]
    names = set()
    for fn in files:
        if not os.path.exists(fn):
            continue
        with open(fn, encoding="utf-8") as fh:
            header = None
            for line in fh:
                line = line.rstrip("\n")
                if not line.strip() or line.startswith("#"):
                    continue
                cols = [c.strip() for c in line.split("\t")]
                if header is None:
                    header = [c.lower() for c in cols]
                    continue
                row = dict(zip(header, cols))
                if row.get("repo"):
                    names.add(row["repo"])
                src = row.get("source", "")
                if src:
                    src = src.split(":", 1)[-1]
                    src = re.sub(r"(?<=.)@[^/@]*$", "", src)  # npm version
                    src = src.split("/")[-1] if src.startswith("@") else src
                    src = re.sub(r"-dev$", "", DEB_PREFIX.sub("", src))
                    if src.startswith("lib") and row.get("language") in ("c", "cpp"):
                        names.add(src[3:])
                    names.add(src)
                comps = [c for c in row.get("subdir", "").split("/") if c]
                while comps and comps[-1].lower() in GENERIC:
                    comps.pop()
                if comps:
                    c = re.sub(r"\.(py|rb|js|ts|go|rs|php|h|c)$", "", comps[-1])
                    c = VERSION_TOK.sub("", c)
                    if len(c) >= 3 and c.lower() not in GENERIC:
                        names.add(c)
    return sorted(n for n in names if n)


def deb_unit(pkg):
    s = DEB_PREFIX.sub("", pkg)
    s = re.sub(r"-dev$", "", s)
    s = VERSION_TOK.sub("", s)
    return s


def read_all():
    evals = eval_repo_names()
    # an evaluation repo named "owner/name" or "python3-foo" matches by its name part
    ev = set(evals)
    print("split: evaluation repositories excluded:", " ".join(sorted(ev)), file=sys.stderr)
    res = Reserved.load(extra=ev)
    seen_code, seen_doc = set(), set()
    units = {}    # lang -> unit -> [documented records]
    names = {}    # lang -> unit -> [name records]
    stats = {"read": 0, "dropped_reserved": 0, "dropped_test": 0, "dropped_short": 0, "dropped_dup": 0,
             "eval_repo_names": len(ev)}
    sources = sorted(f[:-6] for f in os.listdir(IN_DIR) if f.endswith(".jsonl"))
    for source in sources:
        is_deb = source.startswith("deb-")
        is_npm = source.startswith("npm-")
        npm_pkg = source[4:].replace("+", "/") if is_npm else None
        if is_npm and res.path_hit(npm_pkg):
            stats["dropped_reserved"] += 1
            continue
        with open(os.path.join(IN_DIR, source + ".jsonl"), encoding="utf-8", errors="replace") as f:
            for line in f:
                stats["read"] += 1
                try:
                    p = json.loads(line)
                except ValueError:
                    continue
                name, path, lang = p.get("name") or "", p.get("path") or "", p.get("language") or "unknown"
                if lang == "tsx":
                    lang = "typescript"
                if is_deb:
                    pkg, _, rel = path.partition("/")
                    if res.name_hit(pkg) or res.path_hit(rel):
                        stats["dropped_reserved"] += 1
                        continue
                    rel = DEB_ROOT.sub("", rel)
                    unit = "deb:" + deb_unit(pkg)
                    full = pkg + "/" + rel
                elif is_npm:
                    if res.path_hit(path):
                        stats["dropped_reserved"] += 1
                        continue
                    rel, unit, full = path, "npm:" + npm_pkg, source + "/" + path
                else:
                    if res.path_hit(path):
                        stats["dropped_reserved"] += 1
                        continue
                    d = os.path.dirname(path)
                    rel = path
                    unit = source + ":" + (d if d else os.path.splitext(os.path.basename(path))[0])
                    full = source + "/" + path
                if TESTY.search(rel) or "test" in name.lower() or rel.endswith("_test.go"):
                    stats["dropped_test"] += 1
                    continue
                code = p["code"]
                if code.count("\n") < 2 or len(code) > 20000:
                    stats["dropped_short"] += 1
                    continue
                kc = h(lang + "\0" + WS.sub(" ", code).strip())
                if kc in seen_code:
                    stats["dropped_dup"] += 1
                    continue
                seen_code.add(kc)
                raw_doc = p.get("doc") or ""
                doc = clean_doc(raw_doc)
                low = doc.lower()
                documented = len(doc.split()) >= 3 and not low.startswith(
                    ("deprecated", "inheritdoc", "todo", "fixme", "copyright", "spdx", "@", "see "))
                kind, qn = p.get("kind") or "function", p.get("qualified_name") or name
                rec = {"code": code[:CODE_KEEP], "language": lang, "path": full, "name": name,
                       "_kind": kind, "_qn": qn, "_rel": rel}
                if documented:
                    kd = h(lang + "\0" + low + "\0" + name)
                    if kd in seen_doc:
                        stats["dropped_dup"] += 1
                        continue
                    seen_doc.add(kd)
                    rec["doc"] = doc
                    rec["_rest"] = doc_rest(raw_doc)
                    units.setdefault(lang, {}).setdefault(unit, []).append(rec)
                else:
                    w = words(name)
                    if (len(w) >= NAME_MIN_WORDS and kind not in ("module", "file")
                            and (kc % 1000) < NAME_READ * 1000):
                        rec["doc"] = " ".join(w)
                        rec["_rest"] = ""
                        names.setdefault(lang, {}).setdefault(unit, []).append(rec)
    return units, names, stats


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    # REUSE=FILE: read the cleaned, deduplicated records from FILE (written
    # by an earlier run with CACHE=FILE) to try other settings of the steps
    # after it (template, DOC_KEEP, NAME_FRAC, caps) without re-reading.
    if ENV("REUSE"):
        with open(ENV("REUSE"), "rb") as fh:
            units, names, stats = pickle.load(fh)
    else:
        units, names, stats = read_all()
        if ENV("CACHE"):
            with open(ENV("CACHE"), "wb") as fh:
                pickle.dump((units, names, stats), fh, protocol=pickle.HIGHEST_PROTOCOL)
    stats = dict(stats)
    rng = random.Random(99)
    rng_dn = random.Random(7)  # its own stream: the other draws stay as without DOC_NAME_FRAC

    def product_text(r, keep_doc):
        out = f"{r['_kind']} {r['_qn']}\n"
        if keep_doc and r["_rest"]:
            out += cut(r["_rest"], SRC_MAX) + "\n"
        return out + cut(r["code"], SRC_MAX) + "\n" + path_words(r["_rel"])

    def emit(r, keep_doc, template=True):
        code = product_text(r, keep_doc) if template else r["code"]
        return {"doc": r["doc"], "code": code, "language": r["language"], "path": r["path"], "name": r["name"]}

    train, held, held_raw, held_units = {}, {}, {}, {}
    for lang in sorted(units):
        us = units[lang]
        total = sum(len(v) for v in us.values())
        budget = min(HOLD_FRAC * total, HOLD_MAX)
        taken = 0
        held_keys = set()
        for key in sorted(us, key=lambda k: h(SALT + k)):
            v = us[key]
            if taken + len(v) <= budget and len(v) >= 3:
                held_keys.add(key)
                held_units.setdefault(lang, {})[key] = sorted({r["path"] for r in v})
                taken += len(v)
        hl, tr = [], []
        for key in sorted(us):
            (hl if key in held_keys else tr).extend(us[key])
        rng.shuffle(hl)
        hl = hl[:CAP_HELD]
        held[lang] = [emit(r, True) for r in hl]
        held_raw[lang] = [emit(r, False, template=False) for r in hl]
        rng.shuffle(tr)
        tr = tr[:CAP_TRAIN]
        stats[f"train_{lang}_doc"] = len(tr)
        out = [emit(r, rng.random() < DOC_KEEP, TEMPLATE) for r in tr]
        nm = [r for key in sorted(names.get(lang, {})) if key not in held_keys for r in names[lang][key]]
        rng.shuffle(nm)
        nm = nm[:int(NAME_FRAC * len(tr))]
        stats[f"train_{lang}_name"] = len(nm)
        out += [emit(r, False, TEMPLATE) for r in nm]
        # name queries for documented entities too (the doc may stay in the code side)
        dn = []
        for r in tr:
            w = words(r["name"])
            if len(w) >= NAME_MIN_WORDS and rng_dn.random() < DOC_NAME_FRAC:
                q = dict(r)
                q["doc"] = " ".join(w)
                dn.append(emit(q, rng_dn.random() < DOC_KEEP, TEMPLATE))
        stats[f"train_{lang}_docname"] = len(dn)
        out += dn
        train[lang] = out
        stats[f"heldout_{lang}"] = len(hl)
        stats[f"heldout_{lang}_units"] = len(held_keys)
        stats[f"units_{lang}"] = len(us)
    for part, groups in (("train", train), ("heldout", held), ("heldout_raw", held_raw)):
        allp = [r for lang in sorted(groups) for r in groups[lang]]
        rng.shuffle(allp)
        with open(os.path.join(OUT_DIR, part + ".jsonl"), "w", encoding="utf-8") as f:
            for r in allp:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        stats[part] = len(allp)
    with open(os.path.join(OUT_DIR, "heldout_units.json"), "w") as f:
        json.dump(held_units, f, indent=1, sort_keys=True)
    with open(os.path.join(OUT_DIR, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1, sort_keys=True)
    print(json.dumps(stats, sort_keys=True))


main()
