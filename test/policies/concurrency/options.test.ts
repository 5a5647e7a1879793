import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConcurrencyLimiter,
  FixedLimit,
  createLimitAlgorithm,
} from '../../../src/policies/concurrency/index.js';
import { isBulwarkError } from '../../../src/errors.js';

describe('ConcurrencyLimiter: options', () => {
  const invalid: [Record<string, unknown>, string][] = [
    [{ algorithm: 'bbr' }, 'concurrency.algorithm'],
    [{ algorithm: {} }, 'concurrency.algorithm'],
    [{ algorithm: null }, 'concurrency.algorithm'],
    [{ algorithm: { limit: 0, onSample() {} } }, 'concurrency.algorithm'],
    [{ algorithm: new FixedLimit(3), maxLimit: 10 }, 'concurrency.maxLimit'],
    [{ initialLimit: 0 }, 'concurrency.initialLimit'],
    [{ initialLimit: 2.5 }, 'concurrency.initialLimit'],
    [{ minLimit: 50, initialLimit: 20 }, 'concurrency.initialLimit'],
    [{ maxLimit: 1e9 }, 'concurrency.maxLimit'],
    [{ maxQueue: -1 }, 'concurrency.maxQueue'],
    [{ maxQueue: Number.POSITIVE_INFINITY }, 'concurrency.maxQueue'],
    [{ queueTimeout: 0 }, 'concurrency.queueTimeout'],
    [{ queueTimeout: 2 ** 31 }, 'concurrency.queueTimeout'],
    [{ queueTimeout: '1s' }, 'concurrency.queueTimeout'],
    [{ clock: Date }, 'concurrency.clock'],
    [{ random: 0.5 }, 'concurrency.random'],
    [{ onLimitChange: 'log' }, 'concurrency.onLimitChange'],
    [{ maxQeue: 5 }, 'concurrency.maxQeue'],
  ];
  for (const [options, path] of invalid) {
    test(`refuses ${path} in ${Object.keys(options).join(', ')}`, () => {
      assert.throws(
        () => new ConcurrencyLimiter(options),
        (err: unknown) =>
          isBulwarkError(err, 'INVALID_OPTIONS') && err.path === path && err.message.includes(`\`${path}\``),
      );
    });
  }

  test('refuses a non-object', () => {
    assert.throws(() => new ConcurrencyLimiter(5 as unknown as object), /`concurrency`/);
  });
});

test('createLimitAlgorithm builds each named algorithm with the shared bounds', () => {
  assert.equal(createLimitAlgorithm('gradient2').limit, 20);
  assert.equal(createLimitAlgorithm('aimd', { maxLimit: 10 }).limit, 10);
  assert.equal(createLimitAlgorithm('vegas', { minLimit: 30 }, () => 0.5).limit, 30);
  assert.equal(createLimitAlgorithm('fixed', { initialLimit: 3 }).limit, 3);
});
