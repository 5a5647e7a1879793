/**
 * Redirects and destination guards through the real client against loopback origins: two
 * servers on two ports are two origins, so what crosses an origin is observable on the wire.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createClient, type ClientOptions } from '../../src/index.js';
import type { RedirectMessage } from '../../src/observability/index.js';
import { captureChannel } from '../helpers/channel-capture.js';
import { acceptNeverAnswer, countingServer, type CountingServer } from '../helpers/hostile-server.js';
import { assertCode } from '../helpers/assert-error.js';
import { failOnUnhandledRejections } from '../helpers/unhandled.js';
import { ATTEMPT_MS } from './fixtures/fault-cases.js';
import { chaosClient, TIGHT_TIMEOUT } from './fixtures/chaos.js';
import { connectProxy } from './fixtures/connect-proxy.js';
import { makeLoopbackCertificate } from './fixtures/tls.js';

failOnUnhandledRejections();

/** `/go/<status>?to=<url-encoded location>` redirects; anything else answers `final <path>`. */
function hopServer(): Promise<CountingServer> {
  return countingServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const match = /^\/go\/(\d{3})$/.exec(url.pathname);
    if (match !== null) {
      const to = url.searchParams.get('to');
      res.writeHead(Number(match[1]), to === null ? {} : { location: to });
      res.end('moved');
      return;
    }
    res.end(`final ${req.method ?? ''} ${url.pathname}`);
  });
}

function go(status: number, to: string): string {
  return `/go/${status}?to=${encodeURIComponent(to)}`;
}

let a: CountingServer;
let b: CountingServer;
const clients: ReturnType<typeof createClient>[] = [];

function client(options: ClientOptions = {}): ReturnType<typeof createClient> {
  const c = chaosClient(a.url, options);
  clients.push(c);
  return c;
}

before(async () => {
  a = await hopServer();
  b = await hopServer();
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await a.close();
  await b.close();
});

/** Requests `server` received for `path` (query ignored). */
function seen(server: CountingServer, path: string): CountingServer['received'] {
  return server.received.filter((r) => r.path.split('?')[0] === path);
}

describe('method and body across a redirect', () => {
  for (const status of [301, 302, 303]) {
    test(`${status}: POST becomes GET without body or content-* headers`, async () => {
      const path = `/final-${status}-post`;
      const res = await client().post(go(status, path), {
        body: 'payload',
        headers: { 'content-type': 'text/plain' },
      });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), `final GET ${path}`);
      assert.equal(res.redirects, 1);
      assert.ok(res.url.endsWith(path), res.url);
      const [hop] = seen(a, path);
      assert.equal(hop?.method, 'GET');
      assert.equal(hop.bodyBytes, 0);
      assert.equal(hop.headers['content-type'], undefined);
      assert.equal(hop.headers['content-length'], undefined);
      assert.equal(seen(a, `/go/${status}`).at(-1)?.bodyBytes, 7, 'the first hop got the body');
    });
  }

  for (const status of [307, 308]) {
    test(`${status}: POST stays POST with its body and content type`, async () => {
      const path = `/final-${status}-post`;
      const res = await client().post(go(status, path), {
        body: 'payload',
        headers: { 'content-type': 'text/plain' },
      });
      assert.equal(await res.text(), `final POST ${path}`);
      const [hop] = seen(a, path);
      assert.equal(hop?.method, 'POST');
      assert.equal(hop.bodyBytes, 7);
      assert.equal(hop.headers['content-type'], 'text/plain');
    });
  }

  test('303 turns PUT into GET; 301 keeps PUT and its body', async () => {
    const r303 = await client().put(go(303, '/final-303-put'), { body: 'abc' });
    assert.equal(await r303.text(), 'final GET /final-303-put');
    const r301 = await client().put(go(301, '/final-301-put'), { body: 'abc' });
    assert.equal(await r301.text(), 'final PUT /final-301-put');
    assert.equal(seen(a, '/final-301-put')[0]?.bodyBytes, 3);
  });

  test('a stream body is never replayed: 307 is refused with REDIRECT and the hop is not sent', async () => {
    const error = await client()
      .post(go(307, '/never-307'), { body: Readable.from([Buffer.from('once')]) })
      .catch((e: unknown) => e);
    assertCode(error, 'REDIRECT');
    assert.equal(seen(a, '/never-307').length, 0);
  });
});

describe('credentials across origins', () => {
  const secrets = {
    authorization: 'Bearer top-secret',
    cookie: 'session=top-secret',
    'proxy-authorization': 'Basic top-secret',
    'x-api-key': 'key-top-secret',
    'api-key': 'key-top-secret',
    'x-auth-token': 'token-top-secret',
    'x-csrf-token': 'csrf-top-secret',
    'x-amz-security-token': 'amz-top-secret',
    'x-session-id': 'session-top-secret',
    'x-partner-signature': 'sig-top-secret',
    'x-partner-ref': 'configured-secret',
    'x-trace': 'kept',
  };
  /** Every header above but `x-trace` is on the secret list (`x-partner-ref` by configuration). */
  const secretNames = Object.keys(secrets).filter((name) => name !== 'x-trace');
  const withConfiguredSecret: ClientOptions = { logging: { redact: { headers: ['x-partner-ref'] } } };

  test('every header on the secret list is dropped on a hop to another port, configured ones included', async () => {
    for (const status of [301, 302, 303, 307, 308]) {
      const path = `/cross-${status}`;
      const res = await client(withConfiguredSecret).get(go(status, `${b.url}${path}`), { headers: secrets });
      assert.equal(await res.text(), `final GET ${path}`);
      const first = seen(a, `/go/${status}`).at(-1);
      assert.equal(first?.headers.authorization, 'Bearer top-secret', 'the first origin got them');
      const [hop] = seen(b, path);
      assert.ok(hop, `${status}: the hop reached the second origin`);
      assert.equal(hop.headers.authorization, undefined, `${status}: authorization crossed`);
      assert.equal(hop.headers.cookie, undefined, `${status}: cookie crossed`);
      for (const name of secretNames)
        assert.equal(hop.headers[name], undefined, `${status}: ${name} crossed`);
      assert.equal(hop.headers['x-trace'], 'kept', 'other headers follow');
    }
  });

  test('the redirect event names every header it dropped, never a value', async () => {
    const events = captureChannel<RedirectMessage>('bulwark:redirect');
    events.start();
    try {
      await (
        await client(withConfiguredSecret).get(go(302, `${b.url}/cross-event`), { headers: secrets })
      ).text();
      const message = events.messages.at(-1);
      assert.deepEqual([...(message?.droppedHeaders ?? [])].sort(), [...secretNames].sort());
      assert.ok(!JSON.stringify(message).includes('secret'));
    } finally {
      events.stop();
    }
  });

  test('they are kept on the same origin', async () => {
    const res = await client(withConfiguredSecret).get(go(302, '/same-origin'), { headers: secrets });
    await res.text();
    const [hop] = seen(a, '/same-origin');
    for (const [name, value] of Object.entries(secrets)) assert.equal(hop?.headers[name], value, name);
  });

  test('client default headers and URL credentials do not cross either', async () => {
    const c = client({ headers: { authorization: 'Bearer default-secret' } });
    await (await c.get(go(302, `${b.url}/cross-default`))).text();
    assert.equal(seen(b, '/cross-default')[0]?.headers.authorization, undefined);
    const u = new URL(a.url);
    await (
      await client().request({ url: `http://user:pw-secret@${u.host}${go(302, `${b.url}/cross-userinfo`)}` })
    ).text();
    assert.match(String(seen(a, '/go/302').at(-1)?.headers.authorization), /^Basic /);
    assert.equal(seen(b, '/cross-userinfo')[0]?.headers.authorization, undefined);
  });

  test('userinfo planted in Location is stripped', async () => {
    const target = new URL(`${b.url}/planted`);
    target.username = 'evil';
    target.password = 'planted';
    await (await client().get(go(302, target.href))).text();
    assert.equal(seen(b, '/planted')[0]?.headers.authorization, undefined);
  });
});

describe('refused redirects', () => {
  test('too many redirects: the 6th is refused with REDIRECT and never retried', async () => {
    const server = await countingServer((req, res) => {
      res.writeHead(302, { location: req.url ?? '/' });
      res.end();
    });
    try {
      const c = chaosClient(server.url);
      clients.push(c);
      const error = await c.get('/loop').catch((e: unknown) => e);
      assertCode(error, 'REDIRECT');
      assert.match(error.message, /too many redirects/);
      assert.equal(error.attempts, 1);
      assert.equal(server.requests, 6, 'the first request and 5 redirects');
      const two = chaosClient(server.url, { maxRedirects: 2 });
      clients.push(two);
      assertCode(await two.get('/loop').catch((e: unknown) => e), 'REDIRECT');
      assert.equal(server.requests, 6 + 3);
    } finally {
      await server.close();
    }
  });

  for (const location of [
    'ftp://127.0.0.1/file',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'data:text/plain,hi',
  ]) {
    test(`a redirect to ${location.split(':')[0]}: is refused with REDIRECT`, async () => {
      const error = await client()
        .get(go(302, location))
        .catch((e: unknown) => e);
      assertCode(error, 'REDIRECT');
      assert.equal(error.attempts, 1);
    });
  }

  test('an unparsable Location is refused; a missing one hands the 3xx back', async () => {
    assertCode(
      await client()
        .get(go(302, 'http://[::1'))
        .catch((e: unknown) => e),
      'REDIRECT',
    );
    const res = await client().get('/go/302');
    assert.equal(res.status, 302);
    assert.equal(await res.text(), 'moved');
  });

  test('maxRedirects: 0 hands back the 3xx with its Location, nothing followed', async () => {
    const res = await client({ maxRedirects: 0 }).get(go(301, `${b.url}/not-followed`));
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, `${b.url}/not-followed`);
    assert.equal(res.redirects, 0);
    assert.equal(await res.text(), 'moved');
    assert.equal(seen(b, '/not-followed').length, 0);
  });

  test('a hop to a blackhole is bounded by what is left of the attempt timeout', async () => {
    const hole = await acceptNeverAnswer();
    try {
      const started = Date.now();
      const error = await client({ retry: false, timeout: TIGHT_TIMEOUT })
        .get(go(302, `${hole.url}/hole`))
        .catch((e: unknown) => e);
      assertCode(error, 'ATTEMPT_TIMEOUT');
      assert.ok(Date.now() - started < ATTEMPT_MS + 3_000);
      assert.equal(hole.requests, 1);
    } finally {
      await hole.close();
    }
  });

  test('https → http is refused unless allowDowngrade', async (t) => {
    const certificate = makeLoopbackCertificate();
    if (certificate === undefined) {
      t.skip('openssl is not installed');
      return;
    }
    const secure = createHttpsServer(certificate, (req, res) => {
      res.writeHead(302, { location: `${b.url}/downgraded` });
      res.end();
    });
    secure.listen(0, '127.0.0.1');
    await once(secure, 'listening');
    const url = `https://127.0.0.1:${(secure.address() as AddressInfo).port}/secure`;
    const tls = { pool: { tls: { ca: certificate.cert } } };
    try {
      const strict = createClient({ ...tls, retry: false });
      clients.push(strict);
      const error = await strict
        .request({ url, headers: { authorization: 'Bearer tls-secret' } })
        .catch((e: unknown) => e);
      assertCode(error, 'REDIRECT');
      assert.match(error.message, /allowDowngrade/);
      assert.equal(seen(b, '/downgraded').length, 0);
      const lax = createClient({ ...tls, retry: false, allowDowngrade: true });
      clients.push(lax);
      const res = await lax.request({ url, headers: { authorization: 'Bearer tls-secret' } });
      assert.equal(await res.text(), 'final GET /downgraded');
      assert.equal(
        seen(b, '/downgraded')[0]?.headers.authorization,
        undefined,
        'https → http is another origin',
      );
      await lax.close();
      await strict.close();
    } finally {
      secure.closeAllConnections();
      await new Promise<void>((resolve) => secure.close(() => resolve()));
    }
  });
});

describe('destination guards', () => {
  test('blockPrivateIps refuses loopback in any spelling, before a byte is sent', async () => {
    const port = new URL(a.url).port;
    const before = a.requests;
    const c = createClient({ blockPrivateIps: true });
    clients.push(c);
    for (const host of ['127.0.0.1', 'localhost', '[::1]', '2130706433', '0x7f.1', '127.1']) {
      const error = await c.request({ url: `http://${host}:${port}/blocked` }).catch((e: unknown) => e);
      assertCode(error, 'BLOCKED_DESTINATION');
      assert.equal(error.attempts, 1, `${host}: not retried`);
    }
    assert.equal(a.requests, before);
  });

  test('allowedHosts refuses a host outside the list, on the first URL and on a redirect hop', async () => {
    const before = { a: a.requests, b: b.requests };
    const outside = createClient({ allowedHosts: ['localhost'] });
    clients.push(outside);
    assertCode(await outside.request({ url: `${a.url}/x` }).catch((e: unknown) => e), 'BLOCKED_DESTINATION');
    assert.equal(a.requests, before.a);

    const c = client({ allowedHosts: ['127.0.0.1'] });
    const hop = `http://localhost:${new URL(b.url).port}/blocked-hop`;
    const error = await c.get(go(302, hop)).catch((e: unknown) => e);
    assertCode(error, 'BLOCKED_DESTINATION');
    assert.equal(error.attempts, 1);
    assert.equal(b.requests, before.b, 'the refused hop was never sent');
    // Ports are not part of a pattern: another port of an allowed host is fine.
    assert.equal(await (await c.get(go(302, `${b.url}/allowed-hop`))).text(), 'final GET /allowed-hop');
  });

  test('blockPrivateIps refuses a redirect hop to 127.0.0.1 (first hop through a proxy)', async () => {
    const proxy = await connectProxy((_req, res) => {
      res.writeHead(302, { location: `${b.url}/private-hop` });
      res.end();
    });
    try {
      const c = createClient({ blockPrivateIps: true, retry: false, pool: { proxy: proxy.url } });
      clients.push(c);
      const error = await c.request({ url: 'http://api.public.test/start' }).catch((e: unknown) => e);
      assertCode(error, 'BLOCKED_DESTINATION');
      assert.deepEqual(proxy.tunnels, ['api.public.test:80']);
      assert.deepEqual(proxy.requests, [{ host: 'api.public.test', path: '/start' }]);
      assert.equal(seen(b, '/private-hop').length, 0);
      await c.close();
    } finally {
      await proxy.close();
    }
  });
});
