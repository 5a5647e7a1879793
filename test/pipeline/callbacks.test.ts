/**
 * A function the caller gave bulwark that throws (a `use` middleware, `isFailure`, `shouldRetry`,
 * a `rateLimit.key` function) ends the call with `CALLBACK_FAILED` naming the option, with what it
 * threw as `cause`: never `NETWORK` (a bug in the caller's code must not look like an outage in
 * metrics and alerts), never retried, never counted by a breaker, and a half-open probe it ends is
 * given back. Real loopback server for the calls; the virtual clock for the half-open case.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { BulwarkError, createClient, isBulwarkError, type ClientOptions } from '../../src/index.js';
import type { Client } from '../../src/client/client.js';
import type { CircuitSnapshot } from '../../src/policies/circuit-breaker.js';
import { startServer, type TestServer } from '../helpers/http-server.js';
import { ORIGIN, virtualClient } from '../helpers/virtual-client.js';

class CallerBug extends Error {
  override name = 'CallerBug';
}

const bug = (where: string) => (): never => {
  throw new CallerBug(`bug in ${where}`);
};

function circuitOf(client: Client, key: string): CircuitSnapshot | undefined {
  return (client.inspect().circuits as CircuitSnapshot[]).find((c) => c.key === key);
}

describe('a throwing user callback: CALLBACK_FAILED, never NETWORK, never retried, never a breaker failure', () => {
  let server: TestServer;
  const clients: Client[] = [];
  before(async () => {
    server = await startServer((req, res) => {
      res.writeHead(req.url === '/unavailable' ? 503 : 200, { 'content-type': 'text/plain' });
      res.end('body');
    });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  after(async () => {
    await server.close();
  });

  /** Retries on, and a breaker that opens on the first failure it counts. */
  function client(options: ClientOptions): Client {
    const c = createClient({
      baseUrl: server.origin,
      retry: { maxRetries: 3, baseDelay: 1, maxDelay: 1 },
      ...options,
      circuitBreaker: { failureThreshold: 1, failureRatio: false, ...(options.circuitBreaker || {}) },
    });
    clients.push(c);
    return c;
  }

  const cases: {
    name: string;
    options: ClientOptions;
    path?: string;
    callback: string;
    /** Requests the server saw: 0 when the callback ran before sending, 1 after; never more. */
    sent: number;
  }[] = [
    {
      name: 'a middleware throwing before next',
      options: { use: [bug('use')] },
      callback: 'use[0]',
      sent: 0,
    },
    {
      name: 'a middleware rejecting after next',
      options: {
        use: [
          async (ctx, next) => {
            await next(ctx);
            throw new CallerBug('after');
          },
        ],
      },
      callback: 'use[0]',
      sent: 1,
    },
    {
      name: 'the second middleware',
      options: { use: [(ctx, next) => next(ctx), bug('second')] },
      callback: 'use[1]',
      sent: 0,
    },
    {
      name: 'circuitBreaker.isFailure',
      options: { circuitBreaker: { isFailure: bug('isFailure') } },
      callback: 'circuitBreaker.isFailure',
      sent: 1,
    },
    {
      name: 'circuitBreaker.isFailure on a 503',
      options: { circuitBreaker: { isFailure: bug('isFailure') } },
      path: '/unavailable',
      callback: 'circuitBreaker.isFailure',
      sent: 1,
    },
    {
      name: 'retry.shouldRetry',
      options: { retry: { maxRetries: 3, baseDelay: 1, shouldRetry: bug('shouldRetry') } },
      callback: 'retry.shouldRetry',
      sent: 1,
    },
    {
      name: 'a rateLimit.key function',
      options: { rateLimit: { requests: 100, per: 'second', key: bug('key') } },
      callback: 'rateLimit.key',
      sent: 0,
    },
  ];

  for (const c of cases) {
    test(c.name, async () => {
      const path = c.path ?? '/ok';
      const before = server.received.length;
      const tested = client(c.options);
      const error = await tested.get(path).then(
        () => assert.fail('resolved'),
        (e: unknown) => e,
      );
      assert.ok(isBulwarkError(error, 'CALLBACK_FAILED'), `${c.name}: ${String(error)}`);
      assert.equal(error.path, c.callback);
      assert.ok(error.cause instanceof CallerBug, 'the thrown error is the cause');
      assert.match(
        error.message,
        new RegExp(`\`${c.callback.replace(/[[\]]/g, '\\$&')}\` threw a CallerBug \\(see cause\\)\\.$`),
      );
      assert.ok(!error.message.includes('bug in'), "the message of the caller's error is not echoed");
      assert.equal(error.method, 'GET');
      assert.equal(server.received.length - before, c.sent, 'sent at most once, never retried');
      // Never a breaker failure: the circuit that opens on one failure is still closed.
      const circuit = circuitOf(tested, server.origin);
      assert.notEqual(circuit?.state, 'open', JSON.stringify(circuit));
      assert.equal(circuit?.failures ?? 0, 0, JSON.stringify(circuit));
      // safe.* never rejects, and says the same.
      const safe = await tested.safe.get(path);
      assert.ok(!safe.ok && safe.error.code === 'CALLBACK_FAILED');
    });
  }

  test('a BulwarkError a middleware throws on purpose, or passes on from next, is kept as it is', async () => {
    const own = new BulwarkError('INVALID_REQUEST', 'x-tenant is required', { path: 'headers.x-tenant' });
    const c = client({
      use: [
        () => {
          throw own;
        },
      ],
    });
    assert.equal(await c.get('/ok').catch((e: unknown) => e), own);
    const refused = createClient({
      baseUrl: 'http://127.0.0.1:1',
      retry: false,
      use: [(ctx, next) => next(ctx)],
    });
    clients.push(refused);
    const passed = await refused.get('/ok').catch((e: unknown) => e);
    assert.ok(isBulwarkError(passed, 'NETWORK'), String(passed));
  });

  test("the call's span says error.type CALLBACK_FAILED (real OpenTelemetry SDK), not NETWORK", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    try {
      const c = client({
        circuitBreaker: { isFailure: bug('isFailure') },
        telemetry: { tracerProvider: provider },
      });
      await c.get('/ok').catch(() => undefined);
      const types = exporter.getFinishedSpans().map((span) => [span.kind, span.attributes['error.type']]);
      assert.deepEqual(types, [
        [SpanKind.CLIENT, undefined],
        [SpanKind.INTERNAL, 'CALLBACK_FAILED'],
      ]);
    } finally {
      await provider.shutdown();
    }
  });
});

describe('a throwing isFailure on a half-open probe gives the probe back (virtual clock)', () => {
  test('the next call is admitted as the probe, not refused with CIRCUIT_OPEN', async () => {
    const { clock, mock, client } = virtualClient({
      circuitBreaker: { failureThreshold: 1, failureRatio: false, openDuration: 1_000 },
    });
    mock.on('GET', '/x').sequence([500, 200, 200]);
    assert.equal((await client.get('/x')).status, 500);
    assert.equal(circuitOf(client, ORIGIN)?.state, 'open');
    await clock.advance(1_000);
    const probe = await client
      .get('/x', { circuitBreaker: { isFailure: bug('isFailure') } })
      .catch((e: unknown) => e);
    assert.ok(isBulwarkError(probe, 'CALLBACK_FAILED'), String(probe));
    assert.equal(circuitOf(client, ORIGIN)?.state, 'half-open', 'the probe counted for nothing');
    assert.equal((await client.get('/x')).status, 200, 'the probe slot was given back');
    assert.equal(circuitOf(client, ORIGIN)?.state, 'closed');
    assert.equal(mock.calls.length, 3);
  });
});
