/**
 * Tracing end to end: a real client, a loopback server and the real OpenTelemetry SDK 2.x
 * registered globally (context manager, W3C propagator, tracer provider), so what is asserted
 * is what an operator sees in their backend and what the server receives on the wire.
 */
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createClient, type Client } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { isBulwarkError } from '../../src/errors.js';
import { createVirtualClock } from '../../src/testing/virtual-clock.js';
import { json, startServer, type TestServer } from '../helpers/http-server.js';
import { spanCapture } from '../helpers/span-capture.js';

const { exporter, provider, ofKind } = spanCapture();

before(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
});

after(async () => {
  await provider.shutdown();
  trace.disable();
  propagation.disable();
  context.disable();
});

/** `00-<trace id>-<span id>-<flags>` split into its parts. */
function parseTraceparent(value: unknown): { traceId: string; spanId: string; flags: string } {
  assert.equal(typeof value, 'string', 'a traceparent header was sent');
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value as string);
  assert.ok(match, `well-formed traceparent: ${String(value)}`);
  return { traceId: match[1] ?? '', spanId: match[2] ?? '', flags: match[3] ?? '' };
}

function callSpan(): ReadableSpan {
  const calls = ofKind(SpanKind.INTERNAL).filter((s) => s.instrumentationScope.name === 'bulwark');
  assert.equal(calls.length, 1, 'exactly one call span');
  return calls[0] as ReadableSpan;
}

/** Attempt spans in the order they started. */
function attemptSpans(): ReadableSpan[] {
  return ofKind(SpanKind.CLIENT).sort(
    (a, b) => (a.startTime[0] - b.startTime[0]) * 1e9 + a.startTime[1] - b.startTime[1],
  );
}

let server: TestServer;
let client: Client | undefined;
/** Statuses the server answers in turn; 200 once they run out. */
let script: number[] = [];
/** Resolved when a request reaches the server and then left hanging (for the abort test). */
let hang: (() => void) | undefined;

before(async () => {
  server = await startServer((req, res) => {
    if (req.url?.startsWith('/hang') === true) {
      hang?.();
      return; // never answers: the caller aborts
    }
    // /r/2 → /r/1 → /r/0 (200): a redirect chain.
    const hops = /^\/r\/(\d+)/.exec(req.url ?? '');
    if (hops !== null && Number(hops[1]) > 0) {
      res.writeHead(302, { location: `/r/${Number(hops[1]) - 1}` });
      res.end();
      return;
    }
    const status = script.shift() ?? 200;
    json(res, status, { ok: status < 400 });
  });
});

after(async () => {
  await server.close();
});

beforeEach(() => {
  exporter.reset();
  script = [];
  server.received.length = 0;
});

afterEach(async () => {
  await client?.destroy();
  client = undefined;
});

function make(options: ClientOptions = {}): Client {
  client = createClient({
    name: 'users-api',
    baseUrl: server.origin,
    random: () => 0, // full jitter at 0: retries follow at once, no real waiting
    ...options,
  });
  return client;
}

describe('spans of a call through the client', () => {
  test('GET with params: call span named by the template, one CLIENT attempt span under it with the stable attributes', async () => {
    const users = make();
    const res = await users.get('/users/:id', { params: { id: '42' }, query: { page: 2 } });
    assert.equal(res.status, 200);
    await res.text();

    const call = callSpan();
    const [attempt, ...rest] = attemptSpans();
    assert.ok(attempt);
    assert.equal(rest.length, 0);
    assert.equal(call.name, 'GET /users/:id');
    assert.equal(call.attributes['url.template'], '/users/:id');
    assert.equal(call.attributes['bulwark.client'], 'users-api');
    assert.equal(call.attributes['bulwark.attempts'], 1);
    assert.equal(call.attributes['http.response.status_code'], 200);
    assert.match(String(call.attributes['bulwark.correlation_id']), /^req_[0-9a-f]{16}$/);
    assert.equal(call.status.code, SpanStatusCode.UNSET);

    assert.equal(attempt.name, 'GET /users/:id');
    assert.equal(attempt.parentSpanContext?.spanId, call.spanContext().spanId);
    assert.equal(attempt.spanContext().traceId, call.spanContext().traceId);
    const port = Number(new URL(server.origin).port);
    assert.deepEqual(attempt.attributes, {
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': port,
      'url.template': '/users/:id',
      'url.full': `${server.origin}/users/42?page=2`,
      'http.response.status_code': 200,
      'network.protocol.version': '1.1',
      'network.peer.address': '127.0.0.1',
      'network.peer.port': port,
    });
    assert.equal(attempt.status.code, SpanStatusCode.UNSET);
  });

  test('the call span is a child of the span active when the call starts', async () => {
    const users = make();
    const parent = trace.getTracer('app').startSpan('handler');
    await context.with(trace.setSpan(context.active(), parent), async () => {
      await (await users.get('/users/:id', { params: { id: '1' } })).text();
    });
    parent.end();
    assert.equal(callSpan().parentSpanContext?.spanId, parent.spanContext().spanId);
    assert.equal(callSpan().spanContext().traceId, parent.spanContext().traceId);
  });

  test('url.full never carries a query token nor the userinfo of the URL', async () => {
    const users = make();
    const origin = new URL(server.origin);
    const url = `http://alice:s3cr3t-pass@${origin.host}/users/7?token=tok_live_abcdef123456&api_key=k-987654&page=1`;
    await (await users.request({ url })).text();

    const [attempt] = attemptSpans();
    assert.ok(attempt);
    const full = String(attempt.attributes['url.full']);
    assert.doesNotMatch(full, /tok_live_abcdef123456|k-987654|alice|s3cr3t-pass/);
    assert.match(full, /\/users\/7\?token=.+&api_key=.+&page=1$/, 'the parameter names and the rest stay');
    // The userinfo travelled as Basic credentials (the server needs them), never in a URL.
    assert.equal(
      server.received[0]?.headers.authorization,
      `Basic ${Buffer.from('alice:s3cr3t-pass').toString('base64')}`,
    );
    const everything = JSON.stringify(
      exporter.getFinishedSpans().map((s) => [s.name, s.attributes, s.events]),
    );
    assert.doesNotMatch(everything, /tok_live_abcdef123456|k-987654|s3cr3t-pass|YWxpY2U6/);
  });

  test('retries: one attempt span per attempt, resend_count from the second, a retry event on the call span', async () => {
    script = [503, 500];
    const users = make({ retry: { maxRetries: 3, throttledBaseDelay: 1 } });
    const res = await users.get('/users/:id', { params: { id: '9' } });
    assert.equal(res.status, 200);
    assert.equal(res.attempts, 3);
    await res.text();

    const attempts = attemptSpans();
    assert.deepEqual(
      attempts.map((s) => [
        s.attributes['http.response.status_code'],
        s.attributes['http.request.resend_count'],
        s.attributes['error.type'],
        s.status.code,
      ]),
      [
        [503, undefined, '503', SpanStatusCode.ERROR],
        [500, 1, '500', SpanStatusCode.ERROR],
        [200, 2, undefined, SpanStatusCode.UNSET],
      ],
    );
    const call = callSpan();
    for (const a of attempts) assert.equal(a.parentSpanContext?.spanId, call.spanContext().spanId);
    assert.equal(call.attributes['bulwark.attempts'], 3);
    assert.equal(call.status.code, SpanStatusCode.UNSET, 'the call succeeded in the end');
    const retries = call.events.filter((e) => e.name === 'bulwark.retry');
    assert.deepEqual(
      retries.map((e) => [e.attributes?.['bulwark.retry.reason'], e.attributes?.['bulwark.attempt']]),
      [
        ['503', 1],
        ['500', 2],
      ],
    );
    assert.equal(retries[0]?.attributes?.['bulwark.key'], server.origin);
  });

  test('a final 5xx sets status ERROR and error.type on the call span', async () => {
    script = [502];
    const users = make({ retry: false });
    const res = await users.get('/users/:id', { params: { id: '3' } });
    assert.equal(res.status, 502);
    await res.text();
    const call = callSpan();
    assert.equal(call.status.code, SpanStatusCode.ERROR);
    assert.equal(call.attributes['error.type'], '502');
    assert.equal(call.attributes['http.response.status_code'], 502);
  });

  test('a network failure: error.type is the error code, status ERROR, an exception event, on both spans', async () => {
    const closed = await startServer(() => undefined);
    const url = `${closed.origin}/gone?token=tok_should_not_leak`;
    await closed.close(); // nothing listens there any more: connection refused
    const users = make({ retry: false });
    await assert.rejects(users.request({ url }), (error: unknown) => isBulwarkError(error, 'NETWORK'));

    const [attempt] = attemptSpans();
    assert.ok(attempt);
    const call = callSpan();
    for (const span of [attempt, call]) {
      assert.equal(span.attributes['error.type'], 'NETWORK');
      assert.equal(span.status.code, SpanStatusCode.ERROR);
      assert.equal(span.attributes['http.response.status_code'], undefined);
    }
    const exception = attempt.events.find((e) => e.name === 'exception');
    const thrown = exception?.attributes;
    assert.ok(thrown, 'an exception event');
    assert.equal(thrown['exception.type'], 'NETWORK');
    // Redacted, not emptied: the message still says what failed and where.
    assert.match(String(thrown['exception.message']), /\/gone\?token=\S*REDACTED\S* failed: ECONNREFUSED/);
    assert.doesNotMatch(
      JSON.stringify([attempt.attributes, attempt.events, call.events]),
      /tok_should_not_leak/,
    );
  });

  test('an attempt timeout (virtual clock): ATTEMPT_TIMEOUT on the span with a bulwark.timeout event; no query secret in the error', async () => {
    const clock = createVirtualClock();
    const users = make({ clock, retry: false, timeout: { attempt: 2_000, total: 10_000 } });
    const reached = new Promise<void>((resolve) => {
      hang = resolve;
    });
    const pending = users.get('/hang', { query: { token: 'tok_timeout_secret' } });
    const settled = pending.then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    await reached;
    await clock.advance(2_000);
    const error = await settled;
    assert.ok(isBulwarkError(error, 'ATTEMPT_TIMEOUT'));
    assert.doesNotMatch(`${error.message} ${String(error.url)}`, /tok_timeout_secret/);

    const [attempt] = attemptSpans();
    assert.ok(attempt);
    assert.equal(attempt.attributes['error.type'], 'ATTEMPT_TIMEOUT');
    assert.equal(attempt.status.code, SpanStatusCode.ERROR);
    const timeout = attempt.events.find((e) => e.name === 'bulwark.timeout');
    assert.deepEqual(timeout?.attributes, { 'error.type': 'ATTEMPT_TIMEOUT', 'bulwark.timeout_ms': 2_000 });
    assert.equal(callSpan().attributes['error.type'], 'ATTEMPT_TIMEOUT');
  });

  test('a deadline: the bulwark.timeout event carries error.type and no bulwark.timeout_ms (a deadline is no duration)', async () => {
    const clock = createVirtualClock();
    const users = make({ clock, retry: false, timeout: { attempt: 10_000, total: 20_000 } });
    const reached = new Promise<void>((resolve) => {
      hang = resolve;
    });
    const settled = users.get('/hang', { deadline: 1_500 }).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    await reached;
    await clock.advance(1_500);
    assert.ok(isBulwarkError(await settled, 'DEADLINE_EXCEEDED'));
    const [attempt] = attemptSpans();
    const timeout = attempt?.events.find((e) => e.name === 'bulwark.timeout');
    assert.deepEqual(timeout?.attributes, { 'error.type': 'DEADLINE_EXCEEDED' });
  });

  test('a redirect chain: one CLIENT span per hop, each with its URL, status, resend count and traceparent', async () => {
    const users = make();
    const res = await users.get('/r/2');
    assert.equal(res.status, 200);
    await res.text();
    const hops = attemptSpans();
    assert.deepEqual(
      hops.map((s) => [
        s.attributes['url.full'],
        s.attributes['http.response.status_code'],
        s.attributes['http.request.resend_count'],
      ]),
      [
        [`${server.origin}/r/2`, 302, undefined],
        [`${server.origin}/r/1`, 302, 1],
        [`${server.origin}/r/0`, 200, 2],
      ],
    );
    const call = callSpan();
    for (const hop of hops) assert.equal(hop.parentSpanContext?.spanId, call.spanContext().spanId);
    // Each hop carried its own span as the parent the server sees.
    const sent = server.received.map((r) => parseTraceparent(r.headers.traceparent).spanId);
    assert.deepEqual(
      sent,
      hops.map((s) => s.spanContext().spanId),
    );
  });

  test('the caller aborting leaves both spans UNSET, without error.type', async () => {
    const users = make();
    const controller = new AbortController();
    const reached = new Promise<void>((resolve) => {
      hang = resolve;
    });
    const pending = users.get('/hang', { signal: controller.signal });
    await reached;
    controller.abort();
    await assert.rejects(pending, (error: unknown) => isBulwarkError(error, 'ABORTED'));

    const [attempt] = attemptSpans();
    assert.ok(attempt);
    for (const span of [attempt, callSpan()]) {
      assert.equal(span.status.code, SpanStatusCode.UNSET, span.name);
      assert.equal(span.attributes['error.type'], undefined);
    }
    assert.equal(attemptSpans().length, 1, 'an aborted call is not retried');
  });

  test('an open breaker: CIRCUIT_OPEN on the call span with a rejection event, and no attempt span', async () => {
    script = [500, 500];
    const users = make({
      retry: false,
      circuitBreaker: { failureThreshold: 2, failureRatio: false, openDuration: 60_000 },
    });
    for (let i = 0; i < 2; i++) await (await users.get('/users/:id', { params: { id: String(i) } })).text();
    exporter.reset();

    await assert.rejects(users.get('/users/:id', { params: { id: 'x' } }), (error: unknown) =>
      isBulwarkError(error, 'CIRCUIT_OPEN'),
    );
    assert.equal(attemptSpans().length, 0, 'nothing was sent');
    const call = callSpan();
    assert.equal(call.status.code, SpanStatusCode.ERROR);
    assert.equal(call.attributes['error.type'], 'CIRCUIT_OPEN');
    const rejected = call.events.find((e) => e.name === 'bulwark.circuit.rejected');
    const attributes = rejected?.attributes;
    assert.ok(attributes, 'a bulwark.circuit.rejected event');
    assert.equal(attributes['bulwark.key'], server.origin);
    assert.ok(Number(attributes['bulwark.retry_after_ms']) > 0);
  });
});

describe('trace context on the wire', () => {
  test('each attempt sends the traceparent of its own span', async () => {
    script = [503];
    const users = make({ retry: { throttledBaseDelay: 1 } });
    await (await users.get('/users/:id', { params: { id: '5' } })).text();

    const attempts = attemptSpans();
    assert.equal(attempts.length, 2);
    assert.equal(server.received.length, 2);
    for (const [i, span] of attempts.entries()) {
      const sent = parseTraceparent(server.received[i]?.headers.traceparent);
      assert.equal(sent.traceId, span.spanContext().traceId);
      assert.equal(sent.spanId, span.spanContext().spanId, `attempt ${i + 1} carries its own span id`);
      assert.equal(sent.flags, '01');
    }
  });

  test('telemetry.propagate false: no traceparent is sent, spans are still made', async () => {
    const users = make({ telemetry: { propagate: false } });
    await (await users.get('/users/:id', { params: { id: '5' } })).text();
    assert.equal(server.received[0]?.headers.traceparent, undefined);
    assert.equal(server.received[0]?.headers.tracestate, undefined);
    assert.equal(attemptSpans().length, 1);
  });

  test('telemetry false: no span and no traceparent, even inside an active span', async () => {
    const users = make({ telemetry: false });
    const parent = trace.getTracer('app').startSpan('handler');
    await context.with(trace.setSpan(context.active(), parent), async () => {
      await (await users.get('/users/:id', { params: { id: '5' } })).text();
    });
    parent.end();
    assert.equal(server.received[0]?.headers.traceparent, undefined);
    assert.equal(
      exporter.getFinishedSpans().filter((s) => s.instrumentationScope.name === 'bulwark').length,
      0,
    );
  });
});

describe('telemetry.tracerProvider', () => {
  test('spans go to the provider given, not the global one', async () => {
    const { exporter: own, provider: ownProvider } = spanCapture();
    const users = make({ telemetry: { tracerProvider: ownProvider } });
    await (await users.get('/users/:id', { params: { id: '8' } })).text();

    assert.equal(exporter.getFinishedSpans().length, 0);
    const spans = own.getFinishedSpans();
    assert.deepEqual(spans.map((s) => `${SpanKind[s.kind]} ${s.name}`).sort(), [
      'CLIENT GET /users/:id',
      'INTERNAL GET /users/:id',
    ]);
    const attempt = spans.find((s) => s.kind === SpanKind.CLIENT);
    const sent = parseTraceparent(server.received[0]?.headers.traceparent);
    assert.equal(sent.spanId, attempt?.spanContext().spanId);
    await ownProvider.shutdown();
  });
});
