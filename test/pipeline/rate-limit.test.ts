import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { isBulwarkError, withDeadline, type BulwarkError } from '../../src/index.js';
import type { RateLimitMessage } from '../../src/observability/channels.js';
import { MAX_HOLD_MS, type RateLimiterSnapshot } from '../../src/policies/rate-limiter.js';
import { fallbackStore } from '../../src/stores/fallback-store.js';
import { MemoryStore } from '../../src/policies/memory-store.js';
import type { RateLimitStore } from '../../src/policies/store-contract.js';
import { createVirtualClock, type MockReply } from '../../src/testing/index.js';
import { captureChannel } from '../helpers/channel-capture.js';
import { ORIGIN, virtualClient } from '../helpers/virtual-client.js';
import { assertCode } from '../helpers/assert-error.js';

function setup(rateLimit: unknown, extra: Record<string, unknown> = {}) {
  const { clock, mock, client } = virtualClient({ rateLimit, ...extra });
  const t0 = clock.now();
  /** Clock offsets (ms from the start) at which requests reached the transport. */
  const sentAt: number[] = [];
  const route = (path: string, reply: MockReply = { status: 200 }): void => {
    mock.on('*', path).handle(() => {
      sentAt.push(clock.now() - t0);
      return reply;
    });
  };
  return { clock, mock, client, sentAt, route, t0 };
}

async function settle(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => v,
    (e: unknown) => e,
  );
}

async function rejection(p: Promise<unknown>): Promise<BulwarkError> {
  const out = await settle(p);
  assert.ok(isBulwarkError(out), `expected a BulwarkError rejection, got ${String(out)}`);
  return out;
}

describe('rate limit through the client (virtual clock)', () => {
  test("strategy 'wait': the n-th request beyond the burst waits n GCRA intervals, to the millisecond", async () => {
    const { clock, client, sentAt, route } = setup({ requests: 10, per: 'second', burst: 2 });
    route('/x');
    const calls = Array.from({ length: 5 }, () => client.get('/x'));
    await clock.runAll();
    for (const c of calls) assert.equal((await c).status, 200);
    // Burst 2 at once, then one per 100 ms interval.
    assert.deepEqual(sentAt, [0, 0, 100, 200, 300]);
  });

  test('per as milliseconds and the burst default (= requests)', async () => {
    const { clock, client, sentAt, route } = setup({ requests: 3, per: 1_500 });
    route('/x');
    const calls = Array.from({ length: 5 }, () => client.get('/x'));
    await clock.runAll();
    await Promise.all(calls);
    assert.deepEqual(sentAt, [0, 0, 0, 500, 1_000]);
  });

  test('a wait longer than maxWait is refused with RATE_LIMITED, key and retryAfterMs, sending nothing', async () => {
    const { clock, client, sentAt, route } = setup({ requests: 1, per: 'second', maxWait: 500 });
    route('/x');
    await client.get('/x');
    const error = await rejection(client.get('/x'));
    assertCode(error, 'RATE_LIMITED');
    assert.equal(error.key, ORIGIN);
    assert.equal(error.retryAfterMs, 1_000);
    assert.equal(error.method, 'GET');
    assert.equal(error.url, `${ORIGIN}/x`);
    assert.deepEqual(sentAt, [0]);
    await clock.advance(500);
    const within = client.get('/x');
    await clock.advance(500);
    assert.equal((await within).status, 200, 'a wait of 500 ms fits maxWait');
    assert.deepEqual(sentAt, [0, 1_000]);
  });

  test("strategy 'error' refuses at once instead of waiting", async () => {
    const { clock, client, sentAt, route } = setup({
      requests: 10,
      per: 'second',
      burst: 1,
      strategy: 'error',
    });
    route('/x');
    await client.get('/x');
    const error = await rejection(client.get('/x'));
    assertCode(error, 'RATE_LIMITED');
    assert.equal(error.retryAfterMs, 100);
    await clock.advance(100);
    await client.get('/x');
    assert.deepEqual(sentAt, [0, 100]);
  });

  test('buckets are per origin by default, and by a function of the request when `key` is one', async () => {
    const perOrigin = setup({ requests: 1, per: 'minute', strategy: 'error' });
    perOrigin.route('/x');
    await perOrigin.client.get('/x');
    assertCode(await rejection(perOrigin.client.get('/x')), 'RATE_LIMITED');
    assert.equal((await perOrigin.client.request({ url: 'http://other.test/x' })).status, 200);

    const seen: unknown[] = [];
    const byPath = setup({
      requests: 1,
      per: 'minute',
      strategy: 'error',
      key: (r: { method: string; origin: string; path: string; key: string }) => {
        seen.push(r);
        return r.path.startsWith('/search') ? 'search' : 'core';
      },
    });
    byPath.route('*');
    await byPath.client.get('/search?q=a');
    const error = await rejection(byPath.client.get('/search?q=b'));
    assertCode(error, 'RATE_LIMITED');
    assert.equal(error.key, 'search');
    assert.equal((await byPath.client.get('/repos')).status, 200, 'the core bucket is untouched');
    assertCode(await rejection(byPath.client.request({ url: 'http://other.test/repos' })), 'RATE_LIMITED');
    assert.deepEqual(seen[0], { method: 'GET', origin: ORIGIN, path: '/search?q=a', key: ORIGIN });
  });

  test('a fixed string key shares one bucket across origins; a request key and cost override it', async () => {
    const { client, route } = setup({ requests: 3, per: 'minute', strategy: 'error', key: 'shared' });
    route('*');
    await client.get('/a');
    await client.request({ url: 'http://other.test/b' });
    await client.get('/c', { rateLimit: { key: 'mine', cost: 3 } });
    assertCode(await rejection(client.get('/c', { rateLimit: { key: 'mine' } })), 'RATE_LIMITED');
    await client.get('/d');
    const error = await rejection(client.request({ url: 'http://third.test/e' }));
    assert.equal(error.key, 'shared');
    assert.equal((await client.get('/f', { rateLimit: false })).status, 200, 'rateLimit: false bypasses it');
    const cost = await rejection(client.get('/g', { rateLimit: { cost: 0 } }));
    assertCode(cost, 'INVALID_REQUEST');
  });

  test("a call's own strategy and maxWait: a background call waits where the client fails fast, and back", async () => {
    const { clock, client, sentAt, route } = setup({
      requests: 10,
      per: 'second',
      burst: 1,
      strategy: 'error',
    });
    route('/x');
    await client.get('/x');
    const refused = await rejection(client.get('/x'));
    assert.match(refused.message, /strategy is 'error'/);
    // The same bucket, waited for by this call only: the next slot is 100 ms away.
    const waiting = client.get('/x', { rateLimit: { strategy: 'wait' } });
    const tooFar = await rejection(client.get('/x', { rateLimit: { maxWait: 150 } }));
    assertCode(tooFar, 'RATE_LIMITED');
    assert.match(tooFar.message, /longer than maxWait \(150 ms\)/);
    assert.ok(
      tooFar.retryAfterMs !== undefined && tooFar.retryAfterMs > 150,
      `retryAfterMs ${tooFar.retryAfterMs}`,
    );
    const inTime = client.get('/x', { rateLimit: { maxWait: 250 } });
    await clock.runAll();
    assert.equal((await waiting).status, 200);
    assert.equal((await inTime).status, 200);
    assert.deepEqual(sentAt, [0, 100, 200]);

    // And the other way round: one call fails fast on a client that waits.
    const waiter = setup({ requests: 10, per: 'second', burst: 1 });
    waiter.route('/y');
    await waiter.client.get('/y');
    const fast = await rejection(waiter.client.get('/y', { rateLimit: { strategy: 'error' } }));
    assert.match(fast.message, /strategy is 'error'/);
    assert.deepEqual(waiter.sentAt, [0]);
  });

  test('bad per-call strategy or maxWait: INVALID_REQUEST naming the option, nothing sent', async () => {
    const { client, sentAt, route } = setup({ requests: 10, per: 'second' });
    route('/x');
    const cases: [unknown, string][] = [
      [{ strategy: 'later' }, 'rateLimit.strategy'],
      [{ maxWait: -1 }, 'rateLimit.maxWait'],
      [{ maxWait: Number.NaN }, 'rateLimit.maxWait'],
      [{ strategy: 'error', maxWait: 100 }, 'rateLimit.maxWait'],
      [{ wait: true }, 'rateLimit'],
    ];
    for (const [rateLimit, path] of cases) {
      const error = await rejection(client.get('/x', { rateLimit } as never));
      assertCode(error, 'INVALID_REQUEST');
      assert.ok(error.message.includes(path), `${JSON.stringify(rateLimit)}: ${error.message}`);
    }
    assert.deepEqual(sentAt, []);
  });

  test('a 429 with Retry-After holds the bucket: the next call waits until the reset', async () => {
    const { clock, mock, client, sentAt } = setup({ requests: 100, per: 'second' });
    mock.on('GET', '/x').handle(() => {
      sentAt.push(clock.now());
      return sentAt.length === 1 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 };
    });
    const t0 = clock.now();
    assert.equal((await client.get('/x')).status, 429);
    await clock.advance(300);
    const next = client.get('/x');
    await clock.advance(1_699);
    assert.equal(sentAt.length, 1, 'still held at 1,999 ms');
    await clock.advance(1);
    assert.equal((await next).status, 200);
    assert.deepEqual(
      sentAt.map((t) => t - t0),
      [0, 2_000],
    );
  });

  test('a 429 with Retry-After: 31536000 holds the bucket for at most an hour, not a year', async () => {
    const { clock, mock, client, sentAt } = setup({ requests: 100, per: 'second', strategy: 'error' });
    mock.on('GET', '/x').handle(() => {
      sentAt.push(clock.now());
      return sentAt.length === 1 ? { status: 429, headers: { 'retry-after': '31536000' } } : { status: 200 };
    });
    const t0 = clock.now();
    assert.equal((await client.get('/x')).status, 429);
    const held = await rejection(client.get('/x'));
    assertCode(held, 'RATE_LIMITED');
    assert.equal(held.retryAfterMs, MAX_HOLD_MS);
    await clock.advance(MAX_HOLD_MS);
    assert.equal((await client.get('/x')).status, 200);
    assert.deepEqual(
      sentAt.map((t) => t - t0),
      [0, MAX_HOLD_MS],
    );
  });

  test("a limit whose own window is longer than an hour may be held for that window ('per' a day)", async () => {
    const { clock, mock, client } = setup({ requests: 1000, per: 86_400_000, strategy: 'error' });
    mock.on('GET', '/x').reply(429, '', { headers: { 'retry-after': String(10 * 86_400) } });
    await client.get('/x');
    const held = await rejection(client.get('/x'));
    assert.equal(held.retryAfterMs, 86_400_000);
    await clock.advance(86_400_000);
    assert.equal((await client.get('/x')).status, 429, 'after the window a call asks again');
  });

  test('X-RateLimit-Remaining: 0 with a reset holds the bucket until then; remaining > 0 does not', async () => {
    const { clock, mock, client, sentAt } = setup({ requests: 100, per: 'second' });
    const t0 = clock.now();
    let n = 0;
    mock.on('GET', '/x').handle(() => {
      sentAt.push(clock.now() - t0);
      n++;
      const resetEpochSeconds = String(Math.floor(t0 / 1000) + 30);
      return {
        status: 200,
        headers: { 'x-ratelimit-remaining': n === 1 ? '5' : '0', 'x-ratelimit-reset': resetEpochSeconds },
      };
    });
    await client.get('/x');
    await client.get('/x');
    assert.deepEqual(sentAt, [0, 0], 'remaining 5: no hold');
    const reset = (Math.floor(t0 / 1000) + 30) * 1000 - t0;
    // The reset is 30 s away, past maxWait (5 s): the next call is refused with the reset as its hint.
    const error = await rejection(client.get('/x'));
    assertCode(error, 'RATE_LIMITED');
    assert.equal(error.retryAfterMs, reset);
    await clock.advance(reset - 4_000);
    const next = client.get('/x');
    await clock.runAll();
    assert.equal((await next).status, 200);
    assert.deepEqual(sentAt, [0, 0, reset]);
  });

  test("a wait ends with ABORTED when the caller's signal fires, sending nothing", async () => {
    const { clock, client, sentAt, route } = setup({ requests: 1, per: 'second' });
    route('/x');
    await client.get('/x');
    const controller = new AbortController();
    const p = rejection(client.get('/x', { signal: controller.signal }));
    await clock.advance(400);
    controller.abort();
    assertCode(await p, 'ABORTED');
    await clock.runAll();
    assert.deepEqual(sentAt, [0]);
  });

  test('a wait that would end after the deadline is refused up front', async () => {
    const { clock, client, sentAt, route } = setup({ requests: 1, per: 'second' });
    route('/x');
    await client.get('/x');
    const byRequest = await rejection(client.get('/x', { deadline: 500 }));
    assertCode(byRequest, 'RATE_LIMITED');
    assert.equal(byRequest.retryAfterMs, 1_000);
    assert.match(byRequest.message, /deadline/);
    const ambient = await rejection(withDeadline(800, () => client.get('/x'), { clock }));
    assertCode(ambient, 'RATE_LIMITED');
    const fits = client.get('/x', { deadline: 1_500 });
    await clock.runAll();
    assert.equal((await fits).status, 200);
    assert.deepEqual(sentAt, [0, 1_000]);
  });

  test('each attempt takes a token: retries are paced by the limiter too', async () => {
    const { clock, mock, client, sentAt } = setup(
      { requests: 1, per: 'second', maxWait: 10_000 },
      { retry: { maxRetries: 2, baseDelay: 1, jitter: 'none' } },
    );
    const t0 = clock.now();
    mock.on('GET', '/x').handle(() => {
      sentAt.push(clock.now() - t0);
      return { status: sentAt.length < 3 ? 500 : 200 };
    });
    const p = client.get('/x');
    await clock.runAll();
    const res = await p;
    assert.equal(res.status, 200);
    assert.equal(res.attempts, 3);
    assert.deepEqual(sentAt, [0, 1_000, 2_000]);
  });

  test('inspect shows the buckets that are not full', async () => {
    const { clock, client, route } = setup({ requests: 10, per: 'second', burst: 5 });
    route('/x');
    for (let i = 0; i < 3; i++) await client.get('/x');
    const snapshot = client.inspect().rateLimit as RateLimiterSnapshot;
    assert.deepEqual(
      { ...snapshot, keys: [...snapshot.keys] },
      {
        requests: 10,
        perMs: 1_000,
        burst: 5,
        strategy: 'wait',
        maxWaitMs: 5_000,
        keys: [{ key: ORIGIN, tokens: 2, nextFreeMs: 0 }],
      },
    );
    await clock.advance(300);
    assert.deepEqual((client.inspect().rateLimit as RateLimiterSnapshot).keys, []);
  });

  test('bad options name the option path', () => {
    assert.throws(() => setup({ requests: 0, per: 'second' }), /rateLimit\.requests/);
    assert.throws(() => setup({ requests: 1, per: 'fortnight' }), /rateLimit\.per/);
    assert.throws(() => setup({ requests: 1, per: 'second', strategy: 'drop' }), /rateLimit\.strategy/);
    assert.throws(() => setup({ requests: 1, per: 'second', key: 42 }), /rateLimit\.key/);
  });
});

describe('bulwark:rate-limit diagnostics channel', () => {
  const capture = captureChannel<RateLimitMessage>('bulwark:rate-limit');
  const messages = capture.messages;
  afterEach(() => {
    capture.stop();
  });

  test("'store-error' when the shared store fails on a decision: the fallback and the error's code, never its message", async () => {
    capture.start();
    const clock = createVirtualClock();
    let failures = 0;
    const down: RateLimitStore = {
      take: () => {
        failures++;
        return Promise.reject(
          Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:6379 password=hunter2'), {
            code: 'ECONNREFUSED',
          }),
        );
      },
      hold: () => Promise.resolve(),
    };
    const store = fallbackStore(down, {
      onStoreError: 'open',
      clock,
      probeIntervalMs: 1_000,
      logger: { warn: () => undefined },
    });
    const warned: unknown[] = [];
    const quiet = (): void => undefined;
    const logger = {
      level: 'info',
      ...{ trace: quiet, debug: quiet, info: quiet, error: quiet, fatal: quiet },
      warn: (...line: unknown[]) => warned.push(line),
      child: () => logger,
    };
    const { mock, client } = virtualClient({
      name: 'shared-quota',
      clock,
      rateLimit: { requests: 10, per: 'second', store },
      logging: { logger },
    });
    mock.on('GET', '/x').reply(200);
    assert.equal((await client.get('/x')).status, 200, "'open' admits");
    // While the store is down, decisions skip it (no second failure) but each one made by the
    // fallback is published, so a counter of these messages counts fallback decisions.
    assert.equal((await client.get('/x')).status, 200);
    const mine = messages.filter((m) => m.client === 'shared-quota');
    const message = {
      client: 'shared-quota',
      type: 'store-error',
      key: ORIGIN,
      fallback: 'open',
      code: 'ECONNREFUSED',
    };
    assert.deepEqual(mine, [message, message]);
    assert.equal(failures, 1);
    assert.equal(warned.length, 1, 'one warn line for the outage, not one per decision');
    assert.doesNotMatch(JSON.stringify([mine, warned]), /hunter2|10\.0\.0\.7/);
  });

  test("a store that answers through promises (like Redis): an admission publishes no 'wait', a real wait does", async () => {
    capture.start();
    const clock = createVirtualClock();
    const memory = new MemoryStore({ clock });
    // Every decision through a promise, as the Redis store answers.
    const asyncStore: RateLimitStore = {
      take: (request) => Promise.resolve(memory.take(request)),
      hold: (key, params, forMs) => Promise.resolve(memory.hold(key, params, forMs)),
    };
    const { mock, client } = virtualClient({
      name: 'async-store',
      clock,
      rateLimit: { requests: 10, per: 'second', burst: 2, store: asyncStore },
    });
    mock.on('GET', '/x').reply(200);
    await client.get('/x');
    await client.get('/x');
    const third = client.get('/x');
    await clock.runAll();
    assert.equal((await third).status, 200);
    const mine = messages.filter((m) => m.client === 'async-store');
    assert.deepEqual(
      mine.map((m) => m.type),
      ['wait'],
      'two admissions, then one wait of one interval',
    );
  });

  test('publishes waits, refusals and server hints', async () => {
    capture.start();
    const { clock, mock, client } = setup(
      { requests: 10, per: 'second', burst: 1, maxWait: 150 },
      { name: 'quota' },
    );
    mock
      .on('GET', '/x')
      .reply(200, undefined, { headers: { 'x-ratelimit-remaining': '7', 'x-ratelimit-reset': '60' } });
    await client.get('/x');
    const waited = client.get('/x');
    await clock.flush();
    await rejection(client.get('/x'));
    await clock.runAll();
    await waited;
    const mine = messages.filter((m) => m.client === 'quota');
    assert.deepEqual(
      mine.map((m) => m.type),
      ['hint', 'rejected', 'wait', 'hint'],
    );
    const [hint, rejected, wait] = mine;
    assert.ok(hint?.type === 'hint' && rejected?.type === 'rejected' && wait?.type === 'wait');
    assert.deepEqual(
      { key: hint.key, remaining: hint.remaining, resetMs: hint.resetMs },
      { key: ORIGIN, remaining: 7, resetMs: 60_000 },
    );
    assert.equal(rejected.retryAfterMs, 200);
    assert.equal(rejected.url, `${ORIGIN}/x`);
    assert.equal(wait.waitMs, 100);
    assert.equal(wait.key, ORIGIN);
  });
});
