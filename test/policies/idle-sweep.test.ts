/**
 * Idle per-key state goes with no later call: closed breakers nobody asks for and refilled
 * rate-limit buckets are freed by one background timer per map, armed only while the map holds
 * something, cleared by close(); state still in use stays.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreakers } from '../../src/policies/circuit-breakers.js';
import { MemoryStore } from '../../src/policies/memory-store.js';
import { RateLimiter } from '../../src/policies/rate-limiter.js';
import type { GcraParams } from '../../src/policies/store-contract.js';
import { createVirtualClock } from '../../src/testing/virtual-clock.js';

const KEYS = 100_000;
const names = Array.from({ length: KEYS }, (_, i) => `https://tenant-${i}.api.example.com`);

function fillBreakers(breakers: CircuitBreakers, keys: readonly string[]): void {
  for (const key of keys) {
    const breaker = breakers.get(key);
    const permit = breaker.tryAcquire();
    if (permit.allowed) breaker.onSuccess(permit);
  }
}

describe('CircuitBreakers: the idle sweep', () => {
  test('100k idle breakers are all gone within 1.25 idleTimeouts, with no later call', async () => {
    const clock = createVirtualClock();
    const breakers = new CircuitBreakers({ idleTimeout: 60_000, clock });
    fillBreakers(breakers, names);
    assert.equal(breakers.size, KEYS);
    assert.equal(clock.pendingBackground(), 1, 'one timer for the whole map');
    assert.equal(clock.pending(), 0, 'and no timer a call would wait for');
    await clock.advance(60_000);
    assert.equal(breakers.size, KEYS, 'none goes before idleTimeout');
    await clock.advance(15_000);
    assert.equal(breakers.size, 0, 'all gone by 1.25 × idleTimeout');
    assert.equal(clock.pendingBackground(), 0, 'the timer stops with the map empty');
    fillBreakers(breakers, ['again']);
    assert.equal(clock.pendingBackground(), 1, 'and starts again with the next key');
  });

  test('a breaker in use is kept: open, isolated, half-open, or asked for within idleTimeout', async () => {
    const clock = createVirtualClock();
    const breakers = new CircuitBreakers({
      idleTimeout: 1_000,
      failureThreshold: 1,
      openDuration: 10_000,
      clock,
    });
    const open = breakers.get('open');
    open.onFailure(open.tryAcquire() as never);
    breakers.get('isolated').isolate();
    fillBreakers(breakers, ['busy', 'idle']);
    for (let t = 0; t < 20; t++) {
      await clock.advance(250);
      fillBreakers(breakers, ['busy']); // asked for every 250 ms, for 5 s
    }
    assert.deepEqual([...keysOf(breakers)], ['busy', 'isolated', 'open']);
    assert.equal(open.state.state, 'open');
    await clock.advance(5_500); // the open period is over: half-open, waiting for its probe
    assert.equal(open.state.state, 'half-open');
    assert.deepEqual([...keysOf(breakers)], ['isolated', 'open'], 'the half-open one waits for a probe');
    const probe = open.tryAcquire();
    if (!probe.allowed) assert.fail('the probe was refused');
    open.onSuccess(probe);
    await clock.advance(1_250);
    assert.deepEqual([...keysOf(breakers)], ['isolated'], 'closed by its probe, then idle: gone');
  });

  test('a tripped breaker nobody calls again goes idleTimeout after its open period ended', async () => {
    const clock = createVirtualClock();
    const breakers = new CircuitBreakers({
      idleTimeout: 1_000,
      failureThreshold: 1,
      openDuration: 2_000,
      clock,
    });
    // A tenant trips in an outage and never calls again: its breaker waits for a probe nobody sends.
    const tripped = breakers.get('tripped');
    tripped.onFailure(tripped.tryAcquire() as never);
    await clock.advance(2_000);
    assert.equal(tripped.state.state, 'half-open');
    await clock.advance(750);
    assert.deepEqual([...keysOf(breakers)], ['tripped'], 'under idleTimeout since it could probe: kept');
    await clock.advance(500);
    assert.equal(breakers.size, 0, 'gone 1 to 1.25 idleTimeouts after its open period ended');
    assert.equal(clock.pendingBackground(), 0);
    // A probe in flight is kept however long it takes.
    const probing = breakers.get('probing');
    probing.onFailure(probing.tryAcquire() as never);
    await clock.advance(2_000);
    const probe = probing.tryAcquire();
    assert.equal(probe.allowed, true);
    await clock.advance(5_000);
    assert.deepEqual([...keysOf(breakers)], ['probing']);
    probing.onSuccess(probe);
  });

  test('a breaker is never dropped before idleTimeout has passed since its last use', async () => {
    const clock = createVirtualClock();
    const breakers = new CircuitBreakers({ idleTimeout: 1_000, clock });
    fillBreakers(breakers, ['a', 'b']);
    for (let ms = 1; ms < 1_500; ms++) {
      await clock.advance(1);
      if (ms === 500) fillBreakers(breakers, ['b']);
      if (ms < 1_000) assert.ok(breakers.peek('a') !== undefined, `a dropped ${ms} ms after its use`);
      if (ms === 1_250) assert.equal(breakers.peek('a'), undefined, 'a gone by 1.25 × idleTimeout');
      assert.ok(breakers.peek('b') !== undefined, `b dropped ${ms - 500} ms after its use`);
    }
    await clock.advance(251); // to 1,750 ms
    assert.equal(breakers.peek('b'), undefined, 'b gone by 1.25 × idleTimeout after its use');
  });

  test('close() clears the timer for good', async () => {
    const clock = createVirtualClock();
    const breakers = new CircuitBreakers({ idleTimeout: 1_000, clock });
    fillBreakers(breakers, ['a']);
    assert.equal(clock.pendingBackground(), 1);
    breakers.close();
    assert.equal(clock.pendingBackground(), 0);
    fillBreakers(breakers, ['b']);
    assert.equal(clock.pendingBackground(), 0, 'a closed registry arms nothing');
    await clock.advance(10_000);
    assert.equal(breakers.size, 2, 'nor sweeps');
  });
});

const P: GcraParams = { emissionIntervalMs: 100, burst: 10 };

describe('MemoryStore: the idle sweep', () => {
  test('100k buckets are all gone within a second of refilling, with no later call', async () => {
    const clock = createVirtualClock();
    const store = new MemoryStore({ clock });
    for (const key of names) store.take({ key, params: P, maxWaitMs: 0 });
    assert.equal(store.size(), KEYS);
    assert.equal(clock.pendingBackground(), 1, 'one timer for the whole store');
    assert.equal(clock.pending(), 0);
    // Each bucket took 1 of 10: full again 100 ms later, freed within the sweep's 1 s gap.
    await clock.advance(1_100);
    assert.equal(store.size(), 0);
    assert.equal(clock.pendingBackground(), 0, 'the timer stops with the store empty');
  });

  test('a bucket in debt stays until it has refilled, and keeps its debt', async () => {
    const clock = createVirtualClock();
    const store = new MemoryStore({ clock });
    // 10 tokens at once, then 40 more waited for: the TAT is 4 s ahead.
    assert.equal(store.take({ key: 'debt', params: P, maxWaitMs: 0, cost: 10 }).allowed, true);
    assert.equal(store.take({ key: 'debt', params: P, maxWaitMs: 5_000, cost: 40 }).allowed, true);
    store.hold('held', P, 30_000);
    store.take({ key: 'light', params: P, maxWaitMs: 0 });
    await clock.advance(3_900);
    assert.equal(store.size(), 2, 'the light bucket went; the one in debt and the held one stay');
    const refused = store.take({ key: 'debt', params: P, maxWaitMs: 0 });
    assert.equal(refused.allowed, false, 'its debt is intact');
    await clock.advance(1_100);
    assert.equal(store.size(), 1, 'refilled at 4 s, freed by 5 s');
    await clock.advance(26_000);
    assert.equal(store.size(), 0, 'the hold ended at 30 s, freed by 31 s');
  });

  test('a new bucket due sooner than the armed sweep brings the sweep forward', async () => {
    const clock = createVirtualClock();
    const store = new MemoryStore({ clock });
    store.hold('long', P, 60_000);
    store.take({ key: 'short', params: P, maxWaitMs: 0 });
    await clock.advance(1_100);
    assert.equal(store.size(), 1, 'the short bucket did not wait for the long hold');
  });

  test('close() clears the timer for good', () => {
    const clock = createVirtualClock();
    const store = new MemoryStore({ clock });
    store.take({ key: 'a', params: P, maxWaitMs: 0 });
    store.close();
    assert.equal(clock.pendingBackground(), 0);
    store.take({ key: 'b', params: P, maxWaitMs: 0 });
    assert.equal(clock.pendingBackground(), 0, 'a closed store arms nothing');
  });

  test("the rate limiter's close() closes the store it made, not one it was given", () => {
    const clock = createVirtualClock();
    const own = new RateLimiter({ requests: 10, per: 'second', clock });
    assert.equal(own.acquire('a'), undefined);
    assert.equal(clock.pendingBackground(), 1);
    own.close();
    assert.equal(clock.pendingBackground(), 0);

    const given = new MemoryStore({ clock });
    const borrowed = new RateLimiter({ requests: 10, per: 'second', clock, store: given });
    assert.equal(borrowed.acquire('a'), undefined);
    borrowed.close();
    assert.equal(given.size(), 1, 'the given store is its owner’s to close');
    assert.equal(clock.pendingBackground(), 1);
    given.close();
  });
});

function keysOf(breakers: CircuitBreakers): string[] {
  return breakers
    .snapshot()
    .map((s) => s.key)
    .sort();
}
