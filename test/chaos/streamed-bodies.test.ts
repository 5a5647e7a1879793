/**
 * Compressed bodies read as a stream (`for await (const chunk of res.body)`) from upstreams that
 * cut, stall or bomb them mid-body, and `Content-Encoding` spread over several header lines.
 * Raw sockets on loopback; the suite's unhandled-rejection guard and node:test's own catch of
 * an uncaught `'error'` make a crash fail the test instead of passing silently.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import type { Client } from '../../src/index.js';
import { compressedBody, noise, type WireCoding } from '../helpers/hostile-server.js';
import { assertCode } from '../helpers/assert-error.js';
import { failOnUnhandledRejections } from '../helpers/unhandled.js';
import { chaosClient, eventually, openSockets, poolTotals, TIGHT_TIMEOUT } from './fixtures/chaos.js';

failOnUnhandledRejections();

const KiB = 1024;
const STACKS: readonly (readonly WireCoding[])[] = [['gzip'], ['br'], ['deflate'], ['gzip', 'br']];

/** Reads `body` to its end; returns the bytes read and the error that ended it, if any. */
async function drain(body: Readable): Promise<{ bytes: number; error: unknown }> {
  let bytes = 0;
  try {
    for await (const chunk of body) bytes += (chunk as Buffer).length;
    return { bytes, error: undefined };
  } catch (error) {
    return { bytes, error };
  }
}

/** Nothing of the call is left: no request in the pool, then no TCP socket after close(). */
async function assertNothingLeft(client: Client): Promise<void> {
  assert.ok(
    await eventually(() => poolTotals(client).running === 0),
    `the exchange was not aborted: ${JSON.stringify(client.inspect().pools)}`,
  );
  await client.close();
  assert.ok(await eventually(() => openSockets() === 0), `${openSockets()} TCP sockets left after close()`);
}

describe('a compressed body cut mid-stream ends in a rejected read', () => {
  for (const codings of STACKS) {
    const name = codings.join(', ');

    test(`${name}: the server resets mid-body → NETWORK`, async () => {
      const server = await compressedBody({ plain: noise(256 * KiB), codings, sendBytes: 64 * KiB });
      const client = chaosClient(server.url);
      try {
        const res = await client.get('/stream');
        assert.equal(res.status, 200);
        assert.equal(res.headers['content-encoding'], undefined, 'a decoded body drops the header');
        const chunks = res.body[Symbol.asyncIterator]();
        const first = await chunks.next();
        assert.equal(first.done, false, 'decoded bytes arrive before the cut');
        server.reset();
        let error: unknown;
        try {
          while (!(await chunks.next()).done);
        } catch (e) {
          error = e;
        }
        assertCode(error, 'NETWORK');
        assert.equal(error.sent, true);
        await assertNothingLeft(client);
      } finally {
        await client.close();
        await server.close();
      }
    });

    test(`${name}: the server stalls mid-body → ATTEMPT_TIMEOUT`, async () => {
      const server = await compressedBody({ plain: noise(256 * KiB), codings, sendBytes: 64 * KiB });
      const client = chaosClient(server.url, { timeout: TIGHT_TIMEOUT });
      try {
        const res = await client.get('/stream');
        const { bytes, error } = await drain(res.body);
        assertCode(error, 'ATTEMPT_TIMEOUT');
        assert.ok(bytes > 0 && bytes < 256 * KiB, `${bytes} decoded bytes before the stall`);
        await assertNothingLeft(client);
      } finally {
        await client.close();
        await server.close();
      }
    });
  }
});

describe('a streamed body over maxResponseBytes aborts the exchange', () => {
  for (const codings of STACKS) {
    const name = codings.join(', ');
    test(`${name}: a bomb held open by the server → RESPONSE_TOO_LARGE, connection closed, close() prompt`, async () => {
      // The whole bomb, but the body never ends: only the decoder's limit can stop the read.
      const server = await compressedBody({ plain: Buffer.alloc(8 * 1024 * KiB), codings, hold: true });
      const client = chaosClient(server.url, { maxResponseBytes: 1024 * KiB });
      try {
        const res = await client.get('/bomb');
        const { bytes, error } = await drain(res.body);
        assertCode(error, 'RESPONSE_TOO_LARGE');
        assert.ok(bytes <= 1024 * KiB, `${bytes} decoded bytes passed the limit`);
        await assertNothingLeft(client);
      } finally {
        await client.close();
        await server.close();
      }
    });
  }

  test('a consumer that stops reading early (destroys the stream) frees the connection', async () => {
    const server = await compressedBody({
      plain: noise(256 * KiB),
      codings: ['gzip'],
      sendBytes: 64 * KiB,
    });
    const client = chaosClient(server.url);
    try {
      const res = await client.get('/stream');
      for await (const chunk of res.body) {
        assert.ok((chunk as Buffer).length > 0);
        break;
      }
      await assertNothingLeft(client);
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe('Content-Encoding over several header lines is one list (RFC 9110 §5.3)', () => {
  const cases: { codings: WireCoding[]; contentLength: boolean }[] = [
    { codings: ['gzip', 'br'], contentLength: false },
    { codings: ['gzip', 'gzip'], contentLength: true },
    { codings: ['deflate', 'gzip', 'br'], contentLength: false },
  ];
  for (const { codings, contentLength } of cases) {
    const name = codings.map((c) => `content-encoding: ${c}`).join(' / ');
    test(`${name}: text() and the stream both decode every coding`, async () => {
      const plain = Buffer.from('hello, several codings '.repeat(500));
      const server = await compressedBody({ plain, codings, headerLines: 'split', contentLength });
      const client = chaosClient(server.url);
      try {
        const buffered = await client.get('/split');
        assert.equal(buffered.headers['content-encoding'], undefined);
        assert.equal(await buffered.text(), plain.toString());
        const streamed = await client.get('/split');
        const out: Buffer[] = [];
        for await (const chunk of streamed.body) out.push(chunk as Buffer);
        assert.equal(Buffer.concat(out).toString(), plain.toString());
      } finally {
        await client.close();
        await server.close();
      }
    });
  }
});

test('res.body read twice is one stream, not a second decoder on the same bytes', async () => {
  const plain = Buffer.from('once '.repeat(2_000));
  const server = await compressedBody({ plain, codings: ['gzip'] });
  const client = chaosClient(server.url);
  try {
    const res = await client.get('/twice');
    assert.equal(res.body, res.body);
    const out: Buffer[] = [];
    for await (const chunk of res.body) out.push(chunk as Buffer);
    assert.equal(Buffer.concat(out).toString(), plain.toString());
  } finally {
    await client.close();
    await server.close();
  }
});
