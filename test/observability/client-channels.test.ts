/**
 * Diagnostics channels end to end: subscribers on the `bulwark:request` TracingChannel and the
 * point channels see what docs/diagnostics-channels.md promises, through a real client and a
 * loopback server.
 */
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics_channel from 'node:diagnostics_channel';
import { createClient, type Client } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { isBulwarkError } from '../../src/errors.js';
import { CHANNEL_NAMES } from '../../src/observability/channels.js';
import { json, startServer, type TestServer } from '../helpers/http-server.js';

interface Seen {
  event: string;
  channel: string;
  /** A copy of the payload when it was published (the request context is mutated later). */
  payload: Record<string, unknown>;
}

const seen: Seen[] = [];
const copy = (m: unknown): Record<string, unknown> => ({ ...(m as Record<string, unknown>) });
const request = diagnostics_channel.tracingChannel(CHANNEL_NAMES.request);
const handlers = {
  start: (m: unknown) => seen.push({ event: 'start', channel: 'request', payload: copy(m) }),
  end: (m: unknown) => seen.push({ event: 'end', channel: 'request', payload: copy(m) }),
  asyncStart: (m: unknown) => seen.push({ event: 'asyncStart', channel: 'request', payload: copy(m) }),
  asyncEnd: (m: unknown) => seen.push({ event: 'asyncEnd', channel: 'request', payload: copy(m) }),
  error: (m: unknown) => seen.push({ event: 'error', channel: 'request', payload: copy(m) }),
};
const points = Object.entries(CHANNEL_NAMES).filter(([key]) => key !== 'request');
const pointHandlers = new Map(
  points.map(([key, name]) => [
    name,
    (m: unknown) => seen.push({ event: 'publish', channel: key, payload: copy(m) }),
  ]),
);

let server: TestServer;
let script: number[] = [];
let client: Client | undefined;

before(async () => {
  request.subscribe(handlers);
  for (const [name, fn] of pointHandlers) diagnostics_channel.subscribe(name, fn);
  server = await startServer((_req, res) => {
    const status = script.shift() ?? 200;
    json(res, status, { status });
  });
});

after(async () => {
  request.unsubscribe(handlers);
  for (const [name, fn] of pointHandlers) diagnostics_channel.unsubscribe(name, fn);
  await server.close();
});

beforeEach(() => {
  seen.length = 0;
  script = [];
  server.received.length = 0;
});

afterEach(async () => {
  await client?.destroy();
  client = undefined;
});

function make(options: ClientOptions = {}): Client {
  client = createClient({
    name: 'catalog',
    baseUrl: server.origin,
    random: () => 0,
    telemetry: false,
    ...options,
  });
  return client;
}

describe('bulwark:request', () => {
  test('start → end → asyncStart → asyncEnd around a call that retried; the context carries id, template, status, attempts', async () => {
    script = [503];
    const catalog = make({ retry: { throttledBaseDelay: 1 } });
    const res = await catalog.get('/items/:sku', { params: { sku: 'A-1' } });
    await res.text();

    const calls = seen.filter((s) => s.channel === 'request');
    assert.deepEqual(
      calls.map((s) => s.event),
      ['start', 'end', 'asyncStart', 'asyncEnd'],
    );
    const start = calls[0]?.payload;
    assert.deepEqual(
      { ...start },
      {
        client: 'catalog',
        correlationId: server.received[0]?.headers['x-request-id'],
        method: 'GET',
        url: `${server.origin}/items/A-1`,
        urlTemplate: '/items/:sku',
      },
    );
    const [, , , last] = calls;
    assert.ok(last);
    const done = last.payload;
    assert.equal(done.status, 200);
    assert.equal(done.attempts, 2);
    assert.equal(done.result, res, 'result is the very response the caller gets');
    const retry = seen.find((s) => s.channel === 'retry')?.payload;
    assert.deepEqual(retry, {
      client: 'catalog',
      correlationId: start?.correlationId,
      method: 'GET',
      url: `${server.origin}/items/A-1`,
      key: server.origin,
      attempt: 1,
      delayMs: 0,
      status: 503,
      errorCode: undefined,
      delaySource: 'backoff',
    });
  });

  test('a failure: start → end → error → asyncStart → asyncEnd, with the error and its attempts', async () => {
    const gone = await startServer(() => undefined);
    const url = `${gone.origin}/x`;
    await gone.close();
    const catalog = make({ retry: { maxRetries: 1 } });
    await assert.rejects(catalog.request({ url }), (e: unknown) => isBulwarkError(e, 'NETWORK'));
    const calls = seen.filter((s) => s.channel === 'request');
    assert.deepEqual(
      calls.map((s) => s.event),
      ['start', 'end', 'error', 'asyncStart', 'asyncEnd'],
    );
    const error = calls[2]?.payload;
    assert.ok(isBulwarkError(error?.error, 'NETWORK'));
    assert.equal(error.attempts, 2);
  });

  test('throwHttpErrors: the channel sees the response (the rejection happens after the pipeline)', async () => {
    script = [404];
    const catalog = make({ throwHttpErrors: true });
    await assert.rejects(catalog.get('/items/none'), (e: unknown) => isBulwarkError(e, 'HTTP_STATUS'));
    const calls = seen.filter((s) => s.channel === 'request');
    assert.deepEqual(
      calls.map((s) => s.event),
      ['start', 'end', 'asyncStart', 'asyncEnd'],
    );
    assert.equal(calls[3]?.payload.status, 404);
  });

  test('a store bound to start is active for the whole call', async () => {
    const store = new AsyncLocalStorage<string>();
    request.start.bindStore(store, (ctx) => (ctx as { correlationId: string }).correlationId);
    const inside: (string | undefined)[] = [];
    try {
      const catalog = make({
        use: [
          async (ctx, next) => {
            const res = await next(ctx);
            return res;
          },
        ],
        retry: { throttledBaseDelay: 1 },
      });
      const sink = (): void => {
        inside.push(store.getStore());
      };
      diagnostics_channel.subscribe(CHANNEL_NAMES.retry, sink);
      script = [503];
      try {
        await (await catalog.get('/items/1')).text();
      } finally {
        diagnostics_channel.unsubscribe(CHANNEL_NAMES.retry, sink);
      }
    } finally {
      request.start.unbindStore(store);
    }
    assert.deepEqual(inside, [server.received[0]?.headers['x-request-id']]);
  });
});

describe('bulwark:circuit', () => {
  test('a transition to open, then a rejection with the call fields', async () => {
    script = [500, 500];
    const catalog = make({
      retry: false,
      circuitBreaker: { failureThreshold: 2, failureRatio: false, openDuration: 60_000 },
    });
    for (let i = 0; i < 2; i++) await (await catalog.get('/items/1')).text();
    await assert.rejects(catalog.get('/items/2'), (e: unknown) => isBulwarkError(e, 'CIRCUIT_OPEN'));

    const circuit = seen.filter((s) => s.channel === 'circuit').map((s) => s.payload);
    assert.deepEqual(
      circuit.map((p) => [p.type, p.from, p.to]),
      [
        ['transition', 'closed', 'open'],
        ['rejected', undefined, undefined],
      ],
    );
    const [, rejected] = circuit;
    assert.ok(rejected);
    assert.equal(rejected.client, 'catalog');
    assert.equal(rejected.key, server.origin);
    assert.equal(rejected.url, `${server.origin}/items/2`);
    assert.match(String(rejected.correlationId), /^req_[0-9a-f]{16}$/);
    assert.ok(Number(rejected.retryAfterMs) > 0);
  });
});

describe('nobody listening', () => {
  test('telemetry false and no subscriber: the call runs, attempts are still counted', async () => {
    request.unsubscribe(handlers);
    try {
      script = [503];
      const catalog = make({ retry: { throttledBaseDelay: 1 } });
      const res = await catalog.get('/items/1');
      await res.text();
      assert.equal(res.attempts, 2);
      assert.equal(seen.filter((s) => s.channel === 'request').length, 0);
    } finally {
      request.subscribe(handlers);
    }
  });
});
