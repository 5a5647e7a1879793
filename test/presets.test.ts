import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  createClient,
  presets,
  type BulwarkError,
  type ClientOptions,
  type SafeResult,
} from '../src/index.js';
import { createVirtualClock, mockTransport } from '../src/testing/index.js';
import { assertCode } from './helpers/assert-error.js';

const BASE = 'https://api.example.test';

function withMock(options: ClientOptions) {
  const clock = createVirtualClock();
  const mock = mockTransport();
  const client = createClient({ ...options, baseUrl: BASE, transport: mock, clock, random: () => 0.5 });
  return { clock, mock, client };
}

function errorOf(result: SafeResult): BulwarkError {
  if (result.ok) assert.fail('expected the call to fail');
  return result.error;
}

function frozenDeep(value: unknown, path: string): void {
  if (typeof value !== 'object' || value === null) return;
  assert.ok(Object.isFrozen(value), `${path} is frozen`);
  for (const [key, inner] of Object.entries(value)) frozenDeep(inner, `${path}.${key}`);
}

describe('presets', () => {
  for (const name of ['paymentProcessing', 'highVolumeApi', 'internalService'] as const) {
    test(`${name}: deeply frozen, and createClient({ ...preset, baseUrl }) accepts it`, async () => {
      frozenDeep(presets[name], name);
      assert.throws(() => {
        (presets[name] as { timeout: unknown }).timeout = false;
      }, TypeError);
      const client = createClient({ ...presets[name], baseUrl: BASE });
      assert.equal(client.inspect().closed, false);
      await client.close();
    });
  }

  test('paymentProcessing: a POST without an idempotency key is never retried, one with a key is, twice', async () => {
    const { clock, mock, client } = withMock(presets.paymentProcessing);
    mock.on('POST', '/charges').reply(503);
    const plain = await client.post('/charges', { json: { amount: 1 } });
    assert.equal(plain.attempts, 1);
    const keyed = client.post('/charges', { json: { amount: 1 }, headers: { 'idempotency-key': 'k1' } });
    await clock.runAll();
    assert.equal((await keyed).attempts, 3);
    assert.equal(mock.calls.length, 4);
    assert.equal(client.inspect().rateLimit, undefined, 'no client-side rate limit');
    await client.close();
  });

  test('paymentProcessing: the attempt timeout is 5 s', async () => {
    const { clock, mock, client } = withMock(presets.paymentProcessing);
    mock.on('POST', '/charges').hang();
    const call = client.safe.post('/charges', { json: { amount: 1 } });
    await clock.advance(4_999);
    assert.equal(mock.calls.length, 1);
    await clock.advance(1);
    const error = errorOf(await call);
    assertCode(error, 'ATTEMPT_TIMEOUT');
    assert.equal(error.timeoutMs, 5_000);
    await client.close();
  });

  test('paymentProcessing: the breaker opens for 30 s once half of 20 calls failed', async () => {
    const { clock, mock, client } = withMock({ ...presets.paymentProcessing, retry: false });
    mock.on('GET', '/balance').reply(500);
    for (let i = 0; i < 20; i++) (await client.get('/balance')).dump();
    const refused = errorOf(await client.safe.get('/balance'));
    assertCode(refused, 'CIRCUIT_OPEN');
    assert.equal(refused.retryAfterMs, 30_000);
    await clock.advance(30_000);
    assert.equal((await client.get('/balance')).status, 500, 'one probe goes through after 30 s');
    await client.close();
  });

  test('highVolumeApi: gradient2 concurrency starting at 20, budgeted retries, breaker', async () => {
    const { clock, mock, client } = withMock(presets.highVolumeApi);
    mock.on('GET', '/items').sequence([502, 200]);
    const call = client.get('/items');
    await clock.runAll();
    assert.equal((await call).attempts, 2);
    const seen = client.inspect();
    assert.equal((seen.concurrency as { limit: number }).limit, 20);
    assert.ok(Array.isArray(seen.circuits));
    assert.equal((seen.retry as { enabled: boolean }).enabled, true);
    await client.close();
  });

  test('internalService: propagates the deadline and hedges a slow GET after 250 ms', async () => {
    const { clock, mock, client } = withMock(presets.internalService);
    mock.on('GET', '/profile').hang({ once: true }).reply(200, { name: 'ada' });
    const call = client.get('/profile');
    await clock.advance(249);
    assert.equal(mock.calls.length, 1);
    await clock.advance(1);
    const response = await call;
    assert.deepEqual(await response.json(), { name: 'ada' });
    assert.equal(mock.calls.length, 2);
    const sent = Number(mock.calls[0]?.headers.deadline);
    assert.ok(sent > 0 && sent <= 3_000, `deadline header ${String(sent)} is within the 3 s total`);
    await client.close();
  });

  test('internalService: a POST is never hedged', async () => {
    const { clock, mock, client } = withMock(presets.internalService);
    mock.on('POST', '/events').hang();
    const call = client.safe.post('/events', { json: {} });
    await clock.advance(999);
    assert.equal(mock.calls.length, 1);
    await clock.advance(1);
    assertCode(errorOf(await call), 'ATTEMPT_TIMEOUT');
    await client.close();
  });

  test('overriding a field: a section passed replaces the preset one; spread it to change one field', async () => {
    const { clock, mock, client } = withMock({
      ...presets.paymentProcessing,
      retry: { ...presets.paymentProcessing.retry, maxRetries: 0 },
      timeout: { attempt: 1_000, total: 2_000 },
    });
    mock.on('POST', '/charges').reply(503);
    const keyed = await client.post('/charges', { headers: { 'idempotency-key': 'k1' } });
    assert.equal(keyed.attempts, 1, 'maxRetries: 0 wins');
    mock.on('GET', '/slow').hang();
    const slow = client.safe.get('/slow');
    await clock.advance(1_000);
    assertCode(errorOf(await slow), 'ATTEMPT_TIMEOUT');
    assert.equal(presets.paymentProcessing.retry.maxRetries, 2, 'the preset itself is unchanged');
    await client.close();
  });

  test('a wrong override is still validated', () => {
    assert.throws(
      () =>
        createClient({
          ...presets.highVolumeApi,
          concurrency: { ...presets.highVolumeApi.concurrency, minLimit: 0 },
        }),
      (error: unknown) => {
        assertCode(error, 'INVALID_OPTIONS');
        assert.match(error.message, /concurrency\.minLimit/);
        return true;
      },
    );
  });
});
