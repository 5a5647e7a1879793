import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createClient as createRedisClient } from 'redis';
import { createClient, MemoryCacheStore } from '../../src/index.js';
import type { CacheEntry } from '../../src/policies/index.js';
import { redisCacheStore } from '../../src/stores/redis.js';
import { CacheRules } from '../../src/policies/http-cache.js';
import { createVirtualClock } from '../../src/testing/index.js';
import { startServer, type TestServer } from '../helpers/http-server.js';
import { rawCommand, redisTestOptions, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const clock = createVirtualClock();
const rules = new CacheRules({ clock });

function entry(
  body: string,
  headers: Record<string, string> = { 'cache-control': 'max-age=60' },
): CacheEntry {
  const policy = rules.policyOf(
    { method: 'GET', url: 'http://api.test/x', headers: {} },
    { status: 200, headers },
  );
  return { policy: policy.toObject(), statusText: 'OK', url: 'http://api.test/x', body: Buffer.from(body) };
}

describe('MemoryCacheStore', () => {
  it('evicts the least recently used URL past maxEntries', () => {
    const store = new MemoryCacheStore({ maxEntries: 2, clock });
    store.set('a', [entry('a')], 60_000);
    store.set('b', [entry('b')], 60_000);
    assert.ok(store.get('a'));
    store.set('c', [entry('c')], 60_000);
    assert.ok(store.get('a'));
    assert.equal(store.get('b'), undefined);
    assert.ok(store.get('c'));
    assert.equal(store.size, 2);
  });

  it('stays within maxBytes, and keeps no single answer larger than the whole store', () => {
    const store = new MemoryCacheStore({ maxBytes: 10_000, clock });
    for (let i = 0; i < 50; i++) store.set(`k${i}`, [entry('x'.repeat(1_000))], 60_000);
    assert.ok(store.bytes <= 10_000, `bytes ${store.bytes}`);
    assert.ok(store.get('k49'));
    assert.equal(store.get('k0'), undefined);
    store.set('huge', [entry('y'.repeat(20_000))], 60_000);
    assert.equal(store.get('huge'), undefined);
    assert.ok(store.get('k49'));
  });

  it('forgets an entry once its time is up', async () => {
    const store = new MemoryCacheStore({ clock });
    store.set('t', [entry('t')], 1_000);
    await clock.advance(999);
    assert.ok(store.get('t'));
    await clock.advance(1);
    assert.equal(store.get('t'), undefined);
    assert.equal(store.bytes, 0);
  });

  it('100,000 distinct answers stay within the byte bound', () => {
    const store = new MemoryCacheStore({ maxEntries: 1_000_000, maxBytes: 8 * 1024 * 1024, clock });
    const template = entry('z'.repeat(200));
    for (let i = 0; i < 100_000; i++)
      store.set(
        `GET http://api.test/items/${i}`,
        [{ ...template, body: Buffer.from(`${i}`.padEnd(200, '.')) }],
        60_000,
      );
    assert.ok(store.bytes <= 8 * 1024 * 1024, `bytes ${store.bytes}`);
    // It uses what it is given: the newest answers, as many as the bound holds (about 1.2 kB each).
    assert.ok(store.size > 5_000 && store.size < 100_000, `size ${store.size}`);
    assert.ok(store.get('GET http://api.test/items/99999'));
  });

  it('refuses bad options, naming them', () => {
    assert.throws(() => new MemoryCacheStore({ maxEntries: 0 }), /cache\.store\.maxEntries/);
    assert.throws(() => new MemoryCacheStore({ maxBytez: 1 } as never), /maxBytez.*maxBytes/s);
  });
});

describe('redisCacheStore: a fleet shares its answers', redisTestOptions(), () => {
  let redis: RedisServer;
  let server: TestServer;
  let served = 0;
  before(async () => {
    redis = await startRedisServer();
    server = await startServer((_req, res) => {
      served++;
      res.writeHead(200, {
        'cache-control': 'public, max-age=60, stale-if-error=600',
        'set-cookie': 'sid=COOKIE',
      });
      res.end(`answer ${served}`);
    });
  });
  after(async () => {
    await server.close();
    await redis.stop();
  });

  it('two clients (ioredis and node-redis) share entries; nothing secret is stored in Redis', async () => {
    const io = new Redis({ port: redis.port, host: '127.0.0.1', lazyConnect: false });
    const nr = createRedisClient({ url: redis.url });
    await nr.connect();
    const a = createClient({
      baseUrl: server.url,
      cache: { shared: true, store: redisCacheStore({ client: io, timeout: 5_000 }) },
    });
    const b = createClient({
      baseUrl: server.url,
      cache: { shared: true, store: redisCacheStore({ client: nr, timeout: 5_000 }) },
    });
    const first = await a.get('/doc', {
      query: { access_token: 'TOKEN' },
      headers: { authorization: 'Bearer AUTH' },
    });
    assert.equal(await first.text(), 'answer 1');
    const second = await b.get('/doc', {
      query: { access_token: 'TOKEN' },
      headers: { authorization: 'Bearer AUTH' },
    });
    assert.equal(second.cache, 'hit');
    assert.equal(await second.text(), 'answer 1');
    assert.equal(second.headers['set-cookie'], undefined);
    assert.equal(served, 1);
    const keys = await io.keys('*');
    assert.equal(keys.length, 1);
    const dump = (await io.get(keys[0] ?? '')) ?? '';
    for (const secret of ['TOKEN', 'AUTH', 'COOKIE', '/doc']) {
      assert.ok(!dump.includes(secret) && !(keys[0] ?? '').includes(secret), secret);
    }
    const ttl = await io.pttl(keys[0] ?? '');
    // Fresh for 60 s, then kept a day (longer than its stale-if-error) for a 304, max-stale or force-cache.
    assert.ok(ttl > 86_400_000 + 50_000 && ttl <= 86_400_000 + 60_000, `ttl ${ttl}`);
    await a.close();
    await b.close();
    io.disconnect();
    await nr.quit();
  });

  it('a Redis that does not answer is a miss within the store timeout, never a failed call', async () => {
    const io = new Redis({ port: redis.port, host: '127.0.0.1' });
    await io.ping();
    const client = createClient({
      baseUrl: server.url,
      cache: { store: redisCacheStore({ client: io, timeout: 30 }) },
    });
    redis.pause();
    try {
      const res = await client.get('/paused');
      assert.equal(res.status, 200);
      assert.equal(res.cache, 'miss');
    } finally {
      redis.resume();
    }
    assert.match(await rawCommand(redis.port, 'PING'), /PONG/);
    await client.close();
    io.disconnect();
  });

  it('refuses bad options, naming them', () => {
    assert.throws(() => redisCacheStore({ client: {} as never }), /cache\.store\.client/);
    assert.throws(
      () => redisCacheStore({ client: new Redis({ lazyConnect: true }), timeot: 5 } as never),
      /timeot.*timeout/s,
    );
  });
});
