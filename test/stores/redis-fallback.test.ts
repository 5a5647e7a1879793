import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fallbackStore } from '../../src/stores/fallback-store.js';
import { MemoryStore } from '../../src/policies/memory-store.js';
import type { StoreEvent } from '../../src/stores/store-health.js';
import { DeadlineQueue, StoreTimeoutError } from '../../src/stores/store-timeout.js';
import type { GcraParams, RateLimitDecision, RateLimitStore, TakeRequest } from '../../src/policies/store-contract.js';
import { createVirtualClock, type VirtualClock } from '../../src/testing/virtual-clock.js';

const params: GcraParams = { emissionIntervalMs: 1_000, burst: 2 };
const request: TakeRequest = { key: 'api', params, maxWaitMs: 0 };
const SHARED: RateLimitDecision = { allowed: true, waitMs: 0, remaining: 41 };

/** A remote store under test control: answers, fails, or hangs until told. */
function remote() {
  let mode: 'ok' | 'fail' | 'hang' = 'ok';
  const pending: { resolve: (d: RateLimitDecision) => void; reject: (e: Error) => void }[] = [];
  const store = {
    takes: 0,
    holds: [] as number[],
    closed: 0,
    set(next: 'ok' | 'fail' | 'hang') {
      mode = next;
    },
    pending,
    take(): Promise<RateLimitDecision> {
      store.takes++;
      if (mode === 'fail') return Promise.reject(new Error('ECONNREFUSED'));
      if (mode === 'hang') return new Promise((resolve, reject) => pending.push({ resolve, reject }));
      return Promise.resolve(SHARED);
    },
    hold(_key: string, _params: GcraParams, forMs: number): Promise<void> {
      store.holds.push(forMs);
      if (mode === 'fail') return Promise.reject(new Error('ECONNREFUSED'));
      return Promise.resolve();
    },
    close() {
      store.closed++;
    },
  };
  return store satisfies RateLimitStore;
}

function setup(onStoreError?: 'local' | 'open' | 'closed', clock: VirtualClock = createVirtualClock()) {
  const primary = remote();
  const events: StoreEvent[] = [];
  const warnings: object[] = [];
  const infos: object[] = [];
  const local = new MemoryStore({ clock });
  const store = fallbackStore(primary, {
    clock,
    local,
    timeoutMs: 100,
    ...(onStoreError === undefined ? {} : { onStoreError }),
    onEvent: (e) => events.push(e),
    logger: { warn: (obj) => warnings.push(obj), info: (obj) => infos.push(obj) },
  });
  return { clock, primary, store, events, warnings, infos, local };
}

void describe('fallbackStore (onStoreError)', () => {
  void test("'local' (default): the in-process limiter takes over with the same params, warned once", async () => {
    const { primary, store, warnings, events } = setup();
    assert.deepEqual(await store.take(request), SHARED);
    primary.set('fail');
    const decisions = [];
    for (let i = 0; i < 5; i++) decisions.push(await store.take(request));
    assert.deepEqual(
      decisions.map((d) => d.allowed),
      [true, true, false, false, false],
      'burst 2 per node, then refused',
    );
    assert.equal(store.degraded, true);
    assert.equal(primary.takes, 2, 'no call reaches the failed store until the next trial');
    assert.equal(warnings.length, 1);
    assert.deepEqual(
      events.map((e) => e.type),
      ['store-down'],
    );
    const [down] = events;
    assert.ok(down?.type === 'store-down' && down.mode === 'local' && down.store === 'redis');
  });

  void test('one trial call per probe interval; shared decisions resume when the store answers', async () => {
    const { clock, primary, store, events, infos } = setup('local');
    primary.set('fail');
    await store.take(request);
    await clock.advance(999);
    await store.take(request);
    assert.equal(primary.takes, 1);
    await clock.advance(1);
    await store.take(request);
    assert.equal(primary.takes, 2, 'the trial went to the store and failed');
    await store.take(request);
    assert.equal(primary.takes, 2);
    primary.set('ok');
    await clock.advance(1_000);
    assert.deepEqual(await store.take(request), SHARED);
    assert.deepEqual(await store.take(request), SHARED);
    assert.equal(store.degraded, false);
    assert.deepEqual(
      events.map((e) => e.type),
      ['store-down', 'store-up'],
    );
    const up = events[1];
    assert.ok(up?.type === 'store-up' && up.downMs === 2_000);
    assert.equal(infos.length, 1);
  });

  void test("'open' admits everything while the store is down", async () => {
    const { primary, store } = setup('open');
    primary.set('fail');
    // The decision the store failed on says so (for the limiter's 'store-error'); the next ones
    // skip the store while it is down.
    const first = await store.take({ ...request, cost: 1 });
    assert.equal(first.storeError?.fallback, 'open');
    assert.equal(first.storeError.error.message, 'ECONNREFUSED');
    assert.deepEqual(
      { ...first, storeError: undefined },
      { allowed: true, waitMs: 0, remaining: 1, storeError: undefined },
    );
    for (let i = 0; i < 9; i++) {
      assert.deepEqual(await store.take({ ...request, cost: 1 }), { allowed: true, waitMs: 0, remaining: 1 });
    }
  });

  void test("'closed' refuses everything, retryAfter pointing at the next trial", async () => {
    const { clock, primary, store } = setup('closed');
    primary.set('fail');
    const { storeError, ...refused } = await store.take(request);
    assert.equal(storeError?.fallback, 'closed');
    assert.deepEqual(refused, { allowed: false, retryAfterMs: 1_000, remaining: 0 });
    await clock.advance(400);
    assert.deepEqual(await store.take(request), { allowed: false, retryAfterMs: 600, remaining: 0 });
    primary.set('ok');
    await clock.advance(600);
    assert.deepEqual(await store.take(request), SHARED);
  });

  void test('a hung store costs timeoutMs once; its late reply or late error is dropped quietly', async () => {
    const { clock, primary, store } = setup('closed');
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      primary.set('hang');
      const first = store.take(request);
      const second = store.take(request);
      await clock.advance(99);
      assert.equal(store.degraded, false);
      await clock.advance(1);
      assert.equal((await first).allowed, false);
      assert.equal((await second).allowed, false);
      assert.equal(store.degraded, true);
      // Later calls do not wait at all.
      assert.equal((await store.take(request)).allowed, false);
      assert.equal(primary.pending.length, 2);
      primary.pending[0]?.resolve(SHARED);
      primary.pending[1]?.reject(new Error('late'));
      await clock.flush();
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
      assert.equal(store.degraded, true, 'a late success does not count as the store answering in time');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  void test('hold reaches the store and the local bucket, so a fallback during the hold honours it', async () => {
    const { primary, store } = setup('local');
    await store.hold('api', params, 5_000);
    assert.deepEqual(primary.holds, [5_000]);
    primary.set('fail');
    const decision = await store.take(request);
    assert.ok(!decision.allowed && decision.retryAfterMs === 5_000, JSON.stringify(decision));
  });

  void test('a failing hold degrades the store like a failing take', async () => {
    const { clock, primary, store, warnings } = setup('open');
    primary.set('fail');
    await store.hold('api', params, 10);
    assert.equal(store.degraded, true);
    await store.hold('api', params, 10);
    assert.deepEqual(primary.holds, [10], 'no second call within the probe interval');
    primary.set('ok');
    await clock.advance(1_000);
    await store.hold('api', params, 10);
    assert.equal(store.degraded, false);
    assert.equal(warnings.length, 1);
  });

  void test('close closes the local store and the wrapped store', async () => {
    const { primary, store, local } = setup();
    primary.set('fail');
    await store.take(request);
    assert.equal(local.size(), 1);
    await store.close();
    assert.equal(local.size(), 0);
    assert.equal(primary.closed, 1);
  });

  void test('the default local store is created only when needed and uses the given clock', async () => {
    const clock = createVirtualClock();
    const primary = remote();
    primary.set('fail');
    const store = fallbackStore(primary, { clock });
    assert.equal((await store.take(request)).allowed, true);
    assert.equal((await store.take(request)).allowed, true);
    assert.equal((await store.take(request)).allowed, false);
    await clock.advance(1_000);
    assert.equal((await store.take(request)).allowed, true, 'refilled on the virtual clock');
    await store.close();
  });

  void test('a store that throws synchronously is a failing store', async () => {
    const clock = createVirtualClock();
    const primary: RateLimitStore = {
      take: () => {
        throw new Error('sync');
      },
      hold: () => undefined,
    };
    const store = fallbackStore(primary, { clock, onStoreError: 'open' });
    assert.equal((await store.take(request)).allowed, true);
    assert.equal(store.degraded, true);
  });

  void test('bad options are refused with the option path', () => {
    const primary = remote();
    assert.throws(() => fallbackStore(primary, { onStoreError: 'fail-open' as 'open' }), {
      code: 'INVALID_OPTIONS',
      path: 'onStoreError',
    });
    assert.throws(() => fallbackStore(primary, { timeoutMs: 0 }), { path: 'timeoutMs' });
    assert.throws(() => fallbackStore(primary, { probeIntervalMs: Number.POSITIVE_INFINITY }), {
      path: 'probeIntervalMs',
    });
  });
});

void describe('DeadlineQueue (one timer for every pending store call)', () => {
  void test('each call gets exactly its own timeout; settled calls are never rejected', async () => {
    const clock = createVirtualClock();
    const queue = new DeadlineQueue(100, clock);
    const outcomes: string[] = [];
    const track = (name: string, p: Promise<unknown>): void => {
      queue.run(p).then(
        () => outcomes.push(`${name} ok`),
        (e: unknown) =>
          outcomes.push(`${name} ${e instanceof StoreTimeoutError ? `timeout ${e.timeoutMs}` : 'error'}`),
      );
    };
    // Enough settled calls ahead of a pending one to make the queue compact itself.
    for (let i = 0; i < 1_100; i++) void queue.run(Promise.resolve(i));
    track('early', new Promise(() => undefined));
    await clock.advance(50);
    track('late', new Promise(() => undefined));
    track('fails', Promise.reject(new Error('boom')));
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what a client could do
    track('throws a string', Promise.reject('x'));
    await clock.advance(50);
    await clock.flush();
    assert.deepEqual(outcomes, ['fails error', 'throws a string error', 'early timeout 100']);
    await clock.advance(49);
    await clock.flush();
    assert.equal(outcomes.length, 3, 'the later call still has 1 ms');
    await clock.advance(1);
    await clock.flush();
    assert.deepEqual(outcomes.slice(3), ['late timeout 100']);
    assert.equal(clock.pending(), 0, 'no timer left once nothing is pending');
  });
});
