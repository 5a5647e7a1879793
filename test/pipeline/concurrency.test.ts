import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { isBulwarkError, type BulwarkError } from '../../src/index.js';
import type { Client } from '../../src/client/client.js';
import type { ConcurrencyMessage } from '../../src/observability/channels.js';
import type { ConcurrencySnapshot } from '../../src/policies/concurrency/index.js';
import { captureChannel } from '../helpers/channel-capture.js';
import { ORIGIN, virtualClient } from '../helpers/virtual-client.js';
import { assertCode } from '../helpers/assert-error.js';

function setup(concurrency: unknown, extra: Record<string, unknown> = {}) {
  return virtualClient({ concurrency, ...extra });
}

function state(client: Client): ConcurrencySnapshot {
  return client.inspect().concurrency as ConcurrencySnapshot;
}

async function rejection(p: Promise<unknown>): Promise<BulwarkError> {
  const out = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(isBulwarkError(out), `expected a BulwarkError rejection, got ${String(out)}`);
  return out;
}

describe('concurrency limit through the client (virtual clock)', () => {
  test('limit reached with maxQueue 0: CONCURRENCY_LIMITED with limit and inflight, nothing sent', async () => {
    const { clock, mock, client } = setup({ algorithm: 'fixed', initialLimit: 2 });
    mock.on('GET', '/x').reply(200, 'ok', { delay: 100 });
    const first = [client.get('/x'), client.get('/x')];
    await clock.flush();
    assert.deepEqual(state(client), { limit: 2, inflight: 2, queued: 0 });
    const error = await rejection(client.get('/x'));
    assertCode(error, 'CONCURRENCY_LIMITED');
    assert.equal(error.limit, 2);
    assert.equal(error.inflight, 2);
    assert.equal(error.method, 'GET');
    assert.equal(error.url, `${ORIGIN}/x`);
    assert.equal(mock.calls.length, 2);
    await clock.advance(100);
    for (const p of first) assert.equal(await (await p).text(), 'ok');
    assert.deepEqual(state(client), { limit: 2, inflight: 0, queued: 0 });
    const again = client.get('/x');
    await clock.advance(100);
    assert.equal((await again).status, 200, 'the freed slots are usable again');
  });

  test('the slot is held until the body ends, not just the headers', async () => {
    const { clock, mock, client } = setup({ algorithm: 'fixed', initialLimit: 1 });
    mock.on('GET', '/stream').reply(200, 'abcdef', { stallBody: true });
    mock.on('GET', '/x').reply(200);
    const res = await client.get('/stream', { timeout: { attempt: 1_000, total: 1_000 } });
    assert.equal(res.status, 200);
    assert.equal(state(client).inflight, 1, 'headers arrived, the body has not ended');
    assertCode(await rejection(client.get('/x')), 'CONCURRENCY_LIMITED');
    const text = rejection(res.text());
    await clock.advance(1_000);
    await text;
    assert.equal(state(client).inflight, 0);
  });

  test('a queued call goes when a slot frees; the queue bound and queueTimeout refuse the rest', async () => {
    const { clock, mock, client } = setup({
      algorithm: 'fixed',
      initialLimit: 1,
      maxQueue: 1,
      queueTimeout: 300,
    });
    const sentAt: number[] = [];
    const t0 = clock.now();
    mock.on('GET', '/x').handle(() => {
      sentAt.push(clock.now() - t0);
      return { status: 200, delay: 200 };
    });
    const first = client.get('/x');
    const queued = client.get('/x');
    await clock.flush();
    assert.deepEqual(state(client), { limit: 1, inflight: 1, queued: 1 });
    const full = await rejection(client.get('/x'));
    assertCode(full, 'CONCURRENCY_LIMITED');
    assert.match(full.message, /queue full/);
    await clock.advance(200);
    assert.equal((await first).status, 200);
    assert.deepEqual(state(client), { limit: 1, inflight: 1, queued: 0 });
    // The queued call holds the slot until 400 ms; a caller queued behind it at 200 ms goes at
    // 400 ms, within its 300 ms queueTimeout.
    const third = client.get('/x');
    await clock.advance(200);
    assert.equal((await queued).status, 200);
    await clock.advance(200);
    assert.equal((await third).status, 200);
    assert.deepEqual(sentAt, [0, 200, 400]);

    // A slot that stays busy longer than queueTimeout: the queued caller gives up at 300 ms.
    mock.reset();
    mock.on('GET', '/slow').reply(200, undefined, { delay: 1_000 });
    const slow = client.get('/slow');
    await clock.flush();
    const waiting = rejection(client.get('/slow'));
    await clock.advance(299);
    assert.equal(state(client).queued, 1);
    await clock.advance(1);
    const timedOut = await waiting;
    assertCode(timedOut, 'CONCURRENCY_LIMITED');
    assert.match(timedOut.message, /queueTimeout 300 ms/);
    assert.equal(mock.calls.length, 1);
    await clock.advance(1_000);
    await slow;
  });

  test("a queued call leaves the queue on the caller's abort and on its deadline", async () => {
    const { clock, mock, client } = setup({
      algorithm: 'fixed',
      initialLimit: 1,
      maxQueue: 5,
      queueTimeout: 10_000,
    });
    mock.on('GET', '/x').reply(200, undefined, { delay: 5_000 });
    const busy = client.get('/x');
    await clock.flush();
    const controller = new AbortController();
    const aborted = rejection(client.get('/x', { signal: controller.signal }));
    const bounded = rejection(client.get('/x', { deadline: 700 }));
    await clock.flush();
    assert.equal(state(client).queued, 2);
    controller.abort();
    assertCode(await aborted, 'ABORTED');
    assert.equal(state(client).queued, 1);
    await clock.advance(700);
    const late = await bounded;
    assertCode(late, 'DEADLINE_EXCEEDED');
    assert.equal(state(client).queued, 0);
    await clock.advance(5_000);
    await busy;
    assert.equal(mock.calls.length, 1);
  });

  test('503 answers are dropped samples: AIMD shrinks the limit on each', async () => {
    const { clock, mock, client } = setup({ algorithm: 'aimd', initialLimit: 10 });
    mock.on('GET', '/x').sequence([503, 503, 429]);
    mock.on('GET', '/x').reply(200, undefined, { delay: 10 });
    await client.get('/x');
    assert.equal(state(client).limit, 9);
    await client.get('/x');
    assert.equal(state(client).limit, 8);
    await client.get('/x');
    assert.equal(state(client).limit, 7, '429 too');
    // Successes grow it back by one each, but only those admitted with at least half the limit
    // in flight: of four at once (admitted at 1, 2, 3, 4 in flight) only the fourth counts.
    const batch = Array.from({ length: 4 }, () => client.get('/x'));
    await clock.advance(10);
    await Promise.all(batch);
    assert.equal(state(client).limit, 8);
  });

  test('gradient2 (the default) shrinks its limit after a window with 503s', async () => {
    const { clock, mock, client } = setup({});
    mock.on('GET', '/x').reply(503, undefined, { delay: 100 });
    assert.equal(state(client).limit, 20);
    for (let i = 0; i < 10; i++) {
      const p = client.get('/x');
      await clock.advance(100);
      await p;
    }
    assert.equal(state(client).limit, 20, 'the one-second window is still open');
    const p = client.get('/x');
    await clock.advance(100);
    await p;
    assert.equal(state(client).limit, 18, '20 × (1 − smoothing / 2)');
  });

  test('a 4xx and the caller abort carry no congestion sample', async () => {
    const { clock, mock, client } = setup({ algorithm: 'aimd', initialLimit: 10 });
    mock.on('GET', '/missing').reply(404);
    mock.on('GET', '/hang').hang();
    await client.get('/missing');
    const controller = new AbortController();
    const p = rejection(client.get('/hang', { signal: controller.signal }));
    await clock.flush();
    controller.abort();
    await p;
    assert.deepEqual(state(client), { limit: 10, inflight: 0, queued: 0 });
  });

  test('network errors are dropped samples: a refused upstream never grows the limit', async () => {
    const { mock, client } = setup({ algorithm: 'aimd', initialLimit: 2 });
    mock.on('GET', '/x').networkError('ECONNREFUSED');
    for (const expected of [1, 1]) {
      assertCode(await rejection(client.get('/x')), 'NETWORK');
      assert.deepEqual(state(client), { limit: expected, inflight: 0, queued: 0 });
    }
  });

  test('attempt timeouts are dropped samples', async () => {
    const { clock, mock, client } = setup(
      { algorithm: 'aimd', initialLimit: 10 },
      { timeout: { attempt: 100, total: 1_000 } },
    );
    mock.on('GET', '/x').hang();
    const p = rejection(client.get('/x'));
    await clock.advance(100);
    assertCode(await p, 'ATTEMPT_TIMEOUT');
    assert.deepEqual(state(client), { limit: 9, inflight: 0, queued: 0 });
  });

  test('inspect shows limit, inflight and queued; no limiter unless configured', async () => {
    const { clock, mock, client } = setup({ algorithm: 'fixed', initialLimit: 3, maxQueue: 2 });
    mock.on('GET', '/x').reply(200, undefined, { delay: 50 });
    const calls = Array.from({ length: 5 }, () => client.get('/x'));
    await clock.flush();
    assert.deepEqual(state(client), { limit: 3, inflight: 3, queued: 2 });
    await clock.runAll();
    await Promise.all(calls);
    assert.deepEqual(state(client), { limit: 3, inflight: 0, queued: 0 });
    assert.equal('concurrency' in setup(undefined).client.inspect(), false);
  });

  test('bad options name the option path', () => {
    assert.throws(() => setup({ algorithm: 'bbr' }), /concurrency\.algorithm/);
    assert.throws(() => setup({ maxQueue: -1 }), /concurrency\.maxQueue/);
    assert.throws(() => setup({ queueTimeout: 0 }), /concurrency\.queueTimeout/);
    assert.throws(() => setup({ minLimit: 10, maxLimit: 5 }), /concurrency\./);
  });
});

describe('bulwark:concurrency diagnostics channel', () => {
  const capture = captureChannel<ConcurrencyMessage>('bulwark:concurrency');
  const messages = capture.messages;
  afterEach(() => {
    capture.stop();
  });

  test('publishes queueing, refusals and limit changes', async () => {
    capture.start();
    const { clock, mock, client } = setup(
      { algorithm: 'aimd', initialLimit: 1, maxQueue: 1 },
      { name: 'inventory' },
    );
    mock.on('GET', '/x').reply(503, undefined, { delay: 10 });
    const a = client.get('/x');
    const b = client.get('/x');
    await clock.flush();
    await rejection(client.get('/x'));
    await clock.runAll();
    await Promise.all([a, b]);
    const mine = messages.filter((m) => m.client === 'inventory');
    assert.deepEqual(
      mine.map((m) => m.type),
      ['queued', 'rejected'],
      'the limit sits at minLimit 1: a 503 cannot lower it',
    );
    const [queued, rejected] = mine;
    assert.ok(queued?.type === 'queued' && rejected?.type === 'rejected');
    assert.deepEqual([queued.limit, queued.inflight, queued.queued], [1, 1, 1]);
    assert.deepEqual([rejected.limit, rejected.inflight], [1, 1]);
    assert.equal(rejected.url, `${ORIGIN}/x`);

    messages.length = 0;
    const grow = setup({ algorithm: 'aimd', initialLimit: 4 }, { name: 'inventory-2' });
    grow.mock.on('GET', '/x').reply(503);
    await grow.client.get('/x');
    const limit = messages.find((m) => m.client === 'inventory-2');
    assert.ok(limit?.type === 'limit');
    assert.deepEqual([limit.previousLimit, limit.limit, limit.inflight], [4, 3, 0]);
  });
});
