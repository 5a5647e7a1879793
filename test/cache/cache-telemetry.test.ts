/**
 * The cache as an operator sees it: a hit is still a call (a span, a log line) but no attempt;
 * a timeout is answered from the stale entry; a HEAD is answered from the GET's entry.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SpanKind, context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import pino from 'pino';
import { createClient } from '../../src/index.js';
import { createVirtualClock } from '../../src/testing/index.js';
import { startServer, type TestServer } from '../helpers/http-server.js';
import { spanCapture } from '../helpers/span-capture.js';

const { exporter, provider } = spanCapture();
let server: TestServer;
let hang = false;

before(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  server = await startServer((_req, res) => {
    if (hang) return;
    res.writeHead(200, { 'cache-control': 'max-age=10, stale-if-error=300', 'content-type': 'text/plain' });
    res.end('cached body');
  });
});
after(async () => {
  await server.close();
  await provider.shutdown();
  trace.disable();
  context.disable();
});

describe('HTTP cache: spans, logs, timeouts, HEAD', () => {
  it('a hit is a call span with bulwark.cache=hit and no attempt span, and one log line', async () => {
    const raw: string[] = [];
    const logger = pino(
      { level: 'info', base: null, timestamp: false },
      { write: (s: string) => raw.push(s) },
    );
    const clock = createVirtualClock();
    const client = createClient({
      name: 'docs',
      baseUrl: server.url,
      clock,
      cache: true,
      logging: { logger },
    });
    await (await client.get('/t')).text();
    exporter.reset();
    raw.length = 0;
    await clock.advance(4_000);
    const hit = await client.get('/t');
    assert.equal(hit.cache, 'hit');
    const spans = exporter.getFinishedSpans();
    assert.equal(spans.filter((s) => s.kind === SpanKind.CLIENT).length, 0);
    const call = spans.find((s) => s.kind === SpanKind.INTERNAL);
    assert.ok(call);
    assert.equal(call.attributes['bulwark.cache'], 'hit');
    assert.equal(call.attributes['bulwark.cache.age'], 4);
    const lines = raw.map((s) => JSON.parse(s) as Record<string, unknown>);
    assert.equal(lines.length, 1);
    const [line] = lines as [Record<string, unknown>];
    assert.equal(line.event, 'cache');
    assert.equal(line.cache, 'hit');
    assert.equal(line.age, 4);
    assert.match(String(line.correlationId), /^req_[0-9a-f]{16}$/);
    assert.match(String(line.msg), /cache hit GET/);
    await client.close();
  });

  it('an attempt timeout is answered from the stale entry within stale-if-error', async () => {
    const clock = createVirtualClock();
    const client = createClient({
      baseUrl: server.url,
      clock,
      cache: true,
      retry: false,
      timeout: { attempt: 1_000, total: 5_000 },
    });
    hang = false;
    await (await client.get('/slow')).text();
    await clock.advance(20_000);
    hang = true;
    const before = server.received.length;
    const pending = client.get('/slow');
    while (server.received.length === before) await new Promise((r) => setTimeout(r, 5));
    await clock.advance(1_000);
    const res = await pending;
    hang = false;
    assert.equal(res.cache, 'stale');
    assert.equal(await res.text(), 'cached body');
    await client.destroy();
  });

  it('a HEAD is answered from the GET entry, headers only', async () => {
    const clock = createVirtualClock();
    const client = createClient({ baseUrl: server.url, clock, cache: true });
    await (await client.get('/h')).text();
    const before = server.received.length;
    const head = await client.head('/h');
    assert.equal(head.cache, 'hit');
    assert.equal(head.headers['content-type'], 'text/plain');
    assert.equal(await head.text(), '');
    assert.equal(server.received.length, before);
    await client.close();
  });
});
