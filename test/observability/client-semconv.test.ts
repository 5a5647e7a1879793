/**
 * What the stable HTTP client semantic conventions recommend and bulwark used to miss, through a
 * real client, a loopback server and the real OpenTelemetry SDK 2.x (in-memory span exporter and
 * a collected metric reader): `network.protocol.version` and `network.peer.address`/`port` on
 * attempt spans, `network.protocol.version` on `http.client.request.duration`, `url.full` with
 * `REDACTED:REDACTED` where the caller's URL carried credentials, and QUERY as a known,
 * idempotent method.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { SpanKind } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { createClient, type Client } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { startServer, type TestServer } from '../helpers/http-server.js';
import { makeLoopbackCertificate } from '../chaos/fixtures/tls.js';

class TestReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

const exporter = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

let server: TestServer;
/** Statuses answered in turn; 200 once they run out. */
let script: number[] = [];
const clients: Client[] = [];

before(async () => {
  server = await startServer((_req, res) => {
    res.writeHead(script.shift() ?? 200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  exporter.reset();
  script = [];
});
after(async () => {
  await tracerProvider.shutdown();
  await server.close();
});

function client(options: ClientOptions = {}): Client {
  const c = createClient({ baseUrl: server.origin, telemetry: { tracerProvider }, ...options });
  clients.push(c);
  return c;
}

const attemptSpans = (): ReadableSpan[] =>
  exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);

describe('network.* attributes', () => {
  test('attempt spans carry network.protocol.version, network.peer.address and network.peer.port', async () => {
    const c = client({ retry: { maxRetries: 1, baseDelay: 1, maxDelay: 1 } });
    script = [503];
    await (await c.get('/a')).text();
    const spans = attemptSpans();
    assert.equal(spans.length, 2, 'a 503 then a retry: two attempt spans');
    const port = Number(new URL(server.origin).port);
    for (const span of spans) {
      assert.equal(span.attributes['network.protocol.version'], '1.1');
      assert.equal(span.attributes['network.peer.address'], '127.0.0.1');
      assert.equal(span.attributes['network.peer.port'], port);
    }
  });

  test("over HTTP/2 (pool.allowH2 and a TLS server speaking h2) the version is '2'", async (t) => {
    const certificate = makeLoopbackCertificate();
    if (certificate === undefined) {
      t.skip('openssl is not installed');
      return;
    }
    const h2 = createSecureServer({ ...certificate, allowHTTP1: true }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('h2');
    });
    await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
    const { port } = h2.address() as AddressInfo;
    try {
      const c = createClient({
        baseUrl: `https://127.0.0.1:${port}`,
        telemetry: { tracerProvider },
        pool: { allowH2: true, tls: { ca: certificate.cert } },
      });
      clients.push(c);
      assert.equal(await (await c.get('/two')).text(), 'h2');
      const [span] = attemptSpans();
      assert.equal(span?.attributes['network.protocol.version'], '2');
      assert.equal(span.attributes['network.peer.address'], '127.0.0.1');
      assert.equal(span.attributes['network.peer.port'], port);
      await c.close();
    } finally {
      h2.close();
    }
  });

  test('http.client.request.duration carries network.protocol.version (not the peer: cardinality)', async () => {
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    try {
      const c = client({ telemetry: { meterProvider } });
      await (await c.get('/m')).text();
      const { resourceMetrics } = await reader.collect();
      const duration = resourceMetrics.scopeMetrics
        .flatMap((s) => s.metrics)
        .find((m) => m.descriptor.name === 'http.client.request.duration');
      const [point] = (duration?.dataPoints ?? []) as DataPoint<Histogram>[];
      assert.ok(point, 'one duration point');
      assert.equal(point.attributes['network.protocol.version'], '1.1');
      assert.equal(point.attributes['network.peer.address'], undefined);
    } finally {
      await meterProvider.shutdown();
    }
  });

  test('the undici channel is watched from the first traced attempt until close(), and only then', async () => {
    const channel = diagnostics_channel.channel('undici:client:sendHeaders');
    assert.equal(channel.hasSubscribers, false, 'nothing watches before a client exists');
    const a = client();
    const b = client();
    assert.equal(channel.hasSubscribers, false, 'nothing watches before an attempt needs its peer');
    await (await a.get('/a')).text();
    await (await b.get('/b')).text();
    assert.equal(channel.hasSubscribers, true);
    await a.close();
    assert.equal(channel.hasSubscribers, true, 'b is still open');
    await b.close();
    await b.close();
    assert.equal(channel.hasSubscribers, false, 'no listener outlives close()');
    const off = client({ telemetry: false });
    await (await off.get('/off')).text();
    assert.equal(channel.hasSubscribers, false, 'a client without telemetry never watches');
    // The defaults with the API installed and no SDK registered: no span, no metric, no peer
    // to note, so undici is never made to publish a message per request.
    const idle = createClient({ baseUrl: server.origin });
    clients.push(idle);
    await (await idle.get('/idle')).text();
    assert.equal(channel.hasSubscribers, false, 'a client whose telemetry records nothing never watches');
  });
});

describe('url.full and the caller URL credentials', () => {
  test('a url with user:pass@ is sent as Authorization and shown as REDACTED:REDACTED in url.full', async () => {
    const c = createClient({ telemetry: { tracerProvider } });
    clients.push(c);
    const u = new URL(server.origin);
    await (await c.request({ url: `http://alice:s3cret-pw@${u.host}/creds?token=t0k&a=1` })).text();
    const [span] = attemptSpans();
    assert.equal(span?.attributes['url.full'], `http://REDACTED:REDACTED@${u.host}/creds?token=REDACTED&a=1`);
    assert.match(String(server.received.at(-1)?.headers.authorization), /^Basic /);
    const plain = exporter.getFinishedSpans().map((s) => JSON.stringify(s.attributes));
    assert.ok(!plain.some((text) => text.includes('s3cret') || text.includes('alice')));
  });

  test('a url without credentials has no userinfo in url.full', async () => {
    await (await client().get('/plain')).text();
    assert.equal(attemptSpans()[0]?.attributes['url.full'], `${server.origin}/plain`);
  });
});

describe('QUERY', () => {
  test('is a known method on spans, not _OTHER, and normalised from any case', async () => {
    await (await client().request({ method: 'query', path: '/search', body: '{"q":1}' })).text();
    const [span] = attemptSpans();
    assert.equal(span?.attributes['http.request.method'], 'QUERY');
    assert.equal(span.attributes['http.request.method_original'], undefined);
    assert.equal(server.received.at(-1)?.method, 'QUERY');
  });

  test('is idempotent: a 503 to a QUERY is retried like a GET', async () => {
    const c = client({ retry: { maxRetries: 2, baseDelay: 1, maxDelay: 1 } });
    script = [503, 503];
    const res = await c.request({ method: 'QUERY', path: '/search', body: '{"q":1}' });
    assert.equal(res.status, 200);
    assert.equal(res.attempts, 3);
    const post = client({ retry: { maxRetries: 2, baseDelay: 1, maxDelay: 1 } });
    script = [503];
    assert.equal((await post.post('/search', { body: '{}' })).attempts, 1, 'a POST is not');
  });
});
