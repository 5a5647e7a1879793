import { test, describe } from 'node:test';
import { strict as assert } from 'node:assert';
import type { CallRecord } from '../../lab/engine/load.js';
import { measureRecovery } from '../../lab/engine/recovery.js';
import { reasonOf } from '../../lab/engine/sampler.js';

/** A call every 10 ms from 0 to `until`; `ok(start)` says which succeed. */
function calls(until: number, ok: (start: number) => boolean): CallRecord[] {
  const out: CallRecord[] = [];
  for (let id = 0, start = 0; start < until; id++, start += 10)
    out.push({
      id,
      start,
      end: start + 1,
      ok: ok(start),
      outcome: ok(start) ? '200' : 'X',
      attempts: 1,
      cutOff: false,
    });
  return out;
}

const phase = { from: 1000, to: 2000 };
const open = (at: number) => ({ at, key: 'k', from: 'closed', to: 'open', reason: 'r' });

describe('time to detect and time to recover', () => {
  test('a client that recovers with the API: 0 s; no breaker: detection not measured', () => {
    const r = measureRecovery(
      phase,
      { name: 'plain', calls: calls(4000, (t) => t < 1000 || t >= 2000), transitions: [], hasBreaker: false },
      100,
      4000,
    );
    assert.deepEqual(r, { config: 'plain', detectMs: null, hasBreaker: false, recoverMs: 0 });
  });

  test('a breaker open 1.5 s after the API is back recovers then, in bucket steps', () => {
    const r = measureRecovery(
      phase,
      {
        name: 'defaults',
        calls: calls(4000, (t) => t < 1000 || t >= 3500),
        transitions: [open(1250)],
        hasBreaker: true,
      },
      250,
      4000,
    );
    assert.equal(r.detectMs, 250);
    assert.equal(r.recoverMs, 1500);
  });

  test('recovered means 90 % of the pre-fault success rate, not 100 %', () => {
    // Before the fault 80 % succeed; after it 3 calls in 4 (75 % ≥ 0.9 × 80 %): recovered at once.
    const flaky = (t: number): boolean => (t / 10) % 5 !== 0;
    const after = (t: number): boolean => (t / 10) % 4 !== 0;
    const r = measureRecovery(
      phase,
      {
        name: 'x',
        calls: calls(3000, (t) => (t < 1000 ? flaky(t) : t >= 2000 && after(t))),
        transitions: [],
        hasBreaker: true,
      },
      200,
      3000,
    );
    assert.equal(r.recoverMs, 0);
    assert.equal(r.detectMs, null, 'a breaker that never opened: never detected');
  });

  test('an opening before the phase or after it is not a detection; no recovery by the end is null', () => {
    const r = measureRecovery(
      phase,
      {
        name: 'x',
        calls: calls(3000, (t) => t < 1000),
        transitions: [open(900), open(2100)],
        hasBreaker: true,
      },
      100,
      3000,
    );
    assert.equal(r.detectMs, null);
    assert.equal(r.recoverMs, null);
  });
});

describe('breaker transition reasons', () => {
  test('bulwark’s own reason wins; otherwise the states and figures say it', () => {
    assert.equal(
      reasonOf({ from: 'closed', to: 'open', reason: 'consecutive-failures', failureRatio: 1, openMs: 500 }),
      'consecutive-failures, failure ratio 100%, open for 500 ms',
    );
    assert.equal(
      reasonOf({ from: 'closed', to: 'open', failureRatio: 0.55, openMs: 5000 }),
      'failures in the window, failure ratio 55%, open for 5 s',
    );
    assert.equal(
      reasonOf({ from: 'half-open', to: 'open', openMs: 10_000 }),
      'a probe failed, open for 10 s',
    );
    assert.equal(reasonOf({ from: 'open', to: 'half-open' }), 'open duration elapsed: probing');
    assert.equal(reasonOf({ from: 'half-open', to: 'closed' }), 'probes passed');
    assert.equal(reasonOf({ from: 'open', to: 'closed' }), 'open→closed');
  });
});
