import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DEFAULT_BACKOFF,
  backoffCeiling,
  backoffDelay,
  resolveBackoff,
  type Jitter,
} from '../../src/policies/backoff.js';
import { isBulwarkError } from '../../src/errors.js';

const fixed =
  (value: number): (() => number) =>
  () =>
    value;

describe('backoff defaults', () => {
  test('full jitter, 100 ms base doubling to a 10 s cap, 1 s base when throttled', () => {
    const b = resolveBackoff();
    assert.deepEqual(
      { ...b },
      { baseDelay: 100, maxDelay: 10_000, jitter: 'full', throttledBaseDelay: 1_000 },
    );
    assert.deepEqual(
      [0, 1, 2, 3, 6, 7, 8, 60, 1_000].map((n) => backoffCeiling(b, n)),
      [100, 200, 400, 800, 6_400, 10_000, 10_000, 10_000, 10_000],
    );
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((n) => backoffCeiling(b, n, true)),
      [1_000, 2_000, 4_000, 8_000, 10_000],
    );
  });

  test('the draw places the delay within the ceiling: exact values with a pinned random source', () => {
    const full = resolveBackoff();
    assert.equal(backoffDelay(full, 0, fixed(0.5)), 50);
    assert.equal(backoffDelay(full, 2, fixed(0.25)), 100);
    assert.equal(backoffDelay(full, 0, fixed(0.5), true), 500);
    const equal = resolveBackoff({ jitter: 'equal' });
    assert.equal(backoffDelay(equal, 0, fixed(0)), 50);
    assert.equal(backoffDelay(equal, 1, fixed(0.5)), 150);
    const none = resolveBackoff({ jitter: 'none' });
    assert.equal(backoffDelay(none, 3, fixed(0.123)), 800);
  });

  test('the same settings give the same delays: a backoff holds no state', () => {
    const b = resolveBackoff({ baseDelay: 10 });
    const draws = [0.1, 0.9, 0.5];
    const first = draws.map((d, i) => backoffDelay(b, i, fixed(d)));
    const second = draws.map((d, i) => backoffDelay(b, i, fixed(d)));
    assert.deepEqual(first, second);
    assert.deepEqual(first, [1, 18, 20]);
  });

  test('default options resolve to the shared frozen defaults', () => {
    assert.equal(resolveBackoff({}), DEFAULT_BACKOFF);
    assert.ok(Object.isFrozen(resolveBackoff({ baseDelay: 5 })));
  });
});

describe('backoff bounds (property)', () => {
  const jitters: Jitter[] = ['full', 'equal', 'none'];
  const settings = fc
    .record({
      baseDelay: fc.integer({ min: 0, max: 5_000 }),
      extra: fc.integer({ min: 0, max: 100_000 }),
      throttledBaseDelay: fc.integer({ min: 0, max: 5_000 }),
      jitter: fc.constantFrom(...jitters),
    })
    .map(({ baseDelay, extra, throttledBaseDelay, jitter }) =>
      resolveBackoff({ baseDelay, maxDelay: baseDelay + extra, throttledBaseDelay, jitter }),
    );

  test('every jitter mode stays in its interval under min(max, base·2^n)', () => {
    fc.assert(
      fc.property(
        settings,
        fc.integer({ min: -5, max: 2_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.boolean(),
        (b, retry, draw, throttled) => {
          const ceiling = backoffCeiling(b, retry, throttled);
          const base = throttled ? b.throttledBaseDelay : b.baseDelay;
          assert.equal(ceiling, Math.min(b.maxDelay, base * 2 ** Math.min(Math.max(0, retry), 62)));
          const delay = backoffDelay(b, retry, () => draw, throttled);
          assert.ok(Number.isInteger(delay));
          assert.ok(delay >= 0 && delay <= b.maxDelay, `delay ${delay} outside [0, ${b.maxDelay}]`);
          if (b.jitter === 'full') assert.ok(delay <= ceiling);
          if (b.jitter === 'equal') assert.ok(delay >= Math.floor(ceiling / 2) && delay <= ceiling);
          if (b.jitter === 'none') assert.equal(delay, Math.floor(ceiling));
        },
      ),
      { numRuns: 5_000 },
    );
  });

  test('a random source returning nonsense cannot push a delay out of bounds', () => {
    fc.assert(
      fc.property(settings, fc.integer({ min: 0, max: 70 }), fc.double(), (b, retry, bad) => {
        const delay = backoffDelay(b, retry, () => bad);
        assert.ok(delay >= 0 && delay <= backoffCeiling(b, retry));
      }),
    );
  });
});

describe('backoff validation', () => {
  const refused: [Record<string, unknown>, string][] = [
    [{ baseDelay: -1 }, 'retry.baseDelay'],
    [{ baseDelay: Number.NaN }, 'retry.baseDelay'],
    [{ maxDelay: Number.POSITIVE_INFINITY }, 'retry.maxDelay'],
    [{ maxDelay: '10s' }, 'retry.maxDelay'],
    [{ baseDelay: 500, maxDelay: 100 }, 'retry.maxDelay'],
    [{ throttledBaseDelay: -5 }, 'retry.throttledBaseDelay'],
    [{ jitter: 'decorrelated' }, 'retry.jitter'],
  ];
  for (const [options, path] of refused) {
    test(`refuses ${JSON.stringify(options)} naming ${path}`, () => {
      assert.throws(
        () => resolveBackoff(options),
        (error: unknown) => isBulwarkError(error, 'INVALID_OPTIONS') && error.path === path,
      );
    });
  }

  test('the path prefix is the caller’s', () => {
    assert.throws(
      () => resolveBackoff({ baseDelay: -1 }, 'hedging'),
      (error: unknown) => isBulwarkError(error) && error.path === 'hedging.baseDelay',
    );
  });
});
