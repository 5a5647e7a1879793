import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CircuitBreaker,
  circuitOpenError,
  type CircuitBreakerOptions,
  type CircuitDecision,
  type CircuitPermit,
  type CircuitStateChange,
} from '../../src/policies/circuit-breaker.js';
import { CircuitBreakers } from '../../src/policies/circuit-breakers.js';
import { BulwarkError, isBulwarkError } from '../../src/errors.js';
import { createVirtualClock, type VirtualClock } from '../../src/testing/virtual-clock.js';

const START = 1_700_000_000_000;

interface Harness {
  breaker: CircuitBreaker;
  clock: VirtualClock;
  changes: string[];
  /** Runs one call through the breaker: 's' success, 'f' failure. Returns false when rejected. */
  call(outcome: 's' | 'f'): boolean;
  /** Runs a string of outcomes, e.g. 'sffs'. */
  calls(outcomes: string): void;
  at(ms: number): Promise<void>;
}

function setup(options: CircuitBreakerOptions = {}): Harness {
  const clock = createVirtualClock({ now: START });
  const changes: string[] = [];
  const breaker = new CircuitBreaker({
    key: 'api',
    clock,
    onStateChange: (c: CircuitStateChange) =>
      changes.push(`${c.at - START}: ${c.from}→${c.to} (${c.reason})`),
    ...options,
  });
  const call = (outcome: 's' | 'f'): boolean => {
    const permit = breaker.tryAcquire();
    if (!permit.allowed) return false;
    if (outcome === 's') breaker.onSuccess(permit);
    else breaker.onFailure(permit);
    return true;
  };
  return {
    breaker,
    clock,
    changes,
    call,
    calls: (outcomes) => {
      for (const o of outcomes) assert.ok(call(o === 's' ? 's' : 'f'), `call ${o} was rejected`);
    },
    at: (ms) => clock.advance(START + ms - clock.now()),
  };
}

function permitOf(decision: CircuitDecision): CircuitPermit {
  assert.ok(decision.allowed, 'expected a permit');
  return decision;
}

function retryAfter(decision: CircuitDecision): number {
  assert.ok(!decision.allowed, 'expected a rejection');
  return decision.retryAfterMs;
}

describe('CircuitBreaker: closed', () => {
  test('the closed path hands out one shared permit and counts outcomes', () => {
    const h = setup();
    const { breaker } = h;
    assert.equal(breaker.tryAcquire(), breaker.tryAcquire());
    h.calls('ssf');
    assert.deepEqual(breaker.snapshot(), { key: 'api', state: 'closed', failures: 1, calls: 3 });
    assert.deepEqual(breaker.state, { state: 'closed' });
  });

  test('trips on the failure ratio once minimumCalls calls are in the window', () => {
    const h = setup();
    h.calls('ffffffffff'); // 10 failures, 10 calls: not enough calls
    h.calls('sssssssss'); // 19 calls, ratio 10/19 but the last outcome was a success
    assert.equal(h.breaker.state.state, 'closed');
    h.calls('s'); // 20 calls, 10 failures: a success never trips
    assert.equal(h.breaker.state.state, 'closed');
    h.calls('f'); // 21 calls, 11 failures: 0.52 ≥ 0.5
    assert.deepEqual(h.breaker.state, { state: 'open', until: START + 100 });
    assert.deepEqual(h.changes, ['0: closed→open (failure-ratio)']);
  });

  test('a ratio below failureRatio never trips, however many calls', () => {
    const h = setup({ failureRatio: 0.3, minimumCalls: 10 });
    h.calls('ffsssssss'); // 9 calls
    h.calls('s');
    h.calls('f'); // 3/11 = 0.27
    assert.equal(h.breaker.state.state, 'closed');
    h.calls('f'); // 4/12 = 0.33
    assert.equal(h.breaker.state.state, 'open');
  });

  test('failureThreshold trips on an absolute count, before minimumCalls', () => {
    const h = setup({ failureThreshold: 3 });
    h.calls('ssssssssssssssssssssff');
    assert.equal(h.breaker.state.state, 'closed');
    h.calls('f');
    assert.deepEqual(h.changes, ['0: closed→open (failure-threshold)']);
  });

  test('time buckets: an outcome leaves the window 30 s after the start of its 3 s bucket', async () => {
    const h = setup({ failureThreshold: 2, failureRatio: false });
    await h.at(2_999);
    h.calls('f'); // bucket 0: [0, 3000)
    await h.at(29_999);
    assert.equal(h.breaker.snapshot().failures, 1);
    await h.at(30_000);
    assert.deepEqual(h.breaker.snapshot(), { key: 'api', state: 'closed', failures: 0, calls: 0 });
    h.calls('f');
    await h.at(59_999);
    h.calls('f');
    assert.equal(h.breaker.state.state, 'open', 'two failures 29,999 ms apart are in one window');
  });

  test('time buckets: successes leave the window too, each in the bucket of its own time', async () => {
    const h = setup({ window: { ms: 10_000, buckets: 10 }, minimumCalls: 4 });
    h.calls('f');
    await h.at(5_000);
    h.calls('sssss');
    await h.at(10_000);
    assert.deepEqual(h.breaker.snapshot(), { key: 'api', state: 'closed', failures: 0, calls: 5 });
    await h.at(15_000);
    assert.deepEqual(h.breaker.snapshot(), { key: 'api', state: 'closed', failures: 0, calls: 0 });
    h.calls('sfff');
    assert.equal(h.breaker.state.state, 'open', 'old successes no longer dilute new failures');
  });

  test('time buckets: a long idle period empties the whole window', async () => {
    const h = setup({ window: { ms: 1_000, buckets: 4 }, minimumCalls: 4 });
    h.calls('fff');
    await h.at(10_000);
    assert.deepEqual(h.breaker.snapshot().calls, 0);
    h.calls('fff');
    assert.equal(h.breaker.state.state, 'closed');
    h.calls('f');
    assert.equal(h.breaker.state.state, 'open');
  });

  test('count window: the last N calls, whenever they happened; minimumCalls is capped at N', async () => {
    const h = setup({ window: { calls: 4 } });
    h.calls('ffs');
    await h.at(3_600_000);
    h.calls('s'); // ffss: 2/4 but the last call succeeded
    h.calls('s'); // fsss
    assert.equal(h.breaker.snapshot().failures, 1);
    h.calls('f'); // sssf
    assert.equal(h.breaker.state.state, 'closed');
    h.calls('f'); // ssff: 0.5 with 4 calls
    assert.equal(h.breaker.state.state, 'open');
  });

  test('onIgnore does not count; release of a closed permit is a failure', () => {
    const { breaker } = setup({ failureThreshold: 1, failureRatio: false });
    breaker.onIgnore(permitOf(breaker.tryAcquire()));
    assert.equal(breaker.snapshot().calls, 0);
    breaker.release(permitOf(breaker.tryAcquire()));
    assert.equal(breaker.state.state, 'open');
  });
});

describe('CircuitBreaker: consecutive failures', () => {
  test('20 failures in a row over 100 ms trip it, though the window is full of successes', async () => {
    const h = setup();
    h.calls('s'.repeat(500));
    h.calls('f'.repeat(19));
    await h.at(100);
    assert.equal(h.breaker.state.state, 'closed', '19 of 519 is far from the ratio');
    h.calls('f');
    assert.deepEqual(h.breaker.state, { state: 'open', until: START + 200 });
    assert.deepEqual(h.changes, ['100: closed→open (consecutive-failures)']);
  });

  test('a burst at one instant (a reset connection) does not trip it: the streak must last 100 ms', async () => {
    const h = setup({ failureRatio: false });
    h.calls('f'.repeat(50));
    await h.at(99);
    h.calls('f');
    assert.equal(h.breaker.state.state, 'closed', '51 in a row, but within 99 ms');
    h.calls('s');
    await h.at(150);
    h.calls('f'.repeat(30));
    assert.equal(h.breaker.state.state, 'closed', 'the success started the streak over at 150 ms');
    await h.at(250);
    h.calls('f');
    assert.equal(h.breaker.state.state, 'open');
  });

  test('a success resets the streak; an ignored call leaves it as it is', async () => {
    const h = setup({ consecutiveFailures: 3, failureRatio: false });
    h.calls('ffsff');
    assert.equal(h.breaker.state.state, 'closed');
    const ignored = permitOf(h.breaker.tryAcquire());
    h.breaker.onIgnore(ignored);
    await h.at(100);
    h.calls('f');
    assert.equal(h.breaker.state.state, 'open', 'f f (ignored) f is a streak of 3');
  });

  test('closing starts a new streak; false turns the rule off', async () => {
    const h = setup({ consecutiveFailures: 2, failureRatio: false });
    h.calls('f');
    await h.at(100);
    h.calls('f');
    await h.at(200);
    h.calls('s'); // the probe closes it
    await h.at(300);
    h.calls('f');
    assert.equal(h.breaker.state.state, 'closed', 'the failure before the trip does not carry over');
    const off = setup({ consecutiveFailures: false, minimumCalls: 1_000 });
    off.calls('f'.repeat(999));
    assert.equal(off.breaker.state.state, 'closed');
  });
});

describe('CircuitBreaker: open and half-open', () => {
  test('defaults: open 100 ms, a failed probe re-opens for 100 ms again, never longer', async () => {
    const h = setup();
    h.calls('f'.repeat(19));
    await h.at(100);
    h.calls('f');
    const opened: number[] = [];
    let t = 100;
    for (let i = 0; i < 4; i++) {
      const state = h.breaker.state;
      assert.ok(state.state === 'open');
      opened.push(state.until - START - t);
      t = state.until - START;
      await h.at(t);
      h.calls('f');
    }
    assert.deepEqual(opened, [100, 100, 100, 100]);
    await h.at(t + 100);
    h.calls('s');
    assert.equal(h.breaker.state.state, 'closed');
  });

  async function tripped(options: CircuitBreakerOptions = {}): Promise<Harness> {
    const h = setup({
      failureThreshold: 1,
      failureRatio: false,
      openDuration: 5_000,
      maxOpenDuration: 60_000,
      ...options,
    });
    h.calls('f');
    await h.clock.flush();
    return h;
  }

  test('open rejects with the time left, to the millisecond; then one probe goes', async () => {
    const h = await tripped();
    assert.equal(retryAfter(h.breaker.tryAcquire()), 5_000);
    await h.at(4_999);
    assert.equal(retryAfter(h.breaker.tryAcquire()), 1);
    await h.at(5_000);
    assert.deepEqual(
      h.breaker.state,
      { state: 'half-open', probes: 0 },
      'shown as half-open before any call',
    );
    const probe = permitOf(h.breaker.tryAcquire());
    assert.notEqual(probe, h.breaker.tryAcquire(), 'a second caller is not a probe');
    assert.equal(retryAfter(h.breaker.tryAcquire()), 5_000);
    assert.deepEqual(h.breaker.state, { state: 'half-open', probes: 1 });
    h.breaker.onSuccess(probe);
    assert.deepEqual(h.changes, [
      '0: closed→open (failure-threshold)',
      '5000: open→half-open (open-elapsed)',
      '5000: half-open→closed (probes-passed)',
    ]);
    assert.deepEqual(h.breaker.snapshot(), { key: 'api', state: 'closed', failures: 0, calls: 0 });
  });

  test('each failed probe doubles the open duration up to maxOpenDuration; closing resets it', async () => {
    const h = await tripped();
    const opened: number[] = [];
    let t = 0;
    for (let i = 0; i < 6; i++) {
      const state = h.breaker.state;
      assert.ok(state.state === 'open');
      opened.push(state.until - START - t);
      t = state.until - START;
      await h.at(t);
      h.calls('f');
    }
    assert.deepEqual(opened, [5_000, 10_000, 20_000, 40_000, 60_000, 60_000]);
    const state = h.breaker.state;
    assert.ok(state.state === 'open');
    await h.at(state.until - START);
    h.calls('s');
    h.calls('f');
    assert.deepEqual(h.breaker.state, { state: 'open', until: state.until + 5_000 });
  });

  test('halfOpenRequests: every probe must pass; one failure re-opens', async () => {
    const h = await tripped({ halfOpenRequests: 3 });
    await h.at(5_000);
    const probes = [1, 2, 3].map(() => permitOf(h.breaker.tryAcquire()));
    assert.equal(retryAfter(h.breaker.tryAcquire()), 5_000);
    h.breaker.onSuccess(probes[0]!);
    h.breaker.onSuccess(probes[1]!);
    assert.equal(h.breaker.tryAcquire().allowed, false, 'a passed probe does not free a slot');
    h.breaker.onFailure(probes[2]!);
    assert.deepEqual(h.breaker.state, { state: 'open', until: START + 15_000 });
    await h.at(15_000);
    const again = [1, 2, 3].map(() => permitOf(h.breaker.tryAcquire()));
    for (const p of again) h.breaker.onSuccess(p);
    assert.equal(h.breaker.state.state, 'closed');
  });

  test('a released probe counts as a failure; an ignored one frees its slot', async () => {
    const h = await tripped();
    await h.at(5_000);
    h.breaker.onIgnore(permitOf(h.breaker.tryAcquire()));
    const probe = permitOf(h.breaker.tryAcquire());
    h.breaker.release(probe);
    assert.equal(h.changes.at(-1), '5000: half-open→open (probe-released)');
    assert.deepEqual(h.breaker.state, { state: 'open', until: START + 15_000 });
    h.breaker.onSuccess(probe); // a report after release changes nothing
    assert.equal(h.breaker.state.state, 'open');
  });

  test('a probe with no verdict after the open duration frees its slot; its late verdict is ignored', async () => {
    const h = await tripped();
    await h.at(5_000);
    const silent = permitOf(h.breaker.tryAcquire());
    await h.at(9_999);
    assert.equal(retryAfter(h.breaker.tryAcquire()), 1);
    await h.at(10_000);
    const next = permitOf(h.breaker.tryAcquire());
    h.breaker.onFailure(silent);
    assert.equal(h.breaker.state.state, 'half-open');
    h.breaker.onSuccess(next);
    assert.equal(h.breaker.state.state, 'closed');
  });

  test('late results of calls admitted before the trip are ignored', async () => {
    const h = setup({
      failureThreshold: 2,
      failureRatio: false,
      openDuration: 5_000,
      maxOpenDuration: 60_000,
    });
    const early = permitOf(h.breaker.tryAcquire());
    const late = permitOf(h.breaker.tryAcquire());
    h.calls('ff');
    h.breaker.onFailure(early); // while open
    await h.at(5_000);
    h.calls('s');
    h.breaker.onFailure(late); // after closing again: an older period
    assert.deepEqual(h.breaker.snapshot(), { key: 'api', state: 'closed', failures: 0, calls: 0 });
    // The same holds in every later period.
    const second = permitOf(h.breaker.tryAcquire());
    h.calls('ff');
    h.breaker.onFailure(second);
    h.breaker.onSuccess(second);
    assert.deepEqual(h.breaker.snapshot(), {
      key: 'api',
      state: 'open',
      failures: 2,
      calls: 2,
      openUntil: START + 10_000,
    });
    await h.at(10_000);
    h.calls('s');
    h.breaker.onFailure(second);
    assert.deepEqual(h.breaker.snapshot(), { key: 'api', state: 'closed', failures: 0, calls: 0 });
  });

  test('snapshot shows openUntil while open', async () => {
    const h = await tripped();
    assert.deepEqual(h.breaker.snapshot(), {
      key: 'api',
      state: 'open',
      failures: 1,
      calls: 1,
      openUntil: START + 5_000,
    });
    await h.at(5_000);
    assert.equal(h.breaker.snapshot().state, 'half-open');
  });

  test('isolate() rejects until reset(), with an infinite retryAfterMs', async () => {
    const h = setup();
    h.breaker.isolate();
    h.breaker.isolate();
    assert.equal(retryAfter(h.breaker.tryAcquire()), Number.POSITIVE_INFINITY);
    await h.at(10_000_000);
    assert.deepEqual(h.breaker.state, { state: 'isolated' });
    assert.equal(h.breaker.snapshot().state, 'isolated');
    h.breaker.reset();
    h.breaker.reset();
    assert.equal(h.breaker.tryAcquire().allowed, true);
    assert.deepEqual(h.changes, ['0: closed→isolated (isolated)', '10000000: isolated→closed (reset)']);
  });

  test('reset() from open closes at once with the base open duration', async () => {
    const h = await tripped();
    await h.at(5_000);
    h.calls('f'); // open for 10 s now
    h.breaker.reset();
    h.calls('f');
    assert.deepEqual(h.breaker.state, { state: 'open', until: START + 10_000 });
  });

  test('a listener may reset the circuit while it moves to half-open', async () => {
    const clock = createVirtualClock({ now: START });
    const breaker: CircuitBreaker = new CircuitBreaker({
      failureThreshold: 1,
      clock,
      onStateChange: (c) => {
        if (c.to === 'half-open') breaker.reset();
      },
    });
    breaker.onFailure(permitOf(breaker.tryAcquire()));
    await clock.advance(5_000);
    assert.equal(breaker.tryAcquire(), breaker.tryAcquire(), 'the shared closed permit');
    assert.equal(breaker.state.state, 'closed');
  });
});

describe('CircuitBreaker: execute', () => {
  test('runs the function, counts its outcome, and rejects with CIRCUIT_OPEN when open', async () => {
    const { breaker, clock } = setup({ failureThreshold: 2, failureRatio: false, openDuration: 5_000 });
    assert.equal(await breaker.execute(() => 42), 42);
    await assert.rejects(
      breaker.execute(() => Promise.reject(new Error('boom'))),
      /boom/,
    );
    await assert.rejects(
      breaker.execute(() => {
        throw new Error('sync boom');
      }),
      /sync boom/,
    );
    await clock.advance(1_200);
    let ran = false;
    await assert.rejects(
      breaker.execute(() => {
        ran = true;
      }),
      (e: unknown) => isBulwarkError(e, 'CIRCUIT_OPEN') && e.key === 'api' && e.retryAfterMs === 3_800,
    );
    assert.equal(ran, false);
  });

  test('isFailure decides for values and errors; aborts are never counted', async () => {
    const { breaker } = setup({ failureThreshold: 2, failureRatio: false });
    const isFailure = (o: { ok: boolean; value?: unknown; error?: unknown }): boolean =>
      o.ok ? o.value === 503 : !(o.error instanceof RangeError);
    await breaker.execute(() => 503, { isFailure });
    await assert.rejects(breaker.execute(() => Promise.reject(new RangeError('a 404')), { isFailure }));
    assert.deepEqual(breaker.snapshot(), { key: 'api', state: 'closed', failures: 1, calls: 2 });
    const abort = new DOMException('aborted', 'AbortError');
    await assert.rejects(breaker.execute(() => Promise.reject(abort)));
    await assert.rejects(
      breaker.execute(() => Promise.reject(new BulwarkError('ABORTED', 'caller aborted'))),
    );
    assert.equal(breaker.snapshot().calls, 2);
    await breaker.execute(() => 200, { isFailure });
    await assert.rejects(breaker.execute(() => Promise.reject(new Error('x')), { isFailure }));
    assert.equal(breaker.state.state, 'open');
  });

  test('circuitOpenError carries key and retryAfterMs', () => {
    const error = circuitOpenError('https://a.example', 250);
    assert.equal(error.code, 'CIRCUIT_OPEN');
    assert.deepEqual([error.key, error.retryAfterMs], ['https://a.example', 250]);
    assert.match(error.message, /retry in 250 ms/);
    assert.match(circuitOpenError('k', Number.POSITIVE_INFINITY).message, /isolated until reset/);
  });
});

describe('CircuitBreaker: recipes', () => {
  test('Hardhat fuse: N failures within T ms blow it for R ms', async () => {
    // fuse {standard, 4, 1000} + {reset, 2000}: the 5th failure within 1 s (10 buckets of 100 ms) blows it for 2 s.
    const recipe = {
      failureThreshold: 5,
      failureRatio: false,
      window: { ms: 1_000 },
      openDuration: 2_000,
      maxOpenDuration: 2_000,
    } as const;
    const h = setup(recipe);
    for (const t of [0, 100, 200, 300]) {
      await h.at(t);
      h.calls('f');
    }
    await h.at(1_000); // the failure at 0 has left the window
    h.calls('f');
    assert.equal(h.breaker.state.state, 'closed');
    await h.at(1_099);
    h.calls('f'); // 100, 200, 300, 1000, 1099
    assert.deepEqual(h.breaker.state, { state: 'open', until: START + 3_099 });
    // Many successes do not dilute an absolute threshold.
    const h2 = setup(recipe);
    h2.calls('s'.repeat(100) + 'ffff');
    assert.equal(h2.breaker.state.state, 'closed');
    h2.calls('f');
    assert.equal(h2.breaker.state.state, 'open');
    // After R one probe goes; a failed probe blows it for R again, never longer.
    await h.at(3_099);
    h.calls('f');
    assert.deepEqual(h.breaker.state, { state: 'open', until: START + 5_099 });
    await h.at(5_099);
    h.calls('s');
    assert.equal(h.breaker.state.state, 'closed');
  });

  test('HTTPower: 5 failures among the last 10 calls open it for 60 s', async () => {
    const h = setup({ window: { calls: 10 }, failureThreshold: 5, openDuration: 60_000 });
    h.calls('fssssssffff'); // last 10 calls: 6 successes, 4 failures
    assert.equal(h.breaker.state.state, 'closed');
    h.calls('f'); // last 10: 5 successes, 5 failures
    assert.deepEqual(h.breaker.state, { state: 'open', until: START + 60_000 });
    await h.at(59_999);
    assert.equal(h.call('s'), false);
    await h.at(60_000);
    assert.equal(h.call('s'), true);
    assert.equal(h.breaker.state.state, 'closed');
    // 5 failures in the first 5 calls trip it too, as HTTPower's absolute threshold does.
    const h2 = setup({ window: { calls: 10 }, failureThreshold: 5, openDuration: 60_000 });
    h2.calls('ffff');
    assert.equal(h2.breaker.state.state, 'closed');
    h2.calls('f');
    assert.equal(h2.breaker.state.state, 'open');
  });
});

describe('CircuitBreaker: options', () => {
  test('every option is validated with an error naming it', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ failureRatio: 0 }, /`circuitBreaker\.failureRatio`: got 0, expected a number in \(0, 1\]/],
      [{ failureRatio: 1.5 }, /circuitBreaker\.failureRatio/],
      [
        { failureRatio: false, consecutiveFailures: false },
        /circuitBreaker\.failureRatio.*unless failureThreshold or consecutiveFailures/,
      ],
      [{ consecutiveFailures: 0 }, /`circuitBreaker\.consecutiveFailures`: got 0/],
      [{ consecutiveFailures: 2.5 }, /circuitBreaker\.consecutiveFailures/],
      [{ failureThreshold: 0 }, /circuitBreaker\.failureThreshold/],
      [{ minimumCalls: 0 }, /circuitBreaker\.minimumCalls/],
      [{ window: 30_000 }, /circuitBreaker\.window/],
      [{ window: { calls: 10, ms: 100 } }, /circuitBreaker\.window/],
      [{ window: { calls: 0 } }, /circuitBreaker\.window\.calls/],
      [{ window: { ms: 0 } }, /circuitBreaker\.window\.ms/],
      [{ window: { ms: 5, buckets: 10 } }, /circuitBreaker\.window\.buckets.*at most window\.ms/],
      [{ window: { ms: 100, buckets: 0 } }, /circuitBreaker\.window\.buckets/],
      [{ openDuration: -1 }, /circuitBreaker\.openDuration/],
      [
        { openDuration: 10_000, maxOpenDuration: 5_000 },
        /circuitBreaker\.maxOpenDuration.*at least openDuration/,
      ],
      [{ halfOpenRequests: 0 }, /circuitBreaker\.halfOpenRequests/],
      [{ key: '' }, /circuitBreaker\.key/],
      [{ onStateChange: 'log' }, /circuitBreaker\.onStateChange/],
      [{ clock: Date }, /circuitBreaker\.clock/],
      [{ threshold: 5 }, /`circuitBreaker\.threshold`.*no such option/],
    ];
    for (const [options, message] of bad) {
      assert.throws(
        () => new CircuitBreaker(options),
        (e) => isBulwarkError(e, 'INVALID_OPTIONS') && message.test(e.message),
        JSON.stringify(options),
      );
    }
    assert.throws(() => new CircuitBreaker(null as unknown as CircuitBreakerOptions), /`circuitBreaker`/);
  });

  test('defaults: a small window gets fewer buckets; a long openDuration raises the cap', async () => {
    const clock = createVirtualClock({ now: START });
    const b = new CircuitBreaker({ window: { ms: 4 }, failureThreshold: 1, openDuration: 100_000, clock });
    b.onFailure(permitOf(b.tryAcquire()));
    await clock.advance(100_000);
    b.onFailure(permitOf(b.tryAcquire()));
    assert.deepEqual(b.state, { state: 'open', until: START + 200_000 });
    assert.equal(new CircuitBreaker().key, 'default');
  });
});

describe('CircuitBreakers', () => {
  test('one breaker per key, created on first use, sharing the options', () => {
    const clock = createVirtualClock({ now: START });
    const changes: string[] = [];
    const breakers = new CircuitBreakers({
      failureThreshold: 1,
      clock,
      onStateChange: (c) => changes.push(c.key),
    });
    const a = breakers.get('https://a.example');
    assert.equal(breakers.get('https://a.example'), a);
    assert.equal(breakers.peek('https://b.example'), undefined);
    assert.equal(breakers.peek('https://a.example'), a);
    a.onFailure(permitOf(a.tryAcquire()));
    assert.equal(breakers.get('https://b.example').tryAcquire().allowed, true);
    assert.deepEqual(changes, ['https://a.example']);
    assert.deepEqual(
      breakers.snapshot().map((s) => [s.key, s.state]),
      [
        ['https://a.example', 'open'],
        ['https://b.example', 'closed'],
      ],
    );
    assert.equal(breakers.size, 2);
  });

  test('closed breakers unused for idleTimeout are evicted; open ones stay', async () => {
    const clock = createVirtualClock({ now: START });
    const breakers = new CircuitBreakers({
      failureThreshold: 1,
      idleTimeout: 1_000,
      openDuration: 60_000,
      clock,
    });
    const open = breakers.get('open');
    open.onFailure(permitOf(open.tryAcquire()));
    for (let i = 0; i < 100; i++) breakers.get(`k${i}`);
    await clock.advance(1_000);
    breakers.get('hot');
    assert.equal(breakers.size, 102, 'nothing goes before idleTimeout');
    await clock.advance(500); // the background sweep drops the idle ones (1 to 1.25 idleTimeouts)
    for (let i = 0; i < 64; i++) breakers.get('hot'); // used: survives
    await clock.advance(500);
    breakers.get('new');
    assert.deepEqual(
      breakers
        .snapshot()
        .map((s) => s.key)
        .sort(),
      ['hot', 'new', 'open'],
    );
    assert.equal(breakers.peek('k1'), undefined);
  });

  test('validates its own options', () => {
    assert.throws(() => new CircuitBreakers({ idleTimeout: 0 }), /circuitBreaker\.idleTimeout/);
    assert.throws(() => new CircuitBreakers({ key: 'x' } as never), /circuitBreaker\.key/);
    assert.throws(() => new CircuitBreakers({ failureRatio: 2 }), /circuitBreaker\.failureRatio/);
    assert.equal(new CircuitBreakers().get('a').key, 'a');
  });
});
