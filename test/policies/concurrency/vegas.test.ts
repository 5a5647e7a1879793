import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VegasLimit, type VegasOptions } from '../../../src/policies/concurrency/vegas.js';
import { isBulwarkError } from '../../../src/errors.js';

const sample = (rttMs: number, inflight: number, dropped = false, startTime = 0) => ({
  startTime,
  rttMs,
  inflight,
  dropped,
});

/** Per sample, with the probe pushed out of the way (jitter 0.99 → every ~30·limit samples). */
const vegas = (options: VegasOptions = {}) =>
  new VegasLimit({ window: false, random: () => 0.98, ...options });

describe('VegasLimit, per sample', () => {
  test("Netflix's case: no queue at limit 10 grows by beta", () => {
    const limit = vegas({ initialLimit: 10 });
    limit.onSample(sample(10, 10)); // first sample: the no-load RTT
    assert.equal(limit.limit, 10);
    assert.equal(limit.rttNoLoadMs, 10);
    limit.onSample(sample(10, 11));
    assert.equal(limit.limit, 16);
  });

  test('keeps the estimated queue between alpha (3) and beta (6) at a limit under 100', () => {
    const at = (rtt: number) => {
      const limit = vegas();
      limit.onSample(sample(10, 20));
      limit.onSample(sample(rtt, 20));
      return limit.limit;
    };
    assert.equal(at(11), 21, 'queue 2: below alpha, +log10');
    assert.equal(at(12.5), 20, 'queue 4: inside [alpha, beta]');
    assert.equal(at(50), 19, 'queue 16: above beta, −log10');
  });

  test('steps scale with log10 of the limit', () => {
    const limit = vegas({ initialLimit: 150 });
    limit.onSample(sample(10, 150));
    limit.onSample(sample(10, 150));
    assert.equal(limit.limit, 162); // + 6·⌊log10 150⌋
    limit.onSample(sample(1, 160, true));
    assert.equal(limit.limit, 160);
  });

  test('a drop shrinks the limit and leaves the no-load RTT alone', () => {
    const limit = vegas();
    limit.onSample(sample(10, 20));
    limit.onSample(sample(1, 20, true));
    assert.equal(limit.limit, 19);
    assert.equal(limit.rttNoLoadMs, 10);
  });

  test('does not move while fewer than half the limit are in flight', () => {
    const limit = vegas();
    limit.onSample(sample(10, 5));
    limit.onSample(sample(10, 5));
    limit.onSample(sample(100, 5));
    assert.equal(limit.limit, 20);
  });

  test('respects minLimit and maxLimit', () => {
    const limit = vegas({ minLimit: 4, maxLimit: 30 });
    limit.onSample(sample(10, 20));
    for (let i = 0; i < 10; i++) limit.onSample(sample(10, 30));
    assert.equal(limit.limit, 30);
    for (let i = 0; i < 50; i++) limit.onSample(sample(10, 30, true));
    assert.equal(limit.limit, 4);
  });

  test('smoothing moves only part of the way', () => {
    const limit = vegas({ smoothing: 0.5 });
    limit.onSample(sample(10, 20));
    limit.onSample(sample(10, 20));
    assert.equal(limit.limit, 23); // 20 + 0.5·6
  });

  test('re-measures the no-load RTT every probeMultiplier · limit · jitter samples', () => {
    const limit = vegas({ random: () => 0, probeMultiplier: 1, initialLimit: 4, maxLimit: 4 });
    // jitter 0.5 → a probe every 0.5·1·4 = 2 samples: the second sample becomes the baseline.
    limit.onSample(sample(10, 4));
    assert.equal(limit.rttNoLoadMs, 10);
    limit.onSample(sample(30, 4));
    assert.equal(limit.rttNoLoadMs, 30);
    limit.onSample(sample(40, 4));
    limit.onSample(sample(50, 4));
    assert.equal(limit.rttNoLoadMs, 50);
  });

  test('ignores samples without a usable RTT', () => {
    const limit = vegas();
    limit.onSample(sample(0, 20));
    limit.onSample(sample(Number.NaN, 20));
    assert.equal(limit.rttNoLoadMs, 0);
    assert.equal(limit.limit, 20);
  });
});

describe('VegasLimit, windowed (the default)', () => {
  test('the no-load RTT is the lowest window average, not the fastest sample', () => {
    const limit = new VegasLimit({ random: () => 0.98 });
    for (let i = 0; i <= 10; i++) limit.onSample(sample(i % 2 === 0 ? 2 : 18, 20, false, i * 100));
    assert.equal(limit.rttNoLoadMs, (6 * 2 + 5 * 18) / 11);
  });
});

test('VegasLimit validates its options', () => {
  for (const [options, path] of [
    [{ smoothing: 2 }, 'concurrency.smoothing'],
    [{ probeMultiplier: 0 }, 'concurrency.probeMultiplier'],
    [{ random: 1 }, 'concurrency.random'],
  ] as const) {
    assert.throws(
      () => new VegasLimit(options as VegasOptions),
      (err: unknown) => isBulwarkError(err, 'INVALID_OPTIONS') && err.path === path,
    );
  }
});
