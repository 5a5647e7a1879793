import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RetryBudget, RetryBudgets } from '../../src/policies/retry-budget.js';
import { RetryPolicy } from '../../src/policies/retry.js';
import { createVirtualClock } from '../../src/testing/virtual-clock.js';
import { isBulwarkError } from '../../src/errors.js';

/** A clock whose time is set by hand (the budget only reads `now`). */
function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

function withdrawAll(budget: RetryBudget): number {
  let n = 0;
  while (budget.tryWithdraw()) n++;
  return n;
}

describe('RetryBudget', () => {
  test('a fresh budget holds the floor: 10 retries/s over a 10 s ttl is 100 retries', () => {
    const budget = new RetryBudget({}, manualClock());
    assert.equal(budget.balance(), 100);
    assert.equal(withdrawAll(budget), 100);
    assert.equal(budget.balance(), 0);
    assert.equal(budget.tryWithdraw(), false);
  });

  test('every 5 requests earn one retry at ratio 0.2', () => {
    const budget = new RetryBudget({ minPerSecond: 0 }, manualClock());
    for (let i = 0; i < 14; i++) budget.deposit();
    assert.equal(budget.balance(), 2);
    assert.equal(withdrawAll(budget), 2);
    budget.deposit();
    assert.equal(budget.tryWithdraw(), true, 'the 15th request completes a third retry');
    assert.equal(budget.tryWithdraw(), false);
  });

  test('ratio 0 allows only the floor; ratio 1 one retry per request', () => {
    const none = new RetryBudget({ ratio: 0, minPerSecond: 1, ttlMs: 2_000 }, manualClock());
    for (let i = 0; i < 1_000; i++) none.deposit();
    assert.equal(withdrawAll(none), 2);
    const all = new RetryBudget({ ratio: 1, minPerSecond: 0 }, manualClock());
    for (let i = 0; i < 7; i++) all.deposit();
    assert.equal(withdrawAll(all), 7);
  });

  test('deposits count for at least ttl and at most ttl plus one slice (ttl/10)', () => {
    const clock = manualClock();
    const budget = new RetryBudget({ minPerSecond: 0 }, clock);
    for (let i = 0; i < 5; i++) budget.deposit();
    clock.advance(10_999);
    assert.equal(budget.balance(), 1);
    clock.advance(1);
    assert.equal(budget.balance(), 0);
  });

  test('a deposit late in its slice still counts for the full ttl', () => {
    const clock = manualClock();
    const budget = new RetryBudget({ minPerSecond: 0 }, clock);
    clock.advance(999);
    for (let i = 0; i < 5; i++) budget.deposit();
    clock.advance(10_000);
    assert.equal(budget.balance(), 1);
    clock.advance(1);
    assert.equal(budget.balance(), 0);
  });

  test('withdrawals expire too: the floor refills after the ttl', () => {
    const clock = manualClock();
    const budget = new RetryBudget({}, clock);
    assert.equal(withdrawAll(budget), 100);
    clock.advance(5_000);
    assert.equal(budget.balance(), 0);
    clock.advance(6_000);
    assert.equal(budget.balance(), 100);
    clock.advance(3_600_000);
    assert.equal(budget.balance(), 100, 'a long silence clears every slice, no more');
  });

  test('deposits made in the last seconds keep paying while older ones expire', () => {
    const clock = manualClock();
    const budget = new RetryBudget({ minPerSecond: 0 }, clock);
    for (let s = 0; s < 20; s++) {
      for (let i = 0; i < 10; i++) budget.deposit();
      clock.advance(1_000);
    }
    // 20 s of 10 requests per second: only the last 10 to 11 seconds count (100 to 110 requests).
    assert.ok(budget.balance() >= 20 && budget.balance() <= 22, String(budget.balance()));
  });

  const refused: [Record<string, unknown>, string][] = [
    [{ ratio: -0.1 }, 'retry.budget.ratio'],
    [{ ratio: 1001 }, 'retry.budget.ratio'],
    [{ ratio: '20%' }, 'retry.budget.ratio'],
    [{ minPerSecond: -1 }, 'retry.budget.minPerSecond'],
    [{ minPerSecond: Number.NaN }, 'retry.budget.minPerSecond'],
    [{ ttlMs: 999 }, 'retry.budget.ttlMs'],
    [{ ttlMs: 60_001 }, 'retry.budget.ttlMs'],
    [{ ttlMs: 1_500.5 }, 'retry.budget.ttlMs'],
  ];
  for (const [options, path] of refused) {
    test(`refuses ${JSON.stringify(options)} naming ${path}`, () => {
      assert.throws(
        () => new RetryBudget(options, manualClock()),
        (error: unknown) => isBulwarkError(error, 'INVALID_OPTIONS') && error.path === path,
      );
      assert.throws(
        () => new RetryBudgets(options),
        (error: unknown) => isBulwarkError(error, 'INVALID_OPTIONS') && error.path === path,
      );
    });
  }
});

describe('RetryBudget: pushback', () => {
  test('attempts and load signals of this slice and the one before', () => {
    const clock = manualClock(1_700_000_000_000); // a slice boundary (slices of ttl/10 = 1 s)
    const budget = new RetryBudget({}, clock);
    assert.deepEqual(budget.pushback(), { attempts: 0, signals: 0 });
    for (let i = 0; i < 8; i++) budget.deposit();
    assert.equal(budget.tryWithdraw(), true);
    assert.equal(budget.tryWithdraw(), true); // 10 attempts
    budget.recordLoadSignal();
    budget.recordLoadSignal();
    assert.deepEqual(budget.pushback(), { attempts: 10, signals: 2 });
    clock.advance(1_000); // the slice before still counts
    for (let i = 0; i < 10; i++) budget.deposit();
    assert.deepEqual(budget.pushback(), { attempts: 20, signals: 2 });
    clock.advance(1_000); // the first slice has left
    assert.deepEqual(budget.pushback(), { attempts: 10, signals: 0 });
    budget.recordLoadSignal();
    clock.advance(2_000); // two slices at once: nothing is left
    assert.deepEqual(budget.pushback(), { attempts: 0, signals: 0 });
  });
});

describe('RetryBudgets', () => {
  test('one budget per key: draining one origin leaves the others whole', () => {
    const budgets = new RetryBudgets({ clock: manualClock() });
    while (budgets.tryWithdraw('https://a.example')) {
      // drain a
    }
    assert.equal(budgets.balance('https://a.example'), 0);
    assert.equal(budgets.balance('https://b.example'), 100);
    budgets.deposit('https://b.example');
    assert.equal(budgets.get('https://b.example'), budgets.get('https://b.example'));
    assert.deepEqual(budgets.inspect(), [
      { key: 'https://a.example', balance: 0 },
      { key: 'https://b.example', balance: 100 },
    ]);
  });

  test('idle keys are evicted, and eviction changes no decision', () => {
    const clock = manualClock();
    const budgets = new RetryBudgets({ clock });
    for (let i = 0; i < 50; i++) budgets.tryWithdraw(`key-${i}`);
    assert.equal(budgets.size, 50);
    clock.advance(5_000);
    budgets.deposit('busy');
    assert.equal(budgets.size, 51, 'nothing is idle yet');
    clock.advance(6_001);
    budgets.deposit('busy');
    assert.equal(budgets.size, 1, 'the 50 idle keys went; the busy one stayed');
    assert.equal(budgets.balance('key-3'), 100, 'a returning key starts where it would have been');
  });

  test('inspect drops idle keys first', () => {
    const clock = manualClock();
    const budgets = new RetryBudgets({ clock });
    budgets.deposit('a');
    clock.advance(11_001);
    assert.deepEqual(budgets.inspect(), []);
  });
});

/** 1,000 calls spread evenly over `seconds`, each failing every attempt, with maxRetries 3. */
async function storm(seconds: number, random: number) {
  const clock = createVirtualClock();
  const start = clock.now();
  const calls = 1_000;
  let attempts = 0;
  let lastAttemptAt = 0;
  const policy = new RetryPolicy({
    maxRetries: 3,
    clock,
    random: () => random,
    budget: new RetryBudgets({ clock }),
  });
  const failing = (): Promise<never> => {
    attempts++;
    lastAttemptAt = clock.now() - start;
    return Promise.reject(new Error('503'));
  };
  const done: Promise<unknown>[] = [];
  for (let i = 0; i < calls; i++) {
    clock.setTimeout(
      () => {
        done.push(policy.execute(failing, { key: 'origin' }).catch(() => undefined));
      },
      Math.floor((i * seconds * 1_000) / calls),
    );
  }
  await clock.runAll(100_000);
  await Promise.all(done);
  assert.equal(done.length, calls);
  return { calls, attempts, lastAttemptAt };
}

describe('the budget stops a retry storm', () => {
  for (const seconds of [10, 30, 60]) {
    test(`1,000 failing calls over ${seconds} s with maxRetries 3: attempts ≤ 1.2 × calls + 10 × seconds`, async () => {
      for (const random of [0, 0.5, 0.99]) {
        const { calls, attempts } = await storm(seconds, random);
        const bound = 1.2 * calls + 10 * seconds;
        assert.ok(attempts <= bound, `${attempts} attempts > ${bound}`);
        // Without the budget every call would make 4 attempts; the budget still allows its share.
        assert.ok(attempts >= 1.2 * calls, `${attempts}: fewer retries than the budget allows`);
      }
    });
  }

  // The floor is granted per ttl, not per second: the whole reserve is there at once, and it comes
  // back when the withdrawals expire. So the exact guarantee counts started ttl windows.
  for (const seconds of [1, 5, 15, 45]) {
    test(`over ${seconds} s: attempts ≤ 1.2 × calls + 100 per started 10 s window`, async () => {
      const { calls, attempts, lastAttemptAt } = await storm(seconds, 0.5);
      const windows = Math.ceil((lastAttemptAt + 1) / 10_000);
      const bound = 1.2 * calls + 100 * windows;
      assert.ok(attempts <= bound, `${attempts} attempts > ${bound}`);
      assert.ok(attempts > 1.2 * calls, `${attempts}: the floor should have paid for retries too`);
    });
  }

  test('without a budget the same storm makes 4 attempts per call', async () => {
    const clock = createVirtualClock();
    let attempts = 0;
    const policy = new RetryPolicy({ maxRetries: 3, clock, random: () => 0.5, budget: false });
    const done: Promise<unknown>[] = [];
    for (let i = 0; i < 100; i++) {
      done.push(
        policy
          .execute(() => {
            attempts++;
            return Promise.reject(new Error('503'));
          })
          .catch(() => undefined),
      );
    }
    await clock.runAll(100_000);
    await Promise.all(done);
    assert.equal(attempts, 400);
  });
});
