import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '../../src/index.js';
import { createVirtualClock, mockTransport } from '../../src/testing/index.js';

const ORIGIN = 'http://api.test';

describe('client.inspect()', () => {
  test('reports every configured policy under one stable shape', async () => {
    const clock = createVirtualClock();
    const mock = mockTransport();
    const client = createClient({
      name: 'orders',
      baseUrl: ORIGIN,
      transport: mock,
      clock,
      random: () => 0.5,
      retry: { maxRetries: 0 },
      circuitBreaker: { failureThreshold: 2, failureRatio: false, openDuration: 1_000 },
      rateLimit: { requests: 10, per: 'second', burst: 4 },
      concurrency: { algorithm: 'fixed', initialLimit: 5 },
    });
    mock.on('GET', '/down').reply(500);
    mock.on('GET', '/slow').reply(200, undefined, { delay: 100 });
    await client.get('/down', { key: 'payments' });
    await client.get('/down', { key: 'payments' });
    const slow = client.get('/slow');
    await clock.flush();

    const view = client.inspect();
    assert.deepEqual(Object.keys(view).sort(), [
      'circuits',
      'closed',
      'concurrency',
      'name',
      'pools',
      'rateLimit',
      'retry',
    ]);
    assert.equal(view.name, 'orders');
    assert.equal(view.closed, false);
    assert.deepEqual(view.pools, {});
    const retry = view.retry as { enabled: boolean; budgets: { key: string }[] };
    assert.equal(retry.enabled, true);
    assert.deepEqual(
      retry.budgets.map((b) => b.key),
      ['payments', ORIGIN],
      'one retry budget per key',
    );
    assert.deepEqual(view.circuits, [
      { key: 'payments', state: 'open', failures: 2, calls: 2, openUntil: clock.now() + 1_000 },
      { key: ORIGIN, state: 'closed', failures: 0, calls: 0 },
    ]);
    assert.deepEqual(view.rateLimit, {
      requests: 10,
      perMs: 1_000,
      burst: 4,
      strategy: 'wait',
      maxWaitMs: 5_000,
      keys: [
        { key: 'payments', tokens: 2, nextFreeMs: 0 },
        { key: ORIGIN, tokens: 3, nextFreeMs: 0 },
      ],
    });
    assert.deepEqual(view.concurrency, { limit: 5, inflight: 1, queued: 0 });

    await clock.advance(1_000);
    await slow;
    const later = client.inspect();
    assert.equal(
      (later.circuits as { state: string }[])[0]?.state,
      'half-open',
      'an elapsed open period shows as half-open',
    );
    assert.deepEqual(later.concurrency, { limit: 5, inflight: 0, queued: 0 });
    assert.deepEqual((later.rateLimit as { keys: unknown[] }).keys, [], 'every bucket refilled');

    await client.close();
    assert.equal(client.inspect().closed, true);
  });

  test('disabled policies are absent; the defaults show the breaker only', () => {
    const mock = mockTransport();
    const bare = createClient({ transport: mock, retry: false, circuitBreaker: false });
    assert.deepEqual(Object.keys(bare.inspect()).sort(), ['closed', 'name', 'pools']);
    const defaults = createClient({ transport: mock });
    assert.deepEqual(Object.keys(defaults.inspect()).sort(), [
      'circuits',
      'closed',
      'name',
      'pools',
      'retry',
    ]);
    assert.deepEqual(defaults.inspect().circuits, []);
  });

  test('the snapshot is plain data: JSON round-trips it', async () => {
    const clock = createVirtualClock();
    const mock = mockTransport();
    mock.on('GET', '/x').reply(200);
    const client = createClient({
      baseUrl: ORIGIN,
      transport: mock,
      clock,
      rateLimit: { requests: 1, per: 'minute' },
      concurrency: { algorithm: 'gradient2' },
    });
    await client.get('/x');
    const view = client.inspect();
    assert.deepEqual(JSON.parse(JSON.stringify(view)), view);
  });
});
