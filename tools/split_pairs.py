#!/usr/bin/env python3
"""Clean, deduplicate and split the doc/code pairs of tools/corpus.sh.

Input: one JSON Lines file per source in IN_DIR (from `semcode pairs`).
Output: OUT_DIR/train.jsonl and OUT_DIR/heldout.jsonl, plus stats.json and
heldout_units.json ({language: {unit: [paths of its files with pairs]}}: the
held-out trees bench/quality_repo.sh indexes).

* doc: the first paragraph of the doc comment, markup and @tags removed,
  kernel-doc "name() - " prefixes removed; at least 3 words.
* dropped: tests (names or paths), code shorter than 3 lines, docs that
  only say "deprecated"/"inheritdoc"-like things.
* dedup: one pair per normalised code and one per (language, doc, name), so
  the copies npm packages ship (cjs/esm/esm5/types) count once.
* hold-out: whole directories. The key is (source, directory), or for files
  at the top of a tree (most of the Python and Ruby standard libraries) the
  module file itself. Copies that npm packages ship under several build
  trees were already removed by the dedup above. Units are visited in hash order and held out while
  the held-out share of the language stays within HOLD_FRAC (12%). Never
  trained on.
* balance: at most CAP_TRAIN training pairs and CAP_HELD held-out pairs per
  language (deterministic sample), both files shuffled with a fixed seed.
"""
import hashlib, json, os, random, re, sys

IN_DIR, OUT_DIR = sys.argv[1], sys.argv[2]
CAP_TRAIN = int(os.environ.get("CAP_TRAIN", "60000"))
CAP_HELD = int(os.environ.get("CAP_HELD", "3000"))
SALT = os.environ.get("SALT", "")
HOLD_FRAC = float(os.environ.get("HOLD_FRAC", "0.12"))

TAG = re.compile(r"\{@\w+\s*([^}]*)\}")
HTML = re.compile(r"</?[a-zA-Z][^>]*>")
WS = re.compile(r"\s+")
KDOC = re.compile(r"^[\w.:]+(\(\))?\s+-+\s+")
TESTY = re.compile(r"(^|[/_.])(tests?|testing|testdata|spec)([/_.]|$)", re.I)


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


def h(s):
    return int(hashlib.md5(s.encode("utf-8", "surrogatepass")).hexdigest()[:12], 16)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    seen_code, seen_doc = set(), set()
    train, held, units = {}, {}, {}
    held_units = {}
    stats = {"read": 0, "dropped_test": 0, "dropped_short": 0, "dropped_dup": 0}
    for fn in sorted(os.listdir(IN_DIR)):
        if not fn.endswith(".jsonl"):
            continue
        source = fn[:-6]
        with open(os.path.join(IN_DIR, fn), encoding="utf-8", errors="replace") as f:
            for line in f:
                stats["read"] += 1
                try:
                    p = json.loads(line)
                except ValueError:
                    continue
                name, path, lang = p.get("name") or "", p.get("path") or "", p.get("language") or "unknown"
                if TESTY.search(path) or "test" in name.lower() or path.endswith("_test.go"):
                    stats["dropped_test"] += 1
                    continue
                doc = clean_doc(p["doc"])
                code = p["code"]
                if len(doc.split()) < 3 or code.count("\n") < 2 or len(code) > 20000:
                    stats["dropped_short"] += 1
                    continue
                low = doc.lower()
                if low.startswith(("deprecated", "inheritdoc", "todo", "fixme", "copyright", "spdx")):
                    stats["dropped_short"] += 1
                    continue
                kc = h(lang + "\0" + WS.sub(" ", code).strip())
                kd = h(lang + "\0" + low + "\0" + name)
                if kc in seen_code or kd in seen_doc:
                    stats["dropped_dup"] += 1
                    continue
                seen_code.add(kc)
                seen_doc.add(kd)
                d = os.path.dirname(path)
                # a directory, or for files at the top of a tree (most of the
                # Python and Ruby standard libraries) the module file itself
                unit = d if d else os.path.splitext(os.path.basename(path))[0]
                key = source + ":" + unit
                rec = {"doc": doc, "code": code, "language": lang, "path": source + "/" + path, "name": name}
                units.setdefault(lang, {}).setdefault(key, []).append(rec)
    # per language: visit units in hash order, hold a unit out while the
    # held-out share stays within HOLD_FRAC (a unit larger than that stays
    # in training), so every language gets a held-out set of whole units
    for lang, us in units.items():
        total = sum(len(v) for v in us.values())
        budget = HOLD_FRAC * total
        taken = 0
        for key in sorted(us, key=lambda k: h(SALT + k)):
            v = us[key]
            if taken + len(v) <= budget:
                held.setdefault(lang, []).extend(v)
                held_units.setdefault(lang, {})[key] = sorted({r["path"] for r in v})
                taken += len(v)
            else:
                train.setdefault(lang, []).extend(v)
    rng = random.Random(1234)
    out = {}
    for part, groups, cap in (("train", train, CAP_TRAIN), ("heldout", held, CAP_HELD)):
        allp = []
        for lang in sorted(groups):
            g = groups[lang]
            rng.shuffle(g)
            stats[f"{part}_{lang}_available"] = len(g)
            allp.extend(g[:cap])
            stats[f"{part}_{lang}"] = min(len(g), cap)
        rng.shuffle(allp)
        with open(os.path.join(OUT_DIR, part + ".jsonl"), "w", encoding="utf-8") as f:
            for r in allp:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        out[part] = len(allp)
    stats.update(out)
    with open(os.path.join(OUT_DIR, "heldout_units.json"), "w") as f:
        json.dump(held_units, f, indent=1, sort_keys=True)
    with open(os.path.join(OUT_DIR, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1, sort_keys=True)
    print(json.dumps(stats, sort_keys=True))


main()
