#!/usr/bin/env python3
"""Write a `git fast-import` stream of a synthetic history to stdout.

    gen_git_history.py N [--start K] [--seed S] [--files F]

A deterministic stand-in for a large real history (none can be fetched on
the benchmark machine): N steps on refs/heads/main, numbered from K (so a
second stream continues the first one with `--start K`). A step is a commit
by one of 12 authors, a minute after the last, changing 1 to 3 of F Python
and C source files (an edited function body, sometimes a new function),
with a message drawn from varied templates; every 60th step is a merge of a
two-commit topic branch instead (the merge commit has two parents), so N
steps make about 1.03 N commits. File contents are rebuilt from the seed and
the step number, so runs are reproducible.
"""
import argparse
import random
import sys

AUTHORS = ["Alice Martin", "Bob Chen", "Carol Diaz", "Dave Okafor", "Erin Walsh", "Farid Haddad", "Grace Kim",
           "Hugo Lefevre", "Ines Costa", "Jun Tanaka", "Kofi Mensah", "Lena Novak"]
VERBS = ["Fix", "Refactor", "Add", "Remove", "Speed up", "Document", "Simplify", "Handle", "Validate", "Log"]
THINGS = ["retry loop", "config parser", "cache eviction", "HTTP client timeout", "token refresh", "CSV export",
          "rate limiter", "session cleanup", "error message", "path normalisation", "unicode handling",
          "connection pool", "scheduler tick", "JSON encoder", "index rebuild", "lock ordering"]
WHYS = ["", "", "It failed when the input was empty.", "Callers relied on the old order.",
        "This was slow on large inputs.", "Reported by a user on the mailing list.",
        "The previous version leaked a file handle.", "Follow-up to the review comments."]


def file_text(path, versions, nfuncs):
    """The text of a source file whose functions are at the given versions."""
    out = []
    for j in range(nfuncs):
        v = versions.get(j, 0)
        if path.endswith(".py"):
            out.append(f"def step_{j}(x):\n    \"\"\"Step {j} of the pipeline.\"\"\"\n    return x * {j + 1} + {v}\n\n\n")
        else:
            out.append(f"int step_{j}(int x) {{\n    /* step {j} */\n    return x * {j + 1} + {v};\n}}\n\n")
    return "".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--files", type=int, default=200)
    a = ap.parse_args()
    out = sys.stdout.buffer
    paths = [f"src/{'core' if i % 2 else 'net'}/mod{i}.{'py' if i % 3 else 'c'}" for i in range(a.files)]
    # the state of every file after commit start - 1 is replayed from the seed
    state = {p: ({}, 6) for p in paths}  # path -> (function versions, number of functions)
    mark = 0

    def emit(ref, i, when, parents, changes):
        nonlocal mark
        mark += 1
        r = random.Random(a.seed * 1000003 + i)
        who = AUTHORS[r.randrange(len(AUTHORS))]
        email = who.split()[0].lower() + "@example.org"
        subject = f"{r.choice(VERBS)} {r.choice(THINGS)} in {changes[0].rsplit('/', 1)[-1]}"
        why = r.choice(WHYS)
        msg = (subject + ("\n\n" + why if why else "") + "\n").encode()
        head = [f"commit {ref}\nmark :{mark}\n",
                f"author {who} <{email}> {when} +0000\ncommitter {who} <{email}> {when} +0000\n",
                f"data {len(msg)}\n"]
        out.write("".join(head).encode() + msg)
        for k, p in enumerate(parents):
            out.write(f"{'from' if k == 0 else 'merge'} {p}\n".encode())
        for p in changes:
            body = file_text(p, state[p][0], state[p][1]).encode()
            out.write(f"M 100644 inline {p}\ndata {len(body)}\n".encode() + body + b"\n")
        return f":{mark}"

    def change(i):
        r = random.Random(a.seed * 7919 + i)
        chosen = r.sample(paths, r.randint(1, 3))
        for p in chosen:
            versions, nf = state[p]
            if r.random() < 0.1 and nf < 40:
                nf += 1
            else:
                j = r.randrange(nf)
                versions[j] = versions.get(j, 0) + 1
            state[p] = (versions, nf)
        return chosen

    for i in range(a.start):  # replay the state of the files, in the order the first stream changed them
        if i and i % 60 == 0:
            change(i)
            change(i + 10_000_000)
            change(i + 20_000_000)
        else:
            change(i)
    main_tip = "refs/heads/main^0" if a.start else None
    for i in range(a.start, a.start + a.n):
        when = 1500000000 + 60 * i
        if i and i % 60 == 0:
            # topic commits take numbers outside the main line's; the merge brings their files along
            c1, c2 = change(i), change(i + 10_000_000)
            t1 = emit("refs/heads/topic", i, when - 40, [main_tip], c1)
            t2 = emit("refs/heads/topic", i + 10_000_000, when - 20, [t1], c2)
            merged = list(dict.fromkeys(change(i + 20_000_000) + c1 + c2))
            main_tip = emit("refs/heads/main", i, when, [main_tip, t2], merged)
        else:
            main_tip = emit("refs/heads/main", i, when, [main_tip] if main_tip else [], change(i))


if __name__ == "__main__":
    main()
