/**
 * What a newcomer tries in the first hour (issue "First contact"): absolute URLs without a base,
 * a total timeout alone, errors that name the fix, forgotten path params, a user-agent, json()
 * on an HTML error page, BULWARK_TEST_MODE spellings, and refused requests on bulwark:request.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { createClient, isBulwarkError, type ClientOptions } from '../../src/index.js';
import { CHANNEL_NAMES } from '../../src/observability/index.js';
import { createVirtualClock, mockTransport } from '../../src/testing/index.js';
import { startServer, type TestServer } from '../helpers/http-server.js';

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

function optionError(options: unknown): { path: string | undefined; message: string } {
  try {
    createClient(options as ClientOptions);
  } catch (error) {
    assert.ok(isBulwarkError(error, 'INVALID_OPTIONS'), String(error));
    return { path: error.path, message: error.message };
  }
  return assert.fail('createClient accepted the options');
}

describe('first contact', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer((req, res) => {
      if (req.url?.startsWith('/html')) {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<!DOCTYPE html><html>secret-page-token-123 Bad gateway</html>');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path: req.url }));
    });
  });
  after(async () => {
    await server.close();
  });
  const last = () => server.received.at(-1)!;

  describe('URLs', () => {
    test('a client without baseUrl takes an absolute URL as the path of a verb', async () => {
      await using client = createClient({ retry: false });
      const res = await client.get(`${server.origin}/users/7?expand=org`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { path: '/users/7?expand=org' });
      const safe = await client.safe.post(`${server.origin}/orders`, { json: { a: 1 } });
      assert.ok(safe.ok && safe.response.status === 200);
      assert.equal(last().method, 'POST');
    });

    test('a verb takes { url } without a dummy path, with or without a base', async () => {
      await using bare = createClient({ retry: false });
      await using based = createClient({ baseUrl: 'http://api.invalid', retry: false });
      for (const client of [bare, based]) {
        const res = await client.get({ url: `${server.origin}/from-url`, query: { a: 1 } });
        assert.deepEqual(await res.json(), { path: '/from-url?a=1' });
        const r = await client.safe.delete({ url: new URL(`${server.origin}/gone`) });
        assert.ok(r.ok);
        assert.equal(last().method, 'DELETE');
      }
    });

    test('with a baseUrl an absolute path is still refused, and without one a relative path says what to do', async () => {
      await using based = createClient({ baseUrl: server.origin });
      const before = server.received.length;
      await assert.rejects(
        based.get('http://elsewhere.invalid/steal'),
        (e: unknown) =>
          isBulwarkError(e, 'INVALID_REQUEST') && e.path === 'path' && /relative to baseUrl/.test(e.message),
      );
      await using bare = createClient();
      await assert.rejects(
        bare.get('/users'),
        (e: unknown) =>
          isBulwarkError(e, 'INVALID_REQUEST') && /absolute URL such as .*or a `baseUrl`/.test(e.message),
      );
      assert.equal(server.received.length, before, 'nothing was sent');
    });

    test('a path placeholder without params is refused, naming the parameter; a colon inside a segment is literal', async () => {
      await using client = createClient({ baseUrl: server.origin, retry: false });
      const before = server.received.length;
      await assert.rejects(client.get('/users/:id/posts'), (e: unknown) => {
        assert.ok(isBulwarkError(e, 'INVALID_REQUEST'), String(e));
        assert.equal(e.path, 'params.id');
        assert.match(e.message, /`:id` in "\/users\/:id\/posts"/);
        assert.match(e.message, /params: \{ id: \.\.\. \}/);
        return true;
      });
      assert.equal(server.received.length, before, 'the literal path never reached the server');
      const res = await client.get('/v1/things:batchGet');
      assert.deepEqual(await res.json(), { path: '/v1/things:batchGet' });
    });
  });

  describe('timeouts', () => {
    test('timeout: { total } alone is valid for a client, and the attempt timeout is cut to it', async () => {
      const clock = createVirtualClock();
      const mock = mockTransport();
      mock.on('GET', '/slow').hang();
      const client = createClient({
        baseUrl: 'http://api.test',
        transport: mock,
        clock,
        timeout: { total: 4_000 },
      });
      const call = client.safe.get('/slow', { retry: false });
      await clock.advance(3_999);
      assert.equal(mock.calls.length, 1);
      await clock.advance(1);
      const r = await call;
      assert.ok(!r.ok);
      assert.ok(r.error.code === 'ATTEMPT_TIMEOUT' || r.error.code === 'TIMEOUT', r.error.code);
      assert.equal(r.error.timeoutMs, 4_000);
      await client.close();
    });

    test('a longer total keeps the 10 s attempt default; a request may give its total alone too', async () => {
      const clock = createVirtualClock();
      const mock = mockTransport();
      mock.on('GET', '/slow').hang();
      const client = createClient({
        baseUrl: 'http://api.test',
        transport: mock,
        clock,
        timeout: { total: 60_000 },
      });
      const call = client.safe.get('/slow', { retry: false });
      await clock.advance(10_000);
      const r = await call;
      assert.ok(!r.ok && r.error.code === 'ATTEMPT_TIMEOUT', String(!r.ok && r.error.code));
      assert.equal(r.error.timeoutMs, 10_000);

      const short = client.safe.get('/slow', { retry: false, timeout: { total: 2_000 } });
      await clock.advance(2_000);
      const s = await short;
      assert.ok(!s.ok);
      assert.equal(s.error.timeoutMs, 2_000);
      await client.close();
    });

    test('an attempt above the default total says the total is the default', () => {
      const e = optionError({ timeout: { attempt: 40_000 } });
      assert.equal(e.path, 'timeout.attempt');
      assert.match(e.message, /at most timeout\.total \(30000 ms, the default\)/);
    });

    test('a bound that comes from a default says so, and blames the option that was set', () => {
      const delay = optionError({ retry: { baseDelay: 20_000 } });
      assert.equal(delay.path, 'retry.baseDelay');
      assert.match(delay.message, /at most maxDelay \(10000 ms, the default\)/);
      const open = optionError({ circuitBreaker: { maxOpenDuration: 50 } });
      assert.equal(open.path, 'circuitBreaker.maxOpenDuration');
      assert.match(open.message, /at least openDuration \(100 ms, the default\)/);
    });

    test('timeout: 5000 and retry: 3 name the fix, for a client and a request', async () => {
      assert.match(optionError({ timeout: 5000 }).message, /expected an object such as \{ total: 5000 \}/);
      assert.match(optionError({ retry: 3 }).message, /expected an object such as \{ maxRetries: 3 \}/);
      await using client = createClient({ baseUrl: server.origin });
      await assert.rejects(
        client.get('/x', { timeout: 5000 as never }),
        (e: unknown) => isBulwarkError(e, 'INVALID_REQUEST') && /\{ total: 5000 \}/.test(e.message),
      );
      await assert.rejects(
        client.get('/x', { retry: 3 as never }),
        (e: unknown) => isBulwarkError(e, 'INVALID_REQUEST') && /\{ maxRetries: 3 \}/.test(e.message),
      );
    });
  });

  describe('hints for the names other clients use', () => {
    const cases: [string, unknown, string, RegExp][] = [
      [
        'prefixUrl (ky, got)',
        { prefixUrl: 'https://api.example.com' },
        'prefixUrl',
        /did you mean `baseUrl`\?/,
      ],
      ['retry.limit (ky, got)', { retry: { limit: 2 } }, 'retry.limit', /did you mean `maxRetries`\?/],
      ['top-level maxRetries', { maxRetries: 2 }, 'maxRetries', /did you mean `retry: \{ maxRetries \}`\?/],
      ['throwOnError (undici 6)', { throwOnError: true }, 'throwOnError', /did you mean `throwHttpErrors`\?/],
    ];
    for (const [name, options, path, hint] of cases) {
      test(name, () => {
        const e = optionError(options);
        assert.equal(e.path, path);
        assert.match(e.message, hint);
      });
    }

    test('searchParams and data on a request point at query and json, never at path', async () => {
      await using client = createClient({ baseUrl: server.origin });
      await assert.rejects(
        client.get('/x', { searchParams: { a: 1 } } as never),
        (e: unknown) => isBulwarkError(e, 'INVALID_REQUEST') && /did you mean `query`\?/.test(e.message),
      );
      await assert.rejects(client.post('/x', { data: { a: 1 } } as never), (e: unknown) => {
        assert.ok(isBulwarkError(e, 'INVALID_REQUEST'));
        assert.match(e.message, /did you mean `json` \(or `body`/);
        assert.doesNotMatch(e.message, /did you mean `path`/);
        return true;
      });
    });
  });

  describe('default headers', () => {
    test(`user-agent is bulwark/${version} and accept-encoding lists what bulwark decodes`, async () => {
      await using client = createClient({ baseUrl: server.origin });
      await (await client.get('/ua')).text();
      assert.equal(last().headers['user-agent'], `bulwark/${version}`);
      assert.equal(last().headers['accept-encoding'], 'gzip, deflate, br');
    });

    test('the user-agent is replaceable and removable, on the client, per request and through extend', async () => {
      await using named = createClient({ baseUrl: server.origin, headers: { 'User-Agent': 'shop/2.1' } });
      await (await named.get('/ua')).text();
      assert.equal(last().headers['user-agent'], 'shop/2.1');
      await (await named.get('/ua', { headers: { 'user-agent': 'cron/1' } })).text();
      assert.equal(last().headers['user-agent'], 'cron/1');

      await using none = createClient({ baseUrl: server.origin, headers: { 'user-agent': undefined } });
      await (await none.get('/ua')).text();
      assert.equal(last().headers['user-agent'], undefined);
      await using extended = none.extend({ headers: { 'x-team': 'a' } });
      await (await extended.get('/ua')).text();
      assert.equal(last().headers['user-agent'], undefined, 'a removal survives extend');
      assert.equal(last().headers['x-team'], 'a');

      await using plain = createClient({ baseUrl: server.origin });
      await (await plain.get('/ua', { headers: { 'user-agent': undefined } })).text();
      assert.equal(last().headers['user-agent'], undefined);
    });

    test('no accept-encoding with decompress: false; a caller’s own value wins', async () => {
      await using raw = createClient({ baseUrl: server.origin, decompress: false });
      await (await raw.get('/ae')).text();
      assert.equal(last().headers['accept-encoding'], undefined);
      await using own = createClient({ baseUrl: server.origin, headers: { 'accept-encoding': 'identity' } });
      await (await own.get('/ae')).text();
      assert.equal(last().headers['accept-encoding'], 'identity');
    });
  });

  test('json() on an HTML error page rejects with INVALID_RESPONSE naming the method, the redacted URL and the status', async () => {
    await using client = createClient({ baseUrl: server.origin, retry: false });
    const res = await client.get('/html', { query: { access_token: 'tok-query-secret' } });
    const error = await res.json().then(
      () => assert.fail('parsed'),
      (e: unknown) => e,
    );
    assert.ok(isBulwarkError(error, 'INVALID_RESPONSE'), String(error));
    assert.equal(error.method, 'GET');
    assert.match(
      error.message,
      /^GET http:\/\/127\.0\.0\.1:\d+\/html\?access_token=\S+ answered 502 with a body that is not JSON \(content-type text\/html\)/,
    );
    assert.doesNotMatch(error.message, /tok-query-secret/);
    assert.doesNotMatch(error.message, /secret-page-token/, 'no part of the body');
    assert.equal(error.response.status, 502);
    assert.ok(error.cause instanceof SyntaxError);
  });

  describe('BULWARK_TEST_MODE', () => {
    const saved = process.env.BULWARK_TEST_MODE;
    after(() => {
      if (saved === undefined) delete process.env.BULWARK_TEST_MODE;
      else process.env.BULWARK_TEST_MODE = saved;
    });
    for (const value of ['1', 'true', 'yes', 'TRUE', 'on']) {
      test(`BULWARK_TEST_MODE=${value} blocks the network`, async () => {
        process.env.BULWARK_TEST_MODE = value;
        await using client = createClient({ baseUrl: server.origin, retry: false });
        const before = server.received.length;
        const r = await client.safe.get('/x');
        assert.ok(!r.ok && r.error.code === 'TEST_MODE_BLOCKED', String(!r.ok && r.error.code));
        assert.equal(server.received.length, before, 'nothing reached the server');
      });
    }
    for (const value of ['0', 'false', 'no', '']) {
      test(`BULWARK_TEST_MODE=${JSON.stringify(value)} lets requests through`, async () => {
        process.env.BULWARK_TEST_MODE = value;
        await using client = createClient({ baseUrl: server.origin, retry: false });
        assert.equal((await client.get('/x')).status, 200);
      });
    }
    test('any other value is refused rather than guessed', () => {
      process.env.BULWARK_TEST_MODE = 'sometimes';
      const e = optionError({});
      assert.equal(e.path, 'BULWARK_TEST_MODE');
      assert.match(e.message, /1, true, yes, on/);
    });
  });

  test('a request refused before it is sent (INVALID_REQUEST) shows on bulwark:request: start, then error', async () => {
    const channel = diagnostics_channel.tracingChannel(CHANNEL_NAMES.request);
    const seen: { event: string; ctx: Record<string, unknown> }[] = [];
    const handlers = {
      start: (ctx: unknown) => seen.push({ event: 'start', ctx: ctx as Record<string, unknown> }),
      end: () => undefined,
      asyncStart: () => undefined,
      asyncEnd: () => undefined,
      error: (ctx: unknown) => seen.push({ event: 'error', ctx: ctx as Record<string, unknown> }),
    };
    channel.subscribe(handlers);
    try {
      await using client = createClient({ name: 'users', baseUrl: server.origin });
      await assert.rejects(
        client.get('/users/:id', { query: { token: 'tok-channel-secret' } }),
        (e: unknown) => isBulwarkError(e, 'INVALID_REQUEST'),
      );
    } finally {
      channel.unsubscribe(handlers);
    }
    assert.deepEqual(
      seen.map((s) => s.event),
      ['start', 'error'],
    );
    const ctx = seen[1]!.ctx;
    assert.equal(ctx.client, 'users');
    assert.equal(ctx.method, 'GET');
    assert.equal(ctx.url, `${server.origin}/users/:id`);
    assert.match(String(ctx.correlationId), /^req_[0-9a-f]{16}$/);
    assert.ok(isBulwarkError(ctx.error, 'INVALID_REQUEST'));
    assert.doesNotMatch(
      JSON.stringify(seen.map((s) => ({ ...s.ctx, error: undefined }))),
      /tok-channel-secret/,
    );
  });
});
