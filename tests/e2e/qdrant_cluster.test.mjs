// The cluster-only side of the Qdrant store backend (issue 20), against
// fake_qdrant_cluster.mjs: a local server answering Qdrant's documented
// cluster endpoints and forwarding the rest to a real `semcode serve`.
// shard_number / replication_factor / write_consistency_factor sent from
// the configuration and checked against GET /cluster and GET
// /collections/{c}/cluster; a 503 and a timed-out request retried with
// backoff; TLS with a CA made at test time by openssl (the CA option,
// verification failures with a wrong or missing CA). A few seconds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, stop, spawnRun } from './serve_util.mjs';
import { FakeQdrantCluster } from './fake_qdrant_cluster.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');
const fixture = path.join(top, 'tests/fixtures/repo');

let tmp, srv;

// semcode without blocking the event loop (the fake server runs in this process).
const run = (args, opts = {}) => spawnRun(bin, args, opts);

function openssl(args) {
  const r = spawnSync('openssl', args, { cwd: tmp, encoding: 'utf8' });
  assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
}

// A CA (NAME.pem, NAME.key) and, when leaf, a certificate for 127.0.0.1 it signs (NAME-srv.pem / .key).
function makeCa(name, leaf) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '1', '-subj', `/CN=semcode test ${name}`]);
  if (!leaf) return;
  fs.writeFileSync(path.join(tmp, 'leaf.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
  openssl(['req', ...ec, '-keyout', `${name}-srv.key`, '-out', `${name}-srv.csr`, '-subj', '/CN=127.0.0.1']);
  openssl(['x509', '-req', '-in', `${name}-srv.csr`, '-CA', `${name}.pem`, '-CAkey', `${name}.key`, '-CAcreateserial',
    '-out', `${name}-srv.pem`, '-days', '1', '-extfile', 'leaf.ext']);
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-qcluster-'));
  srv = await serve(bin, tmp, 'upstream', path.join(tmp, 'upstream-store'), null);
});

after(async () => {
  if (srv) await stop(srv);
  fs.rmSync(tmp, { recursive: true, force: true });
});

function tree(name) {
  const t = path.join(tmp, name);
  fs.cpSync(fixture, t, { recursive: true });
  return t;
}

test('GET /cluster: peers checked against write_consistency_factor, replication_factor and shard_number', async () => {
  const fake = new FakeQdrantCluster({ upstream: srv.url, peers: 3 });
  const base = (await fake.start()).replace('http://', 'qdrant://');
  try {
    const good = await run(['config', 'check', '--store', `${base}/c1?shards=6&replicas=2&write_consistency=1`]);
    assert.equal(good.code, 0, good.err + good.out);
    assert.match(good.out, /cluster: cluster of 3 peers, a Raft leader elected, consensus working/);
    const bad = await run(['config', 'check', '--json', '--store', `${base}/c1?shards=2&replicas=4&write_consistency=4`]);
    assert.equal(bad.code, 1);
    const d = JSON.parse(bad.out).diagnostics;
    const msg = (f) => d.filter((x) => x.field === f).map((x) => `${x.level}: ${x.message}`).join('\n');
    assert.match(msg('write_consistency_factor'), /^error: write_consistency_factor 4 is over the cluster's 3 peers/);
    assert.match(msg('replication_factor'), /^warning: replication_factor 4 is over the cluster's 3 peers/);
    assert.match(msg('shard_number'), /^warning: shard_number 2 on 3 peers/);
    // a cluster without a leader is said so; semcode serve (no cluster API) is one node
    fake.leader = false;
    const nl = await run(['config', 'check', '--store', `${base}/c1`]);
    assert.match(nl.out, /warning: cluster: the cluster has no Raft leader/);
    const one = await run(['config', 'check', '--store', `${srv.url.replace('http://', 'qdrant://')}/c1?replicas=2`]);
    assert.equal(one.code, 0, one.err);
    assert.match(one.out, /no cluster API \(GET \/cluster: 404\): one node/);
    assert.match(one.out, /warning: replication_factor: replication_factor 2 on a server without a cluster/);
  } finally {
    await fake.close();
  }
});

test('index creates the collection with the configured shards, replicas and write consistency; replica states are checked', async () => {
  const fake = new FakeQdrantCluster({ upstream: srv.url, peers: 3 });
  const base = (await fake.start()).replace('http://', 'qdrant://');
  const t = tree('sharded');
  try {
    const store = `${base}/sharded?shards=6&replicas=2&write_consistency=2`;
    const ix = await run(['index', '--quiet', '--json', '--store', store, t]);
    assert.equal(ix.code, 0, ix.err);
    const body = fake.created.sharded;
    assert.equal(body.shard_number, 6);
    assert.equal(body.replication_factor, 2);
    assert.equal(body.write_consistency_factor, 2);
    assert.equal(body.sparse_vectors.bm25.modifier, 'idf');
    const ok = await run(['config', 'check', '--store', store]);
    assert.equal(ok.code, 0, ok.err + ok.out);
    assert.match(ok.out, /collection sharded: 6 shards, 12 replicas \(0 not active\)/);
    // one replica dead: a warning; every replica of shard 3 dead: search refuses, naming the shard
    fake.setReplicaState('sharded', 1, 1, 'Dead');
    const warn = await run(['config', 'check', '--store', store]);
    assert.equal(warn.code, 0);
    assert.match(warn.out, /warning: cluster: 1 of the 12 replicas of collection sharded are not active/);
    fake.setReplicaState('sharded', 3, 0, 'Dead');
    fake.setReplicaState('sharded', 3, 1, 'Partial');
    const s = await run(['search', 'count words', '--limit', '3'], { cwd: t });
    assert.equal(s.code, 1);
    assert.match(s.err, /1 of the 6 shards of collection sharded have no active replica \(shard 3 first\)/);
    // the same from a configuration file ($SEMCODE_CONFIG)
    const cfg = path.join(tmp, 'store.json');
    fs.writeFileSync(cfg, JSON.stringify({ store: { url: `${base}/fromfile`, shard_number: 3, replication_factor: 3,
      write_consistency_factor: 2, timeout_ms: 10000 } }));
    const t2 = tree('fromfile');
    const ix2 = await run(['index', '--quiet', t2], { env: { ...process.env, SEMCODE_CONFIG: cfg } });
    assert.equal(ix2.code, 0, ix2.err);
    assert.deepEqual([fake.created.fromfile.shard_number, fake.created.fromfile.replication_factor,
      fake.created.fromfile.write_consistency_factor], [3, 3, 2]);
    // the configuration no longer matching the collection is a warning
    fake.states = {};
    const other = await run(['config', 'check', '--store', `${base}/sharded?shards=4&replicas=3`]);
    assert.match(other.out, /collection sharded has 6 shards, the configuration says 4/);
    assert.match(other.out, /a shard of collection sharded has 2 replicas, the configuration says 3/);
  } finally {
    await fake.close();
  }
});

test('a 503 and a timed-out request are retried with backoff; every batch lands once', async () => {
  const fake = new FakeQdrantCluster({ upstream: srv.url, peers: 3 });
  const base = (await fake.start()).replace('http://', 'qdrant://');
  const t = tree('retried');
  try {
    fake.fail({ method: 'PUT', path: /\/collections\/retried\/points\?/, status: 503,
      headers: { 'retry-after': '0' }, body: '{"status":{"error":"Service Unavailable: shard 2 is not ready"}}' });
    // the second batch is held past the timeout (the server still applies it after; the retry re-sends it)
    fake.fail({ method: 'PUT', path: /\/collections\/retried\/points\?/, delayMs: 2500, times: 1 });
    const store = `${base}/retried?batch=8&timeout_ms=1500&retries=3`;
    const ix = await run(['index', '--json', '--store', store, t], { env: { ...process.env, SEMCODE_DEBUG: '1' } });
    assert.equal(ix.code, 0, ix.err);
    const n = JSON.parse(ix.out).entities.added;
    const m = ix.err.match(/(\d+) requests \((\d+) retries\)/);
    assert.ok(m && Number(m[2]) >= 2, `retries counted: ${ix.err}`);
    const puts = fake.seen('PUT', /\/collections\/retried\/points\?/);
    assert.equal(puts, Math.ceil(n / 8) + 2, 'each failed batch sent once more');
    const count = await (await fetch(`${srv.url}/collections/retried/points/count`, { method: 'POST',
      headers: { 'content-type': 'application/json' }, body: '{"exact": true}' })).json();
    assert.equal(count.result.count, n);
    // retries run out: the error says what the server answered
    fake.fail({ method: 'POST', path: /\/points\/query/, status: 503, body: '{"status":{"error":"Service Unavailable"}}', times: 5 });
    const gone = await run(['search', 'count words', '--mode', 'dense', '--store', `${base}/retried?retries=1`], { cwd: t });
    assert.equal(gone.code, 1);
    assert.match(gone.err, /HTTP 503: Service Unavailable/);
    assert.equal(fake.seen('POST', /\/points\/query/), 2, 'one try and one retry');
  } finally {
    await fake.close();
  }
});

test('TLS: the CA option verifies the server end to end; a wrong or missing CA fails with a clear error', async () => {
  makeCa('ca', true);
  makeCa('wrong-ca', false);
  fs.writeFileSync(path.join(tmp, 'junk.pem'), 'not a certificate\n');
  const fake = new FakeQdrantCluster({ upstream: srv.url, peers: 3,
    tls: { key: fs.readFileSync(path.join(tmp, 'ca-srv.key')), cert: fs.readFileSync(path.join(tmp, 'ca-srv.pem')) } });
  const base = (await fake.start()).replace('https://', 'qdrants://');
  const t = tree('tls');
  try {
    const ca = path.join(tmp, 'ca.pem');
    const ok = await run(['config', 'check', '--store', `${base}/tls?ca=${ca}`]);
    assert.equal(ok.code, 0, ok.err + ok.out);
    assert.match(ok.out, /cluster: cluster of 3 peers/);
    const ix = await run(['index', '--quiet', '--json', '--store', `${base}/tls?ca=${ca}`, t]);
    assert.equal(ix.code, 0, ix.err);
    const s = await run(['search', 'count words in a text', '--mode', 'dense', '--limit', '1', '--json'], { cwd: t });
    assert.equal(s.code, 0, s.err);
    assert.ok(JSON.parse(s.out).results.length === 1);
    assert.ok(fake.seen('POST', /\/collections\/tls\/points\/query/) >= 1, 'the search went over TLS');
    const wrong = await run(['config', 'check', '--store', `${base}/tls?ca=${path.join(tmp, 'wrong-ca.pem')}`]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.out, /error: ca: unreachable: https:\/\/127\.0\.0\.1:\d+\/healthz: TLS: the server's certificate is not trusted by .*wrong-ca\.pem/);
    const none = await run(['config', 'check', '--store', `${base}/tls`]);
    assert.equal(none.code, 1);
    assert.match(none.out, /not trusted by the system's CAs .*give the CA that signed it with ca=/);
    const junk = await run(['config', 'check', '--store', `${base}/tls?ca=${path.join(tmp, 'junk.pem')}`]);
    assert.equal(junk.code, 1);
    assert.match(junk.out, /error: ca: unreachable: .*TLS: the CA file .*junk\.pem cannot be used/);
    // the same at start-up of a command (the tree records the store; --store overrides it)
    const idx = await run(['search', 'x', '--store', `${base}/tls?ca=${path.join(tmp, 'wrong-ca.pem')}`], { cwd: t });
    assert.equal(idx.code, 1);
    assert.match(idx.err, /store configuration: ca: unreachable: .*not trusted by .*wrong-ca\.pem/);
    // plain http to the TLS port: said so
    const plain = await run(['config', 'check', '--store', `${base.replace('qdrants://', 'qdrant://')}/tls`]);
    assert.equal(plain.code, 1);
  } finally {
    await fake.close();
  }
});
