#!/usr/bin/env python3
"""Chooses the Debian packages that ship library source for the model's
training corpus and writes one list per ecosystem to tools/corpus/debian-*.txt.

Run once by hand when the source list is renewed (the lists are committed;
`make model` only reads them). Reads the apt package index (apt-get update
first). A package is chosen when it ships source for its language (by name
pattern and section), is not documentation/debug/tests only, is below a size
cap, and is not a reserved project (tools/reserved.txt) by any name token.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from reserved import Reserved  # noqa: E402

ECOS = {
    # ecosystem: (name regex, allowed architectures, max .deb bytes)
    "python": (r"^python3-[a-z0-9].*", {"all", "amd64"}, 6_000_000),
    "node": (r"^node-[a-z0-9].*", {"all"}, 6_000_000),
    "go": (r"^golang-.*-dev$", {"all"}, 6_000_000),
    "rust": (r"^librust-.*-dev$", {"all", "amd64"}, 6_000_000),
    "ruby": (r"^ruby-[a-z0-9].*", {"all", "amd64"}, 6_000_000),
    "php": (r"^php-[a-z0-9].*", {"all"}, 6_000_000),
}
SKIP = re.compile(r"-(doc|docs|dbg|dbgsym|examples|data|tests?|testsuite|common|bin|utils|l10n)$")


def packages_index():
    out = []
    lists = "/var/lib/apt/lists"
    for name in sorted(os.listdir(lists)):
        if not name.endswith(("_Packages", "_Packages.lz4", "_Packages.xz", "_Packages.gz")):
            continue
        text = subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", os.path.join(lists, name)],
                              capture_output=True, text=True, check=True).stdout
        for block in text.split("\n\n"):
            fields = {}
            for line in block.split("\n"):
                if ":" in line and not line.startswith(" "):
                    k, v = line.split(":", 1)
                    fields[k] = v.strip()
            if "Package" in fields:
                out.append(fields)
    return out


def main():
    res = Reserved.load()
    chosen = {e: set() for e in ECOS}
    dropped = 0
    for f in packages_index():
        name, arch = f["Package"], f.get("Architecture", "")
        size = int(f.get("Size", "0"))
        for eco, (pat, arches, cap) in ECOS.items():
            if not re.match(pat, name) or arch not in arches or size > cap or SKIP.search(name):
                continue
            if eco == "rust" and name.count("+") > 0:
                continue  # feature packages of a crate: empty metapackages
            if res.name_hit(name):
                dropped += 1
                continue
            chosen[eco].add(name)
    for eco, names in chosen.items():
        path = os.path.join(HERE, "corpus", f"debian-{eco}.txt")
        with open(path, "w") as fh:
            fh.write(f"# Debian packages whose {eco} sources train the built-in model\n")
            fh.write("# (written by tools/corpus_select.py; reserved projects removed)\n")
            for n in sorted(names):
                fh.write(n + "\n")
        print(f"{eco}: {len(names)} packages -> {path}")
    print(f"reserved: {dropped} packages dropped by name")


if __name__ == "__main__":
    main()
