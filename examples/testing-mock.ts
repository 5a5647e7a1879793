/**
 * Testing code that uses bulwark with the mock transport and the virtual clock: sequences
 * ("503 twice, then 200"), simulated network errors with real socket codes, and every delay
 * driven by the test instead of waited for.
 *
 * Run: npx tsx examples/testing-mock.ts   (or node --import tsx --test examples/testing-mock.ts)
 * In your project, import from 'bulwark' and 'bulwark/testing' instead of '../src/...'.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClient, isBulwarkError, type Client } from '../src/index.js';
import { createVirtualClock, mockTransport } from '../src/testing/index.js';

/** The code under test: a small user service on top of a bulwark client. */
async function userName(client: Client, id: number): Promise<string> {
  const result = await client.safe.get('/users/:id', { params: { id } });
  if (!result.ok) return result.error.code === 'CIRCUIT_OPEN' ? 'unavailable' : 'error';
  if (!result.response.ok) {
    result.response.dump();
    return result.response.status === 404 ? 'unknown' : 'error';
  }
  return (await result.response.json<{ name: string }>()).name;
}

function setup() {
  const clock = createVirtualClock();
  const mock = mockTransport();
  const client = createClient({ baseUrl: 'https://users.test', transport: mock, clock, random: () => 0.5 });
  return { clock, mock, client };
}

test('503 twice, then 200: retried with backoff on the virtual clock', async () => {
  const { clock, mock, client } = setup();
  mock.on('GET', '/users/:id').sequence([503, 503, { status: 200, json: { name: 'Ada' } }]);
  const name = userName(client, 1);
  await clock.runAll(); // fires the backoff timers at once
  assert.equal(await name, 'Ada');
  assert.equal(mock.callsTo('GET', '/users/1').length, 3);
  assert.deepEqual(
    clock.scheduled.filter((ms) => ms < 10_000),
    [50, 100],
  ); // 503 without a hint backs off from 100 ms, random 0.5
});

test('a refused connection is retried even for a POST: nothing reached the server', async () => {
  const { clock, mock, client } = setup();
  mock.on('POST', '/users').networkError('ECONNREFUSED', { once: true }).reply(201, { id: 7 });
  const created = client.post('/users', { json: { name: 'Grace' } });
  await clock.runAll();
  const res = await created;
  assert.equal(res.status, 201);
  assert.equal(res.attempts, 2);
  assert.equal(mock.calls[0]?.body, '{"name":"Grace"}');
});

test('a reset connection fails a POST at once with NETWORK: it may have been processed', async () => {
  const { mock, client } = setup();
  mock.on('POST', '/users').networkError('ECONNRESET');
  await assert.rejects(client.post('/users', { json: {} }), (error: unknown) => {
    assert.ok(isBulwarkError(error, 'NETWORK'));
    assert.equal((error.cause as { code: string }).code, 'ECONNRESET');
    return true;
  });
});

test('a hanging upstream ends at the attempt timeout, to the millisecond', async () => {
  const clock = createVirtualClock();
  const mock = mockTransport();
  const client = createClient({
    baseUrl: 'https://users.test',
    transport: mock,
    clock,
    retry: false,
    timeout: { attempt: 2_000 },
  });
  mock.on('GET', '/users/1').hang();
  const call = client.safe.get('/users/1');
  await clock.advance(1_999);
  assert.equal(mock.calls.length, 1);
  await clock.advance(1);
  const result = await call;
  assert.ok(!result.ok && result.error.code === 'ATTEMPT_TIMEOUT');
});

test('the breaker opens after repeated 500s, and the code under test degrades', async () => {
  const { mock, client } = setup();
  const breaking = client.extend({
    retry: false,
    circuitBreaker: { window: { calls: 5 }, failureThreshold: 3, failureRatio: false },
  });
  mock.on('GET', '/users/:id').reply(500);
  for (let i = 0; i < 3; i++) assert.equal(await userName(breaking, 1), 'error');
  assert.equal(await userName(breaking, 1), 'unavailable');
  assert.equal(mock.calls.length, 3, 'the open circuit sent nothing');
  await breaking.close();
});
