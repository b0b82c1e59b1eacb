#!/usr/bin/env python3
"""Kill -9 `semcode serve` in the middle of backfill jobs and count what
was lost and duplicated (bench/job_resume.sh runs it; no peer: the
property is "0 and 0", not a speed).

Each round submits a fresh JSON Lines job of N issue records (its own
record source bench-<round>), waits a random 0.1 .. 0.7 of the time a job
of that size takes here (measured first, on a warm-up job), sends SIGKILL
to the server while the job is running, starts the server again on the
same store, waits for the job to end, then scrolls the records of that
source and counts: lost = input ids not stored, duplicated = stored points
beyond one per input id (a point id hashes tenant, source, kind and id, so
a duplicate would show as a second point with the same `id`), plus stored
ids that are not in the input. Rounds go on until ROUNDS kills hit a
running job (a round whose job finished first still counts its records).

With SOURCE github the job is a GitHub one instead: a local fake GitHub
(bench/fake_github.mjs, N issues, a token the server reads from the
environment variable the job names) is read from the start by each job
(its own record source bench-<round>, so no cursor is shared).

Usage: python3 bench/job_resume.py BIN DATA.jsonl|N WORKDIR ROUNDS [jsonl|github]
"""
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

BIN, DATA, WORK, ROUNDS = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
SOURCE = sys.argv[5] if len(sys.argv) > 5 else "jsonl"
GH_TOKEN = "bench-github-token-0123456789"
MAP = {"id": "key", "title": "summary", "body": "description", "author": "reporter", "date": "created",
       "state": "status", "labels": "labels", "comments": "comments[].body"}
STORE = os.path.join(WORK, "store")
PORT_FILE = os.path.join(WORK, "port")
server = None
fake = None  # the fake GitHub (SOURCE github)
fake_url = ""
url = ""


def start():
    global server, url
    if os.path.exists(PORT_FILE):
        os.remove(PORT_FILE)
    server = subprocess.Popen([BIN, "serve", "--port", "0", "--port-file", PORT_FILE, "--store", STORE, "--log",
                               os.path.join(WORK, "log.txt")], stderr=open(os.path.join(WORK, "err.txt"), "a"),
                              env={**os.environ, "BENCH_GH_TOKEN": GH_TOKEN})
    for _ in range(2400):  # up to 120 s: a store reopened after a kill may recover first
        if os.path.exists(PORT_FILE) and open(PORT_FILE).read().strip():
            url = "http://127.0.0.1:%s" % open(PORT_FILE).read().strip()
            try:
                urllib.request.urlopen(url + "/readyz", timeout=2)
                return
            except OSError:
                pass
        time.sleep(0.05)
    sys.stderr.write(open(os.path.join(WORK, "err.txt")).read()[-3000:])
    raise SystemExit("the server did not start in 120 s")


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method, headers={"content-type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=60))["result"]


def submit(name, text):
    if SOURCE == "github":
        return call("POST", "/jobs", {"source": {"type": "github", "repo": "bench/issues", "api_url": fake_url,
                                                 "token_env": "BENCH_GH_TOKEN", "per_page": 100, "source_name": name},
                                      "options": {"provider": "fast", "batch_size": 128}})["id"]
    return call("POST", "/jobs", {"source": {"type": "jsonl", "data": text, "kind": "issue", "mapping": MAP,
                                             "source_name": name},
                                  "options": {"provider": "fast", "batch_size": 128}})["id"]


def wait(job, states=("done", "failed", "cancelled")):
    while True:
        j = call("GET", "/jobs/%d" % job)
        if j["state"] in states:
            return j
        time.sleep(0.05)


def stored_ids(name):
    ids, offset = [], None
    flt = {"must": [{"key": "source", "match": {"value": name}}, {"key": "kind", "match": {"value": "issue"}}]}
    while True:
        body = {"filter": flt, "limit": 1000, "with_payload": ["id"], "with_vector": False}
        if offset is not None:
            body["offset"] = offset
        r = call("POST", "/collections/records/points/scroll", body)
        ids += [p["payload"]["id"] for p in r["points"]]
        offset = r.get("next_page_offset")
        if offset is None:
            return ids


def start_fake(n):
    global fake, fake_url
    url_file = os.path.join(WORK, "fake_url")
    fake = subprocess.Popen(["node", "bench/fake_github.mjs", str(n), url_file, GH_TOKEN])
    for _ in range(600):
        if os.path.exists(url_file) and open(url_file).read().strip():
            fake_url = open(url_file).read().strip()
            return
        time.sleep(0.05)
    raise SystemExit("the fake GitHub did not start in 30 s")


def main():
    if SOURCE == "github":
        text = None
        want = [str(i) for i in range(1, int(DATA) + 1)]
        start_fake(len(want))
    else:
        text = open(DATA).read()
        want = [json.loads(line)["key"] for line in text.splitlines() if line.strip()]
    start()
    t0 = time.time()
    wait(submit("bench-warmup", text))
    took = time.time() - t0
    print("job of %d records uninterrupted: %.2f s" % (len(want), took))
    lost_all = dup_all = kills = 0
    restarts, resumes = [], []
    rnd = 0
    while kills < ROUNDS and rnd < 3 * ROUNDS:
        rnd += 1
        name = "bench-%d" % rnd
        job = submit(name, text)
        wait(job, ("running",))
        time.sleep(random.uniform(0.1, 0.7) * took)
        j = call("GET", "/jobs/%d" % job)
        killed = j["state"] == "running"
        t_kill = time.time()
        if killed:
            server.send_signal(signal.SIGKILL)
            server.wait()
            kills += 1
            start()
        t_up = time.time()
        end = wait(job)
        t_done = time.time()
        if killed:
            restarts.append(t_up - t_kill)
            resumes.append(t_done - t_up)
        ids = stored_ids(name)
        lost = len(set(want) - set(ids))
        dup = len(ids) - len(set(ids)) + len(set(ids) - set(want))
        lost_all += lost
        dup_all += dup
        print("round %2d: killed %s at %d/%d records stored; after restart: %s, attempts %d, stored %d, lost %d, "
              "duplicated %d; restart %.2f s, resumed job done %.2f s later" %
              (rnd, "yes" if killed else "no (already done)", j["succeeded"], len(want), end["state"], end["attempts"],
               len(ids), lost, dup, t_up - t_kill, t_done - t_up))
    server.send_signal(signal.SIGTERM)
    server.wait()
    print("result: %d rounds, %d kills mid-job, records lost %d, duplicated %d; restart median %.2f s (max %.2f), "
          "resumed job to done median %.2f s (max %.2f)" %
          (rnd, kills, lost_all, dup_all, statistics.median(restarts or [0]), max(restarts or [0]),
           statistics.median(resumes or [0]), max(resumes or [0])))
    sys.exit(0 if lost_all == 0 and dup_all == 0 and kills >= ROUNDS else 1)


signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run the finally below
try:
    main()
finally:
    for p in (server, fake):
        if p is not None and p.poll() is None:  # never leave a server behind
            p.kill()
            p.wait()
