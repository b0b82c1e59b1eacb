// Small network helpers shared by the end-to-end tests.
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';

// A loopback port nobody listens on (bound, read, closed).
export async function closedPort() {
  const srv = net.createServer();
  await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
  const { port } = srv.address();
  await new Promise((ok) => srv.close(ok));
  return port;
}

// An OpenAI-compatible embedding endpoint in this process whose answers the
// test controls: request number holdAt is held (not answered) until release()
// is called, so an index run through it is certainly in the middle of its work
// when the test interrupts it. Vectors are a hash of the text (16 dimensions).
export async function heldEndpoint(holdAt) {
  let n = 0, onHeld, releaseHeld;
  const held = new Promise((ok) => { onHeld = ok; });
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const answer = () => {
        const input = JSON.parse(body).input;
        const data = input.map((t, i) => {
          const h = crypto.createHash('sha256').update(t).digest();
          return { object: 'embedding', index: i, embedding: [...h.subarray(0, 16)].map((b) => b / 127.5 - 1) };
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data, model: 'held' }));
      };
      if (++n === holdAt) {
        releaseHeld = answer;
        onHeld();
      } else answer();
    });
  });
  await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${srv.address().port}/v1`,
    held,
    release: () => { if (releaseHeld) releaseHeld(); releaseHeld = null; },
    close: () => { srv.closeAllConnections(); return new Promise((ok) => srv.close(ok)); },
  };
}
