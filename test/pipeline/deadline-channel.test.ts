import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isBulwarkError } from '../../src/index.js';
import type { DeadlineMessage } from '../../src/observability/channels.js';
import { captureChannel } from '../helpers/channel-capture.js';
import { ORIGIN, virtualClient } from '../helpers/virtual-client.js';

const deadlines = captureChannel<DeadlineMessage>('bulwark:deadline');

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => assert.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('bulwark:deadline reports each phase once (virtual clock)', () => {
  afterEach(() => {
    deadlines.stop();
  });

  test("'in-flight': the total timeout ends an attempt on the wire", async () => {
    const { clock, mock, client } = virtualClient({ timeout: { attempt: false, total: 1_000 } });
    mock.on('GET', '/slow').hang();
    deadlines.start();
    const t0 = clock.now();
    const call = failure(client.get('/slow'));
    await clock.advance(1_000);
    const error = await call;
    assert.ok(isBulwarkError(error, 'TIMEOUT'), String(error));
    assert.deepEqual(
      deadlines.messages.map((m) => [m.phase, m.source, m.deadline - t0, m.url]),
      [['in-flight', 'timeout', 1_000, `${ORIGIN}/slow`]],
    );
  });

  test("'in-flight' while the response body is still being read", async () => {
    const { clock, mock, client } = virtualClient({ timeout: { attempt: false, total: 1_000 } });
    mock.on('GET', '/stall').reply(200, 'x'.repeat(100), { stallBody: true });
    deadlines.start();
    const response = await client.get('/stall');
    const body = failure(response.text());
    await clock.advance(1_000);
    assert.ok(isBulwarkError(await body, 'TIMEOUT'));
    assert.deepEqual(
      deadlines.messages.map((m) => m.phase),
      ['in-flight'],
    );
  });

  test("'before-send': the budget runs out while the call waits for a concurrency slot", async () => {
    const { clock, mock, client } = virtualClient({
      timeout: { attempt: false, total: 10_000 },
      concurrency: { algorithm: 'fixed', initialLimit: 1, maxQueue: 5, queueTimeout: 60_000 },
    });
    mock.on('GET', '/slow').hang();
    const first = failure(client.get('/slow'));
    deadlines.start();
    const waiting = failure(client.get('/slow', { deadline: 300 }));
    await clock.advance(300);
    const error = await waiting;
    assert.ok(isBulwarkError(error, 'DEADLINE_EXCEEDED'), String(error));
    assert.deepEqual(
      deadlines.messages.map((m) => [m.phase, m.source]),
      [['before-send', 'deadline']],
    );
    assert.equal(mock.calls.length, 1, 'the waiting call sent nothing');
    await clock.advance(10_000);
    await first;
  });

  test("'before-send': a deadline already past sends nothing", async () => {
    const { clock, mock, client } = virtualClient({});
    mock.on('GET', '/x').reply(200);
    deadlines.start();
    const error = await failure(client.get('/x', { deadline: new Date(clock.now() - 1) }));
    assert.ok(isBulwarkError(error, 'DEADLINE_EXCEEDED'), String(error));
    assert.deepEqual(
      deadlines.messages.map((m) => [m.phase, m.source]),
      [['before-send', 'deadline']],
    );
    assert.equal(mock.calls.length, 0);
  });

  test("'before-retry': a retry that would not fit is not started, and only that is reported", async () => {
    const { clock, mock, client } = virtualClient({
      retry: { maxRetries: 3, baseDelay: 600, jitter: 'none', budget: false },
      timeout: { attempt: false, total: 500 },
    });
    mock.on('GET', '/flaky').reply(503);
    deadlines.start();
    const call = client.get('/flaky');
    await clock.runAll();
    assert.equal((await call).status, 503);
    assert.deepEqual(
      deadlines.messages.map((m) => m.phase),
      ['before-retry'],
    );
    assert.equal(mock.calls.length, 1);
  });
});
