import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AimdLimit } from '../../../src/policies/concurrency/aimd.js';
import { isBulwarkError } from '../../../src/errors.js';

const sample = (rttMs: number, inflight: number, dropped = false, startTime = 0) => ({
  startTime,
  rttMs,
  inflight,
  dropped,
});

describe('AimdLimit', () => {
  test('adds one per sample while at least half the limit is in flight', () => {
    const limit = new AimdLimit();
    limit.onSample(sample(10, 10));
    assert.equal(limit.limit, 21);
    limit.onSample(sample(10, 10)); // 10·2 < 21
    assert.equal(limit.limit, 21);
  });

  test('multiplies by backoffRatio on a drop and on an RTT past the timeout', () => {
    const limit = new AimdLimit({ initialLimit: 100 });
    limit.onSample(sample(10, 1, true));
    assert.equal(limit.limit, 90);
    limit.onSample(sample(5_001, 90));
    assert.equal(limit.limit, 81);
    limit.onSample(sample(5_000, 90)); // at the timeout is not past it
    assert.equal(limit.limit, 82);
    const steep = new AimdLimit({ initialLimit: 100, backoffRatio: 0.5, timeout: 100 });
    steep.onSample(sample(101, 1));
    assert.equal(steep.limit, 50);
  });

  test('respects minLimit and maxLimit', () => {
    const limit = new AimdLimit({ minLimit: 3, maxLimit: 25 });
    for (let i = 0; i < 50; i++) limit.onSample(sample(1, 200));
    assert.equal(limit.limit, 25);
    for (let i = 0; i < 50; i++) limit.onSample(sample(1, 200, true));
    assert.equal(limit.limit, 3);
    const floor = new AimdLimit({ initialLimit: 1 });
    floor.onSample(sample(1, 1, true));
    assert.equal(floor.limit, 1);
  });

  test('with a window, backs off once per window however many samples dropped (Regulator)', () => {
    const limit = new AimdLimit({ initialLimit: 100, window: { minMs: 1_000, minSamples: 5 } });
    for (let i = 0; i < 9; i++) limit.onSample(sample(10, 100, true, i * 100));
    assert.equal(limit.limit, 100);
    limit.onSample(sample(10, 100, true, 1_000));
    assert.equal(limit.limit, 90);
  });

  test('validates its options', () => {
    for (const [options, path] of [
      [{ backoffRatio: 1 }, 'concurrency.backoffRatio'],
      [{ backoffRatio: 0.4 }, 'concurrency.backoffRatio'],
      [{ timeout: 0 }, 'concurrency.timeout'],
      [{ maxLimit: 0 }, 'concurrency.maxLimit'],
      [{ window: { minSamples: 0 } }, 'concurrency.window.minSamples'],
    ] as const) {
      assert.throws(
        () => new AimdLimit(options),
        (err: unknown) => isBulwarkError(err, 'INVALID_OPTIONS') && err.path === path,
      );
    }
  });
});
