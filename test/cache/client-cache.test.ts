import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { ServerResponse } from 'node:http';
import { createClient, type Client } from '../../src/index.js';
import { createVirtualClock, type VirtualClock } from '../../src/testing/index.js';
import { captureChannel } from '../helpers/channel-capture.js';
import { startServer, type TestServer } from '../helpers/http-server.js';
import { assertCode } from '../helpers/assert-error.js';

/** What the test server answers next, per path; every request is counted. */
type Reply = (res: ServerResponse, req: { headers: Record<string, string | string[] | undefined> }) => void;
let replies: Map<string, Reply>;
let server: TestServer;

function answer(status: number, body: string, headers: Record<string, string> = {}): Reply {
  return (res) => {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  };
}

function hits(path: string): number {
  return server.received.filter((r) => r.url === path).length;
}

before(async () => {
  server = await startServer((req, res) => {
    const reply = replies.get(req.url ?? '');
    if (reply === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    reply(res, { headers: req.headers });
  });
});
after(async () => {
  await server.close();
});
beforeEach(() => {
  replies = new Map();
  server.received.length = 0;
});

function cachingClient(clock: VirtualClock, options: Record<string, unknown> = {}): Client {
  return createClient({
    baseUrl: server.url,
    clock,
    timeout: false,
    retry: false,
    circuitBreaker: false,
    cache: true,
    ...options,
  } as never);
}

describe('HTTP cache: freshness', () => {
  it('serves a max-age answer from the cache until it is stale, sending nothing meanwhile', async () => {
    const clock = createVirtualClock();
    const client = cachingClient(clock);
    replies.set('/a', answer(200, 'one', { 'cache-control': 'max-age=60' }));
    const first = await client.get('/a');
    assert.equal(await first.text(), 'one');
    assert.equal(first.cache, 'miss');
    replies.set('/a', answer(200, 'two', { 'cache-control': 'max-age=60' }));
    await clock.advance(59_000);
    const second = await client.get('/a');
    assert.equal(await second.text(), 'one');
    assert.equal(second.cache, 'hit');
    assert.equal(second.headers.age, '59');
    assert.equal(second.attempts, 0);
    assert.equal(hits('/a'), 1);
    await clock.advance(2_000);
    const third = await client.get('/a');
    assert.equal(await third.text(), 'two');
    assert.equal(third.cache, 'miss');
    assert.equal(hits('/a'), 2);
    await client.close();
  });

  it('reuses nothing for no-store, and revalidates max-age=0 at once', async () => {
    const clock = createVirtualClock();
    const client = cachingClient(clock);
    replies.set('/ns', answer(200, 'x', { 'cache-control': 'no-store' }));
    replies.set('/zero', answer(200, 'y', { 'cache-control': 'max-age=0' }));
    await (await client.get('/ns')).text();
    await (await client.get('/ns')).text();
    await (await client.get('/zero')).text();
    const again = await client.get('/zero');
    assert.equal(again.cache, 'miss');
    assert.equal(hits('/ns'), 2);
    assert.equal(hits('/zero'), 2);
    await client.close();
  });

  it('keeps must-revalidate answers while fresh and never serves them stale', async () => {
    const clock = createVirtualClock();
    const client = cachingClient(clock, { cache: { staleIfError: 600_000 } });
    replies.set('/m', answer(200, 'v1', { 'cache-control': 'max-age=10, must-revalidate' }));
    await (await client.get('/m')).text();
    assert.equal((await client.get('/m')).cache, 'hit');
    await clock.advance(11_000);
    replies.set('/m', answer(503, 'down'));
    const res = await client.get('/m');
    assert.equal(res.status, 503);
    assert.equal(res.cache, 'miss');
    await client.close();
  });

  it('honours Vary: another accept-language is another entry', async () => {
    const clock = createVirtualClock();
    const client = cachingClient(clock);
    replies.set('/v', (res, req) => {
      const lang = String(req.headers['accept-language'] ?? 'none');
      res.writeHead(200, { 'cache-control': 'max-age=60', vary: 'accept-language' });
      res.end(lang);
    });
    assert.equal(await (await client.get('/v', { headers: { 'accept-language': 'fr' } })).text(), 'fr');
    assert.equal(await (await client.get('/v', { headers: { 'accept-language': 'de' } })).text(), 'de');
    const fr = await client.get('/v', { headers: { 'accept-language': 'fr' } });
    assert.equal(fr.cache, 'hit');
    assert.equal(await fr.text(), 'fr');
    const de = await client.get('/v', { headers: { 'accept-language': 'de' } });
    assert.equal(de.cache, 'hit');
    assert.equal(await de.text(), 'de');
    assert.equal(hits('/v'), 2);
    await client.close();
  });

  it("a private cache never answers one user with another user's entry", async () => {
    const clock = createVirtualClock();
    const client = cachingClient(clock);
    replies.set('/me', (res, req) => {
      res.writeHead(200, { 'cache-control': 'private, max-age=60' });
      res.end(String(req.headers.authorization));
    });
    const alice = await client.get('/me', { headers: { authorization: 'Bearer alice' } });
    assert.equal(await alice.text(), 'Bearer alice');
    const bob = await client.get('/me', { headers: { authorization: 'Bearer bob' } });
    assert.equal(await bob.text(), 'Bearer bob');
    assert.equal(bob.cache, 'miss');
    const alice2 = await client.get('/me', { headers: { authorization: 'Bearer alice' } });
    assert.equal(alice2.cache, 'hit');
    assert.equal(await alice2.text(), 'Bearer alice');
    await client.close();
  });

  it('a shared cache stores neither private answers nor authorised ones the response does not allow', async () => {
    const clock = createVirtualClock();
    const client = cachingClient(clock, { cache: { shared: true } });
    replies.set('/p', answer(200, 'p', { 'cache-control': 'private, max-age=60' }));
    replies.set('/auth', answer(200, 'a', { 'cache-control': 'max-age=60' }));
    replies.set('/pub', answer(200, 'b', { 'cache-control': 'public, max-age=60' }));
    replies.set('/s', answer(200, 's', { 'cache-control': 'max-age=0, s-maxage=60' }));
    for (let i = 0; i < 2; i++) {
      await (await client.get('/p')).text();
      await (await client.get('/auth', { headers: { authorization: 'Bearer t' } })).text();
      await (await client.get('/pub', { headers: { authorization: 'Bearer t' } })).text();
      await (await client.get('/s')).text();
    }
    assert.equal(hits('/p'), 2);
    assert.equal(hits('/auth'), 2);
    assert.equal(hits('/pub'), 1);
    assert.equal(hits('/s'), 1);
    await client.close();
  });
});

describe('HTTP cache: revalidation', () => {
  it('revalidates with If-None-Match; a 304 refreshes the entry, its headers and its age', async () => {
    const clock = createVirtualClock();
    const client = cachingClient(clock);
    replies.set(
      '/e',
      answer(200, 'body', { 'cache-control': 'max-age=10', etag: '"v1"', 'x-version': 'old' }),
    );
    await (await client.get('/e')).text();
    await clock.advance(15_000);
    replies.set('/e', (res, req) => {
      assert.equal(req.headers['if-none-match'], '"v1"');
      res.writeHead(304, { 'cache-control': 'max-age=30', etag: '"v1"', 'x-version': 'new' });
      res.end();
    });
    const res = await client.get('/e');
    assert.equal(res.status, 200);
    assert.equal(res.cache, 'revalidated');
    assert.equal(await res.text(), 'body');
    assert.equal(res.headers['x-version'], 'new');
    assert.equal(res.headers.age, '0');
    await clock.advance(20_000);
    const later = await client.get('/e');
    assert.equal(later.cache, 'hit');
    assert.equal(later.headers['x-version'], 'new');
    assert.equal(hits('/e'), 2);
    await client.close();
  });

  it('revalidates with If-Modified-Since when only Last-Modified is known', async () => {
    const clock = createVirtualClock();
    const client = cachingClient(clock);
    const lm = 'Tue, 01 Dec 2026 10:00:00 GMT';
    replies.set('/lm', answer(200, 'lm', { 'cache-control': 'no-cache', 'last-modified': lm }));
    await (await client.get('/lm')).text();
    let seen: unknown;
    replies.set('/lm', (res, req) => {
      seen = req.headers['if-modified-since'];
      res.writeHead(304);
      res.end();
    });
    const res = await client.get('/lm');
    assert.equal(seen, lm);
    assert.equal(res.cache, 'revalidated');
    assert.equal(await res.text(), 'lm');
    await client.close();
  });

  it('stale-while-revalidate answers at once and revalidates once per key in the background', async () => {
    const clock = createVirtualClock();
    const client = cachingClient(clock);
    replies.set('/swr', answer(200, 'v1', { 'cache-control': 'max-age=1, stale-while-revalidate=60' }));
    await (await client.get('/swr')).text();
    await clock.advance(2_000);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    replies.set('/swr', (res) => {
      void held.then(() => {
        res.writeHead(200, { 'cache-control': 'max-age=60' });
        res.end('v2');
      });
    });
    const a = await client.get('/swr');
    const b = await client.get('/swr');
    assert.equal(a.cache, 'stale');
    assert.equal(b.cache, 'stale');
    assert.equal(await a.text(), 'v1');
    // One revalidation in flight for both stale answers.
    while (hits('/swr') < 2) await new Promise((r) => setTimeout(r, 5));
    assert.equal(
      client.inspect().cache && (client.inspect().cache as { revalidating: number }).revalidating,
      1,
    );
    release();
    while ((client.inspect().cache?.revalidating ?? 0) > 0) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const c = await client.get('/swr');
    assert.equal(c.cache, 'hit');
    assert.equal(await c.text(), 'v2');
    assert.equal(hits('/swr'), 2);
    await client.close();
  });
});

describe('HTTP cache: stale-if-error', () => {
  it('serves the stale entry when the upstream answers 503 within stale-if-error, not after', async () => {
    const clock = createVirtualClock();
    const client = cachingClient(clock);
    replies.set('/sie', answer(200, 'good', { 'cache-control': 'max-age=10, stale-if-error=60' }));
    await (await client.get('/sie')).text();
    await clock.advance(30_000);
    replies.set('/sie', answer(503, 'down'));
    const res = await client.get('/sie');
    assert.equal(res.status, 200);
    assert.equal(res.cache, 'stale');
    assert.equal(await res.text(), 'good');
    await clock.advance(60_000);
    const late = await client.get('/sie');
    assert.equal(late.status, 503);
    await client.close();
  });

  it('serves stale for a refused connection, and never for no-cache answers', async () => {
    const clock = createVirtualClock();
    const down = await startServer((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=1, stale-if-error=600' });
      res.end('cached');
    });
    const client = createClient({
      baseUrl: down.url,
      clock,
      timeout: false,
      retry: false,
      circuitBreaker: false,
      cache: true,
    });
    await (await client.get('/x')).text();
    await down.close();
    await clock.advance(5_000);
    const res = await client.get('/x');
    assert.equal(res.cache, 'stale');
    assert.equal(await res.text(), 'cached');
    await client.close();

    const client2 = cachingClient(clock, { cache: { staleIfError: 600_000 } });
    replies.set('/nc', answer(200, 'nc', { 'cache-control': 'no-cache, stale-if-error=600', etag: '"a"' }));
    await (await client2.get('/nc')).text();
    replies.set('/nc', answer(503, 'down'));
    const refused = await client2.get('/nc');
    assert.equal(refused.status, 503);
    await client2.close();
  });

  it('the client-level staleIfError window serves answers that carry no cache headers', async () => {
    const clock = createVirtualClock();
    const client = cachingClient(clock, { cache: { staleIfError: 60_000 } });
    replies.set('/plain', answer(200, 'last good'));
    await (await client.get('/plain')).text();
    replies.set('/plain', answer(500, 'boom'));
    const res = await client.get('/plain');
    assert.equal(res.cache, 'stale');
    assert.equal(await res.text(), 'last good');
    await clock.advance(61_000);
    assert.equal((await client.get('/plain')).status, 500);
    await client.close();
  });

  it('an open circuit is answered from the stale entry', async () => {
    const clock = createVirtualClock();
    const client = cachingClient(clock, {
      cache: { staleIfError: 600_000 },
      circuitBreaker: { failureThreshold: 1, window: { calls: 5 } },
    });
    replies.set('/cb', answer(200, 'ok', { 'cache-control': 'max-age=1' }));
    replies.set('/other', answer(500, 'fail'));
    await (await client.get('/cb')).text();
    await (await client.get('/other')).text();
    await clock.advance(2_000);
    const before = hits('/cb');
    const res = await client.get('/cb');
    assert.equal(res.cache, 'stale');
    assert.equal(hits('/cb'), before);
    await client.close();
  });

  it('a rate limit refusal is answered from the stale entry; a fresh hit takes no token', async () => {
    const clock = createVirtualClock();
    const client = cachingClient(clock, {
      cache: { staleIfError: 600_000 },
      rateLimit: { requests: 1, per: 'minute', strategy: 'error' },
    });
    replies.set('/rl', answer(200, 'ok', { 'cache-control': 'max-age=5' }));
    await (await client.get('/rl')).text();
    // Hits take no token: many of them, then still refused only once the entry is stale.
    for (let i = 0; i < 5; i++) assert.equal((await client.get('/rl')).cache, 'hit');
    await clock.advance(6_000);
    const res = await client.get('/rl');
    assert.equal(res.cache, 'stale');
    assert.equal(await res.text(), 'ok');
    replies.set('/fresh', answer(200, 'n'));
    await assert.rejects(client.get('/fresh'), (e: unknown) => {
      assertCode(e, 'RATE_LIMITED');
      return true;
    });
    await client.close();
  });

  it('a hit counts nothing in the breaker and takes no concurrency slot', async () => {
    const clock = createVirtualClock();
    const client = cachingClient(clock, {
      circuitBreaker: {},
      concurrency: { algorithm: 'fixed', initialLimit: 1, maxQueue: 0 },
    });
    replies.set('/n', answer(200, 'n', { 'cache-control': 'max-age=60' }));
    await (await client.get('/n')).text();
    const hitsInFlight = await Promise.all(Array.from({ length: 20 }, () => client.get('/n')));
    assert.ok(hitsInFlight.every((r) => r.cache === 'hit'));
    const circuits = client.inspect().circuits ?? [];
    assert.equal(circuits[0]?.calls, 1);
    assert.equal(hits('/n'), 1);
    await client.close();
  });

  it('a full concurrency limiter is answered from the stale entry', async () => {
    const clock = createVirtualClock();
    const client = cachingClient(clock, {
      cache: { staleIfError: 600_000 },
      concurrency: { algorithm: 'fixed', initialLimit: 1, maxQueue: 0 },
    });
    replies.set('/cc', answer(200, 'ok', { 'cache-control': 'max-age=1' }));
    await (await client.get('/cc')).text();
    await clock.advance(2_000);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    replies.set('/slow', (res) => {
      void held.then(() => {
        res.writeHead(200);
        res.end('slow');
      });
    });
    const slow = client.get('/slow', { cache: false });
    while (hits('/slow') < 1) await new Promise((r) => setTimeout(r, 5));
    const res = await client.get('/cc');
    assert.equal(res.cache, 'stale');
    release();
    await (await slow).text();
    await client.close();
  });
});

describe('HTTP cache: modes, invalidation, telemetry', () => {
  it('only-if-cached never touches the network: a stale entry, or a 504', async () => {
    const clock = createVirtualClock();
    const client = cachingClient(clock);
    // An entry with a validator is kept past its freshness (a 304 can make it fresh again).
    replies.set('/o', answer(200, 'o', { 'cache-control': 'max-age=1', etag: '"o"' }));
    const none = await client.get('/o', { cache: 'only-if-cached' });
    assert.equal(none.status, 504);
    assert.equal(hits('/o'), 0);
    await (await client.get('/o')).text();
    await clock.advance(10_000);
    const stale = await client.get('/o', { cache: 'only-if-cached' });
    assert.equal(stale.status, 200);
    assert.equal(stale.cache, 'stale');
    assert.equal(hits('/o'), 1);
    await client.close();
  });

  it('no-cache asks the origin, force-cache takes a stale entry, false leaves the cache alone', async () => {
    const clock = createVirtualClock();
    const client = cachingClient(clock);
    replies.set(
      '/m',
      answer(200, 'one', { 'cache-control': 'max-age=1', 'last-modified': 'Tue, 01 Dec 2026 10:00:00 GMT' }),
    );
    await (await client.get('/m')).text();
    assert.equal((await client.get('/m', { cache: 'no-cache' })).cache, 'miss');
    assert.equal(hits('/m'), 2);
    await clock.advance(5_000);
    assert.equal((await client.get('/m', { cache: 'force-cache' })).cache, 'stale');
    assert.equal(hits('/m'), 2);
    const bypass = await client.get('/m', { cache: false });
    assert.equal(bypass.cache, undefined);
    assert.equal(hits('/m'), 3);
    await client.close();
  });

  it('an unsafe method invalidates its target and a same-origin Location', async () => {
    const clock = createVirtualClock();
    const client = cachingClient(clock);
    replies.set('/items', answer(200, 'list', { 'cache-control': 'max-age=600' }));
    replies.set('/items/1', answer(200, 'item', { 'cache-control': 'max-age=600' }));
    await (await client.get('/items')).text();
    await (await client.get('/items/1')).text();
    replies.set('/items', answer(201, '', { location: '/items/1' }));
    await (await client.post('/items', { json: { a: 1 } })).text();
    replies.set('/items', answer(200, 'list', { 'cache-control': 'max-age=600' }));
    assert.equal((await client.get('/items')).cache, 'miss');
    assert.equal((await client.get('/items/1')).cache, 'miss');
    await client.close();
  });

  it('refuses a bad cache option naming it, and a request mode on a client without a cache', async () => {
    assert.throws(
      () => createClient({ cache: { staleIfErorr: 1 } } as never),
      /cache\.staleIfErorr.*staleIfError/s,
    );
    assert.throws(() => createClient({ cache: { store: {} } } as never), /cache\.store/);
    assert.throws(() => createClient({ cache: 'yes' } as never), /`cache`/);
    const plain = createClient({ baseUrl: server.url });
    await assert.rejects(plain.get('/x', { cache: 'force-cache' }), /cache: true/);
    await assert.rejects(plain.get('/x', { cache: 'reload' as never }), /'only-if-cached'/);
    await plain.close();
  });

  it('publishes bulwark:cache for what the cache answered', async () => {
    const clock = createVirtualClock();
    const client = cachingClient(clock);
    const capture = captureChannel<{ status: string; age: number; url: string }>('bulwark:cache');
    capture.start();
    replies.set('/t?api_key=secret', answer(200, 't', { 'cache-control': 'max-age=60' }));
    await (await client.get('/t', { query: { api_key: 'secret' } })).text();
    await clock.advance(3_000);
    await (await client.get('/t', { query: { api_key: 'secret' } })).text();
    assert.deepEqual(
      capture.messages.map((m) => [m.status, m.age]),
      [
        ['miss', 0],
        ['hit', 3],
      ],
    );
    assert.ok(capture.messages.every((m) => !m.url.includes('secret')));
    capture.stop();
    await client.close();
  });
});
