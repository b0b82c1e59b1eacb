// Small network helpers shared by the end-to-end tests.
import net from 'node:net';

// A loopback port nobody listens on (bound, read, closed).
export async function closedPort() {
  const srv = net.createServer();
  await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
  const { port } = srv.address();
  await new Promise((ok) => srv.close(ok));
  return port;
}
