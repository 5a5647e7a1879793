/**
 * The fallback store against a client that says when it is ready (an ioredis-shaped `status`
 * and `ready` event), on the virtual clock: connecting is not down, ready is up at once, one
 * late reply is a stall, late replies are reconciled, the local fallback is this node's share,
 * and a blip logs nothing.
 */
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { clientReadiness } from '../../src/stores/client-readiness.js';
import { fallbackStore, type FallbackStoreOptions } from '../../src/stores/fallback-store.js';
import type { StoreEvent } from '../../src/stores/store-health.js';
import type { RateLimitDecision, TakeRequest } from '../../src/policies/store-contract.js';
import { createVirtualClock } from '../../src/testing/virtual-clock.js';

const params = { emissionIntervalMs: 100, burst: 8 };
const request: TakeRequest = { key: 'api', params, maxWaitMs: 0 };

class FakeClient extends EventEmitter {
  status = 'connecting';
  become(status: string): void {
    this.status = status;
    this.emit(status);
  }
}

/** A shared store behind a client with a status: answers at once, or holds replies until told. */
function setup(options: FallbackStoreOptions = {}) {
  const clock = createVirtualClock();
  const client = new FakeClient();
  const held: ((d: RateLimitDecision) => void)[] = [];
  const charges: number[] = [];
  const events: StoreEvent[] = [];
  const logs: string[] = [];
  let hang = false;
  let remaining = 7;
  const primary = {
    readiness: clientReadiness(client),
    takes: 0,
    take(): Promise<RateLimitDecision> {
      primary.takes++;
      const decision: RateLimitDecision =
        remaining > 0
          ? { allowed: true, waitMs: 0, remaining: --remaining }
          : { allowed: false, retryAfterMs: 100, remaining: 0 };
      if (hang) return new Promise((resolve) => held.push(() => resolve(decision)));
      return Promise.resolve(decision);
    },
    hold: () => Promise.resolve(),
    charge(_request: TakeRequest, cost: number) {
      charges.push(cost);
    },
  };
  const store = fallbackStore(primary, {
    clock,
    timeoutMs: 100,
    onEvent: (e) => events.push(e),
    logger: { warn: () => logs.push('warn'), info: () => logs.push('info') },
    ...options,
  });
  const setHang = (next: boolean): void => {
    hang = next;
  };
  const setRemaining = (next: number): void => {
    remaining = next;
  };
  return { clock, client, primary, store, held, charges, events, logs, setHang, setRemaining };
}

void describe('the Redis store follows its client', () => {
  void test('a client that was never ready is connecting: decisions wait and go to Redis once it is', async () => {
    const { clock, client, primary, store, events } = setup();
    const pending = store.take(request);
    await clock.advance(300);
    assert.equal(primary.takes, 0, 'nothing sent while connecting');
    client.become('ready');
    const decision = await pending;
    assert.deepEqual(decision, { allowed: true, waitMs: 0, remaining: 6 });
    assert.deepEqual(events, [], 'a cold start is not an outage');
    await store.close();
  });

  void test('past connectWaitMs (or the deadline) onStoreError decides; ready brings Redis back at once', async () => {
    const { clock, client, primary, store, events, logs } = setup({ connectWaitMs: 500 });
    const short = store.take({ ...request, deadline: clock.now() + 50 });
    await clock.advance(50);
    assert.equal((await short).storeError?.error.name, 'StoreNotReadyError', 'never past the deadline');
    assert.equal(store.degraded, false, 'a short deadline says nothing of the client');
    const slow = store.take(request);
    await clock.advance(500);
    const decided = await slow;
    assert.equal(decided.storeError?.fallback, 'local');
    assert.equal(store.degraded, true);
    const t0 = clock.now();
    assert.ok((await store.take(request)).storeError, 'later decisions do not wait');
    assert.equal(clock.now(), t0);
    await clock.advance(1_000);
    client.become('ready');
    assert.equal(store.degraded, false, 'up the moment the client says ready, no trial needed');
    assert.equal((await store.take(request)).storeError, undefined);
    assert.equal(primary.takes, 1);
    assert.deepEqual(
      events.map((e) => e.type),
      ['store-down', 'store-up'],
    );
    assert.deepEqual(logs, ['warn', 'info'], 'an outage of 1.5 s is logged, once each way');
    await store.close();
  });

  void test('one late reply on a ready connection is a stall, not an outage; the late reply is reconciled', async () => {
    const { clock, client, store, held, charges, events, setHang, setRemaining } = setup();
    client.become('ready');
    await store.take(request);
    setRemaining(0);
    setHang(true);
    const first = store.take(request);
    await clock.advance(100);
    const fell = await first;
    assert.equal(fell.storeError?.error.name, 'StoreTimeoutError');
    assert.equal(store.degraded, false);
    // Redis refused late what the fallback admitted: the slot the caller used is charged.
    held.shift()?.({ allowed: false, retryAfterMs: 100, remaining: 0 });
    await clock.flush();
    assert.equal(fell.allowed, true, 'the local share still had slots');
    assert.deepEqual(charges, [1]);
    const second = store.take(request);
    await clock.advance(100);
    await second;
    assert.equal(store.degraded, true, 'late for a whole deadline more: down');
    assert.deepEqual(
      events.map((e) => e.type),
      ['store-down'],
    );
    await store.close();
  });

  void test("'local' falls back to this node's share, starting from what it last knew", async () => {
    const { clock, client, store, setRemaining } = setup({ nodes: 4 });
    client.become('ready');
    setRemaining(5);
    // Redis said 4 of 8 are left: this node's share of what is left is 1.
    assert.equal((await store.take(request)).allowed, true);
    client.become('reconnecting');
    const local: boolean[] = [];
    for (let i = 0; i < 4; i++) local.push((await store.take(request)).allowed);
    assert.deepEqual(local, [true, false, false, false]);
    // A quarter of the rate: one more slot per 4 × 100 ms.
    await clock.advance(400);
    assert.equal((await store.take(request)).allowed, true);
    assert.equal((await store.take(request)).allowed, false);
    await store.close();
  });

  void test('a blip shorter than logAfterMs logs nothing; its events still tell a metric', async () => {
    const { clock, client, store, events, logs } = setup();
    client.become('ready');
    await store.take(request);
    client.become('reconnecting');
    await store.take(request);
    await clock.advance(1);
    client.become('ready');
    await store.take(request);
    assert.deepEqual(logs, []);
    assert.deepEqual(
      events.map((e) => e.type),
      ['store-down', 'store-up'],
    );
    await store.close();
  });

  void test('nodes is checked', () => {
    const { primary } = setup();
    assert.throws(() => fallbackStore(primary, { nodes: 0 }), { code: 'INVALID_OPTIONS', path: 'nodes' });
    assert.throws(() => fallbackStore(primary, { connectWaitMs: -1 }), { path: 'connectWaitMs' });
  });
});
