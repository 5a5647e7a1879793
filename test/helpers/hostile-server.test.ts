import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Client, type Dispatcher } from 'undici';
import { decompressBounded } from '../../src/transport/decompress.js';
import {
  acceptNeverAnswer,
  countingServer,
  gzipBomb,
  hugeHeaders,
  invalidHttp,
  redirectTo,
  refusedPort,
  resetAfterHeaders,
  resetBeforeHeaders,
  shortContentLength,
  slowlorisHeaders,
  stallMidBody,
  truncatedChunked,
  type HostileServer,
} from './hostile-server.js';

/** The `code` of an error or the first one in its cause chain. */
function codeOf(error: unknown): string | undefined {
  let current: unknown = error;
  while (typeof current === 'object' && current !== null) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

async function withClient<T>(server: HostileServer, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client(server.url);
  try {
    return await fn(client);
  } finally {
    await client.destroy();
    await server.close();
  }
}

/** Waits (on the event loop, no timer) until `condition` holds. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

describe('hostile servers', () => {
  test('refusedPort: nothing listens there', async () => {
    const { port } = await refusedPort();
    const socket = connect(port, '127.0.0.1');
    const [error] = (await once(socket, 'error').catch((e: unknown) => [e])) as [unknown];
    assert.equal(codeOf(error), 'ECONNREFUSED');
  });

  test('resetBeforeHeaders: the request is read, then the connection is reset', async () => {
    const server = await resetBeforeHeaders();
    await withClient(server, async (client) => {
      await assert.rejects(client.request({ path: '/', method: 'GET' }), (e) => codeOf(e) === 'ECONNRESET');
      assert.equal(server.requests, 1);
    });
  });

  test('resetAfterHeaders: the head arrives, the body read fails', async () => {
    const server = await resetAfterHeaders({ bodyBytes: 10 });
    await withClient(server, async (client) => {
      const res = await client.request({ path: '/', method: 'GET' }).catch((e: unknown) => e);
      // The reset may race the head; either way no complete response is ever delivered.
      if (res instanceof Error) assert.equal(codeOf(res), 'ECONNRESET');
      else await assert.rejects((res as Dispatcher.ResponseData).body.text());
    });
  });

  test('stallMidBody: part of the body, then silence until closed', async () => {
    const server = await stallMidBody({ contentLength: 1000, sendBytes: 100 });
    const client = new Client(server.url);
    const res = await client.request({ path: '/', method: 'GET' });
    assert.equal(res.headers['content-length'], '1000');
    let received = 0;
    const ended = new Promise<unknown>((resolve) => {
      res.body.on('data', (chunk: Buffer) => (received += chunk.length));
      res.body.on('error', resolve);
      res.body.on('end', () => resolve('end'));
    });
    await until(() => received === 100);
    await server.close();
    assert.notEqual(await ended, 'end', 'a truncated body must not end successfully');
    await client.destroy();
  });

  test('slowlorisHeaders: the response head arrives one byte at a time', async () => {
    const server = await slowlorisHeaders({ intervalMs: 1 });
    const socket = connect(server.port, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    const chunks: string[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c.toString('latin1')));
    await until(() => chunks.join('').length >= 12);
    assert.ok(chunks.join('').startsWith('HTTP/1.1 200'));
    assert.ok(chunks.length >= 2, 'dripped, not sent at once');
    await server.close();
    socket.destroy();
  });

  test('truncatedChunked: the body errors instead of ending', async () => {
    const server = await truncatedChunked();
    await withClient(server, async (client) => {
      const res = await client.request({ path: '/', method: 'GET' });
      await assert.rejects(res.body.text());
    });
  });

  test('invalidHttp: a parser error', async () => {
    const server = await invalidHttp();
    await withClient(server, async (client) => {
      await assert.rejects(client.request({ path: '/', method: 'GET' }), { name: 'HTTPParserError' });
    });
  });

  test('shortContentLength: 10 of 100 bytes, then close', async () => {
    const server = await shortContentLength();
    await withClient(server, async (client) => {
      const res = await client.request({ path: '/', method: 'GET' });
      assert.equal(res.headers['content-length'], '100');
      await assert.rejects(res.body.text());
    });
  });

  test('acceptNeverAnswer: counts the request, never answers', async () => {
    const server = await acceptNeverAnswer();
    const client = new Client(server.url);
    const pending = client.request({ path: '/', method: 'POST', body: 'x' });
    await until(() => server.requests === 1);
    await server.close();
    await assert.rejects(pending, (e) => codeOf(e) === 'UND_ERR_SOCKET');
    await client.destroy();
  });

  test('gzipBomb: ~10 KB on the wire for 10 MiB decoded, stopped by the bounded decoder', async () => {
    const server = await gzipBomb();
    assert.ok(server.compressedBytes < 20_000, `compressed ${server.compressedBytes}`);
    await withClient(server, async (client) => {
      const res = await client.request({ path: '/', method: 'GET' });
      assert.equal(res.headers['content-encoding'], 'gzip');
      const decoder = decompressBounded('gzip', 1024 * 1024);
      res.body.pipe(decoder);
      decoder.resume();
      const [error] = (await once(decoder, 'error')) as [unknown];
      assert.equal(codeOf(error), 'RESPONSE_TOO_LARGE');
      assert.ok(decoder.bytesOut < 2 * 1024 * 1024);
    });
  });

  test('gzipBomb: br and deflate variants', async () => {
    for (const encoding of ['br', 'deflate'] as const) {
      const server = await gzipBomb({ encoding, decodedBytes: 1024 * 1024 });
      assert.equal(server.decodedBytes, 1024 * 1024);
      await withClient(server, async (client) => {
        const res = await client.request({ path: '/', method: 'GET' });
        assert.equal(res.headers['content-encoding'], encoding);
        assert.equal((await res.body.arrayBuffer()).byteLength, server.compressedBytes);
      });
    }
  });

  test('hugeHeaders: over undici default 16 KiB header limit', async () => {
    const server = await hugeHeaders();
    await withClient(server, async (client) => {
      await assert.rejects(
        client.request({ path: '/', method: 'GET' }),
        (e) => codeOf(e) === 'UND_ERR_HEADERS_OVERFLOW',
      );
    });
  });

  test('redirectTo: answers with the status and Location, records the request', async () => {
    const server = await redirectTo((_req, n) => `/next/${n}`, 307);
    await withClient(server, async (client) => {
      const res = await client.request({ path: '/a', method: 'GET', headers: { authorization: 'Bearer t' } });
      await res.body.dump();
      assert.equal(res.statusCode, 307);
      assert.equal(res.headers.location, '/next/1');
      assert.equal(server.received[0]?.headers.authorization, 'Bearer t');
    });
  });

  test('countingServer: counts per method and path, with a per-key sequence', async () => {
    const server = await countingServer((_req, res, n) => {
      res.statusCode = n === 1 ? 503 : 200;
      res.end();
    });
    await withClient(server, async (client) => {
      const statuses: number[] = [];
      for (const method of ['POST', 'POST', 'GET'] as const) {
        const res = await client.request({ path: '/charges', method, body: method === 'POST' ? '{}' : null });
        await res.body.dump();
        statuses.push(res.statusCode);
      }
      assert.deepEqual(statuses, [503, 200, 503]);
      assert.equal(server.count('post', '/charges'), 2);
      assert.equal(server.count('GET', '/charges'), 1);
      assert.equal(server.count('GET', '/other'), 0);
      assert.equal(server.received[0]?.bodyBytes, 2);
    });
  });

  test('close() destroys open sockets and can be called twice', async () => {
    const server = await stallMidBody();
    const socket: Socket = connect(server.port, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    socket.resume();
    await until(() => server.requests === 1);
    const closed = once(socket, 'close');
    await Promise.all([server.close(), server.close()]);
    await closed;
    assert.equal(server.connections, 1);
  });
});
