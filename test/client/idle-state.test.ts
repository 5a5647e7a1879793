/**
 * A client's idle per-key state goes by itself: circuits and rate-limit buckets of keys nobody
 * uses are freed with no later call, close() clears the housekeeping timers, and those timers
 * never keep a process alive.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createClient } from '../../src/index.js';
import { createVirtualClock, mockTransport, type VirtualClock } from '../../src/testing/index.js';

const KEYS = 1_000;

/** A client on `clock` (the system clock when undefined). */
function client(idleTimeout: number | undefined, clock: VirtualClock | undefined) {
  const mock = mockTransport();
  mock.on('GET', '*').reply(200, 'ok');
  const c = createClient({
    baseUrl: 'http://api.test',
    transport: mock,
    ...(clock === undefined ? {} : { clock }),
    retry: false,
    circuitBreaker: idleTimeout === undefined ? {} : { idleTimeout },
    rateLimit: { requests: 10, per: 'second' },
  });
  return { clock, c };
}

async function callEveryKey(c: ReturnType<typeof createClient>): Promise<void> {
  for (let i = 0; i < KEYS; i++) {
    const res = await c.get('/', { key: `tenant-${i}` });
    await res.text();
  }
}

describe('idle per-key state of a client', () => {
  test('circuits of unused keys go within 1.25 idleTimeouts, with no call; then no timer is left', async () => {
    const clock = createVirtualClock();
    const { c } = client(10_000, clock);
    await callEveryKey(c);
    assert.equal(c.inspect().circuits?.length, KEYS);
    assert.equal(clock.pending(), 0, 'no timer a call would wait for');
    assert.equal(clock.pendingBackground(), 2, 'one sweep for the circuits, one for the buckets');
    await clock.advance(2_000);
    assert.equal(clock.pendingBackground(), 1, 'the buckets refilled and went; their timer stopped');
    assert.equal(c.inspect().circuits?.length, KEYS, 'circuits stay for their idleTimeout');
    await clock.advance(10_500);
    assert.equal(c.inspect().circuits?.length, 0);
    assert.equal(clock.pendingBackground(), 0);
    await c.close();
  });

  test('close() clears both housekeeping timers', async () => {
    const clock = createVirtualClock();
    const { c } = client(undefined, clock);
    await callEveryKey(c);
    assert.equal(clock.pendingBackground(), 2);
    await c.close();
    assert.equal(clock.pendingBackground(), 0);
    assert.equal(clock.pending(), 0);
  });

  test('on the system clock, circuits go once idle, never before idleTimeout', async () => {
    const { c } = client(200, undefined);
    await callEveryKey(c);
    const used = performance.now();
    let emptyAt: number | undefined;
    while (performance.now() - used < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (c.inspect().circuits?.length === 0) {
        emptyAt = performance.now();
        break;
      }
    }
    await c.close();
    assert.ok(emptyAt !== undefined, 'the idle circuits were freed without a call');
    // The last key was used at `used`: its circuit may not go before 200 ms later.
    assert.ok(emptyAt - used >= 200, `freed ${emptyAt - used} ms after the last use`);
  });

  test('a client used on 1,000 keys and never closed lets its process exit', () => {
    const fixture = fileURLToPath(new URL('./fixtures/idle-keys-exit.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', fixture], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.signal, null, 'the process did not exit by itself (a 300 s idle sweep held it)');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /circuits 1000/);
  });
});
