import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createClient, isBulwarkError, type BulwarkError, type Client } from '../../src/index.js';
import type { CircuitSnapshot } from '../../src/policies/circuit-breaker.js';
import type { CircuitMessage } from '../../src/observability/channels.js';
import { redisCircuitStore } from '../../src/stores/redis.js';
import { createVirtualClock } from '../../src/testing/index.js';
import { assertCode } from '../helpers/assert-error.js';
import { captureChannel } from '../helpers/channel-capture.js';
import { startServer, type TestServer } from '../helpers/http-server.js';
import { redisTestOptions, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

async function rejection(p: Promise<unknown>): Promise<BulwarkError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(isBulwarkError(error), `expected a BulwarkError, got ${String(error)}`);
  return error;
}

function circuits(client: Client): CircuitSnapshot[] {
  return client.inspect().circuits as CircuitSnapshot[];
}

const FUSE = { failureThreshold: 2, failureRatio: false, openDuration: 1_000 } as const;

describe('client.circuit(key): manual control over loopback servers', () => {
  let servers: TestServer[] = [];
  let clients: Client[] = [];
  const serve = async (status = 200): Promise<TestServer> => {
    const s = await startServer((_req, res) => {
      res.statusCode = status;
      res.end('ok');
    });
    servers.push(s);
    return s;
  };
  const client = (options: Record<string, unknown>): Client => {
    const c = createClient({ retry: false, ...options } as never);
    clients.push(c);
    return c;
  };
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(servers.map((s) => s.close()));
    clients = [];
    servers = [];
  });

  test('isolate() refuses every call without sending until reset(); inspect() lists it as isolated', async () => {
    const server = await serve();
    const c = client({ baseUrl: server.origin });
    const circuit = c.circuit();
    assert.equal(circuit.key, server.origin);
    assert.equal(circuit.state, 'closed');
    circuit.isolate();
    assert.equal(circuit.state, 'isolated');
    assert.deepEqual(
      circuits(c).find((s) => s.key === server.origin),
      { key: server.origin, state: 'isolated', failures: 0, calls: 0 },
      'inspect() shows the isolated circuit before any request',
    );
    for (const method of ['GET', 'POST'] as const) {
      const error = await rejection(c.request({ method, path: '/x' }));
      assertCode(error, 'CIRCUIT_OPEN');
      assert.equal(error.key, server.origin);
      assert.equal(error.retryAfterMs, Number.POSITIVE_INFINITY);
      assert.match(error.message, /isolated until reset/);
    }
    assert.equal(server.received.length, 0, 'an isolated circuit sends nothing');
    await circuit.reset();
    assert.equal(circuit.state, 'closed');
    assert.equal((await c.get('/x')).status, 200);
    assert.equal(server.received.length, 1);
  });

  test('reset() closes a tripped circuit at once, with an empty window', async () => {
    const server = await serve(500);
    const c = client({ baseUrl: server.origin, circuitBreaker: FUSE });
    for (let i = 0; i < 2; i++) assert.equal((await c.get('/x')).status, 500);
    assert.equal(c.circuit().state, 'open');
    assertCode(await rejection(c.get('/x')), 'CIRCUIT_OPEN');
    await c.circuit().reset();
    assert.equal(c.circuit().state, 'closed');
    assert.equal((await c.get('/x')).status, 500, 'sent again after the reset');
    assert.equal(
      c.circuit().state,
      'closed',
      'one failure in the fresh window does not trip a threshold of 2',
    );
    assert.equal(server.received.length, 3);
  });

  test('an isolated circuit only holds its own key: other origins and keys still go', async () => {
    const a = await serve();
    const b = await serve();
    const c = client({ baseUrl: a.origin });
    c.circuit(b.origin).isolate();
    assert.equal((await c.get('/x')).status, 200);
    assertCode(await rejection(c.request({ url: `${b.origin}/x` })), 'CIRCUIT_OPEN');
    assert.equal(b.received.length, 0);
    c.circuit('reports').isolate();
    assertCode(await rejection(c.get('/r', { key: 'reports' })), 'CIRCUIT_OPEN');
    assert.equal(a.received.length, 1);
    // A per-request `circuitBreaker: false` is the caller's explicit bypass.
    assert.equal((await c.get('/r', { key: 'reports', circuitBreaker: false })).status, 200);
  });

  test('circuitBreaker.key as a string: one circuit for every origin of the client', async () => {
    const a = await serve(500);
    const b = await serve();
    const c = client({ circuitBreaker: { ...FUSE, key: 'payments' } });
    for (let i = 0; i < 2; i++) await c.request({ url: `${a.origin}/charge`, method: 'GET' });
    const error = await rejection(c.request({ url: `${b.origin}/charge` }));
    assertCode(error, 'CIRCUIT_OPEN');
    assert.equal(error.key, 'payments');
    assert.equal(b.received.length, 0, 'the other origin shares the open circuit');
    assert.equal(c.circuit().key, 'payments', 'the string key is the default circuit');
    assert.equal(c.circuit().state, 'open');
    assert.deepEqual(
      circuits(c).map((s) => s.key),
      ['payments'],
    );
  });

  test('circuitBreaker.key as a function: a circuit per route, the request given to it', async () => {
    const server = await serve(500);
    const seen: unknown[] = [];
    const c = client({
      baseUrl: server.origin,
      circuitBreaker: {
        ...FUSE,
        key: (req: { method: string; origin: string; path: string; key: string }) => {
          seen.push(req);
          return `${req.origin}${req.path.split('?')[0]!.split('/').slice(0, 2).join('/')}`;
        },
      },
    });
    await c.get('/users/1?x=1');
    await c.get('/users/2');
    assertCode(await rejection(c.get('/users/3')), 'CIRCUIT_OPEN');
    assert.equal((await c.get('/orders/1')).status, 500, 'another route has a circuit of its own');
    assert.deepEqual(seen[0], {
      method: 'GET',
      origin: server.origin,
      path: '/users/1?x=1',
      key: server.origin,
    });
    assert.equal(c.circuit(`${server.origin}/users`).state, 'open');
    assert.throws(
      () => c.circuit(),
      (e: unknown) =>
        isBulwarkError(e, 'INVALID_REQUEST') && /circuitBreaker\.key` is a function/.test(e.message),
    );
  });

  test('bad keys are refused with errors naming the option', async () => {
    for (const key of [42, '', null, {}]) {
      assert.throws(
        () => createClient({ circuitBreaker: { key } } as never),
        (e: unknown) =>
          isBulwarkError(e, 'INVALID_OPTIONS') &&
          e.path === 'circuitBreaker.key' &&
          /non-empty string or a function/.test(e.message),
      );
    }
    const server = await serve();
    const c = client({ baseUrl: server.origin, circuitBreaker: { key: () => '' } });
    const error = await rejection(c.get('/x'));
    assertCode(error, 'INVALID_OPTIONS');
    assert.match(error.message, /`circuitBreaker\.key\(\)`.*non-empty string/);
    // rateLimit.key goes through the same resolver.
    const limited = client({
      baseUrl: server.origin,
      rateLimit: { requests: 10, per: 'second', key: () => 42 as unknown as string },
    });
    const bucket = await rejection(limited.get('/x'));
    assertCode(bucket, 'INVALID_OPTIONS');
    assert.match(bucket.message, /`rateLimit\.key\(\)`: got 42/);
    assert.equal(server.received.length, 0);
    assert.throws(
      () => client({}).circuit(),
      (e: unknown) => isBulwarkError(e, 'INVALID_REQUEST') && /without a `baseUrl`/.test(e.message),
    );
    assert.throws(
      () => client({ baseUrl: server.origin, circuitBreaker: false }).circuit(),
      (e: unknown) => isBulwarkError(e, 'INVALID_REQUEST') && /circuitBreaker: false/.test(e.message),
    );
    assert.throws(
      () => client({ baseUrl: server.origin }).circuit(7 as never),
      (e: unknown) => isBulwarkError(e, 'INVALID_REQUEST') && e.path === 'circuit(key)',
    );
  });
});

describe('client.circuit(key) on the virtual clock', () => {
  test('isolation outlasts every open duration and the idle sweep; the channel names it', async () => {
    const clock = createVirtualClock();
    const capture = captureChannel<CircuitMessage>('bulwark:circuit');
    capture.start();
    try {
      const c = createClient({
        baseUrl: 'http://api.test',
        clock,
        circuitBreaker: { idleTimeout: 1_000 },
      });
      c.circuit().isolate();
      const other = c.circuit('other');
      other.isolate();
      await other.reset(); // closed and idle: the sweep may drop it
      // The background sweep drops idle closed circuits, with or without lookups.
      for (const key of ['k1', 'k2']) {
        await clock.advance(12 * 3_600_000);
        c.circuit(key).isolate();
      }
      assert.equal(c.circuit().state, 'isolated');
      assert.deepEqual(
        circuits(c).map((s) => s.key),
        ['http://api.test', 'k1', 'k2'],
        'the idle closed circuit went; the isolated ones stay',
      );
      await c.circuit().reset();
      const transitions = capture.messages.filter((m) => m.key === 'http://api.test');
      assert.deepEqual(
        transitions.map((m) => (m.type === 'transition' ? [m.type, m.from, m.to] : [m.type])),
        [
          ['transition', 'closed', 'isolated'],
          ['transition', 'isolated', 'closed'],
        ],
      );
      await c.close();
    } finally {
      capture.stop();
    }
  });
});

void describe('client.circuit(key) with a shared Redis circuit store', redisTestOptions(), () => {
  let redis: RedisServer;
  let io: Redis;
  before(async () => {
    redis = await startRedisServer();
    io = new Redis(redis.port, '127.0.0.1');
  });
  after(async () => {
    io.disconnect();
    await redis.stop();
  });

  test('isolate() holds this node only; reset() closes the shared circuit for the fleet', async () => {
    const server = await startServer((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
    const node = (): Client =>
      createClient({
        baseUrl: server.origin,
        retry: false,
        circuitBreaker: {
          ...FUSE,
          openDuration: 60_000,
          store: redisCircuitStore({ client: io, prefix: 'ctl' }),
        },
      });
    const a = node();
    const b = node();
    try {
      a.circuit().isolate();
      assert.equal((await b.get('/x')).status, 500, 'another node is not isolated');
      assertCode(await rejection(a.get('/x')), 'CIRCUIT_OPEN');
      await a.circuit().reset();
      // b trips, and the store opens the circuit for every node, a included.
      await b.get('/x');
      assert.equal(b.circuit().state, 'open');
      // b's trip reaches Redis in the background; write it here too so the test does not wait on it.
      await redisCircuitStore({ client: io, prefix: 'ctl' }).open(server.origin, 60_000);
      const shared = await rejection(a.get('/x'));
      assertCode(shared, 'CIRCUIT_OPEN');
      assert.ok(shared.retryAfterMs! > 50_000, 'refused by the fleet-wide open circuit');
      assert.equal(a.circuit().state, 'closed', "a's own breaker never saw a failure");
      const sent = server.received.length;
      await a.circuit().reset();
      assert.equal((await a.get('/x')).status, 500, 'the shared circuit is closed: a sends again');
      assert.equal(server.received.length, sent + 1);
      assert.equal(b.circuit().state, 'open', "b's own breaker keeps its state");
    } finally {
      await a.close();
      await b.close();
      await server.close();
    }
  });
});
