import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as api from '@opentelemetry/api';
import { context, metrics, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import {
  MeterProvider,
  MetricReader,
  type HistogramMetricData,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { BulwarkError } from '../../src/errors.js';
import {
  createTelemetry,
  createTelemetryWith,
  errorType,
  NOOP_TELEMETRY,
  sanitizeUrl,
  type AttemptTarget,
  type CircuitStateName,
} from '../../src/observability/otel.js';
import { parseOrigin } from '../../src/observability/otel-attributes.js';
import { INSTRUMENTS } from '../../src/observability/otel-metrics.js';
import type { PolicyEvent, PolicyEventOf } from '../../src/observability/policy-events.js';
import type { CircuitState } from '../../src/observability/channels.js';

/** A reader collected on demand. */
class TestReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

interface Sdk {
  exporter: InMemorySpanExporter;
  tracerProvider: BasicTracerProvider;
  meterProvider: MeterProvider;
  reader: TestReader;
  clock: { now(): number; t: number };
}

function makeSdk(sampler?: AlwaysOffSampler): Sdk {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
    ...(sampler === undefined ? {} : { sampler }),
  });
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const clock = {
    t: 1_000_000,
    now() {
      return this.t;
    },
  };
  return { exporter, tracerProvider, meterProvider, reader, clock };
}

function telemetryOn(sdk: Sdk, extra: { propagate?: boolean; redactUrl?: (u: string) => string } = {}) {
  return createTelemetry({
    clientName: 'github',
    tracerProvider: sdk.tracerProvider,
    meterProvider: sdk.meterProvider,
    clock: sdk.clock,
    ...extra,
  });
}

async function collect(sdk: Sdk): Promise<Map<string, MetricData>> {
  const { resourceMetrics } = await sdk.reader.collect();
  const out = new Map<string, MetricData>();
  for (const scope of resourceMetrics.scopeMetrics)
    for (const m of scope.metrics) out.set(m.descriptor.name, m);
  return out;
}

const target = (over: Partial<AttemptTarget> = {}): AttemptTarget => ({
  method: 'GET',
  origin: 'https://api.github.com',
  path: '/repos/acme/widget?per_page=50',
  urlTemplate: '/repos/:owner/:repo',
  ...over,
});

const byName = (spans: ReadableSpan[], kind: SpanKind) => spans.filter((s) => s.kind === kind);

const retryEvent = (
  key: string,
  status: number | undefined,
  attempt: number,
  delayMs: number,
): PolicyEventOf<'retry'> => ({
  event: 'retry',
  key,
  attempt,
  delayMs,
  status,
  errorCode: undefined,
  delaySource: 'backoff',
});

const transition = (key: string, from: CircuitState, to: CircuitState): PolicyEvent => ({
  event: 'circuit-transition',
  key,
  from,
  to,
  failureRatio: undefined,
  openMs: undefined,
  reason: undefined,
});

before(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});

after(() => {
  context.disable();
  propagation.disable();
  trace.disable();
  metrics.disable();
});

describe('spans', () => {
  let sdk: Sdk;
  beforeEach(() => {
    sdk = makeSdk();
  });

  test('a call is an INTERNAL span parenting one CLIENT span per attempt, under the ambient span', () => {
    const telemetry = telemetryOn(sdk);
    const outer = sdk.tracerProvider.getTracer('app').startSpan('handler');
    const call = context.with(trace.setSpan(context.active(), outer), () =>
      telemetry.startCall({
        method: 'GET',
        urlTemplate: '/repos/:owner/:repo',
        correlationId: 'req_0123456789abcdef',
      }),
    );
    const first = telemetry.startAttempt(call, target(), 0);
    telemetry.endAttempt(first, 503);
    const second = telemetry.startAttempt(call, target(), 1);
    telemetry.endAttempt(second, 200);
    telemetry.endCall(call, 200, undefined, 2);
    outer.end();

    const spans = sdk.exporter.getFinishedSpans();
    const [callSpan] = byName(spans, SpanKind.INTERNAL);
    const attempts = byName(spans, SpanKind.CLIENT);
    assert.ok(callSpan);
    assert.equal(callSpan.name, 'GET /repos/:owner/:repo');
    assert.equal(callSpan.parentSpanContext?.spanId, outer.spanContext().spanId);
    assert.equal(callSpan.instrumentationScope.name, 'bulwark');
    assert.deepEqual(callSpan.attributes, {
      'http.request.method': 'GET',
      'bulwark.client': 'github',
      'url.template': '/repos/:owner/:repo',
      'bulwark.correlation_id': 'req_0123456789abcdef',
      'bulwark.attempts': 2,
      'http.response.status_code': 200,
    });
    assert.equal(callSpan.status.code, SpanStatusCode.UNSET);

    assert.equal(attempts.length, 2);
    for (const a of attempts) {
      assert.equal(a.name, 'GET /repos/:owner/:repo');
      assert.equal(a.parentSpanContext?.spanId, callSpan.spanContext().spanId);
      assert.equal(a.spanContext().traceId, outer.spanContext().traceId);
    }
    const [a1, a2] = attempts;
    assert.deepEqual(a1?.attributes, {
      'http.request.method': 'GET',
      'server.address': 'api.github.com',
      'server.port': 443,
      'url.template': '/repos/:owner/:repo',
      'url.full': 'https://api.github.com/repos/acme/widget?per_page=50',
      'http.response.status_code': 503,
      'error.type': '503',
    });
    assert.equal(a1.status.code, SpanStatusCode.ERROR);
    assert.equal(a2?.attributes['http.request.resend_count'], 1);
    assert.equal(a2.attributes['error.type'], undefined);
    assert.equal(a2.status.code, SpanStatusCode.UNSET);
  });

  test('without a template the span is named by the method; unknown methods become _OTHER and HTTP', () => {
    const telemetry = telemetryOn(sdk);
    const call = telemetry.startCall({ method: 'PURGE', urlTemplate: undefined });
    telemetry.endAttempt(
      telemetry.startAttempt(call, target({ method: 'PURGE', urlTemplate: undefined }), 0),
      204,
    );
    telemetry.endCall(call, 204, undefined, 1);
    const plain = telemetry.startCall({ method: 'DELETE', urlTemplate: undefined });
    telemetry.endCall(plain, 204, undefined, 1);

    const spans = sdk.exporter.getFinishedSpans();
    assert.deepEqual(
      spans.map((s) => s.name),
      ['HTTP', 'HTTP', 'DELETE'],
    );
    const attempt = byName(spans, SpanKind.CLIENT)[0];
    assert.equal(attempt?.attributes['http.request.method'], '_OTHER');
    assert.equal(attempt.attributes['http.request.method_original'], 'PURGE');
    assert.equal(attempt.attributes['url.template'], undefined);
  });

  test('4xx and failures set ERROR with error.type; the caller abort leaves the status UNSET', () => {
    const telemetry = telemetryOn(sdk);
    const call = telemetry.startCall({ method: 'GET', urlTemplate: '/x' });
    telemetry.endAttempt(telemetry.startAttempt(call, target(), 0), 404);
    const network = new BulwarkError('NETWORK', 'connect ECONNREFUSED (GET https://api.github.com/x)', {
      cause: Object.assign(new Error('raw https://user:pw@h'), { code: 'ECONNREFUSED' }),
    });
    telemetry.endAttempt(telemetry.startAttempt(call, target(), 1), undefined, network);
    telemetry.endAttempt(
      telemetry.startAttempt(call, target(), 2),
      undefined,
      new BulwarkError('ABORTED', 'aborted'),
    );
    telemetry.endAttempt(
      telemetry.startAttempt(call, target(), 3),
      undefined,
      new TypeError('boom secret=1'),
    );
    telemetry.endCall(call, undefined, new BulwarkError('ABORTED', 'aborted'), 4);

    const spans = sdk.exporter.getFinishedSpans();
    const [notFound, failed, aborted, foreign] = byName(spans, SpanKind.CLIENT);
    assert.equal(notFound?.status.code, SpanStatusCode.ERROR);
    assert.equal(notFound.attributes['error.type'], '404');

    assert.equal(failed?.status.code, SpanStatusCode.ERROR);
    assert.equal(failed.status.message, network.message);
    assert.equal(failed.attributes['error.type'], 'NETWORK');
    assert.equal(failed.attributes['http.response.status_code'], undefined);
    const exception = failed.events.find((e) => e.name === 'exception');
    assert.equal(exception?.attributes?.['exception.type'], 'NETWORK');

    assert.equal(aborted?.status.code, SpanStatusCode.UNSET);
    assert.equal(aborted.attributes['error.type'], undefined);
    assert.equal(aborted.events.length, 0);

    assert.equal(foreign?.attributes['error.type'], 'TypeError');
    const foreignException = foreign.events.find((e) => e.name === 'exception');
    assert.equal(foreignException?.attributes?.['exception.type'], 'TypeError');
    assert.equal(
      foreignException.attributes['exception.message'],
      undefined,
      'foreign messages may hold secrets',
    );

    const callSpan = byName(spans, SpanKind.INTERNAL)[0];
    assert.equal(callSpan?.status.code, SpanStatusCode.UNSET);
    assert.equal(callSpan.attributes['error.type'], undefined);
    assert.equal(callSpan.attributes['bulwark.attempts'], 4);
  });

  test('an HTTP_STATUS error reports the status as error.type', () => {
    const telemetry = telemetryOn(sdk);
    const call = telemetry.startCall({ method: 'GET', urlTemplate: '/x' });
    telemetry.endCall(call, 502, new BulwarkError('HTTP_STATUS', 'HTTP 502'), 1);
    const [span] = sdk.exporter.getFinishedSpans();
    assert.equal(span?.attributes['error.type'], '502');
    assert.equal(span.status.code, SpanStatusCode.ERROR);
  });

  test('spans end exactly once even when ended twice', () => {
    const telemetry = telemetryOn(sdk);
    const call = telemetry.startCall({ method: 'GET', urlTemplate: '/x' });
    const attempt = telemetry.startAttempt(call, target(), 0);
    telemetry.endAttempt(attempt, 200);
    telemetry.endAttempt(attempt, 500);
    telemetry.endCall(call, 200, undefined, 1);
    telemetry.endCall(call, 500, new BulwarkError('TIMEOUT', 't'), 1);
    const spans = sdk.exporter.getFinishedSpans();
    assert.equal(spans.length, 2);
    assert.ok(spans.every((s) => s.attributes['http.response.status_code'] === 200));
  });

  test('url.full never carries userinfo, fragments or secret query values', () => {
    const telemetry = telemetryOn(sdk);
    const attempt = telemetry.startAttempt(
      undefined,
      target({
        origin: 'https://bob:hunter2@[::1]:8443',
        path: '/a%20b?sig=abc&page=2&X-Amz-Signature=zz#access_token=t',
      }),
      0,
    );
    telemetry.endAttempt(attempt, 200);
    const [span] = sdk.exporter.getFinishedSpans();
    assert.equal(
      span?.attributes['url.full'],
      'https://REDACTED:REDACTED@[::1]:8443/a%20b?sig=REDACTED&page=2&X-Amz-Signature=REDACTED',
    );
    assert.equal(span.attributes['server.address'], '::1');
    assert.equal(span.attributes['server.port'], 8443);
    assert.equal(span.parentSpanContext, undefined, 'no call and no ambient span: a root span');
  });

  test('a custom redactUrl runs first and the built-in sanitizer still applies', () => {
    const telemetry = telemetryOn(sdk, { redactUrl: (u) => u.replace('customer=42', 'customer=[REDACTED]') });
    telemetry.endAttempt(
      telemetry.startAttempt(
        undefined,
        target({ origin: 'http://u:p@example.test', path: '/q?customer=42&token=t' }),
        0,
      ),
      200,
    );
    const [span] = sdk.exporter.getFinishedSpans();
    assert.equal(
      span?.attributes['url.full'],
      'http://REDACTED:REDACTED@example.test/q?customer=[REDACTED]&token=REDACTED',
    );
    assert.equal(span.attributes['server.port'], 80);
  });

  test('inject writes a traceparent naming the attempt span; propagate: false writes nothing', () => {
    const telemetry = telemetryOn(sdk);
    const call = telemetry.startCall({ method: 'GET', urlTemplate: '/x' });
    const attempt = telemetry.startAttempt(call, target(), 0);
    const headers: Record<string, string> = { accept: 'application/json' };
    telemetry.inject(headers, attempt);
    telemetry.endAttempt(attempt, 200);
    telemetry.endCall(call, 200, undefined, 1);
    const span = byName(sdk.exporter.getFinishedSpans(), SpanKind.CLIENT)[0];
    assert.ok(span);
    const { traceId, spanId } = span.spanContext();
    assert.equal(headers.traceparent, `00-${traceId}-${spanId}-01`);

    const off = telemetryOn(sdk, { propagate: false });
    const offCall = off.startCall({ method: 'GET', urlTemplate: '/x' });
    const silent: Record<string, string> = {};
    off.inject(silent, off.startAttempt(offCall, target(), 0));
    assert.deepEqual(silent, {});
  });

  test('run makes the span active, so instrumentation below bulwark nests under it', () => {
    const telemetry = telemetryOn(sdk);
    const call = telemetry.startCall({ method: 'GET', urlTemplate: '/x' });
    const attempt = telemetry.startAttempt(call, target(), 0);
    const activeInCall = telemetry.run(call, () => trace.getActiveSpan());
    const activeInAttempt = telemetry.run(attempt, () => trace.getActiveSpan());
    assert.equal(
      telemetry.run(undefined, () => 7),
      7,
    );
    telemetry.endAttempt(attempt, 200);
    telemetry.endCall(call, 200, undefined, 1);
    const spans = sdk.exporter.getFinishedSpans();
    assert.equal(
      activeInCall?.spanContext().spanId,
      byName(spans, SpanKind.INTERNAL)[0]?.spanContext().spanId,
    );
    assert.equal(
      activeInAttempt?.spanContext().spanId,
      byName(spans, SpanKind.CLIENT)[0]?.spanContext().spanId,
    );
  });

  test('policy decisions become events on the span', () => {
    const telemetry = telemetryOn(sdk);
    const call = telemetry.startCall({ method: 'GET', urlTemplate: '/x' });
    telemetry.record(call, retryEvent('https://api.github.com', 503, 1, 240));
    telemetry.record(call, { event: 'budget-exhausted', key: 'k', kind: 'retry' });
    telemetry.record(call, { event: 'hedge-spawned', key: 'k', hedge: 1, delayMs: 80 });
    telemetry.record(call, { event: 'circuit-rejected', key: 'k', retryAfterMs: 4_000, url: undefined });
    telemetry.record(call, transition('k', 'closed', 'open'));
    telemetry.record(call, { event: 'rate-limit-wait', key: 'k', waitMs: 120 });
    telemetry.record(call, { event: 'rate-limit-rejected', key: 'k', retryAfterMs: 900 });
    telemetry.record(call, { event: 'concurrency-rejected', key: 'k', limit: 20, inflight: 20 });
    telemetry.record(call, { event: 'concurrency-queued', key: 'k', limit: 20, inflight: 20, queued: 2 });
    telemetry.record(call, { event: 'hedge-settled', key: 'k', winner: 1, hedges: 1 });
    telemetry.record(call, {
      event: 'deadline-exceeded',
      deadline: 0,
      phase: 'before-retry',
      source: 'deadline',
    });
    telemetry.record(call, { event: 'timeout', code: 'ATTEMPT_TIMEOUT', timeoutMs: 10_000 });
    const location = 'https://u:p@elsewhere.test/next?token=abc';
    telemetry.record(call, {
      event: 'redirect',
      url: 'https://a.test/',
      status: 302,
      location,
      count: 1,
      droppedHeaders: [],
    });
    telemetry.event(call, 'custom', { a: 1 });
    assert.equal(telemetry.isRecording(call), true);
    telemetry.endCall(call, 200, undefined, 2);
    const [span] = sdk.exporter.getFinishedSpans();
    assert.deepEqual(
      span?.events.map((e) => e.name),
      [
        'bulwark.retry',
        'bulwark.retry_budget.exhausted',
        'bulwark.hedge',
        'bulwark.circuit.rejected',
        'bulwark.rate_limit.wait',
        'bulwark.rate_limit.rejected',
        'bulwark.concurrency.rejected',
        'bulwark.concurrency.queued',
        'bulwark.hedge.settled',
        'bulwark.deadline.exceeded',
        'bulwark.timeout',
        'bulwark.redirect',
        'custom',
      ],
      'a transition belongs to no call: it is a metric and a log line, not a span event',
    );
    assert.deepEqual(span.events[0]?.attributes, {
      'bulwark.key': 'https://api.github.com',
      'bulwark.retry.reason': '503',
      'bulwark.attempt': 1,
      'bulwark.retry.delay_ms': 240,
    });
    assert.deepEqual(span.events[7]?.attributes, {
      'bulwark.key': 'k',
      'bulwark.concurrency.limit': 20,
      'bulwark.concurrency.inflight': 20,
      'bulwark.concurrency.queued': 2,
    });
    assert.deepEqual(span.events[8]?.attributes, {
      'bulwark.key': 'k',
      'bulwark.hedge.winner': 1,
      'bulwark.hedges': 1,
    });
    assert.deepEqual(span.events[9]?.attributes, {
      'bulwark.deadline.phase': 'before-retry',
      'bulwark.deadline.source': 'deadline',
    });
    assert.equal(span.events[10]?.attributes?.['error.type'], 'ATTEMPT_TIMEOUT');
    assert.equal(
      span.events[11]?.attributes?.['url.full'],
      'https://REDACTED:REDACTED@elsewhere.test/next?token=REDACTED',
    );
  });

  test('a sampled-out call records nothing but still propagates its context unsampled', async () => {
    const off = makeSdk(new AlwaysOffSampler());
    const telemetry = telemetryOn(off);
    const call = telemetry.startCall({ method: 'GET', urlTemplate: '/x' });
    const attempt = telemetry.startAttempt(call, target(), 0);
    const headers: Record<string, string> = {};
    telemetry.inject(headers, attempt);
    assert.equal(telemetry.isRecording(attempt), false);
    telemetry.event(attempt, 'ignored');
    off.clock.t += 30;
    telemetry.endAttempt(attempt, 200);
    telemetry.endCall(call, 200, undefined, 1);
    assert.equal(off.exporter.getFinishedSpans().length, 0);
    assert.match(headers.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    const duration = (await collect(off)).get('http.client.request.duration') as HistogramMetricData;
    assert.equal(duration.dataPoints[0]?.value.count, 1, 'metrics do not depend on sampling');
  });

  test('the global tracer provider is looked up per call, so an SDK registered later is used', () => {
    const telemetry = createTelemetry({ clientName: 'late' });
    assert.equal(telemetry.startCall({ method: 'GET', urlTemplate: '/x' }), undefined);
    trace.setGlobalTracerProvider(sdk.tracerProvider);
    try {
      const call = telemetry.startCall({ method: 'GET', urlTemplate: '/x' });
      assert.notEqual(call, undefined);
      telemetry.endCall(call, 200, undefined, 1);
      assert.equal(sdk.exporter.getFinishedSpans()[0]?.attributes['bulwark.client'], 'late');
    } finally {
      trace.disable();
    }
  });
});

describe('metrics', () => {
  test('http.client.request.duration: seconds, advised buckets, one point per attempt, aborts not recorded', async () => {
    const sdk = makeSdk();
    const telemetry = telemetryOn(sdk);
    const call = telemetry.startCall({ method: 'GET', urlTemplate: '/x' });
    const a1 = telemetry.startAttempt(call, target(), 0);
    sdk.clock.t += 30; // 0.03 s: the (0.025, 0.05] bucket
    telemetry.endAttempt(a1, 503);
    const a2 = telemetry.startAttempt(call, target(), 1);
    sdk.clock.t += 2_000;
    telemetry.endAttempt(a2, 200);
    const a3 = telemetry.startAttempt(call, target(), 2);
    telemetry.endAttempt(a3, undefined, new BulwarkError('ABORTED', 'aborted'));
    const a4 = telemetry.startAttempt(call, target({ origin: 'http://10.0.0.1:8080' }), 0);
    sdk.clock.t += 5;
    telemetry.endAttempt(a4, undefined, new BulwarkError('ATTEMPT_TIMEOUT', 't'));

    const metric = (await collect(sdk)).get('http.client.request.duration') as HistogramMetricData;
    assert.equal(metric.descriptor.unit, 's');
    const points = metric.dataPoints;
    assert.equal(points.length, 3);
    const boundaries = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
    for (const p of points) assert.deepEqual(p.value.buckets.boundaries, boundaries);

    const failed = points.find((p) => p.attributes['http.response.status_code'] === 503);
    assert.deepEqual(failed?.attributes, {
      'http.request.method': 'GET',
      'server.address': 'api.github.com',
      'server.port': 443,
      'bulwark.client': 'github',
      'http.response.status_code': 503,
      'error.type': '503',
    });
    assert.equal(failed.value.buckets.counts[3], 1);
    const ok = points.find((p) => p.attributes['http.response.status_code'] === 200);
    assert.equal(ok?.value.sum, 2);
    assert.equal(ok.value.buckets.counts[10], 1, '2 s lands in (1, 2.5]');
    const timedOut = points.find((p) => p.attributes['error.type'] === 'ATTEMPT_TIMEOUT');
    assert.equal(timedOut?.attributes['server.port'], 8080);
    assert.equal(timedOut.attributes['http.response.status_code'], undefined);
  });

  test('policy counters and histograms carry client, key and decision attributes', async () => {
    const sdk = makeSdk();
    const telemetry = telemetryOn(sdk);
    const key = 'https://a';
    telemetry.record(undefined, retryEvent(key, 503, 1, 100));
    telemetry.record(undefined, retryEvent(key, 503, 2, 200));
    telemetry.record(undefined, { ...retryEvent(key, undefined, 1, 100), errorCode: 'NETWORK' });
    telemetry.record(undefined, { event: 'budget-exhausted', key, kind: 'hedge' });
    telemetry.record(undefined, { event: 'hedge-spawned', key, hedge: 1, delayMs: 50 });
    telemetry.record(undefined, transition(key, 'closed', 'isolated'));
    telemetry.record(undefined, { event: 'circuit-rejected', key, retryAfterMs: 5_000, url: undefined });
    telemetry.record(undefined, { event: 'rate-limit-wait', key, waitMs: 300 });
    telemetry.record(undefined, { event: 'rate-limit-rejected', key, retryAfterMs: 1_000 });
    telemetry.record(undefined, {
      event: 'rate-limit-store-error',
      key,
      fallback: 'local',
      code: 'ECONNREFUSED',
    });
    telemetry.record(undefined, { event: 'concurrency-rejected', key, limit: 10, inflight: 10 });
    const m = await collect(sdk);

    const retries = m.get('bulwark.retries');
    assert.equal(retries?.descriptor.unit, '{retry}');
    const byReason = new Map(retries.dataPoints.map((p) => [p.attributes['bulwark.retry.reason'], p.value]));
    assert.deepEqual(Object.fromEntries(byReason), { '503': 2, NETWORK: 1 });
    assert.deepEqual(retries.dataPoints[0]?.attributes, {
      'bulwark.client': 'github',
      'bulwark.key': 'https://a',
      'bulwark.retry.reason': '503',
    });
    assert.deepEqual(m.get('bulwark.circuit.transitions')?.dataPoints[0]?.attributes, {
      'bulwark.client': 'github',
      'bulwark.key': 'https://a',
      'bulwark.circuit.from': 'closed',
      'bulwark.circuit.to': 'open',
    });
    for (const name of [
      'bulwark.retry_budget.rejections',
      'bulwark.hedges',
      'bulwark.circuit.rejections',
      'bulwark.rate_limit.rejections',
      'bulwark.concurrency.rejections',
    ]) {
      assert.equal(m.get(name)?.dataPoints[0]?.value, 1, name);
    }
    const waits = m.get('bulwark.rate_limit.wait.duration') as HistogramMetricData;
    assert.equal(waits.descriptor.unit, 's');
    assert.equal(waits.dataPoints[0]?.value.sum, 0.3);
    assert.deepEqual(m.get('bulwark.rate_limit.store_errors')?.dataPoints[0]?.attributes, {
      'bulwark.client': 'github',
      'bulwark.key': 'https://a',
      'bulwark.rate_limit.fallback': 'local',
    });
    // Every point carries only attributes its instrument declares, under its declared unit.
    for (const spec of Object.values(INSTRUMENTS)) {
      const metric = m.get(spec.name);
      if (metric === undefined) continue;
      assert.equal(metric.descriptor.unit, spec.unit, spec.name);
      for (const point of metric.dataPoints) {
        for (const name of Object.keys(point.attributes)) {
          assert.ok((spec.attributes as readonly string[]).includes(name), `${spec.name} carries ${name}`);
        }
      }
    }
  });

  test('observable gauges read circuit state and concurrency at collection; unregistering stops them', async () => {
    const sdk = makeSdk();
    const telemetry = telemetryOn(sdk);
    const states = new Map<string, CircuitStateName>([
      ['https://a', 'closed'],
      ['https://b', 'half-open'],
      ['https://c', 'open'],
    ]);
    let reads = 0;
    const stopCircuits = telemetry.observeCircuits((report) => {
      reads++;
      for (const [key, state] of states) report(key, state);
    });
    const stopConcurrency = telemetry.observeConcurrency((report) => {
      reads++;
      report('https://a', 42, 7);
    });
    let m = await collect(sdk);
    const circuit = m.get('bulwark.circuit.state');
    assert.deepEqual(
      Object.fromEntries(circuit?.dataPoints.map((p) => [p.attributes['bulwark.key'], p.value]) ?? []),
      { 'https://a': 0, 'https://b': 1, 'https://c': 2 },
    );
    assert.equal(circuit?.dataPoints[0]?.attributes['bulwark.client'], 'github');
    assert.equal(m.get('bulwark.concurrency.limit')?.dataPoints[0]?.value, 42);
    assert.equal(m.get('bulwark.concurrency.inflight')?.dataPoints[0]?.value, 7);

    states.set('https://a', 'open');
    m = await collect(sdk);
    const a = m
      .get('bulwark.circuit.state')
      ?.dataPoints.find((p) => p.attributes['bulwark.key'] === 'https://a');
    assert.equal(a?.value, 2);

    assert.equal(reads, 4, 'each reader runs once per collection');

    stopCircuits();
    stopConcurrency();
    await collect(sdk);
    assert.equal(reads, 4, 'unregistered readers are no longer called');
  });

  test('two clients on one meter provider share the instruments and stay apart by bulwark.client', async () => {
    const sdk = makeSdk();
    const a = telemetryOn(sdk);
    const b = createTelemetry({
      clientName: 'stripe',
      meterProvider: sdk.meterProvider,
      tracerProvider: sdk.tracerProvider,
    });
    a.record(undefined, retryEvent('k', 503, 1, 1));
    b.record(undefined, retryEvent('k', 503, 1, 1));
    const retries = (await collect(sdk)).get('bulwark.retries');
    assert.deepEqual(retries?.dataPoints.map((p) => p.attributes['bulwark.client']).sort(), [
      'github',
      'stripe',
    ]);
  });
});

describe('when OpenTelemetry is absent or idle', () => {
  test('without the API package every method is an empty function', () => {
    const telemetry = createTelemetryWith(undefined, { clientName: 'x' });
    assert.equal(telemetry, NOOP_TELEMETRY);
    assert.equal(telemetry.enabled, false);
    const call = telemetry.startCall({ method: 'GET', urlTemplate: '/x' });
    const attempt = telemetry.startAttempt(call, target(), 0);
    assert.equal(call, undefined);
    assert.equal(attempt, undefined);
    const headers: Record<string, string> = {};
    telemetry.inject(headers, attempt);
    assert.deepEqual(headers, {});
    assert.equal(
      telemetry.run(call, () => 'value'),
      'value',
    );
    assert.equal(telemetry.isRecording(call), false);
    telemetry.observeCircuits(() => assert.fail('never read'))();
    telemetry.observeConcurrency(() => assert.fail('never read'))();
  });

  test('with the API but no SDK, calls and attempts get no handle: nothing allocated, nothing recorded', () => {
    const telemetry = createTelemetryWith(api, { clientName: 'idle' });
    assert.equal(telemetry.enabled, true);
    const headers: Record<string, string> = {};
    for (let i = 0; i < 10_000; i++) {
      const call = telemetry.startCall({ method: 'GET', urlTemplate: '/x' });
      const attempt = telemetry.startAttempt(call, target(), 0);
      if (call !== undefined || attempt !== undefined) assert.fail('a handle was allocated');
      telemetry.inject(headers, attempt);
      telemetry.endAttempt(attempt, 200);
      telemetry.endCall(call, 200, undefined, 1);
    }
    assert.deepEqual(headers, {}, 'the W3C propagator has no span to write');
    let read = false;
    telemetry.observeCircuits(() => {
      read = true;
    })();
    assert.equal(read, false);
  });

  test('bad options name the option, the value and what is allowed', () => {
    assert.throws(() => createTelemetry({ clientName: '' }), { code: 'INVALID_OPTIONS', path: 'name' });
    assert.throws(() => createTelemetry({ clientName: 'x', propagate: 'yes' as unknown as boolean }), {
      code: 'INVALID_OPTIONS',
      message: /`telemetry\.propagate`: got "yes", expected a boolean/,
    });
    assert.throws(() => createTelemetry({ clientName: 'x', tracerProvider: {} as never }), {
      path: 'telemetry.tracerProvider',
    });
    assert.throws(() => createTelemetry({ clientName: 'x', meterProvider: {} as never }), {
      path: 'telemetry.meterProvider',
    });
    assert.throws(() => createTelemetry({ clientName: 'x', redactUrl: 'no' as never }), {
      path: 'telemetry.redactUrl',
    });
    assert.throws(() => createTelemetry({ clientName: 'x', clock: {} as never }), { path: 'clock' });
  });
});

describe('semantic-convention helpers', () => {
  test('errorType follows the conventions', () => {
    assert.equal(errorType(200, undefined), undefined);
    assert.equal(errorType(399, undefined), undefined);
    assert.equal(errorType(400, undefined), '400');
    assert.equal(errorType(undefined, new BulwarkError('CIRCUIT_OPEN', 'open')), 'CIRCUIT_OPEN');
    assert.equal(errorType(503, new BulwarkError('HTTP_STATUS', 'x')), '503');
    assert.equal(errorType(undefined, new BulwarkError('ABORTED', 'x')), undefined);
    assert.equal(errorType(undefined, new DOMException('stop', 'AbortError')), undefined);
    assert.equal(errorType(undefined, new Error('plain')), '_OTHER');
    assert.equal(errorType(undefined, 'a string'), '_OTHER');
  });

  test('parseOrigin reads address and port, with scheme defaults', () => {
    assert.deepEqual(parseOrigin('https://example.com'), { address: 'example.com', port: 443 });
    assert.deepEqual(parseOrigin('http://example.com'), { address: 'example.com', port: 80 });
    assert.deepEqual(parseOrigin('http://example.com:8080/'), { address: 'example.com', port: 8080 });
    assert.deepEqual(parseOrigin('https://[2001:db8::1]'), { address: '2001:db8::1', port: 443 });
    assert.deepEqual(parseOrigin('https://u:p@h:9'), { address: 'h', port: 9 });
  });

  test('sanitizeUrl keeps clean URLs byte for byte', () => {
    const clean = 'https://api.github.com/a%2Fb/c?x=1&y=%20&flag';
    assert.equal(sanitizeUrl(clean), clean);
    assert.equal(sanitizeUrl('https://h/p?Sig=1&%73ig=2'), 'https://h/p?Sig=REDACTED&%73ig=REDACTED');
    assert.equal(sanitizeUrl('https://token@h/p'), 'https://REDACTED@h/p');
    assert.equal(sanitizeUrl('https://h/p@q'), 'https://h/p@q', 'an @ in the path is not userinfo');
  });

  test('property: no password or secret query value survives sanitizeUrl', () => {
    const word = fc.stringMatching(/^[a-z0-9]{6,12}$/);
    fc.assert(
      fc.property(
        word,
        word,
        fc.constantFrom('sig', 'token', 'X-Amz-Signature', 'access_token', 'api_key'),
        fc.constantFrom('', '/p', '/p/q'),
        (user, secret, key, path) => {
          const withUser = sanitizeUrl(`https://${user}:${secret}@host.test${path}?a=1`);
          const withQuery = sanitizeUrl(`https://host.test${path}?a=1&${key}=${secret}#${secret}`);
          return !withUser.includes(secret) && !withQuery.includes(secret) && withQuery.includes('a=1');
        },
      ),
    );
  });
});
