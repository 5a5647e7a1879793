/**
 * Metrics end to end: a real client against a loopback server, the real SDK 2.x MeterProvider
 * and a reader collected on demand. One run retries, trips a breaker and gets refused by it;
 * the assertions read what an exporter would ship.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { metrics } from '@opentelemetry/api';
import {
  MeterProvider,
  MetricReader,
  type DataPoint,
  type Histogram,
  type HistogramMetricData,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { createClient, type Client } from '../../src/client/client.js';
import { isBulwarkError } from '../../src/errors.js';
import { HTTP_DURATION_BUCKETS } from '../../src/observability/otel-metrics.js';
import { json, startServer, type TestServer } from '../helpers/http-server.js';

/** A reader that exports nothing and is collected by the test. */
class TestReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

async function collect(reader: MetricReader): Promise<Map<string, MetricData>> {
  const { resourceMetrics } = await reader.collect();
  const out = new Map<string, MetricData>();
  for (const scope of resourceMetrics.scopeMetrics) {
    assert.equal(scope.scope.name, 'bulwark');
    for (const m of scope.metrics) out.set(m.descriptor.name, m);
  }
  return out;
}

function points<T>(data: MetricData | undefined): DataPoint<T>[] {
  assert.ok(data, 'the instrument reported');
  return data.dataPoints as DataPoint<T>[];
}

let server: TestServer;
/** Statuses answered in turn; 200 once they run out. */
let script: number[] = [];

before(async () => {
  server = await startServer((_req, res) => {
    const status = script.shift() ?? 200;
    json(res, status, { status });
  });
});

after(async () => {
  await server.close();
});

describe('metrics of a run that retries, trips a breaker and is refused', () => {
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  let client: Client;
  let data: Map<string, MetricData>;
  let port: number;

  before(async () => {
    port = Number(new URL(server.origin).port);
    client = createClient({
      name: 'billing',
      baseUrl: server.origin,
      random: () => 0,
      telemetry: { meterProvider },
      retry: { maxRetries: 2, throttledBaseDelay: 1 },
      circuitBreaker: { failureThreshold: 2, failureRatio: false, openDuration: 60_000 },
    });
    // Call 1: 503 (a load signal, not a failure) → retry → 200. Call 2: 500 → retry → 500 →
    // breaker opens (2 failures), so no retry is scheduled into it: the 500 comes back. Call 3:
    // refused at once.
    script = [503, 200, 500, 500];
    const first = await client.get('/invoices/:id', { params: { id: '1' } });
    assert.equal(first.status, 200);
    await first.text();
    const second = await client.get('/invoices/:id', { params: { id: '2' } });
    assert.equal(second.status, 500);
    await second.text();
    await assert.rejects(client.get('/invoices/:id', { params: { id: '3' } }), (e: unknown) =>
      isBulwarkError(e, 'CIRCUIT_OPEN'),
    );
    assert.equal(server.received.length, 4, 'four attempts reached the server');
    data = await collect(reader);
  });

  after(async () => {
    await client.close();
    await meterProvider.shutdown();
  });

  test('http.client.request.duration: unit s, the advised buckets, one point per attempt with its attributes', () => {
    const duration = data.get('http.client.request.duration') as HistogramMetricData | undefined;
    assert.ok(duration);
    assert.equal(duration.descriptor.unit, 's');
    const byStatus = new Map<unknown, DataPoint<Histogram>>();
    for (const p of points<Histogram>(duration)) {
      byStatus.set(p.attributes['http.response.status_code'], p);
      assert.deepEqual(p.value.buckets.boundaries, HTTP_DURATION_BUCKETS);
      assert.ok((p.value.sum ?? 0) >= 0);
    }
    assert.deepEqual([...byStatus.entries()].map(([status, p]) => [status, p.value.count]).sort(), [
      [200, 1],
      [500, 2],
      [503, 1],
    ]);
    assert.deepEqual(byStatus.get(500)?.attributes, {
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': port,
      'bulwark.client': 'billing',
      'http.response.status_code': 500,
      'error.type': '500',
    });
    assert.equal(byStatus.get(200)?.attributes['error.type'], undefined);
    const all = JSON.stringify(points(duration).map((p) => p.attributes));
    assert.doesNotMatch(all, /invoices/, 'no URL or template on a metric: unbounded cardinality');
  });

  test('the advised buckets are the ones of the HTTP semantic conventions', () => {
    assert.deepEqual(
      HTTP_DURATION_BUCKETS,
      [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
    );
  });

  test('bulwark.retries counts each scheduled retry by reason', () => {
    const retries = points<number>(data.get('bulwark.retries'));
    assert.deepEqual(retries.map((p) => [p.attributes['bulwark.retry.reason'], p.value]).sort(), [
      ['500', 1], // not a second: the breaker that just opened would refuse it
      ['503', 1],
    ]);
    for (const p of retries) {
      assert.equal(p.attributes['bulwark.client'], 'billing');
      assert.equal(p.attributes['bulwark.key'], server.origin);
    }
  });

  test('bulwark.circuit.transitions, .rejections and the .state gauge follow the breaker', () => {
    const transitions = points<number>(data.get('bulwark.circuit.transitions'));
    assert.deepEqual(
      transitions.map((p) => [
        p.attributes['bulwark.circuit.from'],
        p.attributes['bulwark.circuit.to'],
        p.value,
      ]),
      [['closed', 'open', 1]],
    );
    const rejections = points<number>(data.get('bulwark.circuit.rejections'));
    assert.deepEqual(
      rejections.map((p) => p.value),
      [1],
      'the refused call',
    );
    const state = points<number>(data.get('bulwark.circuit.state'));
    assert.deepEqual(
      state.map((p) => [p.attributes['bulwark.key'], p.value]),
      [[server.origin, 2]],
      '2 = open',
    );
  });
});

describe('a meter provider registered globally', () => {
  test('is picked up by a client created after it; a rejected attempt records no duration', async () => {
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(meterProvider);
    try {
      const client = createClient({ name: 'global', baseUrl: server.origin, retry: false });
      script = [];
      await (await client.get('/ping')).text();
      await client.close();
      const duration = points<Histogram>(
        await collect(reader).then((d) => d.get('http.client.request.duration')),
      );
      const [point, ...others] = duration;
      assert.ok(point);
      assert.equal(others.length, 0);
      assert.equal(point.attributes['bulwark.client'], 'global');
      assert.equal(point.value.count, 1);
    } finally {
      metrics.disable();
      await meterProvider.shutdown();
    }
  });

  test('telemetry false records nothing', async () => {
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(meterProvider);
    try {
      const client = createClient({ name: 'off', baseUrl: server.origin, telemetry: false });
      await (await client.get('/ping')).text();
      await client.close();
      const { resourceMetrics } = await reader.collect();
      assert.equal(resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).length, 0);
    } finally {
      metrics.disable();
      await meterProvider.shutdown();
    }
  });
});
