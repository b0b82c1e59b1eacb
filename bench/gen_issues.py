#!/usr/bin/env python3
"""Write N realistic issue records with comments as JSON Lines (seeded,
deterministic), for bench/records_ingest.sh.

Each record: key, summary, description, reporter, created / updated dates,
status, priority, type, labels, components and 0 to 8 comments. Texts come
from varied templates: a symptom in some component, steps to reproduce,
expected / actual behaviour, a stack trace or log excerpt, code, links to
other issues; comments are triage notes, reproductions, fixes and questions.
Vocabulary is drawn from a few hundred words of a web service's domain, so
BM25 and the model see repeated but not identical texts, as in a tracker.

Usage: python3 bench/gen_issues.py N [--seed S] > issues.jsonl
"""
import argparse
import json
import random
import sys
from datetime import datetime, timedelta, timezone

COMPONENTS = ["auth", "billing", "search", "checkout", "notifications", "api gateway", "scheduler", "importer",
              "exporter", "reports", "admin console", "mobile app", "webhooks", "cache", "database", "storage",
              "queue workers", "rate limiter", "sessions", "settings page"]
SYMPTOMS = ["times out after {n} seconds", "returns HTTP 500 when {cond}", "crashes with a null pointer when {cond}",
            "shows stale data after {cond}", "leaks memory while {cond}", "double-charges users when {cond}",
            "drops messages when {cond}", "is slow ({n} s) when {cond}", "logs the password in clear text when {cond}",
            "ignores the locale when {cond}", "retries forever when {cond}", "loses the cursor when {cond}",
            "sorts names wrongly when {cond}", "deadlocks when {cond}", "rejects valid tokens when {cond}"]
CONDS = ["the token expires", "two requests race", "the upstream answers 503", "the file is empty",
         "the user has no email", "the payload is larger than 1 MiB", "the clock skews by a minute",
         "the queue is full", "a webhook is retried", "the account is deleted", "names contain accents",
         "the connection pool is exhausted", "the cache is cold", "daylight saving time starts", "a migration runs"]
ACTIONS = ["Open the {c} page", "Call POST /v2/{c2}", "Log in as an admin", "Upload a CSV with {n} rows",
           "Wait until the nightly job runs", "Restart the {c} service", "Switch the locale to de-DE",
           "Disable the feature flag new_{c2}", "Send two requests at once", "Let the session idle for {n} minutes"]
FRAMES = ["at com.acme.{c2}.Handler.process(Handler.java:{n})", "File \"{c2}/views.py\", line {n}, in handle",
          "  at Object.<anonymous> ({c2}/index.js:{n}:17)", "#{n} 0x00007f3a in {c2}_flush () from lib{c2}.so",
          "goroutine {n} [running]: acme/{c2}.(*Worker).Run"]
CODE = ["if (retries > MAX_RETRIES) return -1;", "for attempt in range(5): sleep(2 ** attempt)",
        "const user = await db.users.find({ id });", "SELECT * FROM orders WHERE status = 'pending' FOR UPDATE;",
        "token = jwt.decode(header, verify=False)", "cache.set(key, value, ttl=300)"]
COMMENTS = ["I can reproduce this on staging with {c}.", "Seen in production twice this week, see the log above.",
            "Root cause: the {c} client does not back off between retries.", "Is this the same as {k}?",
            "Fixed in the PR that adds exponential backoff with jitter to {c}.", "Still happens after the {c} upgrade.",
            "Workaround: restart the {c} workers every night until the fix ships.",
            "Lowering the priority: only affects accounts created before 2019.",
            "Could we add a regression test for {cond}?", "Closing as a duplicate of {k}.",
            "The {c} team owns this now; moving it to their board.", "Confirmed on iOS and Android builds.",
            "Here is a minimal case: {code}", "Deployed the hotfix, monitoring the error rate.",
            "This blocks the release of {c}; raising to critical."]
PEOPLE = ["alice", "bob", "carol", "dan", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj",
          "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yolanda"]
LABELS = ["bug", "regression", "security", "performance", "ux", "flaky", "customer", "backend", "frontend", "infra",
          "data-loss", "good first issue", "needs-triage", "i18n", "tech-debt"]
STATUS = ["open", "open", "open", "in progress", "in review", "closed", "closed", "closed", "won't fix"]
PRIORITY = ["low", "medium", "medium", "high", "critical"]
TYPES = ["bug", "bug", "bug", "task", "story", "incident"]


def fill(rng, s, key_max):
    c = rng.choice(COMPONENTS)
    return s.format(n=rng.randint(2, 900), cond=rng.choice(CONDS), c=c, c2=c.replace(" ", "_"),
                    k=f"PROJ-{rng.randint(1, max(1, key_max))}", code=rng.choice(CODE))


def record(rng, i, start):
    comp = rng.choice(COMPONENTS)
    summary = f"{comp.capitalize()} {fill(rng, rng.choice(SYMPTOMS), i)}"
    parts = [f"The {comp} {fill(rng, rng.choice(SYMPTOMS), i)}."]
    if rng.random() < 0.7:
        steps = [fill(rng, rng.choice(ACTIONS), i) for _ in range(rng.randint(2, 5))]
        parts.append("Steps to reproduce:\n" + "\n".join(f"{k + 1}. {s}" for k, s in enumerate(steps)))
    if rng.random() < 0.6:
        parts.append(f"Expected: the request succeeds. Actual: it {fill(rng, rng.choice(SYMPTOMS), i)}.")
    if rng.random() < 0.35:
        parts.append("Stack trace:\n" + "\n".join(fill(rng, rng.choice(FRAMES), i) for _ in range(rng.randint(3, 8))))
    if rng.random() < 0.3:
        parts.append("Code:\n    " + rng.choice(CODE))
    if rng.random() < 0.2 and i > 1:
        parts.append(f"Related to PROJ-{rng.randint(1, i - 1)}.")
    created = start + timedelta(minutes=37 * i + rng.randint(0, 30))
    comments = []
    t = created
    for _ in range(rng.choice([0, 0, 1, 1, 2, 2, 3, 4, 5, 8])):
        t += timedelta(hours=rng.randint(1, 72))
        comments.append({"author": rng.choice(PEOPLE), "body": fill(rng, rng.choice(COMMENTS), i),
                         "created": t.strftime("%Y-%m-%dT%H:%M:%SZ")})
    return {
        "key": f"PROJ-{i}",
        "summary": summary,
        "description": "\n\n".join(parts),
        "reporter": rng.choice(PEOPLE),
        "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "updated": (t + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status": rng.choice(STATUS),
        "priority": rng.choice(PRIORITY),
        "type": rng.choice(TYPES),
        "labels": rng.sample(LABELS, rng.randint(0, 3)),
        "components": [comp],
        "comments": comments,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=16)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    start = datetime(2019, 1, 1, tzinfo=timezone.utc)
    out = sys.stdout
    for i in range(1, a.n + 1):
        out.write(json.dumps(record(rng, i, start), ensure_ascii=False))
        out.write("\n")


if __name__ == "__main__":
    main()
