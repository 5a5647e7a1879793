/**
 * Testing against a real local server: a loopback HTTP server on port 0 exercises the whole
 * stack (undici pools, timeouts, retries, redirects) with no mock of bulwark's own code.
 *
 * Run: npx tsx examples/testing-real-server.ts
 * In your project, import from 'bulwark' instead of '../src/index.js'.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { createClient, isBulwarkError } from '../src/index.js';

let server: Server;
let baseUrl: string;
const sockets = new Set<Socket>();
let flakyCalls = 0;

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/flaky') {
      flakyCalls++;
      if (flakyCalls < 3) res.writeHead(503, { 'retry-after': '0' }).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    } else if (req.url === '/old') {
      res.writeHead(301, { location: '/new' }).end();
    } else if (req.url === '/new') {
      res.writeHead(200).end('moved here');
    } else if (req.url === '/slow') {
      setTimeout(() => res.writeHead(200).end('late'), 500);
    } else {
      res.writeHead(404).end();
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
});

after(async () => {
  for (const socket of sockets) socket.destroy(); // a test's hanging request must not keep the server open
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('retries a 503 that carries Retry-After: 0 until it answers', async () => {
  await using client = createClient({ baseUrl });
  const res = await client.get('/flaky');
  assert.equal(res.status, 200);
  assert.equal(res.attempts, 3);
  assert.deepEqual(await res.json(), { ok: true });
});

test('follows a redirect', async () => {
  await using client = createClient({ baseUrl });
  const res = await client.get('/old');
  assert.equal(await res.text(), 'moved here');
  assert.equal(res.redirects, 1);
  assert.equal(res.url, `${baseUrl}/new`);
});

test('an attempt timeout shorter than the server is an ATTEMPT_TIMEOUT', async () => {
  await using client = createClient({ baseUrl, retry: false, timeout: { attempt: 100, total: 1_000 } });
  await assert.rejects(client.get('/slow'), (error: unknown) => isBulwarkError(error, 'ATTEMPT_TIMEOUT'));
});
