import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { createClient, isBulwarkError, BulwarkError } from '../../src/index.js';
import type { Transport } from '../../src/transport/attempt.js';
import { assertCode } from '../helpers/assert-error.js';
import { startServer, json, type TestServer } from '../helpers/http-server.js';

let server: TestServer;

before(async () => {
  server = await startServer(async (req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/echo')) {
      json(res, 200, { method: req.method, url: req.url, headers: req.headers, body });
      return;
    }
    if (url.pathname.startsWith('/status/')) {
      res.statusCode = Number(url.pathname.slice(8));
      res.end('status body');
      return;
    }
    if (url.pathname === '/big') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('x'.repeat(3 * 1024 * 1024));
      return;
    }
    if (url.pathname === '/stream') {
      res.writeHead(200);
      for (let i = 0; i < 5; i++) {
        res.write(`chunk${i};`);
        await new Promise((r) => setTimeout(r, 5));
      }
      res.end();
      return;
    }
    res.statusCode = 404;
    res.end('not found');
  });
});
after(() => server.close());

describe('createClient verbs', () => {
  test('GET resolves status, headers, url, attempts and a JSON body', async () => {
    const client = createClient({ baseUrl: server.url, retry: false } as never);
    const res = await client.get('/echo');
    assert.equal(res.status, 200);
    assert.equal(res.ok, true);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.url, `${server.url}/echo`);
    assert.equal(res.attempts, 1);
    const body = await res.json<{ method: string }>();
    assert.equal(body.method, 'GET');
    await client.close();
  });

  test('every verb sends its method', async () => {
    const client = createClient({ baseUrl: server.url });
    for (const verb of ['get', 'head', 'options', 'delete', 'post', 'put', 'patch'] as const) {
      const res = await client[verb]('/echo');
      assert.equal(res.status, 200);
      if (verb !== 'head') assert.equal((await res.json<{ method: string }>()).method, verb.toUpperCase());
      else res.dump();
    }
    await client.close();
  });

  test('params fill the template once-encoded, query is appended', async () => {
    const client = createClient({ baseUrl: `${server.url}/echo` });
    const res = await client.get('/:owner/:repo', {
      params: { owner: 'a b/c', repo: 'ü?' },
      query: { per_page: 50, tag: ['x', 'y'], skip: undefined, flag: true },
    });
    const body = await res.json<{ url: string }>();
    assert.equal(body.url, '/echo/a%20b%2Fc/%C3%BC%3F?per_page=50&tag=x&tag=y&flag=true');
    await client.close();
  });

  test('json and form bodies set their content type; headers merge over defaults', async () => {
    const client = createClient({ baseUrl: server.url, headers: { 'X-Team': 'core', accept: 'text/plain' } });
    const res = await client.post('/echo', { json: { a: 1 }, headers: { accept: 'application/json' } });
    const echo = await res.json<{ headers: Record<string, string>; body: string }>();
    assert.equal(echo.body, '{"a":1}');
    assert.equal(echo.headers['content-type'], 'application/json');
    assert.equal(echo.headers['x-team'], 'core');
    assert.equal(echo.headers.accept, 'application/json');
    assert.match(echo.headers['x-request-id'] ?? '', /^req_[0-9a-f]{16}$/);
    const form = await client.post('/echo', { form: { q: 'a&b', n: 2 } });
    const formEcho = await form.json<{ headers: Record<string, string>; body: string }>();
    assert.equal(formEcho.body, 'q=a%26b&n=2');
    assert.equal(formEcho.headers['content-type'], 'application/x-www-form-urlencoded');
    await client.close();
  });

  test('a caller-supplied x-request-id is reused', async () => {
    const client = createClient({ baseUrl: server.url });
    const res = await client.get('/echo', { headers: { 'x-request-id': 'abc-123' } });
    assert.equal((await res.json<{ headers: Record<string, string> }>()).headers['x-request-id'], 'abc-123');
    await client.close();
  });

  test('any status resolves; throwHttpErrors rejects with HTTP_STATUS carrying the response', async () => {
    const client = createClient({ baseUrl: server.url });
    const res = await client.get('/status/404');
    assert.equal(res.status, 404);
    assert.equal(await res.text(), 'status body');
    await assert.rejects(client.get('/status/500', { throwHttpErrors: true }), (error: unknown) => {
      assertCode(error, 'HTTP_STATUS');
      assert.equal((error.response as { status: number }).status, 500);
      return true;
    });
    await client.close();
  });

  test('safe verbs never reject', async () => {
    const client = createClient({ baseUrl: server.url, throwHttpErrors: true });
    const ok = await client.safe.get('/echo');
    assert.ok(ok.ok);
    ok.response.dump();
    const bad = await client.safe.get('/status/503');
    assert.ok(!bad.ok);
    assert.equal(bad.error.code, 'HTTP_STATUS');
    const invalid = await client.safe.get('http://elsewhere.example/');
    assert.ok(!invalid.ok);
    assert.equal(invalid.error.code, 'INVALID_REQUEST');
    await client.close();
  });

  test('body as a stream, and arrayBuffer', async () => {
    const client = createClient({ baseUrl: server.url });
    const res = await client.get('/stream');
    const parts: string[] = [];
    for await (const chunk of res.body) parts.push(String(chunk));
    assert.equal(parts.join(''), 'chunk0;chunk1;chunk2;chunk3;chunk4;');
    const buf = await (await client.get('/status/200')).arrayBuffer();
    assert.equal(Buffer.from(buf).toString(), 'status body');
    await client.close();
  });

  test('a body larger than the buffer is read whole (backpressure pauses and resumes)', async () => {
    const client = createClient({ baseUrl: server.url });
    const res = await client.get('/big');
    await new Promise((r) => setTimeout(r, 30));
    const text = await res.text();
    assert.equal(text.length, 3 * 1024 * 1024);
    await client.close();
  });

  test('reading a body twice is refused', async () => {
    const client = createClient({ baseUrl: server.url });
    const res = await client.get('/echo');
    await res.text();
    await assert.rejects(res.text(), /already been consumed/);
    await client.close();
  });

  test('a stream body is sent', async () => {
    const client = createClient({ baseUrl: server.url });
    const res = await client.post('/echo', { body: Readable.from(['a', 'b', 'c']) });
    assert.equal((await res.json<{ body: string }>()).body, 'abc');
    await client.close();
  });

  test('maxResponseBytes rejects a declared-too-large body', async () => {
    const client = createClient({ baseUrl: server.url, maxResponseBytes: 1024 });
    await assert.rejects(
      client
        .get('/status/200', { headers: {} })
        .then((r) => r.text())
        .then(() => client.get('/big'))
        .then((r) => r.text()),
      (e: unknown) => isBulwarkError(e, 'RESPONSE_TOO_LARGE'),
    );
    await client.close();
  });

  test('extend merges headers and keeps its own pool', async () => {
    const parent = createClient({ baseUrl: server.url, headers: { 'x-a': '1' } });
    const child = parent.extend({ headers: { 'x-b': '2' } });
    const echo = await (await child.get('/echo')).json<{ headers: Record<string, string> }>();
    assert.equal(echo.headers['x-a'], '1');
    assert.equal(echo.headers['x-b'], '2');
    await parent.close();
    const again = await child.get('/echo');
    assert.equal(again.status, 200);
    again.dump();
    await child.close();
  });

  test('extend accepts a Headers instance and removes a header set to undefined', async () => {
    const parent = createClient({
      baseUrl: server.url,
      headers: new Headers({ 'X-A': '1', 'x-drop': 'me' }),
    });
    const child = parent.extend({ headers: { 'x-b': '2', 'x-drop': undefined } });
    const echo = await (await child.get('/echo')).json<{ headers: Record<string, string | undefined> }>();
    assert.equal(echo.headers['x-a'], '1');
    assert.equal(echo.headers['x-b'], '2');
    assert.equal(echo.headers['x-drop'], undefined);
    await parent.close();
    await child.close();
  });

  test('a closed client refuses new calls; await using closes it', async () => {
    const client = createClient({ baseUrl: server.url });
    await client.close();
    await assert.rejects(client.get('/echo'), (e: unknown) => isBulwarkError(e, 'ABORTED'));
    {
      await using scoped = createClient({ baseUrl: server.url });
      (await scoped.get('/echo')).dump();
      assert.equal(scoped.inspect().closed, false);
    }
  });

  test('inspect reports pool statistics per origin', async () => {
    const client = createClient({ baseUrl: server.url, name: 'svc' });
    (await client.get('/echo')).dump();
    const info = client.inspect();
    assert.equal(info.name, 'svc');
    assert.ok(info.pools[server.url] !== undefined);
    assert.equal(info.pools[server.url]?.connected, 1);
    await client.close();
  });

  test('errors are BulwarkError instances with a stable name', () => {
    const e = new BulwarkError('TIMEOUT', 'x', { timeoutMs: 5 });
    assert.equal(e.name, 'BulwarkError');
    assert.equal(e.timeoutMs, 5);
    assert.deepEqual(e.toJSON(), { name: 'BulwarkError', code: 'TIMEOUT', message: 'x', timeoutMs: 5 });
    assert.equal(isBulwarkError({ code: 'TIMEOUT' }), false);
    const foreign = Object.create(null) as Record<symbol | string, unknown>;
    foreign[Symbol.for('bulwark.error')] = true;
    foreign.code = 'TIMEOUT';
    assert.equal(isBulwarkError(foreign, 'TIMEOUT'), true);
  });
});

describe('a custom transport', () => {
  for (const maxRedirects of [5, 0]) {
    test(`one that throws instead of rejecting fails the call as a rejection (maxRedirects ${maxRedirects})`, async () => {
      let sends = 0;
      const transport: Transport = {
        send() {
          sends++;
          throw new Error('transport bug');
        },
        stats: () => ({}),
        close: () => Promise.resolve(),
        destroy: () => Promise.resolve(),
      };
      const client = createClient({ baseUrl: 'http://api.test', transport, maxRedirects, retry: false });
      let pending: Promise<unknown> | undefined;
      assert.doesNotThrow(() => {
        pending = client.get('/');
      });
      const error = await (pending ?? Promise.resolve()).then(
        () => undefined,
        (e: unknown) => e,
      );
      assertCode(error, 'NETWORK');
      assert.equal((error.cause as Error).message, 'transport bug');
      assert.equal(sends, 1);
      await client.close();
    });
  }
});
