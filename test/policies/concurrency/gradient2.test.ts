import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Gradient2Limit } from '../../../src/policies/concurrency/gradient2.js';
import { isBulwarkError } from '../../../src/errors.js';

const sample = (rttMs: number, inflight: number, dropped = false, startTime = 0) => ({
  startTime,
  rttMs,
  inflight,
  dropped,
});

/** Feeds `n` samples at `rttMs` with the limit fully used. */
function feed(limit: Gradient2Limit, n: number, rttMs: number): void {
  for (let i = 0; i < n; i++) limit.onSample(sample(rttMs, limit.limit));
}

describe('Gradient2Limit, per sample', () => {
  test('grows by smoothing × queueSize per update while RTT is flat', () => {
    const limit = new Gradient2Limit({ window: false });
    assert.equal(limit.limit, 20);
    feed(limit, 10, 10);
    // est + 0.2 · 4 per sample
    assert.equal(limit.limit, 28);
  });

  test('does not grow while fewer than half the limit are in flight', () => {
    const limit = new Gradient2Limit({ window: false });
    for (let i = 0; i < 50; i++) limit.onSample(sample(10, 9));
    assert.equal(limit.limit, 20);
    assert.equal(limit.longRttMs, 10);
  });

  test('shrinks by at most 10% per update when RTT rises past the tolerance', () => {
    const limit = new Gradient2Limit({ window: false, initialLimit: 100 });
    feed(limit, 10, 10);
    assert.equal(limit.limit, 108);
    limit.onSample(sample(100, 108));
    // gradient clamps at 0.5: est · 0.9 + 0.8
    assert.equal(limit.limit, Math.floor(108 * 0.9 + 0.8));
    feed(limit, 200, 100);
    const sustained: number = limit.limit;
    assert.ok(sustained < 20, `limit ${sustained} after sustained queueing`);
  });

  test('tolerates RTT up to `tolerance` times the long-term average', () => {
    const limit = new Gradient2Limit({ window: false });
    feed(limit, 10, 10);
    feed(limit, 5, 14); // 1.4× the baseline: inside 1.5
    assert.equal(limit.limit, 32);
    const strict = new Gradient2Limit({ window: false, tolerance: 1 });
    feed(strict, 10, 10);
    feed(strict, 5, 14);
    assert.ok(strict.limit < 28, `strict limit ${strict.limit}`);
  });

  test('a drop multiplies the limit by 1 − smoothing/2, whatever the RTT', () => {
    const limit = new Gradient2Limit({ window: false, initialLimit: 100 });
    limit.onSample(sample(1, 100, true));
    assert.equal(limit.limit, 90);
    limit.onSample(sample(1, 1, true)); // even when app-limited
    assert.equal(limit.limit, 81);
    assert.equal(limit.longRttMs, 0, 'a drop does not feed the RTT baseline');
  });

  test('respects minLimit and maxLimit', () => {
    const low = new Gradient2Limit({ window: false, minLimit: 5 });
    for (let i = 0; i < 100; i++) low.onSample(sample(1, 20, true));
    assert.equal(low.limit, 5);
    const high = new Gradient2Limit({ window: false, maxLimit: 50 });
    feed(high, 500, 10);
    assert.equal(high.limit, 50);
  });

  test('pulls the long-term RTT down fast once latency recovers', () => {
    const limit = new Gradient2Limit({ window: false });
    feed(limit, 10, 100);
    assert.equal(limit.longRttMs, 100);
    limit.onSample(sample(10, 20));
    const ema = 100 * (1 - 2 / 601) + 10 * (2 / 601);
    assert.equal(limit.longRttMs, ema * 0.95);
    assert.equal(limit.shortRttMs, 10);
  });

  test('queueSize may be a function of the current limit', () => {
    const seen: number[] = [];
    const limit = new Gradient2Limit({
      window: false,
      queueSize: (l) => {
        seen.push(l);
        return Math.sqrt(l);
      },
    });
    feed(limit, 2, 10);
    assert.deepEqual(seen, [20, 20]);
    assert.equal(limit.limit, 21); // 20 + 0.2·√20 ≈ 20.89, then + 0.2·√20 again
  });

  test('ignores samples without a usable RTT', () => {
    const limit = new Gradient2Limit({ window: false });
    for (const rtt of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) limit.onSample(sample(rtt, 20));
    assert.equal(limit.limit, 20);
    assert.equal(limit.longRttMs, 0);
  });
});

describe('Gradient2Limit, windowed (the default)', () => {
  test('updates once per one-second window, on the average RTT', () => {
    const limit = new Gradient2Limit();
    let t = 0;
    for (let i = 0; i < 99; i++)
      limit.onSample(sample(i === 98 ? 10 : i % 2 === 0 ? 5 : 15, 20, false, (t += 10)));
    assert.equal(limit.limit, 20, 'no update inside the window');
    limit.onSample(sample(10, 20, false, 1_005)); // ends 1 s after the first sample ended
    assert.equal(limit.longRttMs, 10, 'the window average');
    assert.equal(limit.limit, 20); // 20.8
    for (let i = 0; i < 10; i++) limit.onSample(sample(10, 21, false, 2_005));
    assert.equal(limit.limit, 21); // 21.6
  });

  test('a window with one drop in it backs off once', () => {
    const limit = new Gradient2Limit({ initialLimit: 100 });
    for (let i = 0; i < 20; i++) limit.onSample(sample(10, 100, i % 4 === 0, 100 * i));
    assert.equal(limit.limit, 90);
  });
});

test('Gradient2Limit validates its options, naming concurrency.<option>', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ tolerance: 0.5 }, 'concurrency.tolerance'],
    [{ smoothing: 0 }, 'concurrency.smoothing'],
    [{ smoothing: 1.5 }, 'concurrency.smoothing'],
    [{ queueSize: -1 }, 'concurrency.queueSize'],
    [{ longWindow: 0 }, 'concurrency.longWindow'],
    [{ longWindow: 1.5 }, 'concurrency.longWindow'],
    [{ window: { minMs: 0 } }, 'concurrency.window.minMs'],
    [{ minLimit: 0 }, 'concurrency.minLimit'],
    [{ initialLimit: 300 }, 'concurrency.initialLimit'],
    [{ tolerence: 2 }, 'concurrency.tolerence'],
  ];
  for (const [options, path] of cases) {
    assert.throws(
      () => new Gradient2Limit(options),
      (err: unknown) =>
        isBulwarkError(err, 'INVALID_OPTIONS') && err.path === path && err.message.includes(path),
      path,
    );
  }
});
