import { test, describe } from 'node:test';
import { strict as assert } from 'node:assert';
import {
  failedCriteria,
  judge,
  verdictLine,
  type CriterionId,
  type VerdictInput,
} from '../../lab/engine/verdict.js';

/** The plain client of every case: 70 % success, p99 200 ms, 1000 requests to the API. */
const plain = { name: 'plain', successRate: 0.7, p99: 200, upstreamReceived: 1000 };

function verdict(candidate: Partial<VerdictInput>, blackhole = false): ReturnType<typeof judge> {
  return judge({ ...plain, name: 'defaults', ...candidate }, plain, blackhole);
}

function failed(candidate: Partial<VerdictInput>, blackhole = false): CriterionId[] {
  return failedCriteria(verdict(candidate, blackhole)).map((c) => c.id);
}

describe('verdict: criterion 1, success ≥ plain − 1 point', () => {
  test('exactly 1 point below passes; a little more fails, alone', () => {
    assert.deepEqual(failed({ successRate: 0.69 }), []);
    assert.deepEqual(failed({ successRate: 0.6899 }), ['success']);
  });

  test('the same success as plain, at the same cost, passes', () => {
    const v = verdict({});
    assert.equal(v.outcome, 'pass');
    assert.equal(v.gain, 0);
  });
});

describe('verdict: criterion 2, no latency and no load without a gain of 1 point', () => {
  test('p99 limit is 1.5 × plain when that is more than plain + 150 ms', () => {
    const slow = { ...plain, p99: 400 };
    const judgeP99 = (p99: number): CriterionId[] =>
      failedCriteria(judge({ ...slow, name: 'defaults', p99 }, slow, false)).map((c) => c.id);
    assert.deepEqual(judgeP99(600), [], '1.5 × 400 = 600 (> 400 + 150)');
    assert.deepEqual(judgeP99(600.5), ['cost-without-gain']);
  });

  test('p99 limit is plain + 150 ms when that is more than 1.5 ×', () => {
    assert.deepEqual(failed({ p99: 350 }), [], '200 + 150 = 350 (> 1.5 × 200)');
    assert.deepEqual(failed({ p99: 351 }), ['cost-without-gain']);
  });

  test('requests to the API may grow 15 % without a gain, not more', () => {
    assert.deepEqual(failed({ upstreamReceived: 1150 }), []);
    assert.deepEqual(failed({ upstreamReceived: 1151 }), ['cost-without-gain']);
  });

  test('a gain of exactly 1 point buys latency and load (up to the storm bound)', () => {
    const costly = { successRate: 0.71, p99: 5000, upstreamReceived: 1900 };
    assert.deepEqual(failed(costly), []);
    const c2 = verdict(costly).criteria.find((c) => c.id === 'cost-without-gain')!;
    assert.equal(c2.applies, false);
    assert.match(c2.detail, /not judged/);
  });

  test('a gain just under 1 point does not', () => {
    assert.deepEqual(failed({ successRate: 0.7099, p99: 5000 }), ['cost-without-gain']);
  });

  test('a loss of success with a higher p99 fails both criteria', () => {
    assert.deepEqual(failed({ successRate: 0.5, p99: 2000 }), ['success', 'cost-without-gain']);
  });
});

describe('verdict: criterion 3, the API never receives more than 2 × plain', () => {
  test('exactly twice passes; more fails even with a large gain', () => {
    assert.deepEqual(failed({ successRate: 0.95, upstreamReceived: 2000 }), []);
    assert.deepEqual(failed({ successRate: 0.95, upstreamReceived: 2001 }), ['no-storm']);
  });

  test('plain received nothing: anything received is a storm', () => {
    const idle = { ...plain, upstreamReceived: 0 };
    const v = judge({ ...idle, name: 'defaults', upstreamReceived: 3 }, idle, false);
    assert.deepEqual(
      failedCriteria(v).map((c) => c.id),
      ['cost-without-gain', 'no-storm'],
    );
  });
});

describe('verdict: criterion 4, a black hole needs ≥ plain + 3 points', () => {
  test('only in a scenario with a black hole', () => {
    assert.deepEqual(failed({ successRate: 0.72 }), []);
    assert.deepEqual(failed({ successRate: 0.72 }, true), ['blackhole-gain']);
    assert.deepEqual(failed({ successRate: 0.73 }, true), []);
  });

  test('no gain at all in a black hole fails criterion 4 alone', () => {
    assert.deepEqual(failed({}, true), ['blackhole-gain']);
  });
});

describe('verdict outcome and wording', () => {
  test('no calls: not judged', () => {
    const v = verdict({ successRate: null, p99: null });
    assert.equal(v.outcome, 'n/a');
    assert.match(verdictLine(v, { ...plain, successRate: null, p99: null }, plain), /^n\/a/);
  });

  test('a pass reads the figures; a fail names the criteria it fails', () => {
    const pass = { ...plain, successRate: 0.75, p99: 300, upstreamReceived: 1100 };
    assert.equal(
      verdictLine(judge({ ...pass, name: 'defaults' }, plain, false), pass, plain),
      'PASS (+5.0 pt success, p99 300 ms vs 200 ms, 1.10 × API requests)',
    );
    const fail = { ...plain, successRate: 0.6, p99: 1500, upstreamReceived: 3000 };
    assert.equal(
      verdictLine(judge({ ...fail, name: 'defaults' }, plain, false), fail, plain),
      'FAIL: fails 1 success ≥ plain − 1 pt; fails 2 no latency or load without a gain; fails 3 API requests ≤ 2 × plain (−10.0 pt success, p99 1.50 s vs 200 ms, 3.00 × API requests)',
    );
  });

  test('every criterion explains what it compared', () => {
    const v = verdict({ successRate: 0.689, p99: 400, upstreamReceived: 1200 }, true);
    const detail = Object.fromEntries(v.criteria.map((c) => [c.id, c.detail]));
    assert.match(detail['success']!, /success 68\.9% vs 70\.0% \(−1\.1 pt; allowed ≥ −1 pt\)/);
    assert.match(
      detail['cost-without-gain']!,
      /p99 400 ms vs 200 ms \(allowed ≤ 350 ms\), API requests 1\.20/,
    );
    assert.match(detail['no-storm']!, /API requests 1200 vs 1000 \(1\.20 ×; allowed ≤ 2 ×\)/);
    assert.match(detail['blackhole-gain']!, /a black hole needs ≥ \+3 pt/);
  });
});
