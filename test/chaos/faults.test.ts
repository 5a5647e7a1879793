/**
 * Issue 7: every fault a real upstream can inflict, through the real client (undici pools,
 * redirect transport, full pipeline) against loopback servers. For each fault: the error code,
 * where it surfaces, the retry decision for a GET and for a plain POST (which must reach the
 * server at most once), and no socket left behind.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import type { Socket } from 'node:net';
import { createClient, type BulwarkError, type Client } from '../../src/index.js';
import { countingServer, gzipBomb, resetBeforeHeaders, stallMidBody } from '../helpers/hostile-server.js';
import { assertCode } from '../helpers/assert-error.js';
import { failOnUnhandledRejections } from '../helpers/unhandled.js';
import { ATTEMPT_MS, FAULT_CASES, type FaultCase, type Upstream } from './fixtures/fault-cases.js';
import { renderFaultsDoc } from './fixtures/fault-table.js';
import {
  callAndRead,
  causeCodes,
  chaosClient,
  eventually,
  holdEventLoop,
  openSockets,
  poolTotals,
  RELAXED_ATTEMPT_MS,
  TIGHT_TIMEOUT,
  trackRequestSockets,
  type CallOutcome,
} from './fixtures/chaos.js';

failOnUnhandledRejections();

/** Slack for the event loop and the kernel on a busy CI machine; it only catches a hang. */
const SLACK_MS = 3_000;

function assertFault(
  c: FaultCase,
  outcome: CallOutcome,
  expectedAttempts: number,
  elapsedMs: number,
): BulwarkError {
  assert.notEqual(
    outcome.phase,
    'ok',
    `${c.name}: the call must fail, it resolved ${JSON.stringify(outcome)}`,
  );
  if (outcome.phase === 'ok') throw new Error('unreachable');
  const error = outcome.error;
  assertCode(error, c.code);
  if (c.phase !== 'call or body')
    assert.equal(outcome.phase, c.phase, `${c.name}: failure surfaces at ${c.phase}`);
  if (c.cause !== undefined)
    assert.ok(
      causeCodes(error).includes(c.cause),
      `cause chain ${causeCodes(error).join(',')} lacks ${c.cause}`,
    );
  if (c.code === 'NETWORK' || c.code === 'ATTEMPT_TIMEOUT') assert.equal(error.sent, c.sent, 'error.sent');
  if (c.phase === 'call or body') {
    // Each attempt either lost its head to the RST (retried) or delivered it (the body fails).
    assert.ok(outcome.attempts >= 1 && outcome.attempts <= expectedAttempts, `attempts ${outcome.attempts}`);
  } else if (outcome.phase === 'body') {
    assert.equal(outcome.attempts, 1, 'a response handed to the caller is never retried');
  } else {
    assert.equal(outcome.attempts, expectedAttempts, 'attempts');
  }
  if (c.timed) {
    assert.equal(error.timeoutMs, ATTEMPT_MS);
    assert.ok(elapsedMs >= ATTEMPT_MS * outcome.attempts - 5, `fired early: ${elapsedMs} ms`);
    assert.ok(elapsedMs < ATTEMPT_MS * outcome.attempts + SLACK_MS, `timeout ignored: ${elapsedMs} ms`);
  }
  assert.ok(!error.message.includes('undefined'), `message reads well: ${error.message}`);
  return error;
}

/**
 * After the failure nothing is running and, when the fault poisons the connection, the socket
 * that carried it is destroyed (undici may open a fresh idle one: that is not the poisoned
 * socket). After close() no TCP socket is left in the process.
 */
async function assertNoLeak(c: FaultCase, client: Client, used: readonly Socket[]): Promise<void> {
  const settled = await eventually(() => {
    const t = poolTotals(client);
    return t.running === 0 && t.pending === 0 && (!c.closesConnection || used.every((s) => s.destroyed));
  });
  assert.ok(settled, `${c.name}: pool busy or faulty socket kept: ${JSON.stringify(client.inspect().pools)}`);
  await client.close();
  assert.deepEqual(client.inspect().pools, {}, 'close() drops every pool');
  // Client and hostile server live in this process: 0 TCP sockets means the server saw every
  // connection close, before the server's own close() could destroy them.
  assert.ok(
    await eventually(() => openSockets() === 0),
    `${openSockets()} TCP sockets still open after close()`,
  );
}

async function runFault(c: FaultCase, method: 'GET' | 'POST'): Promise<void> {
  const server: Upstream = await c.start();
  const client = chaosClient(server.url, { ...(c.timed ? { timeout: TIGHT_TIMEOUT } : {}), ...c.client });
  const release = c.reachesServer ? undefined : holdEventLoop();
  const tracked = trackRequestSockets();
  try {
    const started = Date.now();
    const outcome = await callAndRead(client, method);
    const elapsed = Date.now() - started;
    const expected = method === 'GET' ? c.getAttempts : c.postAttempts;
    assertFault(c, outcome, expected, elapsed);
    if (!c.reachesServer) assert.equal(server.requests, 0);
    else if (method === 'POST')
      assert.equal(server.requests, 1, 'a POST without `idempotent` reached the server exactly once');
    else assert.equal(server.requests, outcome.attempts, 'every GET attempt reached the server');
    assert.equal(
      tracked.sockets.length,
      c.reachesServer ? outcome.attempts : 0,
      'one socket write per attempt',
    );
    await assertNoLeak(c, client, tracked.sockets);
  } finally {
    tracked.stop();
    release?.();
    await client.close();
    await server.close();
  }
}

describe('faults through the real client', () => {
  for (const c of FAULT_CASES) {
    test(`${c.name}: GET → ${c.code}, ${c.getAttempts} attempt(s), no leak`, () => runFault(c, 'GET'));
    test(`${c.name}: POST → ${c.code}, ${c.postAttempts} attempt(s), sent at most once`, () =>
      runFault(c, 'POST'));
  }
});

describe('the retry decision follows the caller', () => {
  test('a POST marked idempotent, or carrying an Idempotency-Key, is retried after a reset', async () => {
    for (const options of [{ idempotent: true }, { headers: { 'idempotency-key': 'k-1' } }]) {
      const server = await resetBeforeHeaders();
      const client = chaosClient(server.url);
      try {
        const outcome = await callAndRead(client, 'POST', options);
        assert.equal(outcome.phase, 'call');
        assert.equal(outcome.attempts, 3);
        assert.equal(server.requests, 3, JSON.stringify(options));
      } finally {
        await client.close();
        await server.close();
      }
    }
  });

  test('a GET marked idempotent: false is sent once', async () => {
    const server = await resetBeforeHeaders();
    const client = chaosClient(server.url);
    try {
      const outcome = await callAndRead(client, 'GET', { idempotent: false });
      assert.equal(outcome.attempts, 1);
      assert.equal(server.requests, 1);
    } finally {
      await client.close();
      await server.close();
    }
  });

  test('a 503 answered POST is not retried; the same GET is, its discarded bodies drained', async () => {
    const server = await countingServer((_req, res, n) => {
      res.statusCode = n < 3 ? 503 : 200;
      res.end(n < 3 ? 'busy' : 'ok');
    });
    const client = chaosClient(server.url);
    try {
      const post = await client.post('/fault', { body: 'x' });
      assert.equal(post.status, 503);
      assert.equal(post.attempts, 1);
      await post.text();
      const get = await client.get('/fault');
      assert.equal(get.status, 200);
      assert.equal(get.attempts, 3);
      assert.equal(await get.text(), 'ok');
      assert.equal(server.count('POST', '/fault'), 1);
      assert.equal(server.count('GET', '/fault'), 3);
      // Drained 503s keep their connection; undici marks one free a tick after its body ends,
      // so a request sent at once may open a second. Never one per attempt.
      assert.ok(server.connections <= 2, `${server.connections} connections for 4 requests`);
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe('declared sizes', () => {
  for (const lengthHeader of ['Content-Length', 'CONTENT-LENGTH', 'content-length']) {
    test(`a ${lengthHeader} over maxResponseBytes fails at the head, not at the attempt timeout`, async () => {
      // 100 bytes of 5000 arrive, then nothing: only the declared size can end this call early.
      const server = await stallMidBody({ contentLength: 5000, sendBytes: 100, lengthHeader });
      const client = chaosClient(server.url, { maxResponseBytes: 1024 });
      try {
        const started = Date.now();
        const error = await client.get('/fault').then(
          (res) => res.text(),
          (e: unknown) => e,
        );
        assertCode(error, 'RESPONSE_TOO_LARGE');
        assert.ok(Date.now() - started < RELAXED_ATTEMPT_MS, `ended after ${Date.now() - started} ms`);
        assert.equal(server.requests, 1, 'a refused size is not retried');
        await client.close();
        assert.ok(await eventually(() => openSockets() === 0));
      } finally {
        await client.close();
        await server.close();
      }
    });
  }
});

describe('bodies nobody reads', () => {
  test('a stalled body the caller ignores is still cut by the attempt timeout', async () => {
    const server = await stallMidBody();
    const client = chaosClient(server.url, { timeout: TIGHT_TIMEOUT });
    try {
      const res = await client.get('/fault');
      assert.equal(res.status, 200);
      // Never read: the attempt timer must still free the connection.
      assert.ok(
        await eventually(() => poolTotals(client).running === 0),
        JSON.stringify(client.inspect().pools),
      );
      await assert.rejects(res.text(), (e: unknown) => {
        assertCode(e, 'ATTEMPT_TIMEOUT');
        return true;
      });
      await client.close();
      assert.ok(await eventually(() => openSockets() === 0));
    } finally {
      await client.close();
      await server.close();
    }
  });

  test('close() with a stalled body in flight resolves once the attempt timeout ends it', async () => {
    const server = await stallMidBody();
    const client = chaosClient(server.url, { timeout: TIGHT_TIMEOUT });
    try {
      const res = await client.get('/fault');
      const reading = res.text().catch((e: unknown) => e);
      await client.close();
      assertCode(await reading, 'ATTEMPT_TIMEOUT');
      assert.ok(await eventually(() => openSockets() === 0));
    } finally {
      await server.close();
    }
  });
});

describe('decompression bombs', () => {
  for (const encoding of ['gzip', 'br', 'deflate'] as const) {
    test(`a ${encoding} bomb read as a stream stops at maxResponseBytes`, async () => {
      const server = await gzipBomb({ encoding });
      const client = chaosClient(server.url, { maxResponseBytes: 1024 * 1024 });
      try {
        const res = await client.get('/bomb');
        let seen = 0;
        const sink = new Writable({
          write(chunk: Buffer, _enc, done) {
            seen += chunk.length;
            done();
          },
        });
        await assert.rejects(pipeline(res.body, sink), (e: unknown) => {
          assertCode(e, 'RESPONSE_TOO_LARGE');
          return true;
        });
        assert.ok(seen <= 1024 * 1024, `${seen} decoded bytes passed the limit`);
        assert.ok(server.compressedBytes < 20_000, 'the bomb is small on the wire');
      } finally {
        await client.close();
        await server.close();
      }
    });
  }

  test('decompress: false hands back the compressed bytes untouched', async () => {
    const server = await gzipBomb();
    const client = createClient({ baseUrl: server.url, decompress: false, maxResponseBytes: 1024 * 1024 });
    try {
      const res = await client.get('/bomb');
      assert.equal(res.headers['content-encoding'], 'gzip');
      const bytes = await res.arrayBuffer();
      assert.equal(bytes.byteLength, server.compressedBytes);
    } finally {
      await client.close();
      await server.close();
    }
  });
});

test('docs/faults.md is the table these cases render', () => {
  const page = readFileSync(new URL('../../docs/faults.md', import.meta.url), 'utf8');
  assert.equal(
    page,
    renderFaultsDoc(),
    'regenerate: node --import tsx test/chaos/fixtures/fault-table.ts > docs/faults.md',
  );
});
