import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { gcraHold, gcraState, gcraTake, intervalMicros, toMicros } from '../../src/policies/gcra.js';
import type { GcraParams } from '../../src/policies/store-contract.js';

const NOW = toMicros(1_700_000_000_000);
const ms = (n: number): number => NOW + n * 1000;
// 10 per second, burst 3.
const P: GcraParams = { emissionIntervalMs: 100, burst: 3 };

/** Takes `count` requests at `at` µs with no wait allowed, returning the last result and the TAT. */
function drain(tat: number, at: number, params: GcraParams, count: number): number {
  let current = tat;
  for (let i = 0; i < count; i++) {
    const r = gcraTake(current, at, params, 1, 0);
    assert.equal(r.allowed, true);
    current = r.tat;
  }
  return current;
}

describe('gcraTake', () => {
  test('a new key admits a full burst at once, then refuses with the time to the next slot', () => {
    let tat = 0;
    const remaining: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = gcraTake(tat, NOW, P, 1, 0);
      assert.equal(r.allowed && r.waitMs, 0);
      remaining.push(r.remaining);
      tat = r.tat;
    }
    assert.deepEqual(remaining, [2, 1, 0]);
    const refused = gcraTake(tat, NOW, P, 1, 0);
    assert.deepEqual(refused, { allowed: false, retryAfterMs: 100, remaining: 0, tat });
  });

  test('tokens come back one per interval, to the millisecond', () => {
    const tat = drain(0, NOW, P, 3);
    assert.deepEqual(gcraTake(tat, ms(99), P, 1, 0), { allowed: false, retryAfterMs: 1, remaining: 0, tat });
    const at100 = gcraTake(tat, ms(100), P, 1, 0);
    assert.equal(at100.allowed, true);
    assert.equal(at100.remaining, 0);
    // A bucket drained at t is exactly full at t + burst × interval, even for a rate of 3 per second.
    const third: GcraParams = { emissionIntervalMs: 1000 / 3, burst: 3 };
    const drained = drain(0, NOW, third, 3);
    assert.equal(gcraState(drained, ms(999), third).remaining, 2);
    assert.equal(gcraState(drained, ms(1000), third).remaining, 3);
    drain(drained, ms(1000), third, 3);
  });

  test('a wait within maxWait reserves the slot; later callers queue behind it, one interval apart', () => {
    let tat = drain(0, NOW, P, 3);
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = gcraTake(tat, NOW, P, 1, 1_000);
      assert.ok(r.allowed);
      waits.push(r.waitMs);
      tat = r.tat;
    }
    assert.deepEqual(waits, [100, 200, 300, 400]);
    const tooFar = gcraTake(tat, NOW, P, 1, 450);
    assert.deepEqual(
      tooFar,
      { allowed: false, retryAfterMs: 500, remaining: 0, tat },
      'a refusal reserves nothing',
    );
  });

  test('wait and retryAfter round up to whole milliseconds', () => {
    const odd: GcraParams = { emissionIntervalMs: 0.4, burst: 1 };
    const tat = drain(0, NOW, odd, 1);
    const r = gcraTake(tat, NOW, odd, 1, 1);
    assert.equal(r.allowed && r.waitMs, 1);
    const refused = gcraTake(r.tat, NOW, odd, 1, 0);
    assert.ok(!refused.allowed);
    assert.equal(refused.retryAfterMs, 1);
  });

  test('cost takes several tokens; a cost above the burst waits for the debt', () => {
    const r = gcraTake(0, NOW, P, 2, 0);
    assert.equal(r.allowed, true);
    assert.equal(r.remaining, 1);
    assert.equal(gcraTake(r.tat, NOW, P, 2, 0).allowed, false);
    const big = gcraTake(0, NOW, P, 5, 1_000);
    assert.equal(big.allowed && big.waitMs, 200);
  });

  test('the interval has a floor of one microsecond', () => {
    assert.equal(intervalMicros({ emissionIntervalMs: 0.0000001, burst: 1 }), 1);
    assert.equal(intervalMicros({ emissionIntervalMs: 720, burst: 1 }), 720_000);
  });
});

describe('gcraHold', () => {
  test('nothing is granted before now + forMs, and one request at exactly that time', () => {
    const tat = gcraHold(0, NOW, P, 1_000);
    assert.deepEqual(gcraTake(tat, ms(999), P, 1, 0), { allowed: false, retryAfterMs: 1, remaining: 0, tat });
    const at = gcraTake(tat, ms(1_000), P, 1, 0);
    assert.equal(at.allowed, true);
    assert.equal(gcraTake(at.tat, ms(1_000), P, 1, 0).allowed, false, 'the bucket restarts empty');
  });

  test('never shortens a bucket that is already further out', () => {
    const far = gcraHold(0, NOW, P, 10_000);
    assert.equal(gcraHold(far, NOW, P, 1_000), far);
  });
});

describe('gcraState', () => {
  test('reports tokens and the time to the next one', () => {
    assert.deepEqual(gcraState(0, NOW, P), { remaining: 3, nextFreeMs: 0 });
    const tat = drain(0, NOW, P, 3);
    assert.deepEqual(gcraState(tat, ms(30), P), { remaining: 0, nextFreeMs: 70 });
    assert.deepEqual(gcraState(tat, ms(250), P), { remaining: 2, nextFreeMs: 0 });
  });
});

describe('GCRA properties', () => {
  const paramsArb = fc.record({
    emissionIntervalMs: fc.integer({ min: 1, max: 5_000 }).map((n) => n / 7),
    burst: fc.integer({ min: 1, max: 20 }),
  });

  test('without waiting, no window of time admits more than burst + elapsed / interval', () => {
    fc.assert(
      fc.property(
        paramsArb,
        fc.array(fc.integer({ min: 0, max: 3_000_000 }), { maxLength: 200 }),
        (params, gaps) => {
          const t = intervalMicros(params);
          let now = NOW;
          let tat = 0;
          const admitted: number[] = [];
          for (const gap of gaps) {
            now += gap;
            const r = gcraTake(tat, now, params, 1, 0);
            if (r.allowed) {
              admitted.push(now);
              tat = r.tat;
            }
          }
          for (let i = 0; i < admitted.length; i++) {
            for (let j = i; j < admitted.length; j++) {
              const span = (admitted[j] ?? 0) - (admitted[i] ?? 0);
              assert.ok(j - i + 1 <= params.burst + Math.floor(span / t));
            }
          }
        },
      ),
    );
  });

  test('waiters are served in arrival order, never before their reserved slot, and refusals change nothing', () => {
    fc.assert(
      fc.property(
        paramsArb,
        fc.array(fc.tuple(fc.integer({ min: 0, max: 50_000 }), fc.integer({ min: 0, max: 2_000 })), {
          maxLength: 100,
        }),
        (params, calls) => {
          let now = NOW;
          let tat = 0;
          let lastSend = 0;
          for (const [gap, maxWait] of calls) {
            now += gap;
            const r = gcraTake(tat, now, params, 1, maxWait);
            if (r.allowed) {
              assert.ok(r.waitMs <= Math.ceil(maxWait));
              const send = now + r.waitMs * 1000;
              assert.ok(send >= lastSend, 'FIFO');
              assert.ok(
                r.tat - params.burst * intervalMicros(params) <= send,
                'the slot is due when the wait ends',
              );
              lastSend = send;
              tat = r.tat;
            } else {
              assert.equal(r.tat, tat);
              assert.ok(r.retryAfterMs > maxWait);
            }
          }
        },
      ),
    );
  });
});
