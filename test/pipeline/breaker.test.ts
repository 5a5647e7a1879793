import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createClient, isBulwarkError, withDeadline, type BulwarkError } from '../../src/index.js';
import type { Client } from '../../src/client/client.js';
import type { CircuitSnapshot } from '../../src/policies/circuit-breaker.js';
import type { CircuitMessage } from '../../src/observability/channels.js';
import type { CircuitStore } from '../../src/policies/store-contract.js';
import type { Transport } from '../../src/transport/attempt.js';
import { UndiciTransport } from '../../src/transport/undici-transport.js';
import { captureChannel } from '../helpers/channel-capture.js';
import { ORIGIN, virtualClient } from '../helpers/virtual-client.js';
import { assertCode } from '../helpers/assert-error.js';

function setup(circuitBreaker: unknown, extra: Record<string, unknown> = {}) {
  return virtualClient({ circuitBreaker, ...extra });
}

/** Settles `p` (which may wait on the virtual clock) and returns its rejection, failing if it resolves. */
async function rejection(p: Promise<unknown>): Promise<BulwarkError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(isBulwarkError(error), `expected a BulwarkError rejection, got ${String(error)}`);
  return error;
}

function circuits(client: Client): CircuitSnapshot[] {
  return client.inspect().circuits as CircuitSnapshot[];
}

function circuit(client: Client, key = ORIGIN): CircuitSnapshot | undefined {
  return circuits(client).find((c) => c.key === key);
}

const FUSE = { failureThreshold: 3, failureRatio: false, openDuration: 1_000 } as const;

describe('circuit breaker through the client (virtual clock)', () => {
  test('opens after the configured failures and then fails fast with CIRCUIT_OPEN without sending', async () => {
    const { mock, client } = setup(FUSE);
    mock.on('GET', '/x').reply(500);
    for (let i = 0; i < 3; i++) assert.equal((await client.get('/x')).status, 500);
    assert.equal(circuit(client)?.state, 'open');
    const error = await rejection(client.get('/x'));
    assertCode(error, 'CIRCUIT_OPEN');
    assert.equal(error.key, ORIGIN);
    assert.equal(error.retryAfterMs, 1_000);
    assert.equal(error.method, 'GET');
    assert.equal(error.url, `${ORIGIN}/x`);
    assert.equal(mock.calls.length, 3, 'the open circuit sent nothing');
  });

  test('the trip needs the threshold: two failures leave it closed', async () => {
    const { mock, client } = setup(FUSE);
    mock.on('GET', '/x').sequence([500, 500, 200, 200]);
    for (let i = 0; i < 4; i++) await client.get('/x');
    assert.deepEqual(circuit(client), { key: ORIGIN, state: 'closed', failures: 2, calls: 4 });
  });

  test('half-open after openDuration: one probe goes, a concurrent call is refused, success closes', async () => {
    const { clock, mock, client } = setup(FUSE);
    mock.on('GET', '/x').sequence([500, 500, 500, { status: 200, delay: 50 }]);
    mock.on('GET', '/x').reply(200);
    for (let i = 0; i < 3; i++) await client.get('/x');
    await clock.advance(999);
    const stillOpen = await rejection(client.get('/x'));
    assertCode(stillOpen, 'CIRCUIT_OPEN');
    assert.equal(stillOpen.retryAfterMs, 1);
    await clock.advance(1);
    assert.equal(circuit(client)?.state, 'half-open');
    const probe = client.get('/x');
    await clock.flush();
    const second = await rejection(client.get('/x'));
    assertCode(second, 'CIRCUIT_OPEN');
    assert.equal(mock.calls.length, 4, 'only the probe was sent');
    await clock.advance(50);
    assert.equal((await probe).status, 200);
    assert.equal(circuit(client)?.state, 'closed');
    assert.equal((await client.get('/x')).status, 200);
    assert.equal(mock.calls.length, 5);
  });

  test('a failed probe re-opens it for twice as long, up to maxOpenDuration', async () => {
    const { clock, mock, client } = setup({ ...FUSE, maxOpenDuration: 3_000 });
    mock.on('GET', '/x').reply(500);
    for (let i = 0; i < 3; i++) await client.get('/x');
    const expected = [2_000, 3_000, 3_000];
    let wait = 1_000;
    for (const next of expected) {
      await clock.advance(wait);
      assert.equal((await client.get('/x')).status, 500, 'the probe went through and failed');
      const error = await rejection(client.get('/x'));
      assertCode(error, 'CIRCUIT_OPEN');
      assert.equal(error.retryAfterMs, next);
      wait = next;
    }
    await clock.advance(2_999);
    assertCode(await rejection(client.get('/x')), 'CIRCUIT_OPEN');
    assert.equal(mock.calls.length, 6);
  });

  test('a probe that hangs is ended by its attempt timeout and counts as failed', async () => {
    const { clock, mock, client } = setup(
      { ...FUSE, maxOpenDuration: 60_000 },
      { timeout: { attempt: 200, total: 10_000 } },
    );
    mock.on('GET', '/x').sequence([500, 500, 500, { kind: 'hang' }]);
    for (let i = 0; i < 3; i++) await client.get('/x');
    await clock.advance(1_000);
    const probe = rejection(client.get('/x'));
    await clock.advance(200);
    assertCode(await probe, 'ATTEMPT_TIMEOUT');
    const error = await rejection(client.get('/x'));
    assertCode(error, 'CIRCUIT_OPEN');
    assert.equal(error.retryAfterMs, 2_000);
  });

  test('keyed per origin: one origin open does not touch another', async () => {
    const { mock, client } = setup(FUSE);
    mock.on('GET', '/x').handle((call) => ({ status: call.url.startsWith(ORIGIN) ? 500 : 200 }));
    for (let i = 0; i < 3; i++) await client.get('/x');
    assertCode(await rejection(client.get('/x')), 'CIRCUIT_OPEN');
    const other = await client.request({ url: 'http://other.test/x' });
    assert.equal(other.status, 200);
    assert.equal(circuit(client, 'http://other.test')?.state, 'closed');
    assert.equal(circuit(client)?.state, 'open');
  });

  test('a request `key` names its own breaker, and the error carries it', async () => {
    const { mock, client } = setup(FUSE);
    mock.on('GET', '/tenants/:id').handle((call) => ({ status: call.path.endsWith('/a') ? 500 : 200 }));
    for (let i = 0; i < 3; i++) await client.get('/tenants/a', { key: 'tenant-a' });
    const error = await rejection(client.get('/tenants/a', { key: 'tenant-a' }));
    assertCode(error, 'CIRCUIT_OPEN');
    assert.equal(error.key, 'tenant-a');
    assert.equal((await client.get('/tenants/b', { key: 'tenant-b' })).status, 200);
    assert.equal((await client.get('/tenants/b')).status, 200, 'the origin breaker is a third one');
    assert.deepEqual(
      circuits(client)
        .map((c) => [c.key, c.state])
        .sort(),
      [
        [ORIGIN, 'closed'],
        ['tenant-a', 'open'],
        ['tenant-b', 'closed'],
      ],
    );
  });

  test('4xx answers are not failures; 5xx other than 503 are; 429 and 503 are load signals', async () => {
    for (const [status, state] of [
      [400, 'closed'],
      [404, 'closed'],
      [409, 'closed'],
      [429, 'closed'],
      [500, 'open'],
      [503, 'closed'],
      [502, 'open'],
      [504, 'open'],
    ] as const) {
      const { mock, client } = setup({ failureThreshold: 1, failureRatio: false });
      mock.on('GET', '/x').reply(status);
      await client.get('/x');
      assert.equal(circuit(client)?.state, state, `status ${status}`);
    }
  });

  test('network errors and attempt timeouts are failures', async () => {
    const refused = setup({ failureThreshold: 1, failureRatio: false });
    refused.mock.on('GET', '/x').networkError('ECONNRESET');
    assertCode(await rejection(refused.client.get('/x')), 'NETWORK');
    assert.equal(circuit(refused.client)?.state, 'open');

    const slow = setup(
      { failureThreshold: 1, failureRatio: false },
      { timeout: { attempt: 100, total: 1_000 } },
    );
    slow.mock.on('GET', '/x').hang();
    const p = rejection(slow.client.get('/x'));
    await slow.clock.advance(100);
    assertCode(await p, 'ATTEMPT_TIMEOUT');
    assert.equal(circuit(slow.client)?.state, 'open');
  });

  test("the caller's abort is not a failure", async () => {
    const { clock, mock, client } = setup({ failureThreshold: 1, failureRatio: false });
    mock.on('GET', '/slow').hang();
    mock.on('GET', '/ok').reply(200);
    const controller = new AbortController();
    const p = rejection(client.get('/slow', { signal: controller.signal }));
    await clock.flush();
    controller.abort();
    assertCode(await p, 'ABORTED');
    assert.equal(circuit(client)?.state, 'closed');
    assert.equal(circuit(client)?.failures, 0);
    assert.equal((await client.get('/ok')).status, 200);
  });

  test('rate-limit and concurrency rejections are never counted as failures', async () => {
    const { clock, mock, client } = setup(
      { failureThreshold: 1, failureRatio: false },
      {
        rateLimit: { requests: 2, per: 'second', strategy: 'error' },
        concurrency: { algorithm: 'fixed', initialLimit: 1 },
      },
    );
    mock.on('GET', '/x').reply(200, 'ok', { delay: 100 });
    const first = client.get('/x');
    await clock.flush();
    assertCode(await rejection(client.get('/x')), 'CONCURRENCY_LIMITED');
    assertCode(await rejection(client.get('/x')), 'RATE_LIMITED');
    await clock.advance(100);
    assert.equal((await first).status, 200);
    assert.deepEqual(circuit(client), { key: ORIGIN, state: 'closed', failures: 0, calls: 1 });
    assert.equal(mock.calls.length, 1);
  });

  test('retries stop at an open circuit: the last answer returns, CIRCUIT_OPEN is never retried', async () => {
    const { clock, mock, client } = setup(
      { failureThreshold: 2, failureRatio: false, openDuration: 5_000 },
      { retry: { maxRetries: 5 } },
    );
    mock.on('GET', '/x').reply(500);
    const p = client.get('/x');
    await clock.runAll();
    assert.equal((await p).status, 500);
    assert.equal(mock.calls.length, 2);
    // A call that meets the open circuit itself fails fast and is not retried.
    assertCode(await rejection(client.get('/x')), 'CIRCUIT_OPEN');
    assert.equal(mock.calls.length, 2);
  });

  test('a call waiting to retry ends when its circuit opens instead of sleeping out the backoff', async () => {
    const { clock, mock, client } = setup(
      { consecutiveFailures: 3, failureRatio: false, openDuration: 5_000 },
      { retry: { maxRetries: 3, baseDelay: 2_000, jitter: 'none' } },
    );
    mock.on('GET', '/x').networkError('ECONNREFUSED');
    // A fails and waits 2 s to retry; B and C fail 150 ms later (a streak must last 100 ms): the
    // third failure opens the circuit.
    const start = clock.now();
    const waiting = client.get('/x');
    const settledAt: number[] = [];
    void waiting.catch(() => settledAt.push(clock.now() - start));
    await clock.advance(150);
    const others = [client.get('/x'), client.get('/x')];
    for (const other of others) void other.catch(() => undefined);
    await clock.advance(1);
    assert.equal(circuit(client)?.state, 'open');
    const error = await rejection(waiting);
    assertCode(error, 'NETWORK');
    assert.equal(error.attempts, 1, 'its retry would have met the open circuit: not sent, not waited for');
    assert.deepEqual(settledAt, [150], 'it ended when the circuit opened, 1,850 ms before its retry was due');
    assert.equal(mock.calls.length, 3);
    await clock.runAll();
    for (const other of others) assertCode(await rejection(other), 'NETWORK');
    assert.equal(mock.calls.length, 3, 'no call retried into the open circuit');
  });

  test('a wait due after the open period ends too: the probe is the next call, not a waiting retry', async () => {
    const { clock, mock, client } = setup(
      { consecutiveFailures: 2, failureRatio: false, openDuration: 100 },
      { retry: { maxRetries: 1, baseDelay: 2_000, jitter: 'none' } },
    );
    mock.on('GET', '/x').sequence([
      { kind: 'error', code: 'ECONNREFUSED' },
      { kind: 'error', code: 'ECONNREFUSED' },
    ]);
    mock.on('GET', '/x').reply(200);
    const start = clock.now();
    const waiting = client.get('/x');
    let endedAt = -1;
    void waiting.catch(() => (endedAt = clock.now() - start));
    await clock.advance(150);
    const other = client.get('/x');
    void other.catch(() => undefined);
    await clock.advance(1);
    assert.equal(circuit(client)?.state, 'open');
    assertCode(await rejection(waiting), 'NETWORK');
    assert.equal(
      endedAt,
      150,
      'its retry was due at 2 s, long after the 100 ms open period: it ended anyway',
    );
    await clock.advance(100);
    const probe = await client.get('/x');
    assert.equal(probe.status, 200, 'the next call went out as the probe');
    assert.equal(circuit(client)?.state, 'closed');
    assert.equal(mock.calls.length, 3);
  });

  test('the failure ratio trips after minimumCalls', async () => {
    const { mock, client } = setup({ failureRatio: 0.5, minimumCalls: 4 });
    mock.on('GET', '/x').sequence([200, 500, 200]);
    mock.on('GET', '/x').reply(500);
    for (let i = 0; i < 3; i++) await client.get('/x');
    assert.equal(circuit(client)?.state, 'closed', '1 of 3 failed, under minimumCalls');
    await client.get('/x');
    assert.equal(circuit(client)?.state, 'open', '2 of 4 failed');
  });

  test('the HTTPower recipe: 5 failures among the last 10 calls open it for 60 s', async () => {
    const { clock, mock, client } = setup({
      window: { calls: 10 },
      failureThreshold: 5,
      openDuration: 60_000,
      maxOpenDuration: 60_000,
    });
    mock.on('GET', '/x').sequence([500, 500, 500, 500, 200, 200, 200, 200, 200, 200]);
    mock.on('GET', '/x').reply(500);
    for (let i = 0; i < 10; i++) await client.get('/x');
    assert.equal(circuit(client)?.state, 'closed', '4 failures in 10 calls');
    // Each new failure pushes an old call out: 4 failures stay in the window until the first
    // four 503s have all left it.
    for (let i = 0; i < 4; i++) {
      await client.get('/x');
      assert.deepEqual([circuit(client)?.state, circuit(client)?.failures], ['closed', 4]);
    }
    await client.get('/x');
    const error = await rejection(client.get('/x'));
    assertCode(error, 'CIRCUIT_OPEN');
    assert.equal(error.retryAfterMs, 60_000);
    await clock.advance(60_000);
    await client.get('/x');
    assert.equal(
      (await rejection(client.get('/x'))).retryAfterMs,
      60_000,
      'no doubling past maxOpenDuration',
    );
  });

  test('the Hardhat fuse recipe: N failures within T ms, open for R', async () => {
    const { clock, mock, client } = setup({
      failureThreshold: 3,
      failureRatio: false,
      window: { ms: 1_000 },
      openDuration: 2_000,
      maxOpenDuration: 2_000,
    });
    mock.on('GET', '/x').reply(500);
    await client.get('/x');
    await client.get('/x');
    await clock.advance(1_100);
    await client.get('/x');
    assert.equal(circuit(client)?.state, 'closed', 'the first two failures aged out of the window');
    await client.get('/x');
    await client.get('/x');
    assert.equal((await rejection(client.get('/x'))).retryAfterMs, 2_000);
  });

  test("Hardhat's default fuse (51 failures in 1 s) needs the streak rule off: 50 in a row stay closed", async () => {
    const fuse = {
      failureThreshold: 51,
      failureRatio: false,
      consecutiveFailures: false,
      window: { ms: 1_000 },
      openDuration: 2_000,
      maxOpenDuration: 2_000,
    };
    const { mock, client } = setup(fuse);
    mock.on('GET', '/x').reply(500);
    for (let i = 0; i < 50; i++) await client.get('/x');
    assert.equal(circuit(client)?.state, 'closed', 'the fuse tolerates 50');
    await client.get('/x');
    assert.equal((await rejection(client.get('/x'))).retryAfterMs, 2_000, 'and melts on the 51st');
    const { consecutiveFailures: _, ...withStreak } = fuse;
    const streaky = setup(withStreak);
    streaky.mock.on('GET', '/x').reply(500);
    for (let i = 0; i < 19; i++) await streaky.client.get('/x');
    await streaky.clock.advance(100);
    await streaky.client.get('/x');
    assert.equal(circuit(streaky.client)?.state, 'open', 'the default streak of 20 would melt it early');
  });

  test('isFailure overrides the judgement, per client and per request; circuitBreaker: false bypasses', async () => {
    const { mock, client } = setup({
      failureThreshold: 1,
      failureRatio: false,
      isFailure: (o: { response?: { status: number } }) => o.response?.status === 404,
    });
    mock.on('GET', '/gone').reply(404);
    mock.on('GET', '/down').reply(500);
    await client.get('/down');
    assert.equal(circuit(client)?.state, 'closed', 'a 500 is fine by this isFailure');
    await client.get('/gone', { circuitBreaker: { isFailure: () => false } });
    assert.equal(circuit(client)?.state, 'closed', 'the request override wins');
    await client.get('/gone');
    assert.equal(circuit(client)?.state, 'open');
    assertCode(await rejection(client.get('/down')), 'CIRCUIT_OPEN');
    assert.equal((await client.get('/down', { circuitBreaker: false })).status, 500);
  });

  test('isFailure can excuse an error too: it is then counted as a success', async () => {
    const { mock, client } = setup({
      failureThreshold: 1,
      failureRatio: false,
      isFailure: (o: { error?: { code: string } }) => o.error !== undefined && o.error.code !== 'NETWORK',
    });
    mock.on('GET', '/x').networkError('ECONNRESET');
    assertCode(await rejection(client.get('/x')), 'NETWORK');
    assert.deepEqual(circuit(client), { key: ORIGIN, state: 'closed', failures: 0, calls: 1 });
  });

  test('circuitBreaker: false on the client leaves no breaker at all', async () => {
    const { mock, client } = setup(false);
    mock.on('GET', '/x').reply(500);
    for (let i = 0; i < 30; i++) assert.equal((await client.get('/x')).status, 500);
    assert.equal('circuits' in client.inspect(), false);
  });

  test('bad options name the option path', () => {
    assert.throws(() => setup({ failureRatio: 2 }), /circuitBreaker\.failureRatio/);
    assert.throws(() => setup({ openDuration: 10, maxOpenDuration: 5 }), /circuitBreaker\.maxOpenDuration/);
    assert.throws(() => setup({ isFailure: 'yes' }), /circuitBreaker\.isFailure/);
  });
});

describe('circuit breaker defaults: the streak rule and load signals', () => {
  test('a sudden total failure opens it after 20 failed attempts, with a full window of successes', async () => {
    const { clock, mock, client } = setup({});
    mock.on('GET', '/x').sequence(Array.from({ length: 200 }, () => 200));
    mock.on('GET', '/x').networkError('ECONNREFUSED');
    for (let i = 0; i < 200; i++) await client.get('/x');
    for (let i = 0; i < 19; i++) assertCode(await rejection(client.get('/x')), 'NETWORK');
    await clock.advance(100); // a streak must last 100 ms: one burst of resets is not an outage
    assertCode(await rejection(client.get('/x')), 'NETWORK');
    const error = await rejection(client.get('/x'));
    assertCode(error, 'CIRCUIT_OPEN');
    assert.equal(error.retryAfterMs, 100, 'open for 100 ms by default');
    assert.equal(mock.calls.length, 220);
  });

  test('429 and 503 neither count nor break a streak of failures', async () => {
    const { clock, mock, client } = setup({ consecutiveFailures: 3, failureRatio: false });
    mock.on('GET', '/x').sequence([500, 503, 429, 500, 503, 500]);
    for (let i = 0; i < 5; i++) await client.get('/x');
    await clock.advance(100);
    await client.get('/x');
    assert.deepEqual(
      circuit(client),
      { key: ORIGIN, state: 'open', failures: 3, calls: 3, openUntil: clock.now() + 100 },
      'three 500s in a row, the load signals between them left out',
    );
    const shedding = setup({});
    shedding.mock.on('GET', '/x').reply(503);
    for (let i = 0; i < 100; i++) assert.equal((await shedding.client.get('/x')).status, 503);
    assert.equal(circuit(shedding.client)?.state, 'closed', 'a shedding upstream is not cut off');
  });

  test("a 504 under the caller's propagated deadline is not a failure; without one it is", async () => {
    const { clock, mock, client } = setup({ failureThreshold: 1, failureRatio: false });
    mock.on('GET', '/x').reply(504);
    const answer = await withDeadline(500, () => client.get('/x'), { clock });
    assert.equal(answer.status, 504);
    assert.equal(mock.calls[0]?.headers['deadline'], '500', 'the deadline went with the request');
    assert.equal(circuit(client)?.state, 'closed');
    await client.get('/x');
    assert.equal(circuit(client)?.state, 'open', 'a 504 with only the total timeout behind it counts');
    const unpropagated = setup({ failureThreshold: 1, failureRatio: false }, { deadline: false });
    unpropagated.mock.on('GET', '/x').reply(504);
    await withDeadline(500, () => unpropagated.client.get('/x'), { clock: unpropagated.clock });
    assert.equal(circuit(unpropagated.client)?.state, 'open', 'the upstream did not know the deadline');
  });

  test('a retry the open circuit would refuse is not waited for: the last answer comes back at once', async () => {
    const { clock, mock, client } = setup(
      { failureThreshold: 2, failureRatio: false, openDuration: 1_000 },
      { retry: { maxRetries: 3 } },
    );
    mock.on('GET', '/x').reply(500);
    const started = clock.now();
    const call = client.get('/x');
    await clock.runAll();
    const response = await call;
    assert.equal(response.status, 500);
    assert.equal(response.attempts, 2, 'the second failure opened the circuit');
    assert.equal(clock.now() - started, 50, 'one backoff (100 ms ceiling, draw 0.5), not a second one');
    assert.equal(mock.calls.length, 2);
  });
});

describe('bulwark:circuit diagnostics channel', () => {
  const capture = captureChannel<CircuitMessage>('bulwark:circuit');
  const messages = capture.messages;
  afterEach(() => {
    capture.stop();
  });

  test('publishes every transition and every refusal', async () => {
    capture.start();
    const { clock, mock, client } = setup({ ...FUSE, maxOpenDuration: 60_000 }, { name: 'billing' });
    mock.on('GET', '/x').sequence([500, 500, 500, 500, 200]);
    for (let i = 0; i < 3; i++) await client.get('/x');
    await rejection(client.get('/x'));
    await clock.advance(1_000);
    await client.get('/x'); // failed probe
    await clock.advance(2_000);
    await client.get('/x'); // passing probe
    const mine = messages.filter((m) => m.client === 'billing');
    assert.deepEqual(
      mine.map((m) => (m.type === 'transition' ? `${m.from}→${m.to}` : `rejected ${m.retryAfterMs}`)),
      [
        'closed→open',
        'rejected 1000',
        'open→half-open',
        'half-open→open',
        'open→half-open',
        'half-open→closed',
      ],
    );
    // Openings say their ratio and for how long (the failed probe doubles the open period); every
    // transition says why.
    assert.deepEqual(
      mine.map((m) => (m.type === 'transition' ? [m.to, m.failureRatio, m.openMs, m.reason] : m.type)),
      [
        ['open', 1, 1_000, 'failure-threshold'],
        'rejected',
        ['half-open', undefined, undefined, 'open-elapsed'],
        ['open', undefined, 2_000, 'probe-failed'],
        ['half-open', undefined, undefined, 'open-elapsed'],
        ['closed', undefined, undefined, 'probes-passed'],
      ],
    );
    const rejected = mine.find((m) => m.type === 'rejected');
    assert.ok(rejected?.type === 'rejected');
    assert.equal(rejected.key, ORIGIN);
    assert.equal(rejected.method, 'GET');
    assert.equal(rejected.url, `${ORIGIN}/x`);
    assert.match(rejected.correlationId, /^req_[0-9a-f]{16}$/);
  });
});

/** Counts what reaches a real transport. */
function counting(inner: Transport): Transport & { sent: number } {
  const counter = {
    sent: 0,
    send(attempt: Parameters<Transport['send']>[0]) {
      counter.sent++;
      return inner.send(attempt);
    },
    stats: () => inner.stats(),
    close: () => inner.close(),
    destroy: () => inner.destroy(),
  };
  return counter;
}

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

function okServer(): { server: Server; close(): Promise<void> } {
  const sockets = new Set<Socket>();
  const server = createServer((_req, res) => {
    res.end('up');
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    server,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('circuit breaker against a real upstream (loopback)', () => {
  test('refused → opens → fails fast without touching the transport → upstream back → closes after openDuration', async () => {
    const first = okServer();
    const port = await listen(first.server, 0);
    await first.close(); // the upstream is down: connections are refused
    const transport = counting(new UndiciTransport({ maxResponseBytes: 1_000_000 }));
    const client = createClient({
      baseUrl: `http://127.0.0.1:${port}`,
      transport,
      retry: false,
      circuitBreaker: { failureThreshold: 2, failureRatio: false, openDuration: 100 },
    });
    let back: ReturnType<typeof okServer> | undefined;
    try {
      for (let i = 0; i < 2; i++) {
        const error = await rejection(client.get('/health'));
        assertCode(error, 'NETWORK');
        assert.equal(error.sent, false);
      }
      assert.equal(transport.sent, 2);
      const open = await rejection(client.get('/health'));
      assertCode(open, 'CIRCUIT_OPEN');
      assert.ok(open.retryAfterMs !== undefined && open.retryAfterMs > 0 && open.retryAfterMs <= 100);
      assert.equal(transport.sent, 2, 'the open circuit did not reach the transport');

      back = okServer();
      await listen(back.server, port);
      // Wait out the open period (ordering only: nothing here asserts how long anything took).
      let response;
      for (;;) {
        const r = await client.safe.get('/health');
        if (r.ok) {
          response = r.response;
          break;
        }
        assert.equal(r.error.code, 'CIRCUIT_OPEN', r.error.message);
        await new Promise((resolve) => setTimeout(resolve, r.error.retryAfterMs ?? 10));
      }
      assert.equal(response.status, 200);
      assert.equal(await response.text(), 'up');
      assert.equal(transport.sent, 3, 'one probe');
      assert.equal(circuit(client, `http://127.0.0.1:${port}`)?.state, 'closed');
      assert.equal((await client.get('/health')).status, 200);
    } finally {
      await client.close();
      await back?.close();
    }
  });
});

describe('shared circuit (a CircuitStore)', () => {
  test('a failed probe reopens the fleet for twice as long, capped like the local breaker: max(60 s, openDuration)', async () => {
    const opened: number[] = [];
    const store: CircuitStore = {
      check: () => ({ state: 'half-open', openMs: 100_000, probing: false }),
      open: (_key, forMs) => {
        opened.push(forMs);
      },
      close: () => undefined,
      acquireProbe: () => true,
    };
    const { mock, client } = virtualClient({ circuitBreaker: { openDuration: 100_000, store } });
    mock.on('GET', '/x').reply(500);
    assert.equal((await client.get('/x')).status, 500);
    // 2 × 100 s, capped at max(60 s, openDuration) = 100 s (it was cut to 60 s, below openDuration).
    assert.deepEqual(opened, [100_000]);
  });
});
