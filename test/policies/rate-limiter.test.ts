import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RateLimiter,
  type RateLimitEvent,
  type RateLimiterOptions,
} from '../../src/policies/rate-limiter.js';
import { MemoryStore } from '../../src/policies/memory-store.js';
import type { RateLimitStore } from '../../src/policies/store-contract.js';
import { isBulwarkError, type BulwarkError } from '../../src/errors.js';
import { createVirtualClock, type VirtualClock } from '../../src/testing/virtual-clock.js';

function setup(options: Partial<RateLimiterOptions> = {}): {
  limiter: RateLimiter;
  clock: VirtualClock;
  events: RateLimitEvent[];
} {
  const clock = createVirtualClock();
  const events: RateLimitEvent[] = [];
  const limiter = new RateLimiter({
    requests: 10,
    per: 'second',
    burst: 2,
    clock,
    onEvent: (e) => events.push(e),
    ...options,
  });
  return { limiter, clock, events };
}

/** Resolves to the error a rejected acquire carries. */
async function refusal(result: Promise<void> | undefined): Promise<BulwarkError> {
  assert.ok(result !== undefined, 'expected a promise');
  try {
    await result;
  } catch (error) {
    assert.ok(isBulwarkError(error, 'RATE_LIMITED'), String(error));
    return error;
  }
  assert.fail('expected a rejection');
}

/** Takes `count` slots that must be free now. */
function free(limiter: RateLimiter, key: string, count: number): void {
  for (let i = 0; i < count; i++) assert.equal(limiter.acquire(key), undefined);
}

/** Records when each promise settles, in clock ms since the start. */
function track(clock: VirtualClock, promise: Promise<void> | undefined, into: (number | string)[]): void {
  const start = 1_700_000_000_000;
  if (promise === undefined) {
    into.push(clock.now() - start);
    return;
  }
  promise.then(
    () => into.push(clock.now() - start),
    (error: unknown) => into.push(isBulwarkError(error) ? error.code : String(error)),
  );
}

describe('RateLimiter', () => {
  test('a free slot is taken synchronously, without a promise', () => {
    const { limiter, events } = setup();
    assert.equal(limiter.acquire('a'), undefined);
    assert.equal(limiter.acquire('a'), undefined);
    assert.deepEqual(events, []);
  });

  test('waiters leave one interval apart, in arrival order, to the millisecond', async () => {
    const { limiter, clock, events } = setup();
    const done: (number | string)[] = [];
    for (let i = 0; i < 5; i++) track(clock, limiter.acquire('a'), done);
    assert.deepEqual(done, [0, 0]);
    await clock.advance(99);
    assert.deepEqual(done, [0, 0]);
    await clock.advance(1);
    assert.deepEqual(done, [0, 0, 100]);
    await clock.advance(200);
    assert.deepEqual(done, [0, 0, 100, 200, 300]);
    assert.deepEqual(
      events.map((e) => e.type === 'wait' && e.waitMs),
      [100, 200, 300],
    );
  });

  test('a slot further than maxWait is refused with RATE_LIMITED, key and retryAfterMs', async () => {
    const { limiter, events } = setup({ maxWait: 250 });
    const waits = [0, 1, 2, 3].map(() => limiter.acquire('api'));
    assert.deepEqual(
      waits.map((w) => w === undefined),
      [true, true, false, false],
      'two go now, two wait 100 and 200 ms',
    );
    const error = await refusal(limiter.acquire('api'));
    assert.equal(error.key, 'api');
    assert.equal(error.retryAfterMs, 300);
    assert.match(error.message, /longer than maxWait \(250 ms\)/);
    assert.deepEqual(events.at(-1), { type: 'rejected', key: 'api', retryAfterMs: 300 });
  });

  test("strategy 'error' refuses at once instead of waiting", async () => {
    const { limiter, clock } = setup({ strategy: 'error', maxWait: 10_000 });
    free(limiter, 'a', 2);
    const error = await refusal(limiter.acquire('a'));
    assert.equal(error.retryAfterMs, 100);
    assert.match(error.message, /strategy is 'error'/);
    await clock.advance(100);
    assert.equal(limiter.acquire('a'), undefined);
    assert.equal(limiter.snapshot().maxWaitMs, 0);
  });

  test('a wait that would end after the deadline is refused up front, reserving nothing', async () => {
    const { limiter, clock } = setup();
    free(limiter, 'a', 2);
    const error = await refusal(limiter.acquire('a', { deadline: clock.now() + 99 }));
    assert.match(error.message, /after the deadline/);
    const done: (number | string)[] = [];
    track(clock, limiter.acquire('a', { deadline: clock.now() + 100 }), done);
    await clock.advance(100);
    assert.deepEqual(done, [100], 'the refused call did not take the slot');
    await refusal(limiter.acquire('a', { deadline: clock.now() - 5 }));
  });

  test("the caller's signal ends a wait with its reason; an aborted signal takes nothing", async () => {
    const { limiter, clock } = setup();
    free(limiter, 'a', 2);
    const controller = new AbortController();
    const wait = limiter.acquire('a', { signal: controller.signal });
    assert.ok(wait !== undefined);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await assert.rejects(wait, (e) => e === reason);
    await assert.rejects(
      Promise.resolve(limiter.acquire('b', { signal: controller.signal })),
      (e) => e === reason,
    );
    assert.equal(limiter.acquire('b'), undefined);
    assert.equal(limiter.acquire('b'), undefined, 'b still had its whole burst');
    await clock.advance(0);
  });

  test('hold() delays the key until the server hint ends', async () => {
    const { limiter, clock } = setup({ strategy: 'error' });
    limiter.hold('a', 1_000);
    const error = await refusal(limiter.acquire('a'));
    assert.equal(error.retryAfterMs, 1_000);
    assert.equal(limiter.acquire('b'), undefined, 'other keys are not held');
    await clock.advance(1_000);
    assert.equal(limiter.acquire('a'), undefined);
    assert.throws(() => limiter.hold('a', -1), /rateLimit\.hold\.forMs/);
    assert.throws(() => limiter.hold('a', Number.POSITIVE_INFINITY), /rateLimit\.hold\.forMs/);
  });

  test('cost takes several tokens', async () => {
    const { limiter } = setup({ strategy: 'error' });
    assert.equal(limiter.acquire('a', { cost: 2 }), undefined);
    await refusal(limiter.acquire('a'));
    for (const cost of [0, 1.5, -1, Number.NaN]) {
      await assert.rejects(
        Promise.resolve(limiter.acquire('b', { cost })),
        (e) => isBulwarkError(e, 'INVALID_REQUEST') && /rateLimit\.cost/.test(e.message),
      );
    }
    assert.equal(limiter.acquire('b', { cost: 2 }), undefined, 'an invalid cost took nothing');
  });

  test('snapshot() shows the parameters and each bucket that is not full', async () => {
    const { limiter, clock } = setup({ per: 'minute', requests: 60, burst: 3 });
    free(limiter, 'a', 1);
    free(limiter, 'b', 3);
    await clock.advance(400);
    assert.deepEqual(limiter.snapshot(), {
      requests: 60,
      perMs: 60_000,
      burst: 3,
      strategy: 'wait',
      maxWaitMs: 5_000,
      keys: [
        { key: 'a', tokens: 2, nextFreeMs: 0 },
        { key: 'b', tokens: 0, nextFreeMs: 600 },
      ],
    });
  });

  test('per accepts hour and milliseconds; burst defaults to requests', () => {
    const clock = createVirtualClock();
    const hourly = new RateLimiter({ requests: 5000, per: 'hour', clock });
    assert.deepEqual(hourly.params, { emissionIntervalMs: 720, burst: 5000 });
    const custom = new RateLimiter({ requests: 3, per: 1_500, clock });
    assert.deepEqual(custom.params, { emissionIntervalMs: 500, burst: 3 });
    assert.equal(new RateLimiter({ requests: 1, per: 'second' }).acquire('x'), undefined);
  });

  test('works the same over a store that answers with promises', async () => {
    const clock = createVirtualClock();
    const memory = new MemoryStore({ clock });
    const calls: string[] = [];
    const remote: RateLimitStore = {
      take: (request) => {
        calls.push(request.key);
        return Promise.resolve(memory.take(request));
      },
      hold: (key, params, forMs) => Promise.resolve(memory.hold(key, params, forMs)),
    };
    const limiter = new RateLimiter({
      requests: 10,
      per: 'second',
      burst: 1,
      maxWait: 150,
      store: remote,
      clock,
    });
    const first = limiter.acquire('a');
    assert.ok(first instanceof Promise);
    assert.equal(await first, undefined);
    const done: (number | string)[] = [];
    track(clock, limiter.acquire('a'), done);
    track(clock, limiter.acquire('a'), done);
    await clock.advance(100);
    assert.deepEqual(done, ['RATE_LIMITED', 100]);
    limiter.hold('a', 1_000);
    assert.deepEqual(limiter.snapshot().keys, [], 'a store that cannot list shows no keys');
    assert.deepEqual(calls, ['a', 'a', 'a']);
  });

  test('a hold the store cannot take is reported, not thrown', async () => {
    const events: RateLimitEvent[] = [];
    const failure = new Error('redis down');
    const rejecting: RateLimitStore = {
      take: () => Promise.reject(failure),
      hold: () => Promise.reject(failure),
    };
    const throwing: RateLimitStore = {
      take: () => Promise.reject(failure),
      hold: () => {
        throw failure;
      },
    };
    for (const store of [rejecting, throwing]) {
      new RateLimiter({ requests: 1, per: 'second', store, onEvent: (e) => events.push(e) }).hold('k', 10);
    }
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(events, [
      { type: 'store-error', key: 'k', error: failure },
      { type: 'store-error', key: 'k', error: failure },
    ]);
  });

  test('a store that throws fails the call through the promise', async () => {
    const broken: RateLimitStore = {
      take: () => {
        throw new Error('store down');
      },
      hold: () => undefined,
    };
    const odd: RateLimitStore = {
      take: () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        throw 'not an error';
      },
      hold: () => undefined,
    };
    await assert.rejects(
      Promise.resolve(new RateLimiter({ requests: 1, per: 'second', store: broken }).acquire('a')),
      {
        message: 'store down',
      },
    );
    await assert.rejects(
      Promise.resolve(new RateLimiter({ requests: 1, per: 'second', store: odd }).acquire('a')),
      {
        message: 'not an error',
      },
    );
  });

  test('every option is validated with an error naming it', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ requests: 0, per: 'second' }, /`rateLimit\.requests`: got 0, expected an integer from 1/],
      [{ requests: 1.5, per: 'second' }, /rateLimit\.requests/],
      [
        { requests: 10, per: 'day' },
        /`rateLimit\.per`: got "day", expected 'second', 'minute', 'hour' or milliseconds/,
      ],
      [{ requests: 10, per: 0 }, /rateLimit\.per/],
      [{ requests: 10, per: Number.NaN }, /rateLimit\.per/],
      [{ requests: 10, per: 'second', burst: 0 }, /rateLimit\.burst/],
      [{ requests: 10, per: 'second', strategy: 'drop' }, /rateLimit\.strategy.*'wait' or 'error'/],
      [{ requests: 10, per: 'second', maxWait: -1 }, /rateLimit\.maxWait/],
      [{ requests: 10, per: 'second', maxWait: 3_000_000_000 }, /rateLimit\.maxWait/],
      [{ requests: 10, per: 'second', store: {} }, /rateLimit\.store/],
      [{ requests: 10, per: 'second', store: 'redis' }, /rateLimit\.store/],
      [{ requests: 10, per: 'second', clock: {} }, /rateLimit\.clock/],
      [{ requests: 10, per: 'second', onEvent: 1 }, /rateLimit\.onEvent/],
      [{ requests: 10, per: 'second', perSecond: 1 }, /`rateLimit\.perSecond`.*no such option/],
    ];
    for (const [options, message] of bad) {
      assert.throws(
        () => new RateLimiter(options as unknown as RateLimiterOptions),
        (e) => isBulwarkError(e, 'INVALID_OPTIONS') && message.test(e.message),
        JSON.stringify(options),
      );
    }
    assert.throws(() => new RateLimiter(null as unknown as RateLimiterOptions), /`rateLimit`/);
  });
});
