// The one contract of bulwark/policies: every policy's execute honours signal, deadline and key the same way.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CircuitBreaker,
  CircuitBreakers,
  ConcurrencyLimiter,
  HedgePolicy,
  RateLimiter,
  RetryPolicy,
  TimeoutPolicy,
  wrap,
  type Policy,
  type PolicyContext,
} from '../../src/policies/index.js';
import { isBulwarkError } from '../../src/errors.js';
import { createVirtualClock, type VirtualClock } from '../../src/testing/virtual-clock.js';

interface Subject {
  readonly name: string;
  make(clock: VirtualClock): Policy;
  /** The timeout the policy brings of its own, ms. */
  readonly timeoutMs?: number;
}

const SUBJECTS: readonly Subject[] = [
  { name: 'RetryPolicy', make: (clock) => new RetryPolicy({ clock, baseDelay: 10 }) },
  { name: 'CircuitBreaker', make: (clock) => new CircuitBreaker({ key: 'db', clock }) },
  { name: 'CircuitBreakers', make: (clock) => new CircuitBreakers({ clock }) },
  { name: 'RateLimiter', make: (clock) => new RateLimiter({ requests: 10, per: 'second', clock }) },
  {
    name: 'ConcurrencyLimiter',
    make: (clock) => new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 4, clock }),
  },
  { name: 'HedgePolicy', make: (clock) => new HedgePolicy({ delayMs: 1_000, maxHedges: 0, clock }) },
  { name: 'TimeoutPolicy', make: (clock) => new TimeoutPolicy(60_000, { clock }), timeoutMs: 60_000 },
  {
    name: 'wrap(retry, breaker, limiter, timeout)',
    make: (clock) =>
      wrap(
        new RetryPolicy({ clock }),
        new CircuitBreakers({ clock }),
        new RateLimiter({ requests: 10, per: 'second', clock }),
        new TimeoutPolicy(60_000, { clock }),
      ),
    timeoutMs: 60_000,
  },
];

/** A function that never settles by itself, recording the context it got. */
function hanging(): { fn: (ctx: PolicyContext) => Promise<string>; seen: PolicyContext[] } {
  const seen: PolicyContext[] = [];
  return {
    seen,
    fn: (ctx) => {
      seen.push(ctx);
      return new Promise<string>(() => undefined);
    },
  };
}

for (const subject of SUBJECTS) {
  describe(`${subject.name}.execute`, () => {
    test('passes the value through; fn gets a live signal, the deadline and the key', async () => {
      const clock = createVirtualClock();
      const policy = subject.make(clock);
      const deadline = clock.now() + 5_000;
      let seen: PolicyContext | undefined;
      const value = await policy.execute(
        (ctx) => {
          seen = ctx;
          return 'ok';
        },
        { deadline, key: 'tenant-1' },
      );
      assert.equal(value, 'ok');
      assert.ok(seen?.signal instanceof AbortSignal && !seen.signal.aborted);
      assert.equal(seen.deadline, deadline);
      assert.equal(seen.key, 'tenant-1');
      assert.equal(clock.pending(), 0, 'the deadline timer is cleared once the call settled');
    });

    test('an aborted signal or a past deadline runs nothing', async () => {
      const clock = createVirtualClock();
      const policy = subject.make(clock);
      let calls = 0;
      const fn = (): string => {
        calls++;
        return 'ran';
      };
      const reason = new Error('user left');
      await assert.rejects(
        policy.execute(fn, { signal: AbortSignal.abort(reason) }),
        (e: unknown) => isBulwarkError(e, 'ABORTED') && e.cause === reason,
      );
      const deadline = clock.now() - 1;
      await assert.rejects(
        policy.execute(fn, { deadline }),
        (e: unknown) => isBulwarkError(e, 'DEADLINE_EXCEEDED') && e.deadline === deadline,
      );
      assert.equal(calls, 0);
    });

    test('aborting while fn runs rejects ABORTED at once and aborts the signal fn holds', async () => {
      const clock = createVirtualClock();
      const policy = subject.make(clock);
      const caller = new AbortController();
      const { fn, seen } = hanging();
      const outcome = policy.execute(fn, { signal: caller.signal }).then(
        () => 'resolved',
        (error: unknown) => error,
      );
      await clock.flush();
      caller.abort();
      const error = await outcome;
      assert.ok(isBulwarkError(error, 'ABORTED'), String(error));
      assert.ok(seen[0]?.signal.aborted);
      assert.equal(seen[0].signal.reason, error, 'fn sees the error the caller gets');
      assert.equal(clock.pending(), 0);
    });

    test('the deadline passing while fn runs rejects DEADLINE_EXCEEDED at the deadline', async () => {
      const clock = createVirtualClock();
      const policy = subject.make(clock);
      const { fn, seen } = hanging();
      const start = clock.now();
      let endedAt = 0;
      const outcome = policy.execute(fn, { deadline: start + 2_000 }).then(
        () => 'resolved',
        (error: unknown) => {
          endedAt = clock.now();
          return error;
        },
      );
      await clock.advance(1_999);
      assert.equal(endedAt, 0, 'not before the deadline');
      await clock.advance(1);
      const error = await outcome;
      assert.ok(isBulwarkError(error, 'DEADLINE_EXCEEDED') && error.deadline === start + 2_000);
      assert.equal(endedAt, start + 2_000);
      assert.ok(seen[0]?.signal.aborted);
      assert.equal(clock.pending(), 0);
    });

    test("without a signal or deadline no timer is armed but a timeout policy's own", async () => {
      const clock = createVirtualClock();
      const policy = subject.make(clock);
      let deadline: number | undefined;
      await policy.execute((ctx) => {
        deadline = ctx.deadline;
        return 1;
      });
      const own = subject.timeoutMs;
      assert.equal(deadline, own === undefined ? Number.POSITIVE_INFINITY : clock.now() + own);
      assert.deepEqual(clock.scheduled, own === undefined ? [] : [own]);
      assert.equal(clock.pending(), 0);
    });
  });
}

describe('wrap', () => {
  test('a wrap of four policies arms one deadline timer, not four', async () => {
    const clock = createVirtualClock();
    const [policy] = SUBJECTS.filter((s) => s.name.startsWith('wrap(')).map((s) => s.make(clock));
    await policy?.execute(() => 'ok', { deadline: clock.now() + 1_000 });
    assert.deepEqual(clock.scheduled, [1_000]);
  });

  test('retry outside the breaker: each attempt counts, and the open circuit stops the retries', async () => {
    const clock = createVirtualClock();
    const breaker = new CircuitBreaker({ key: 'db', clock, failureThreshold: 3, failureRatio: false });
    const retry = new RetryPolicy({ clock, maxRetries: 5, baseDelay: 0, budget: false });
    let calls = 0;
    const failing = (): Promise<never> => {
      calls++;
      return Promise.reject(new Error('db down'));
    };
    const error: unknown = await wrap(retry, breaker)
      .execute(failing)
      .catch((e: unknown) => e);
    assert.equal(calls, 3, 'three attempts reached the function, then the circuit opened');
    assert.ok(isBulwarkError(error, 'CIRCUIT_OPEN'), 'the retry gave up on the open circuit');
    assert.equal(error.key, 'db');
    assert.equal(breaker.state.state, 'open');
  });

  test('retry inside the breaker: the breaker sees one outcome per call', async () => {
    const clock = createVirtualClock();
    const breaker = new CircuitBreaker({ key: 'db', clock, failureThreshold: 3, failureRatio: false });
    const retry = new RetryPolicy({ clock, maxRetries: 5, baseDelay: 0, budget: false });
    let calls = 0;
    const failing = (): Promise<never> => {
      calls++;
      return Promise.reject(new Error('db down'));
    };
    await assert.rejects(wrap(breaker, retry).execute(failing), /db down/);
    assert.equal(calls, 6, 'every retry ran');
    assert.deepEqual(breaker.snapshot(), { key: 'db', state: 'closed', failures: 1, calls: 1 });
  });

  test('a timeout inside a retry bounds each attempt (ATTEMPT_TIMEOUT, retried); outside, the call', async () => {
    const clock = createVirtualClock();
    const retry = new RetryPolicy({ clock, maxRetries: 2, baseDelay: 0, budget: false });
    const timeout = new TimeoutPolicy(100, { clock });
    const attempts: number[] = [];
    const slowThenFast = (ctx: PolicyContext): Promise<string> => {
      attempts.push(ctx.attempt ?? 0);
      return ctx.attempt === 1 ? new Promise<string>(() => undefined) : Promise.resolve('fast');
    };
    const inner = wrap(retry, timeout).execute(slowThenFast);
    await clock.advance(100);
    assert.equal(await inner, 'fast');
    assert.deepEqual(attempts, [1, 2], 'the attempt number reaches fn through the timeout');

    const outer = wrap(timeout, retry)
      .execute(() => new Promise<string>(() => undefined))
      .catch((e: unknown) => e);
    await clock.advance(100);
    const error = await outer;
    assert.ok(isBulwarkError(error, 'TIMEOUT') && error.timeoutMs === 100);
    assert.equal(clock.pending(), 0);
  });

  test('errors keep their codes and fields through the layers', async () => {
    const clock = createVirtualClock();
    const limiter = new RateLimiter({ requests: 1, per: 'second', strategy: 'error', clock });
    const breakers = new CircuitBreakers({ clock, failureThreshold: 1, failureRatio: false });
    const policy = wrap(new RetryPolicy({ clock, budget: false }), breakers, limiter);
    assert.equal(await policy.execute(() => 'first', { key: 'api' }), 'first');
    const error: unknown = await policy.execute(() => 'second', { key: 'api' }).catch((e: unknown) => e);
    assert.ok(isBulwarkError(error, 'RATE_LIMITED'), 'not retried, not rewrapped');
    assert.equal(error.key, 'api');
    assert.equal(typeof error.retryAfterMs, 'number');
    assert.equal(breakers.get('api').state.state, 'closed', "the limiter's refusal is no failure of the api");
  });

  test('refuses nothing to wrap, and what is not a policy', () => {
    assert.throws(
      () => wrap(),
      (e: unknown) => isBulwarkError(e, 'INVALID_OPTIONS') && e.path === 'wrap()',
    );
    assert.throws(
      () => wrap(new TimeoutPolicy(1), {} as Policy),
      (e: unknown) => isBulwarkError(e, 'INVALID_OPTIONS') && e.path === 'wrap(policies[1])',
    );
  });
});

describe('key', () => {
  test('CircuitBreakers: one circuit per key', async () => {
    const clock = createVirtualClock();
    const breakers = new CircuitBreakers({ clock, failureThreshold: 1, failureRatio: false });
    await assert.rejects(breakers.execute(() => Promise.reject(new Error('a down')), { key: 'a' }));
    await assert.rejects(
      breakers.execute(() => 'never', { key: 'a' }),
      (e: unknown) => isBulwarkError(e, 'CIRCUIT_OPEN') && e.key === 'a',
    );
    assert.equal(await breakers.execute(() => 'b is fine', { key: 'b' }), 'b is fine');
  });

  test('RateLimiter: one bucket per key', async () => {
    const clock = createVirtualClock();
    const limiter = new RateLimiter({ requests: 1, per: 'minute', strategy: 'error', clock });
    await limiter.execute(() => 1, { key: 'a' });
    await assert.rejects(
      limiter.execute(() => 2, { key: 'a' }),
      (e: unknown) => isBulwarkError(e, 'RATE_LIMITED') && e.key === 'a',
    );
    assert.equal(await limiter.execute(() => 3, { key: 'b' }), 3);
  });

  test('RetryPolicy: one budget per key', async () => {
    const clock = createVirtualClock();
    const retry = new RetryPolicy({
      clock,
      baseDelay: 0,
      maxRetries: 10,
      budget: { ratio: 0, minPerSecond: 0.1, ttlMs: 10_000 },
    });
    const counts = { a: 0, b: 0 };
    const failing = (key: 'a' | 'b') => (): Promise<never> => {
      counts[key]++;
      return Promise.reject(new Error('down'));
    };
    await assert.rejects(retry.execute(failing('a'), { key: 'a' }));
    await assert.rejects(retry.execute(failing('b'), { key: 'b' }));
    assert.deepEqual(counts, { a: 2, b: 2 }, "one retry each: b's budget is not a's");
  });
});

describe('waits end on abort and give their place back', () => {
  test('ConcurrencyLimiter: an aborted queued call leaves the queue; the next one takes the slot', async () => {
    const clock = createVirtualClock();
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 1, maxQueue: 2, clock });
    let release: (v: string) => void = () => undefined;
    const first = limiter.execute(() => new Promise<string>((resolve) => (release = resolve)));
    await clock.flush();
    const caller = new AbortController();
    const ran: string[] = [];
    const second = limiter.execute(
      () => {
        ran.push('second');
        return 'second';
      },
      { signal: caller.signal },
    );
    const third = limiter.execute(() => {
      ran.push('third');
      return 'third';
    });
    await clock.flush();
    assert.deepEqual(limiter.snapshot(), { limit: 1, inflight: 1, queued: 2 });
    caller.abort();
    await assert.rejects(second, (e: unknown) => isBulwarkError(e, 'ABORTED'));
    assert.equal(limiter.queued, 1, 'the aborted call left the queue at once');
    release('first');
    assert.equal(await first, 'first');
    assert.equal(await third, 'third');
    assert.deepEqual(ran, ['third']);
    assert.deepEqual(limiter.snapshot(), { limit: 1, inflight: 0, queued: 0 });
  });

  test('ConcurrencyLimiter: a queued call whose deadline passes leaves the queue', async () => {
    const clock = createVirtualClock();
    const limiter = new ConcurrencyLimiter({
      algorithm: 'fixed',
      initialLimit: 1,
      maxQueue: 1,
      queueTimeout: 10_000,
      clock,
    });
    const holder = limiter.execute(() => new Promise<never>(() => undefined));
    const queued = limiter.execute(() => 'never', { deadline: clock.now() + 50 }).catch((e: unknown) => e);
    await clock.advance(50);
    const error = await queued;
    assert.ok(isBulwarkError(error, 'DEADLINE_EXCEEDED'), String(error));
    assert.equal(limiter.queued, 0, 'its place in the queue is free');
    assert.equal(clock.pending(), 0, 'and its queue timer cleared');
    void holder;
  });

  test('RateLimiter: aborting a wait ends it at once and clears its timer', async () => {
    const clock = createVirtualClock();
    const limiter = new RateLimiter({ requests: 1, per: 'second', maxWait: 5_000, clock });
    await limiter.execute(() => 'now', { key: 'a' });
    const caller = new AbortController();
    let ran = false;
    const waiting = limiter
      .execute(
        () => {
          ran = true;
        },
        { key: 'a', signal: caller.signal },
      )
      .catch((e: unknown) => e);
    await clock.advance(100);
    assert.equal(clock.pending(), 1, 'waiting for the slot 1 s away');
    caller.abort();
    const error = await waiting;
    assert.ok(isBulwarkError(error, 'ABORTED'));
    assert.equal(clock.pending(), 0, 'the wait timer is gone');
    await clock.advance(2_000);
    assert.equal(ran, false);
  });

  test('RateLimiter: an aborted wait gives its slot to the next caller', async () => {
    const clock = createVirtualClock();
    const limiter = new RateLimiter({ requests: 1, per: 'second', clock });
    await limiter.execute(() => 'now', { key: 'a' });
    const caller = new AbortController();
    const aborted = limiter
      .execute(() => 'never', { key: 'a', signal: caller.signal })
      .catch(() => 'aborted');
    await clock.advance(100);
    caller.abort();
    assert.equal(await aborted, 'aborted');
    await clock.advance(100);
    const start = clock.now();
    let ranAt = 0;
    const next = limiter.execute(() => (ranAt = clock.now()), { key: 'a' });
    await clock.advance(2_000);
    await next;
    assert.equal(ranAt - start, 800, 'the slot at 1 s, not the one after it at 2 s');
  });

  test('RateLimiter: a wait that would end after the deadline is refused up front', async () => {
    const clock = createVirtualClock();
    const limiter = new RateLimiter({ requests: 1, per: 'second', clock });
    await limiter.execute(() => 'now');
    await assert.rejects(
      limiter.execute(() => 'later', { deadline: clock.now() + 500 }),
      (e: unknown) => isBulwarkError(e, 'RATE_LIMITED') && e.retryAfterMs === 1_000,
    );
    assert.equal(clock.pending(), 0);
  });

  test('RetryPolicy: aborting during the backoff ends the call at once', async () => {
    const clock = createVirtualClock();
    const retry = new RetryPolicy({ clock, baseDelay: 1_000, jitter: 'none', budget: false });
    const caller = new AbortController();
    let calls = 0;
    const outcome = retry
      .execute(
        () => {
          calls++;
          return Promise.reject(new Error('flaky'));
        },
        { signal: caller.signal },
      )
      .catch((e: unknown) => e);
    await clock.advance(10);
    caller.abort();
    assert.ok(isBulwarkError(await outcome, 'ABORTED'));
    assert.equal(clock.pending(), 0);
    await clock.advance(5_000);
    assert.equal(calls, 1);
  });
});
