/**
 * Hardhat's OpenTelemetry options through `telemetry`: `spanName`, `okStatuses` (its
 * `mark_status_ok`) and `successStatus`, against a loopback server and the real SDK 2.x with an
 * in-memory exporter.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { createClient, isBulwarkError, type Client } from '../../src/index.js';
import type { SpanNameRequest } from '../../src/observability/index.js';
import { startServer, type TestServer } from '../helpers/http-server.js';
import { spanCapture } from '../helpers/span-capture.js';

const { exporter, provider, ofKind: spans } = spanCapture();

let server: TestServer;
let client: Client | undefined;
before(async () => {
  server = await startServer((req, res) => {
    res.statusCode = Number(/status=(\d+)/.exec(req.url ?? '')?.[1] ?? 200);
    res.end();
  });
});
after(async () => {
  await server.close();
  await provider.shutdown();
});
afterEach(async () => {
  await client?.close();
  client = undefined;
  exporter.reset();
});

function make(telemetry: Record<string, unknown>, extra: Record<string, unknown> = {}): Client {
  client = createClient({
    name: 'lookup',
    baseUrl: server.origin,
    retry: false,
    telemetry: { tracerProvider: provider, ...telemetry },
    ...extra,
  });
  return client;
}

describe('telemetry.spanName, okStatuses and successStatus (real SDK)', () => {
  test('spanName names the call and attempt spans, given the template, method, kind and origin', async () => {
    const seen: SpanNameRequest[] = [];
    const c = make({
      spanName: (r: SpanNameRequest) => {
        seen.push(r);
        return `users ${r.kind} ${r.method} ${r.urlTemplate ?? '-'}`;
      },
    });
    await (await c.get('/users/:id', { params: { id: '42' } })).text();
    assert.deepEqual(
      spans(SpanKind.INTERNAL).map((s) => s.name),
      ['users call GET /users/:id'],
    );
    assert.deepEqual(
      spans(SpanKind.CLIENT).map((s) => s.name),
      ['users attempt GET /users/:id'],
    );
    assert.deepEqual(seen, [
      { kind: 'call', method: 'GET', urlTemplate: '/users/:id', origin: undefined },
      { kind: 'attempt', method: 'GET', urlTemplate: '/users/:id', origin: server.origin },
    ]);
  });

  test('a spanName that throws or returns nothing keeps the default name and the request', async () => {
    let calls = 0;
    const c = make({
      spanName: () => {
        calls++;
        if (calls === 1) throw new Error('boom');
        return '';
      },
    });
    assert.equal((await c.get('/users/:id', { params: { id: '1' } })).status, 200);
    assert.deepEqual(
      exporter
        .getFinishedSpans()
        .map((s) => s.name)
        .sort(),
      ['GET /users/:id', 'GET /users/:id'],
    );
  });

  test('okStatuses: a 404 is a success on both spans and carries no error.type; a 500 stays an error', async () => {
    const c = make({ okStatuses: [404] });
    await (await c.get('/x?status=404')).text();
    for (const span of exporter.getFinishedSpans()) {
      assert.equal(span.status.code, SpanStatusCode.UNSET, span.name);
      assert.equal(span.attributes['error.type'], undefined);
    }
    assert.equal(spans(SpanKind.CLIENT)[0]?.attributes['http.response.status_code'], 404);
    exporter.reset();
    await (await c.get('/x?status=500')).text();
    for (const span of exporter.getFinishedSpans()) {
      assert.equal(span.status.code, SpanStatusCode.ERROR, span.name);
      assert.equal(span.attributes['error.type'], '500');
    }
  });

  test('okStatuses holds with throwHttpErrors: the call rejects, its span does not say ERROR', async () => {
    const c = make({ okStatuses: [404], successStatus: 'ok' }, { throwHttpErrors: true });
    await assert.rejects(c.get('/x?status=404'), (e: unknown) => isBulwarkError(e, 'HTTP_STATUS'));
    const call = spans(SpanKind.INTERNAL)[0];
    assert.equal(call?.status.code, SpanStatusCode.OK);
    assert.equal(call.attributes['error.type'], undefined);
  });

  test("successStatus 'ok' marks successes OK; errors stay ERROR; the default leaves UNSET", async () => {
    const c = make({ successStatus: 'ok' });
    await (await c.get('/x')).text();
    assert.deepEqual(
      exporter.getFinishedSpans().map((s) => s.status.code),
      [SpanStatusCode.OK, SpanStatusCode.OK],
    );
    exporter.reset();
    await (await c.get('/x?status=503')).text();
    assert.deepEqual(
      exporter.getFinishedSpans().map((s) => s.status.code),
      [SpanStatusCode.ERROR, SpanStatusCode.ERROR],
    );
    await c.close();
    exporter.reset();
    const plain = make({});
    await (await plain.get('/x')).text();
    assert.deepEqual(
      exporter.getFinishedSpans().map((s) => s.status.code),
      [SpanStatusCode.UNSET, SpanStatusCode.UNSET],
    );
  });

  test('bad values are refused, naming the option', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ spanName: 'GET' }, 'telemetry.spanName'],
      [{ okStatuses: [200] }, 'telemetry.okStatuses'],
      [{ okStatuses: 404 }, 'telemetry.okStatuses'],
      [{ successStatus: 'OK' }, 'telemetry.successStatus'],
    ];
    for (const [telemetry, path] of cases) {
      assert.throws(
        () => createClient({ telemetry }),
        (e: unknown) => isBulwarkError(e, 'INVALID_OPTIONS') && e.path === path,
        path,
      );
    }
  });
});
