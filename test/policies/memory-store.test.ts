import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/policies/memory-store.js';
import { createVirtualClock } from '../../src/testing/virtual-clock.js';
import type { GcraParams } from '../../src/policies/store-contract.js';

// 10 per second, burst 2.
const P: GcraParams = { emissionIntervalMs: 100, burst: 2 };

function setup(): { store: MemoryStore; clock: ReturnType<typeof createVirtualClock> } {
  const clock = createVirtualClock();
  return { store: new MemoryStore({ clock }), clock };
}

describe('MemoryStore', () => {
  test('release gives back the latest reservation only', () => {
    const { store } = setup();
    const take = (): { allowed: boolean; waitMs?: number; tat?: number } =>
      store.take({ key: 'a', params: P, maxWaitMs: 1_000 });
    take();
    take();
    const third = take();
    assert.equal(third.waitMs, 100);
    store.release('a', P, 1, third.tat ?? 0);
    assert.equal(take().waitMs, 100, 'the next caller gets the slot the third gave back');
    const fifth = take();
    take();
    store.release('a', P, 1, fifth.tat ?? 0);
    assert.equal(
      take().waitMs,
      400,
      'not given back: the sixth reserved after it (300), so the next waits 400',
    );
  });

  test('decides synchronously, per key', () => {
    const { store } = setup();
    const take = (key: string): boolean => store.take({ key, params: P, maxWaitMs: 0 }).allowed;
    assert.deepEqual([take('a'), take('a'), take('a'), take('b')], [true, true, false, true]);
    assert.equal(store.size(), 2);
  });

  test('a reserved wait moves the bucket; a refusal does not', async () => {
    const { store, clock } = setup();
    store.take({ key: 'a', params: P, maxWaitMs: 0, cost: 2 });
    assert.deepEqual(store.take({ key: 'a', params: P, maxWaitMs: 100 }), {
      allowed: true,
      waitMs: 100,
      remaining: 0,
      tat: (1_700_000_000_000 + 300) * 1000,
    });
    assert.equal(store.take({ key: 'a', params: P, maxWaitMs: 100 }).allowed, false);
    await clock.advance(100);
    assert.equal(store.take({ key: 'a', params: P, maxWaitMs: 100 }).allowed, true);
  });

  test('hold grants nothing before the hint ends, then one slot per interval', async () => {
    const { store, clock } = setup();
    store.hold('a', P, 1_000);
    assert.equal(store.size(), 1);
    await clock.advance(999);
    assert.deepEqual(store.take({ key: 'a', params: P, maxWaitMs: 0 }), {
      allowed: false,
      retryAfterMs: 1,
      remaining: 0,
      tat: (1_700_000_000_000 + 1_100) * 1000,
    });
    await clock.advance(1);
    assert.equal(store.take({ key: 'a', params: P, maxWaitMs: 0 }).allowed, true);
    assert.equal(store.take({ key: 'a', params: P, maxWaitMs: 0 }).allowed, false);
    store.hold('b', P, 0);
    assert.equal(store.buckets(P).find((b) => b.key === 'b')?.remaining, 1, 'a zero hold leaves one token');
  });

  test('a hold that ends before the bucket would is a no-op and stores nothing for a full key', () => {
    const { store } = setup();
    store.take({ key: 'a', params: P, maxWaitMs: 10_000, cost: 20 });
    const before = store.buckets(P);
    store.hold('a', P, 10);
    assert.deepEqual(store.buckets(P), before);
    store.hold('c', { emissionIntervalMs: 100, burst: 1 }, 0);
    assert.equal(store.size(), 1);
  });

  test('buckets() lists the keys that are not full', async () => {
    const { store, clock } = setup();
    store.take({ key: 'a', params: P, maxWaitMs: 0, cost: 2 });
    store.take({ key: 'b', params: P, maxWaitMs: 0 });
    await clock.advance(30);
    assert.deepEqual(store.buckets(P), [
      { key: 'a', remaining: 0, nextFreeMs: 70 },
      { key: 'b', remaining: 1, nextFreeMs: 0 },
    ]);
    await clock.advance(170);
    assert.deepEqual(store.buckets(P), [], 'full buckets are not listed');
  });

  test('idle buckets are swept a few per call as time passes, down to about a thousand', async () => {
    const { store, clock } = setup();
    for (let i = 0; i < 3_000; i++) store.take({ key: `k${i}`, params: P, maxWaitMs: 0 });
    assert.equal(store.size(), 3_000, 'nothing is idle yet');
    // Each key is full again 100 ms later; traffic on one hot key sweeps the others.
    await clock.advance(100);
    for (let i = 0; i < 1_200; i++) store.take({ key: 'hot', params: P, maxWaitMs: 0 });
    assert.ok(store.size() <= 1_025, `size ${store.size()}`);
    assert.equal(
      store.take({ key: 'k1', params: P, maxWaitMs: 0 }).remaining,
      1,
      'an evicted key is a full bucket',
    );
    const before = store.size();
    assert.equal(store.prune(), before - 2, 'prune() leaves only the live buckets, hot and k1');
    assert.equal(store.size(), 2);
  });

  test('a stream of new keys keeps the map near the live keys', async () => {
    const { store, clock } = setup();
    // Each key lives 200 ms and 10 new keys come per ms: about 2,000 live keys at any time.
    const params: GcraParams = { emissionIntervalMs: 200, burst: 2 };
    let max = 0;
    for (let i = 0; i < 20_000; i++) {
      store.take({ key: `k${i}`, params, maxWaitMs: 0 });
      if (i % 10 === 9) await clock.advance(1);
      max = Math.max(max, store.size());
    }
    assert.ok(max <= 4_500, `map grew to ${max}`);
  });

  test('prune() drops every idle bucket at once; close() forgets everything', async () => {
    const { store, clock } = setup();
    for (let i = 0; i < 10; i++)
      store.take({ key: `k${i}`, params: P, maxWaitMs: 0, cost: i % 2 === 0 ? 1 : 2 });
    await clock.advance(100);
    assert.equal(store.prune(), 5);
    assert.equal(store.size(), 5);
    store.close();
    assert.equal(store.size(), 0);
    assert.equal(store.take({ key: 'k1', params: P, maxWaitMs: 0 }).allowed, true);
  });

  test('uses the system clock by default', () => {
    const store = new MemoryStore();
    assert.equal(store.take({ key: 'a', params: P, maxWaitMs: 0 }).allowed, true);
    assert.equal(store.size(), 1);
  });
});
