import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SampleWindow } from '../../../src/policies/concurrency/window.js';
import { FixedLimit } from '../../../src/policies/concurrency/fixed.js';
import { resolveBounds } from '../../../src/policies/concurrency/limit.js';
import { isBulwarkError } from '../../../src/errors.js';

const sample = (startTime: number, rttMs: number, inflight = 1, dropped = false) => ({
  startTime,
  rttMs,
  inflight,
  dropped,
});

describe('SampleWindow', () => {
  test('aggregates a window: average RTT of the kept samples, highest inflight, any drop', () => {
    const window = new SampleWindow({ minMs: 100, minSamples: 3 });
    assert.equal(window.add(sample(0, 10, 4)), undefined);
    assert.equal(window.add(sample(20, 30, 9)), undefined);
    assert.equal(window.add(sample(40, 50, 2, true)), undefined); // ends 90: the first window spans 10..110
    assert.deepEqual(window.add(sample(100, 20, 1)), {
      startTime: 100,
      rttMs: 20,
      inflight: 9,
      dropped: true,
    });
  });

  test('waits for minSamples however long that takes', () => {
    const window = new SampleWindow({ minMs: 10, minSamples: 3 });
    assert.equal(window.add(sample(0, 1)), undefined);
    assert.equal(window.add(sample(10_000, 1)), undefined);
    assert.equal(window.add(sample(20_000, 1))?.rttMs, 1);
  });

  test('the next window lasts twice the fastest RTT of the last, within [minMs, maxMs]', () => {
    const window = new SampleWindow({ minMs: 50, maxMs: 400, minSamples: 1 });
    const closes = (startTime: number, rtt: number) => window.add(sample(startTime, rtt)) !== undefined;
    assert.equal(closes(0, 10), false); // the first window spans 10..60
    assert.equal(closes(50, 100), true); // fastest 10: next spans minMs, 150..200
    assert.equal(closes(100, 90), false);
    assert.equal(closes(110, 90), true); // fastest 90: next spans 180, 200..380
    assert.equal(closes(200, 170), false);
    assert.equal(closes(290, 90), true); // next spans 180, 380..560
    assert.equal(closes(400, 300), true); // fastest 300: next spans maxMs, 700..1100
    assert.equal(closes(700, 399), false);
    assert.equal(closes(700, 400), true);
  });

  test('a window of only drops reports an RTT of 0', () => {
    const window = new SampleWindow({ minMs: 1, minSamples: 2 });
    window.add(sample(0, 5, 1, true));
    assert.deepEqual(window.add(sample(10, 5, 1, true)), {
      startTime: 10,
      rttMs: 0,
      inflight: 1,
      dropped: true,
    });
  });

  test('validates its options', () => {
    for (const [options, path] of [
      [{ minMs: -1 }, 'concurrency.window.minMs'],
      [{ minMs: 500, maxMs: 100 }, 'concurrency.window.maxMs'],
      [{ minSamples: 1.5 }, 'concurrency.window.minSamples'],
      [{ size: 3 }, 'concurrency.window.size'],
    ] as const) {
      assert.throws(
        () => new SampleWindow(options as object),
        (err: unknown) => isBulwarkError(err, 'INVALID_OPTIONS') && err.path === path,
      );
    }
    assert.throws(() => new SampleWindow(null as unknown as object), /concurrency\.window/);
  });
});

test('FixedLimit never moves', () => {
  const limit = new FixedLimit(7);
  limit.onSample(sample(0, 10, 7, true));
  limit.onSample(sample(0, 1, 7));
  assert.equal(limit.limit, 7);
  assert.throws(() => new FixedLimit(0), /concurrency\.initialLimit/);
});

test('resolveBounds applies 20 / 1 / 200 and keeps the default initial limit inside custom bounds', () => {
  assert.deepEqual(resolveBounds({}), { initialLimit: 20, minLimit: 1, maxLimit: 200 });
  assert.deepEqual(resolveBounds({ maxLimit: 10 }), { initialLimit: 10, minLimit: 1, maxLimit: 10 });
  assert.deepEqual(resolveBounds({ minLimit: 300 }), { initialLimit: 300, minLimit: 300, maxLimit: 300 });
  assert.throws(() => resolveBounds({ minLimit: 10, maxLimit: 5 }), /concurrency\.maxLimit/);
});
