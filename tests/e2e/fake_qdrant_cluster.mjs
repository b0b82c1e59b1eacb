// A local stand-in for the cluster-only side of a Qdrant deployment, for the
// end-to-end tests of the Qdrant store backend (issue 20; Qdrant itself
// cannot be installed on the test machines). It serves, on 127.0.0.1, over
// http or https (key and certificate given), answers in the shapes of
// Qdrant's REST documentation (v1.19, "Distributed deployment"):
//   GET /cluster: status "enabled", this peer's id, the peers with their
//     URIs, raft_info (term, commit, leader, role) and the consensus
//     thread's status; peer ids are unsigned 64-bit numbers written as
//     JSON integers past 2^63, as Qdrant writes them;
//   GET /collections/{c}/cluster: shard_count, local_shards (shard_id,
//     points_count, state), remote_shards (shard_id, peer_id, state) and
//     shard_transfers, laid out from the shard_number and
//     replication_factor the collection was created with (replica r of
//     shard s on peer (s + r) mod peers; peer 0 is this one);
// and forwards every other request to an upstream `semcode serve` (the
// Qdrant-compatible server of this project), so a whole index or search
// runs through it. Every collection creation body is kept (created[name]);
// every request is logged (method, path). Faults are queued by the tests:
// an answer (status, headers, body) or a delay given instead of the real
// one to the next `times` requests whose method and path match; replica
// states are set with setReplicaState.
// Not a test file itself (node --test runs *.test.mjs only).
import http from 'node:http';
import https from 'node:https';

// Peer ids as Qdrant prints them: u64, most of them past 2^63.
const PEER_IDS = ['11532566549086892000', '9834046559507417430', '15401214219335823000', '4203962883254417000',
  '17812345678901234567'];

export class FakeQdrantCluster {
  // upstream: base URL of a semcode serve; peers: cluster size; tls: {key, cert} for https.
  constructor({ upstream, peers = 3, tls = null, leader = true, consensus = 'working' }) {
    this.upstream = new URL(upstream);
    this.peers = PEER_IDS.slice(0, peers);
    this.tls = tls;
    this.leader = leader;
    this.consensus = consensus;
    this.created = {};    // collection name -> the body of its PUT /collections/{name}
    this.states = {};     // "name/shard/replica" -> state other than Active
    this.transfers = {};  // collection name -> shard_transfers entries
    this.faults = [];     // {method, path (RegExp), status, headers, body, delayMs, times}
    this.log = [];        // {method, path}
  }

  // Start listening on 127.0.0.1; resolves to the base URL.
  async start() {
    const handler = (req, res) => this.handle(req, res);
    this.server = this.tls ? https.createServer(this.tls, handler) : http.createServer(handler);
    await new Promise((ok) => this.server.listen(0, '127.0.0.1', ok));
    this.url = `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.server.address().port}`;
    return this.url;
  }

  async close() {
    this.server.closeAllConnections?.();
    await new Promise((ok) => this.server.close(ok));
  }

  // Answer the next `times` requests matching method and path (a RegExp) with
  // status/headers/body, or hold them delayMs first (then answer normally).
  fail({ method = null, path, status = 0, headers = {}, body = '', delayMs = 0, times = 1 }) {
    this.faults.push({ method, path, status, headers, body, delayMs, times });
  }

  // Set the state ("Dead", "Partial", "Initializing", ...) of replica r of shard s of collection name.
  setReplicaState(name, s, r, state) { this.states[`${name}/${s}/${r}`] = state; }

  // Requests seen matching method and path (a RegExp).
  seen(method, path) { return this.log.filter((l) => l.method === method && path.test(l.path)).length; }

  answer(res, status, text, headers = {}) {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(text);
  }

  // The documented GET /cluster answer, peer ids as bare integers.
  clusterBody() {
    const peers = this.peers.map((id, i) => `"${id}":{"uri":"http://qdrant${i + 1}:6335/"}`).join(',');
    const leader = this.leader ? this.peers[0] : 'null';
    return `{"result":{"status":"enabled","peer_id":${this.peers[0]},"peers":{${peers}},` +
      `"raft_info":{"term":2,"commit":${10 + this.peers.length},"pending_operations":0,"leader":${leader},` +
      `"role":"${this.leader ? 'Leader' : 'Candidate'}","is_voter":true},` +
      `"consensus_thread_status":{"consensus_thread_status":"${this.consensus}","last_update":"2026-12-06T12:00:00.000000Z"},` +
      '"message_send_failures":{}},"status":"ok","time":0.000012}';
  }

  // The documented GET /collections/{name}/cluster answer for a created collection.
  collectionClusterBody(name) {
    const c = this.created[name];
    const shards = c.shard_number || 1, copies = Math.min(c.replication_factor || 1, this.peers.length);
    const local = [], remote = [];
    for (let s = 0; s < shards; s++) {
      for (let r = 0; r < copies; r++) {
        const peer = (s + r) % this.peers.length;
        const state = this.states[`${name}/${s}/${r}`] || 'Active';
        if (peer === 0) local.push(`{"shard_id":${s},"points_count":0,"state":"${state}"}`);
        else remote.push(`{"shard_id":${s},"peer_id":${this.peers[peer]},"state":"${state}"}`);
      }
    }
    return `{"result":{"peer_id":${this.peers[0]},"shard_count":${shards},"local_shards":[${local.join(',')}],` +
      `"remote_shards":[${remote.join(',')}],"shard_transfers":${JSON.stringify(this.transfers[name] || [])}},` +
      '"status":"ok","time":0.000021}';
  }

  handle(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const p = req.url.split('?')[0];
      this.log.push({ method: req.method, path: req.url });
      const f = this.faults.find((x) => x.times > 0 && (!x.method || x.method === req.method) && x.path.test(req.url));
      if (f) {
        f.times--;
        if (f.delayMs) await new Promise((ok) => setTimeout(ok, f.delayMs));
        if (f.status) return this.answer(res, f.status, f.body, f.headers);
        if (res.destroyed) return;
      }
      if (req.method === 'GET' && p === '/cluster') return this.answer(res, 200, this.clusterBody());
      const cm = p.match(/^\/collections\/([^/]+)\/cluster$/);
      if (cm && req.method === 'GET') {
        const name = decodeURIComponent(cm[1]);
        if (!this.created[name])
          return this.answer(res, 404, `{"status":{"error":"Not found: Collection \`${name}\` doesn't exist!"},"time":0.00001}`);
        return this.answer(res, 200, this.collectionClusterBody(name));
      }
      const cc = p.match(/^\/collections\/([^/]+)$/);
      if (cc && req.method === 'PUT') this.created[decodeURIComponent(cc[1])] = JSON.parse(body.toString() || '{}');
      if (cc && req.method === 'DELETE') delete this.created[decodeURIComponent(cc[1])];
      const up = http.request({ host: this.upstream.hostname, port: this.upstream.port, path: req.url,
        method: req.method, headers: { ...req.headers, host: this.upstream.host } }, (ur) => {
        res.writeHead(ur.statusCode, ur.headers);
        ur.pipe(res);
      });
      up.on('error', (e) => this.answer(res, 502, JSON.stringify({ status: { error: `upstream: ${e.message}` } })));
      up.end(body);
    });
  }
}
