import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import {
  ConcurrencyLimiter,
  FixedLimit,
  type ConcurrencyToken,
  type LimitAlgorithm,
  type LimitSample,
} from '../../../src/policies/concurrency/index.js';
import { isBulwarkError, type BulwarkError } from '../../../src/errors.js';
import { createVirtualClock } from '../../../src/testing/virtual-clock.js';

/** An algorithm the test steers: records samples, limit set by hand or by `next`. */
class ScriptedLimit implements LimitAlgorithm {
  limit: number;
  readonly samples: LimitSample[] = [];
  next: ((sample: LimitSample) => number) | undefined;
  constructor(limit: number) {
    this.limit = limit;
  }
  onSample(sample: LimitSample): void {
    this.samples.push(sample);
    if (this.next !== undefined) this.limit = this.next(sample);
  }
}

const limited = (err: unknown): err is BulwarkError => isBulwarkError(err, 'CONCURRENCY_LIMITED');

function take(limiter: ConcurrencyLimiter): ConcurrencyToken {
  const token = limiter.acquire();
  assert.ok(!(token instanceof Promise), 'expected a synchronous token');
  return token;
}

/** Records how a promise settles without leaving a rejection unhandled. */
function track<T>(promise: T | Promise<T>) {
  const state: { value?: T; error?: unknown; settled: boolean } = { settled: false };
  void Promise.resolve(promise).then(
    (value) => Object.assign(state, { value, settled: true }),
    (error: unknown) => Object.assign(state, { error, settled: true }),
  );
  return state;
}

describe('ConcurrencyLimiter: admission', () => {
  test('under the limit, acquire returns a token synchronously', () => {
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 2 });
    const a = take(limiter);
    take(limiter);
    assert.deepEqual(limiter.snapshot(), { limit: 2, inflight: 2, queued: 0 });
    a.success();
    assert.equal(limiter.inflight, 1);
  });

  test('at the limit with maxQueue 0, acquire throws CONCURRENCY_LIMITED with limit and inflight', () => {
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 1 });
    take(limiter);
    assert.throws(
      () => limiter.acquire(),
      (err: unknown) =>
        limited(err) && err.limit === 1 && err.inflight === 1 && !err.message.includes('queue'),
    );
  });

  test('defaults to gradient2 with the limit at 20', () => {
    const limiter = new ConcurrencyLimiter();
    assert.equal(limiter.limit, 20);
    assert.equal(limiter.algorithm.constructor.name, 'Gradient2Limit');
    for (let i = 0; i < 20; i++) take(limiter);
    assert.throws(() => limiter.acquire(), limited);
  });

  test('each named algorithm starts at initialLimit', () => {
    for (const algorithm of ['gradient2', 'aimd', 'vegas', 'fixed'] as const) {
      assert.equal(new ConcurrencyLimiter({ algorithm, initialLimit: 7 }).limit, 7, algorithm);
    }
  });

  test('an already-aborted signal throws its reason', () => {
    const limiter = new ConcurrencyLimiter();
    const reason = new Error('gone');
    assert.throws(
      () => limiter.acquire({ signal: AbortSignal.abort(reason) }),
      (err) => err === reason,
    );
    assert.equal(limiter.inflight, 0);
  });
});

describe('ConcurrencyLimiter: tokens', () => {
  test('success and dropped each feed one sample with the RTT since admission; ignore feeds none', async () => {
    const clock = createVirtualClock({ now: 1_000 });
    const algorithm = new ScriptedLimit(5);
    const limiter = new ConcurrencyLimiter({ algorithm, clock });
    const a = take(limiter);
    const b = take(limiter);
    const c = take(limiter);
    await clock.advance(40);
    a.success();
    b.dropped();
    c.ignore();
    assert.deepEqual(algorithm.samples, [
      { startTime: 1_000, rttMs: 40, inflight: 1, dropped: false },
      { startTime: 1_000, rttMs: 40, inflight: 2, dropped: true },
    ]);
    assert.equal(limiter.inflight, 0);
  });

  test('reporting twice is a no-op', () => {
    const algorithm = new ScriptedLimit(5);
    const limiter = new ConcurrencyLimiter({ algorithm });
    const a = take(limiter);
    take(limiter);
    a.success();
    a.success();
    a.dropped();
    a.ignore();
    assert.equal(algorithm.samples.length, 1);
    assert.equal(limiter.inflight, 1);
  });

  test('a custom limit is floored and kept at least 1', () => {
    const algorithm = new ScriptedLimit(2.7);
    const limiter = new ConcurrencyLimiter({ algorithm });
    assert.equal(limiter.limit, 2);
    algorithm.next = () => Number.NaN;
    take(limiter).success();
    assert.equal(limiter.limit, 1);
  });

  test('a throwing algorithm still releases the slot and admits the queue', async () => {
    const clock = createVirtualClock();
    const algorithm = new ScriptedLimit(1);
    algorithm.next = () => {
      throw new Error('bug');
    };
    const limiter = new ConcurrencyLimiter({ algorithm, clock, maxQueue: 1 });
    const token = take(limiter);
    const waiting = track(limiter.acquire());
    assert.throws(() => token.success(), /bug/);
    await clock.flush();
    assert.ok(waiting.value !== undefined);
    assert.equal(limiter.inflight, 1);
  });
});

describe('ConcurrencyLimiter: queue', () => {
  test('waiters are admitted first in, first out, as tokens are released', async () => {
    const clock = createVirtualClock();
    const limiter = new ConcurrencyLimiter({ algorithm: new FixedLimit(1), clock, maxQueue: 3 });
    const first = take(limiter);
    const order: string[] = [];
    const waits = ['a', 'b', 'c'].map((name) =>
      Promise.resolve(limiter.acquire()).then((token) => {
        order.push(name);
        return token;
      }),
    );
    assert.deepEqual(limiter.snapshot(), { limit: 1, inflight: 1, queued: 3 });
    first.success();
    const a = await waits[0]!;
    assert.deepEqual(order, ['a']);
    a.ignore();
    (await waits[1]!).dropped();
    (await waits[2]!).success();
    assert.deepEqual(order, ['a', 'b', 'c']);
    assert.deepEqual(limiter.snapshot(), { limit: 1, inflight: 0, queued: 0 });
    assert.equal(clock.pending(), 0, 'admission cancels the queue timers');
  });

  test('RTT is measured from admission, not from the call', async () => {
    const clock = createVirtualClock({ now: 0 });
    const algorithm = new ScriptedLimit(1);
    const limiter = new ConcurrencyLimiter({ algorithm, clock, maxQueue: 1 });
    const first = take(limiter);
    const second = limiter.acquire();
    await clock.advance(300);
    first.success();
    const token = await second;
    await clock.advance(20);
    token.success();
    assert.deepEqual(
      algorithm.samples.map((s) => [s.startTime, s.rttMs, s.inflight]),
      [
        [0, 300, 1],
        [300, 20, 1],
      ],
    );
  });

  test('a full queue rejects at once', () => {
    const limiter = new ConcurrencyLimiter({
      algorithm: 'fixed',
      initialLimit: 1,
      maxQueue: 1,
      clock: createVirtualClock(),
    });
    take(limiter);
    track(limiter.acquire());
    assert.throws(
      () => limiter.acquire(),
      (err: unknown) => limited(err) && err.message.includes('queue full') && err.inflight === 1,
    );
  });

  test('a waiter gives up after queueTimeout (1 s by default)', async () => {
    const clock = createVirtualClock();
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 1, maxQueue: 5, clock });
    take(limiter);
    const waiting = track(limiter.acquire());
    await clock.advance(999);
    assert.equal(waiting.settled, false);
    await clock.advance(1);
    assert.ok(limited(waiting.error) && waiting.error.limit === 1 && waiting.error.deadline === undefined);
    assert.match((waiting.error as Error).message, /1000 ms/);
    assert.equal(limiter.queued, 0);
    assert.deepEqual(clock.scheduled, [1_000]);
  });

  test('queueTimeout is configurable', async () => {
    const clock = createVirtualClock();
    const limiter = new ConcurrencyLimiter({
      algorithm: 'fixed',
      initialLimit: 1,
      maxQueue: 1,
      queueTimeout: 250,
      clock,
    });
    take(limiter);
    const waiting = track(limiter.acquire());
    await clock.advance(250);
    assert.ok(limited(waiting.error));
  });

  test('an abort takes the waiter out at once, rejects with the reason and leaves no listener', async () => {
    const clock = createVirtualClock();
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 1, maxQueue: 2, clock });
    const token = take(limiter);
    const controller = new AbortController();
    const aborted = track(limiter.acquire({ signal: controller.signal }));
    const next = track(limiter.acquire());
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    assert.equal(limiter.queued, 1);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    await clock.flush();
    assert.equal(aborted.error, reason);
    token.success();
    await clock.flush();
    assert.ok(next.value !== undefined, 'the next waiter moves up');
  });

  test('admission removes the abort listener', async () => {
    const clock = createVirtualClock();
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 1, maxQueue: 1, clock });
    const token = take(limiter);
    const controller = new AbortController();
    const waiting = limiter.acquire({ signal: controller.signal });
    token.success();
    await waiting;
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    controller.abort();
    assert.equal(limiter.inflight, 1);
  });

  test('a deadline sooner than queueTimeout ends the wait at the deadline', async () => {
    const clock = createVirtualClock({ now: 10_000 });
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 1, maxQueue: 1, clock });
    take(limiter);
    const waiting = track(limiter.acquire({ deadline: 10_300 }));
    await clock.advance(299);
    assert.equal(waiting.settled, false);
    await clock.advance(1);
    assert.ok(limited(waiting.error) && waiting.error.deadline === 10_300);
    assert.match((waiting.error as Error).message, /deadline/);
  });

  test('a deadline later than queueTimeout does not extend the wait', async () => {
    const clock = createVirtualClock({ now: 0 });
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 1, maxQueue: 1, clock });
    take(limiter);
    const waiting = track(limiter.acquire({ deadline: 60_000 }));
    await clock.advance(1_000);
    assert.ok(limited(waiting.error) && waiting.error.deadline === undefined);
  });

  test('a deadline already past rejects without queueing', () => {
    const clock = createVirtualClock({ now: 5_000 });
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 1, maxQueue: 1, clock });
    take(limiter);
    assert.throws(
      () => limiter.acquire({ deadline: 5_000 }),
      (err: unknown) => limited(err) && err.deadline === 5_000,
    );
    assert.equal(limiter.queued, 0);
    assert.equal(clock.pending(), 0);
  });

  test('a past deadline does not refuse a free slot (the timeout layer owns deadlines)', () => {
    const limiter = new ConcurrencyLimiter({
      algorithm: 'fixed',
      initialLimit: 1,
      clock: createVirtualClock({ now: 5 }),
    });
    const token = limiter.acquire({ deadline: 0 });
    assert.ok(!(token instanceof Promise));
    assert.equal(limiter.inflight, 1);
  });

  test('a rising limit admits as many waiters as it makes room for', async () => {
    const clock = createVirtualClock();
    const algorithm = new ScriptedLimit(1);
    const limiter = new ConcurrencyLimiter({ algorithm, clock, maxQueue: 5 });
    const token = take(limiter);
    const waits = [1, 2, 3, 4].map(() => track(limiter.acquire()));
    algorithm.next = () => 3;
    token.success();
    await clock.flush();
    assert.deepEqual(
      waits.map((w) => w.value !== undefined),
      [true, true, true, false],
    );
    assert.deepEqual(limiter.snapshot(), { limit: 3, inflight: 3, queued: 1 });
  });
});

describe('ConcurrencyLimiter: limit changes', () => {
  test('the constructor callback and subscribers see { from, to } after each change', () => {
    const algorithm = new ScriptedLimit(4);
    const seen: string[] = [];
    const limiter = new ConcurrencyLimiter({
      algorithm,
      onLimitChange: ({ from, to }) => seen.push(`ctor ${from}→${to}`),
    });
    const off = limiter.onLimitChange(({ from, to }) =>
      seen.push(`sub ${from}→${to} (now ${limiter.limit})`),
    );
    algorithm.next = () => 6;
    take(limiter).success();
    take(limiter).success(); // unchanged: no call
    off();
    off();
    algorithm.next = () => 2;
    take(limiter).dropped();
    assert.deepEqual(seen, ['ctor 4→6', 'sub 4→6 (now 6)', 'ctor 6→2']);
  });

  test('an aimd limiter grows under load and backs off on drops', () => {
    const limiter = new ConcurrencyLimiter({
      algorithm: 'aimd',
      initialLimit: 4,
      clock: createVirtualClock(),
    });
    const changes: number[] = [];
    limiter.onLimitChange(({ to }) => changes.push(to));
    const tokens = [take(limiter), take(limiter), take(limiter)];
    // admitted with 1, 2 and 3 in flight: only the last two had half the limit in use
    for (const t of tokens) t.success();
    assert.equal(limiter.limit, 6);
    take(limiter).dropped();
    assert.equal(limiter.limit, 5);
    assert.deepEqual(changes, [5, 6, 5]);
  });
});
