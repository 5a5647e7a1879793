import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RetryPolicy,
  defaultClassify,
  retryPolicy,
  type GiveUpEvent,
  type RetryDecision,
  type RetryEvent,
  type RetryOptions,
  type RetryOutcome,
} from '../../src/policies/retry.js';
import { RetryBudget, RetryBudgets } from '../../src/policies/retry-budget.js';
import { createVirtualClock, type VirtualClock } from '../../src/testing/virtual-clock.js';
import { BulwarkError, isBulwarkError } from '../../src/errors.js';

/** A response-like value: the retry policy only sees what `classify` makes of it. */
interface Answer {
  status: number;
  hintMs?: number;
}

function netError(code = 'ECONNRESET'): Error {
  return Object.assign(new Error(`socket ${code}`), { code });
}

/** Classifies answers like the HTTP glue: 429/503 throttle, 5xx retry, a hint replaces the backoff. */
const classifyAnswer = (outcome: RetryOutcome<Answer>): RetryDecision => {
  if (!outcome.ok) return defaultClassify(outcome);
  const { status, hintMs } = outcome.value;
  if (status < 500 && status !== 429) return { retry: false };
  const throttled = status === 429 || status === 503;
  return hintMs === undefined
    ? { retry: true, reason: String(status), throttled }
    : { retry: true, reason: String(status), throttled, hintMs };
};

interface Harness {
  clock: VirtualClock;
  policy: RetryPolicy<Answer>;
  retries: RetryEvent<Answer>[];
  giveUps: GiveUpEvent<Answer>[];
  disposed: Answer[];
}

function harness(options: RetryOptions<Answer> = {}): Harness {
  const clock = createVirtualClock();
  const retries: RetryEvent<Answer>[] = [];
  const giveUps: GiveUpEvent<Answer>[] = [];
  const disposed: Answer[] = [];
  const policy = new RetryPolicy<Answer>({
    clock,
    random: () => 0.5,
    classify: classifyAnswer,
    budget: false,
    onRetry: (e) => retries.push(e),
    onGiveUp: (e) => giveUps.push(e),
    dispose: (v) => {
      disposed.push(v);
    },
    ...options,
  });
  return { clock, policy, retries, giveUps, disposed };
}

/** An attempt function that plays `script` in order: an Answer resolves, an Error rejects. */
function scripted(script: (Answer | Error)[]) {
  const calls: number[] = [];
  const fn = ({ attempt }: { attempt: number }): Promise<Answer> => {
    calls.push(attempt);
    const next = script[attempt - 1] ?? script[script.length - 1];
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next as Answer);
  };
  return { fn, calls };
}

async function settle<T>(clock: VirtualClock, promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  const result = promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  await clock.runAll();
  return result;
}

describe('RetryPolicy: backoff', () => {
  test('waits 50, 100, 200 ms (full jitter, draw 0.5) and returns the first success', async () => {
    const h = harness();
    const { fn, calls } = scripted([netError(), netError(), netError(), { status: 200 }]);
    const { value } = await settle(h.clock, h.policy.execute(fn));
    assert.deepEqual(value, { status: 200 });
    assert.deepEqual(calls, [1, 2, 3, 4]);
    assert.deepEqual(h.clock.scheduled, [50, 100, 200]);
    assert.deepEqual(
      h.retries.map(({ attempt, delayMs, reason, source }) => ({ attempt, delayMs, reason, source })),
      [
        { attempt: 1, delayMs: 50, reason: 'ECONNRESET', source: 'backoff' },
        { attempt: 2, delayMs: 100, reason: 'ECONNRESET', source: 'backoff' },
        { attempt: 3, delayMs: 200, reason: 'ECONNRESET', source: 'backoff' },
      ],
    );
    assert.deepEqual(h.giveUps, []);
  });

  test('the next attempt starts exactly when the wait ends', async () => {
    const h = harness();
    const { fn, calls } = scripted([netError(), { status: 200 }]);
    const done = h.policy.execute(fn);
    await h.clock.advance(49);
    assert.deepEqual(calls, [1]);
    await h.clock.advance(1);
    assert.deepEqual(calls, [1, 2]);
    assert.deepEqual(await done, { status: 200 });
  });

  test('a throttling answer without a hint starts from 1 s', async () => {
    const h = harness();
    const { fn } = scripted([{ status: 429 }, { status: 503 }, { status: 200 }]);
    await settle(h.clock, h.policy.execute(fn));
    assert.deepEqual(h.clock.scheduled, [500, 1_000]);
  });

  test('after maxRetries the last error is thrown, with a max-retries give-up', async () => {
    const h = harness();
    const last = netError('ECONNREFUSED');
    const { fn, calls } = scripted([netError(), netError(), netError(), last]);
    const { error } = await settle(h.clock, h.policy.execute(fn));
    assert.equal(error, last);
    assert.deepEqual(calls, [1, 2, 3, 4]);
    assert.deepEqual(
      h.giveUps.map(({ attempt, reason }) => ({ attempt, reason })),
      [{ attempt: 4, reason: 'max-retries' }],
    );
  });

  test('maxRetries 0 makes one attempt', async () => {
    const h = harness({ maxRetries: 0 });
    const { fn, calls } = scripted([{ status: 503 }]);
    const { value } = await settle(h.clock, h.policy.execute(fn));
    assert.deepEqual(value, { status: 503 });
    assert.deepEqual(calls, [1]);
    assert.equal(h.giveUps[0]?.reason, 'max-retries');
  });
});

describe('RetryPolicy: server hints', () => {
  test('a hint replaces the backoff; the next retry without one backs off again', async () => {
    const h = harness();
    const { fn } = scripted([{ status: 503, hintMs: 3_000 }, { status: 502 }, { status: 200 }]);
    await settle(h.clock, h.policy.execute(fn));
    assert.deepEqual(h.clock.scheduled, [3_000, 100]);
    assert.deepEqual(
      h.retries.map((e) => e.source),
      ['hint', 'backoff'],
    );
  });

  test('a hint of 0 retries at once, without a timer', async () => {
    const h = harness();
    const { fn, calls } = scripted([{ status: 503, hintMs: 0 }, { status: 200 }]);
    await h.policy.execute(fn);
    assert.deepEqual(calls, [1, 2]);
    assert.deepEqual(h.clock.scheduled, []);
  });

  test('a hint longer than maxRetryAfter returns that answer at once', async () => {
    const h = harness();
    const answer = { status: 429, hintMs: 60_001 };
    const { fn, calls } = scripted([answer, { status: 200 }]);
    assert.equal(await h.policy.execute(fn), answer);
    assert.deepEqual(calls, [1]);
    assert.deepEqual(h.clock.scheduled, [], 'no sleep at all');
    assert.deepEqual(h.disposed, [], 'the returned answer is not disposed');
    assert.equal(h.giveUps[0]?.reason, 'hint-too-long');
  });

  test('a hint equal to maxRetryAfter is honoured; maxRetryAfter is an option', async () => {
    const h = harness({ maxRetryAfter: 5_000 });
    const { fn } = scripted([
      { status: 503, hintMs: 5_000 },
      { status: 503, hintMs: 5_001 },
    ]);
    const { value } = await settle(h.clock, h.policy.execute(fn));
    assert.deepEqual(value, { status: 503, hintMs: 5_001 });
    assert.deepEqual(h.clock.scheduled, [5_000]);
    assert.equal(h.giveUps[0]?.reason, 'hint-too-long');
  });

  test('a negative or non-finite hint is ignored: the backoff applies', async () => {
    const h = harness();
    const { fn } = scripted([
      { status: 502, hintMs: -1 },
      { status: 502, hintMs: Number.NaN },
      { status: 200 },
    ]);
    await settle(h.clock, h.policy.execute(fn));
    assert.deepEqual(h.clock.scheduled, [50, 100]);
  });

  test('a fractional hint is rounded up to a whole millisecond', async () => {
    const h = harness();
    const { fn } = scripted([{ status: 503, hintMs: 1.2 }, { status: 200 }]);
    await settle(h.clock, h.policy.execute(fn));
    assert.deepEqual(h.clock.scheduled, [2]);
  });
});

describe('RetryPolicy: deadline', () => {
  test('a retry whose wait cannot fit before the deadline is not started', async () => {
    const h = harness();
    const { fn, calls } = scripted([{ status: 502 }, { status: 502 }, { status: 200 }]);
    const deadline = h.clock.now() + 120;
    const { value } = await settle(h.clock, h.policy.execute(fn, { deadline }));
    // 50 ms + 1 ms fits in 120; at t=50, 100 ms + 1 ms does not.
    assert.deepEqual(calls, [1, 2]);
    assert.deepEqual(value, { status: 502 });
    // The call's deadline timer (120 ms), then one backoff of 50 ms.
    assert.deepEqual(h.clock.scheduled, [120, 50]);
    assert.equal(h.giveUps[0]?.reason, 'deadline');
  });

  test('a hint that outlasts the deadline returns at once', async () => {
    const h = harness();
    const { fn, calls } = scripted([{ status: 503, hintMs: 5_000 }]);
    const { value } = await settle(h.clock, h.policy.execute(fn, { deadline: h.clock.now() + 3_000 }));
    assert.deepEqual(value, { status: 503, hintMs: 5_000 });
    assert.deepEqual(calls, [1]);
    assert.deepEqual(h.clock.scheduled, [3_000], 'the deadline timer only: no wait for the hint');
    assert.equal(h.giveUps[0]?.reason, 'deadline');
  });

  test('minAttemptMs reserves time for the attempt itself', async () => {
    const fits = harness({ minAttemptMs: 10 });
    const a = scripted([{ status: 502 }, { status: 200 }]);
    await settle(fits.clock, fits.policy.execute(a.fn, { deadline: fits.clock.now() + 60 }));
    assert.deepEqual(a.calls, [1, 2]);
    const tight = harness({ minAttemptMs: 11 });
    const b = scripted([{ status: 502 }, { status: 200 }]);
    await settle(tight.clock, tight.policy.execute(b.fn, { deadline: tight.clock.now() + 60 }));
    assert.deepEqual(b.calls, [1]);
  });

  test('a refused retry takes nothing from the budget', async () => {
    const budget = new RetryBudget({ minPerSecond: 1, ttlMs: 1_000 }, { now: () => 0 });
    const h = harness({ budget });
    const { fn } = scripted([{ status: 503, hintMs: 5_000 }]);
    await settle(h.clock, h.policy.execute(fn, { deadline: h.clock.now() + 1_000 }));
    assert.equal(budget.balance(), 1);
  });
});

describe('RetryPolicy: budget', () => {
  test('an exhausted budget stops retries with a budget give-up', async () => {
    const clock = createVirtualClock();
    const budgets = new RetryBudgets({ clock, minPerSecond: 0.2, ttlMs: 10_000 });
    const h = harness({ budget: budgets });
    const first = scripted([netError(), netError(), netError(), netError()]);
    await settle(h.clock, h.policy.execute(first.fn, { key: 'a' }));
    // A floor of 2 retries, plus 0.2 for the one request: 2 retries, then refused.
    assert.deepEqual(first.calls, [1, 2, 3]);
    assert.deepEqual(
      h.giveUps.map(({ attempt, reason }) => ({ attempt, reason })),
      [{ attempt: 3, reason: 'budget' }],
    );
    const other = scripted([netError(), { status: 200 }]);
    await settle(h.clock, h.policy.execute(other.fn, { key: 'b' }));
    assert.deepEqual(other.calls, [1, 2], 'another key has its own budget');
  });

  test('each call deposits once, earning retries for the calls that follow', async () => {
    const budget = new RetryBudget({ minPerSecond: 0 }, { now: () => 0 });
    const h = harness({ budget });
    for (let i = 0; i < 5; i++) await h.policy.execute(() => Promise.resolve({ status: 200 }));
    assert.equal(budget.balance(), 1);
    const { fn, calls } = scripted([netError(), netError(), { status: 200 }]);
    await settle(h.clock, h.policy.execute(fn));
    assert.deepEqual(calls, [1, 2], 'one retry paid by five successes, none left for a second');
  });

  test('by default the policy owns a per-key budget of 100 retries per 10 s', async () => {
    const clock = createVirtualClock();
    const policy = new RetryPolicy({ clock, random: () => 0 });
    assert.ok(policy.budget instanceof RetryBudgets);
    assert.equal(policy.budget.balance('default'), 100);
    let attempts = 0;
    const results: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      results.push(
        policy
          .execute(() => {
            attempts++;
            return Promise.reject(netError());
          })
          .catch(() => undefined),
      );
    }
    await clock.runAll();
    await Promise.all(results);
    assert.equal(attempts, 200 + 100 + 40, '200 calls, 100 from the floor and 0.2 × 200');
    assert.equal(new RetryPolicy({ budget: false }).budget, undefined);
    assert.ok(new RetryPolicy({ budget: { ratio: 0.5 } }).budget instanceof RetryBudgets);
  });
});

describe('RetryPolicy: dispose', () => {
  test('every discarded value is disposed once, before the wait; the returned one never', async () => {
    const h = harness();
    const a = { status: 503 };
    const b = { status: 502 };
    const ok = { status: 200 };
    const { fn } = scripted([a, b, ok]);
    const done = h.policy.execute(fn);
    await h.clock.flush();
    assert.deepEqual(h.disposed, [a], 'the first answer is drained while waiting');
    await h.clock.runAll();
    assert.equal(await done, ok);
    assert.deepEqual(h.disposed, [a, b]);
  });

  test('when retries run out, all but the returned value are disposed', async () => {
    const h = harness();
    const answers = [{ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }];
    const { fn } = scripted(answers);
    const { value } = await settle(h.clock, h.policy.execute(fn));
    assert.equal(value, answers[3]);
    assert.deepEqual(h.disposed, answers.slice(0, 3));
  });

  test('a failing disposer changes nothing', async () => {
    let rejected = 0;
    const h = harness({
      dispose: () => {
        rejected++;
        return Promise.reject(new Error('drain failed'));
      },
      onRetry: () => {
        throw new Error('observer bug');
      },
    });
    const { fn } = scripted([{ status: 503 }, { status: 200 }]);
    const { value } = await settle(h.clock, h.policy.execute(fn));
    assert.deepEqual(value, { status: 200 });
    assert.equal(rejected, 1);
  });
});

describe('RetryPolicy: what is retried', () => {
  test('by default values are final and errors retried, except bulwark errors that are not transient', async () => {
    for (const [error, attempts] of [
      [new BulwarkError('CIRCUIT_OPEN', 'open'), 1],
      [new BulwarkError('CONCURRENCY_LIMITED', 'full'), 1],
      [new BulwarkError('ABORTED', 'aborted'), 1],
      [new BulwarkError('NETWORK', 'reset'), 4],
      [new BulwarkError('ATTEMPT_TIMEOUT', 'slow'), 4],
      [new TypeError('boom'), 4],
      ['a string', 4],
    ] as const) {
      const clock = createVirtualClock();
      const giveUps: string[] = [];
      const policy = new RetryPolicy({
        clock,
        random: () => 0,
        budget: false,
        onGiveUp: (e) => giveUps.push(e.reason),
      });
      let calls = 0;
      const result = await settle(
        clock,
        policy.execute(() => {
          calls++;
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a thrown string is one of the cases
          return Promise.reject(error);
        }),
      );
      assert.equal(result.error, error);
      assert.equal(calls, attempts, String(error));
      assert.deepEqual(giveUps, [attempts === 1 ? 'not-retryable' : 'max-retries']);
    }
    const policy = new RetryPolicy({ budget: false });
    assert.equal(await policy.execute(() => Promise.resolve('any value')), 'any value');
  });

  test('the default reason is the error code, else its name', () => {
    const reason = (error: unknown) => {
      const d = defaultClassify({ ok: false, attempt: 1, error });
      return d.retry ? d.reason : undefined;
    };
    assert.equal(reason(netError('EPIPE')), 'EPIPE');
    assert.equal(reason(new BulwarkError('NETWORK', 'x')), 'NETWORK');
    assert.equal(reason(new RangeError('x')), 'RangeError');
    assert.equal(reason(null), 'error');
  });

  test('shouldRetry wins over classify when it answers, and defers when undefined', async () => {
    const never = harness({ shouldRetry: () => false });
    const a = scripted([{ status: 503 }, { status: 200 }]);
    assert.deepEqual(await never.policy.execute(a.fn), { status: 503 });
    assert.deepEqual(a.calls, [1]);

    const on404 = harness({ shouldRetry: (o) => (o.ok && o.value.status === 404 ? true : undefined) });
    const b = scripted([{ status: 404 }, { status: 503 }, { status: 200 }]);
    await settle(on404.clock, on404.policy.execute(b.fn));
    assert.deepEqual(b.calls, [1, 2, 3]);
    assert.deepEqual(
      on404.retries.map((e) => e.reason),
      ['shouldRetry', '503'],
    );
  });

  test('a synchronous throw is an outcome like any other', async () => {
    const h = harness();
    let calls = 0;
    const { value } = await settle(
      h.clock,
      h.policy.execute(() => {
        calls++;
        if (calls === 1) throw netError();
        return Promise.resolve({ status: 200 });
      }),
    );
    assert.deepEqual(value, { status: 200 });
    assert.equal(calls, 2);
  });

  test('each attempt gets its number, the key, and a signal that follows the caller’s', async () => {
    const h = harness();
    const caller = new AbortController();
    const seen: { attempt: number; signal: AbortSignal; key: string | undefined }[] = [];
    await settle(
      h.clock,
      h.policy.execute(
        (ctx) => {
          seen.push({ attempt: ctx.attempt, signal: ctx.signal, key: ctx.key });
          return Promise.resolve({ status: ctx.attempt < 2 ? 503 : 200 });
        },
        { signal: caller.signal, key: 'db' },
      ),
    );
    assert.deepEqual(
      seen.map(({ attempt, key }) => ({ attempt, key })),
      [
        { attempt: 1, key: 'db' },
        { attempt: 2, key: 'db' },
      ],
    );
    assert.equal(seen[0]?.signal, seen[1]?.signal, 'one signal for the whole call');
    assert.equal(seen[0]?.signal.aborted, false);
  });
});

describe('RetryPolicy: caller abort', () => {
  test('aborting during the wait rejects at once with the reason and clears the timer', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const h = harness();
      const controller = new AbortController();
      const { fn, calls } = scripted([{ status: 503 }, { status: 200 }]);
      const done = h.policy.execute(fn, { signal: controller.signal });
      const outcome = done.then(
        () => 'resolved',
        (error: unknown) => error,
      );
      await h.clock.advance(10);
      const reason = new BulwarkError('ABORTED', 'caller gave up');
      controller.abort(reason);
      assert.equal(await outcome, reason);
      assert.equal(h.clock.pending(), 0, 'the wait timer was cleared');
      await h.clock.runAll();
      assert.deepEqual(calls, [1], 'no attempt after the abort');
      assert.deepEqual(h.disposed, [{ status: 503 }]);
      assert.equal(h.giveUps[0]?.reason, 'aborted');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('an attempt that ends after the abort is not retried', async () => {
    const h = harness();
    const controller = new AbortController();
    let calls = 0;
    const { error } = await settle(
      h.clock,
      h.policy.execute(
        ({ signal }) => {
          calls++;
          controller.abort();
          return Promise.reject(signal.reason as Error);
        },
        { signal: controller.signal },
      ),
    );
    assert.ok(isBulwarkError(error, 'ABORTED'), 'the caller hears ABORTED');
    assert.ok(
      error.cause instanceof DOMException && error.cause.name === 'AbortError',
      'with the reason as cause',
    );
    assert.equal(calls, 1);
    // The attempt rejected with the call's own ABORTED (its signal's reason), which is never retried.
    assert.equal(h.giveUps[0]?.reason, 'not-retryable');
  });

  test('an already aborted signal runs nothing', async () => {
    const h = harness();
    let calls = 0;
    const reason = new Error('stop');
    await assert.rejects(
      h.policy.execute(
        () => {
          calls++;
          return Promise.resolve({ status: 200 });
        },
        { signal: AbortSignal.abort(reason) },
      ),
      (e: unknown) => isBulwarkError(e, 'ABORTED') && e.cause === reason,
    );
    assert.equal(calls, 0);
  });
});

describe('RetryPolicy: options', () => {
  const refused: [Record<string, unknown>, string][] = [
    [{ maxRetries: -1 }, 'retry.maxRetries'],
    [{ maxRetries: 1.5 }, 'retry.maxRetries'],
    [{ maxRetries: 101 }, 'retry.maxRetries'],
    [{ maxRetries: '3' }, 'retry.maxRetries'],
    [{ maxRetryAfter: -1 }, 'retry.maxRetryAfter'],
    [{ minAttemptMs: Number.NaN }, 'retry.minAttemptMs'],
    [{ classify: 'status' }, 'retry.classify'],
    [{ shouldRetry: true }, 'retry.shouldRetry'],
    [{ onRetry: {} }, 'retry.onRetry'],
    [{ dispose: 1 }, 'retry.dispose'],
    [{ budget: 'shared' }, 'retry.budget'],
    [{ budget: { ratio: 2_000 } }, 'retry.budget.ratio'],
    [{ baseDelay: -5 }, 'retry.baseDelay'],
  ];
  for (const [options, path] of refused) {
    test(`refuses ${JSON.stringify(options)} naming ${path}`, () => {
      assert.throws(
        () => new RetryPolicy(options),
        (error: unknown) => isBulwarkError(error, 'INVALID_OPTIONS') && error.path === path,
      );
    });
  }

  test('retryPolicy() is the factory form, on the system clock by default', async () => {
    const policy = retryPolicy({ maxRetries: 1, baseDelay: 0 });
    let calls = 0;
    const value = await policy.execute(() => {
      calls++;
      return calls === 1 ? Promise.reject(netError()) : Promise.resolve('ok');
    });
    assert.equal(value, 'ok');
    assert.equal(calls, 2);
  });
});
