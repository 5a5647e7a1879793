import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { gcraTake } from '../../src/policies/gcra.js';
import { MAX_HOLD_MS, RateLimiter } from '../../src/policies/rate-limiter.js';
import { RedisRateLimitStore, redisStore } from '../../src/stores/redis.js';
import type { RedisClientLike } from '../../src/stores/redis-client.js';
import type { StoreEvent } from '../../src/stores/store-health.js';
import type { GcraParams } from '../../src/policies/store-contract.js';
import { redisTestOptions, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const perSecond = (requests: number, burst = requests): GcraParams => ({
  emissionIntervalMs: 1_000 / requests,
  burst,
});

async function redisTimeUs(io: Redis): Promise<number> {
  const [s, us] = (await io.time()) as [number | string, number | string];
  return Number(s) * 1_000_000 + Number(us);
}

/** Command counts since the last CONFIG RESETSTAT, by command name. */
async function commandStats(io: Redis): Promise<Record<string, number>> {
  const info = await io.info('commandstats');
  const out: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[match[1]!] = Number(match[2]);
  return out;
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`gave up waiting: ${what}`);
}

void describe('redisStore on a real redis-server', redisTestOptions(), () => {
  let server: RedisServer;
  let io: Redis;
  let nodeRedis: ReturnType<typeof createClient>;

  before(async () => {
    server = await startRedisServer();
    io = new Redis(server.port, '127.0.0.1');
    nodeRedis = createClient({ url: server.url });
    await nodeRedis.connect();
  });
  after(async () => {
    io.disconnect();
    await nodeRedis.quit();
    await server.stop();
  });

  /** The TAT a bucket key holds, µs (0 when there is no key). */
  const storedTat = async (key: string): Promise<number> => {
    const raw = await io.getBuffer(key);
    if (raw === null) return 0;
    return raw.length === 8 ? raw.readDoubleLE(0) : Number(raw.toString());
  };

  void test('decides exactly as src/policies/gcra.ts at the Redis time of the call (property)', async () => {
    const store = new RedisRateLimitStore({ client: io, prefix: 'prop' });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          intervalUs: fc.integer({ min: 1, max: 20_000 }),
          burst: fc.integer({ min: 1, max: 5 }),
        }),
        fc.array(
          fc.record({ cost: fc.integer({ min: 1, max: 3 }), maxWaitMs: fc.integer({ min: 0, max: 60 }) }),
          {
            minLength: 1,
            maxLength: 12,
          },
        ),
        async ({ intervalUs, burst }, ops) => {
          const params = { emissionIntervalMs: intervalUs / 1000, burst };
          const key = `k${run++}`;
          const redisKey = store.keyOf(key);
          for (const op of ops) {
            const before = await storedTat(redisKey);
            const lo = await redisTimeUs(io);
            const decision = await store.take({ key, params, ...op });
            const hi = await redisTimeUs(io);
            const stored = await storedTat(redisKey);
            const read = await redisTimeUs(io);
            let matched = false;
            for (let now = lo; now <= hi && !matched; now++) {
              const { tat, ...expected } = gcraTake(before, now, params, op.cost, op.maxWaitMs);
              // A refused take writes nothing; an admitted one stores the new TAT, which expires
              // (never before the TAT itself) only once the bucket is full again.
              const gone = stored === 0 && tat <= read;
              const tatOk = decision.allowed ? tat === stored || gone : stored === before || stored === 0;
              matched = tatOk && JSON.stringify(expected) === JSON.stringify(decision);
            }
            assert.ok(
              matched,
              `no time in [${lo}, ${hi}] explains ${JSON.stringify({ before, decision, stored, op })}`,
            );
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  for (const name of ['ioredis', 'node-redis'] as const) {
    void test(`${name}: a burst goes at once, the next request is refused until the next slot`, async () => {
      const client: RedisClientLike = name === 'ioredis' ? io : nodeRedis;
      const store = redisStore({ client, prefix: `burst-${name}` });
      const request = { key: 'api', params: perSecond(5), maxWaitMs: 0 };
      for (let i = 4; i >= 0; i--)
        assert.deepEqual(await store.take(request), { allowed: true, waitMs: 0, remaining: i });
      const refused = await store.take(request);
      assert.ok(!refused.allowed);
      assert.ok(
        refused.retryAfterMs > 0 && refused.retryAfterMs <= 200,
        `one slot away: ${refused.retryAfterMs}`,
      );
      const waited = await store.take({ ...request, maxWaitMs: 1_000 });
      assert.ok(waited.allowed && waited.waitMs > 0 && waited.waitMs <= 200, JSON.stringify(waited));
      assert.equal(store.degraded, false);
    });
  }

  void test('one EVALSHA per decision, one key per bucket with a hash tag and a TTL', async () => {
    const store = redisStore({ client: io, prefix: 'rt' });
    const params = { emissionIntervalMs: 1_000, burst: 100 };
    await store.take({ key: 'warm', params, maxWaitMs: 0 });
    await io.config('RESETSTAT');
    for (let i = 0; i < 50; i++) await store.take({ key: `k${i % 5}`, params, maxWaitMs: 0 });
    const { 'config|resetstat': _, ...stats } = await commandStats(io);
    // One EVALSHA from the client per decision; GET, TIME and SET run inside the script.
    assert.deepEqual(stats, { evalsha: 50, get: 50, time: 50, set: 50 });
    const keys = (await io.keys('rt:*')).sort();
    assert.deepEqual(keys, [
      'rt:{k0}:rl',
      'rt:{k1}:rl',
      'rt:{k2}:rl',
      'rt:{k3}:rl',
      'rt:{k4}:rl',
      'rt:{warm}:rl',
    ]);
    for (const key of keys) {
      const ttl = await io.pttl(key);
      // 10 takes at 1 s each: the bucket is full again (and the key gone) 10 s later.
      assert.ok(ttl > 0 && ttl <= 10_000, `${key} ttl ${ttl}`);
    }
  });

  void test('concurrent takes from two client libraries never over-admit (atomic script)', async () => {
    const a = redisStore({ client: io, prefix: 'race' });
    const b = redisStore({ client: nodeRedis, prefix: 'race' });
    const params = { emissionIntervalMs: 3_600_000, burst: 50 };
    const decisions = await Promise.all(
      Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? a : b).take({ key: 'hot', params, maxWaitMs: 0 })),
    );
    assert.equal(decisions.filter((d) => d.allowed).length, 50);
  });

  void test('hold: no node is granted anything before the hold ends', async () => {
    const a = redisStore({ client: io, prefix: 'hold' });
    const b = redisStore({ client: nodeRedis, prefix: 'hold' });
    await a.hold('api', perSecond(10), 5_000);
    const refused = await b.take({ key: 'api', params: perSecond(10), maxWaitMs: 0 });
    assert.ok(!refused.allowed && refused.retryAfterMs > 4_000 && refused.retryAfterMs <= 5_000);
    // A shorter hint never shortens a longer hold.
    await b.hold('api', perSecond(10), 10);
    const still = await a.take({ key: 'api', params: perSecond(10), maxWaitMs: 0 });
    assert.ok(!still.allowed && still.retryAfterMs > 4_000);
    await a.hold('zero', perSecond(10), 0);
    assert.equal(await io.exists('hold:{zero}:rl'), 1, 'burst 10 after a hold restarts empty');
    await a.hold('one', { emissionIntervalMs: 100, burst: 1 }, 0);
    assert.equal(await io.exists('hold:{one}:rl'), 0, 'a zero hold on a burst of 1 writes nothing');
  });

  void test('NOSCRIPT after SCRIPT FLUSH: reloaded, no error, no double take', async () => {
    const store = redisStore({ client: nodeRedis, prefix: 'noscript' });
    const params = { emissionIntervalMs: 3_600_000, burst: 3 };
    assert.equal((await store.take({ key: 'k', params, maxWaitMs: 0 })).remaining, 2);
    await io.script('FLUSH');
    assert.equal((await store.take({ key: 'k', params, maxWaitMs: 0 })).remaining, 1);
    await io.script('FLUSH');
    await store.hold('k', params, 10);
    assert.equal(store.degraded, false);
  });

  void test('a value that is not a number reads as an empty bucket and heals', async () => {
    const nan = Buffer.alloc(8);
    nan.writeDoubleLE(Number.NaN);
    for (const [i, garbage] of ['garbage', nan, 'garbage!', '0'].entries()) {
      await io.set(`bad:{k${i}}:rl`, garbage);
      const store = redisStore({ client: io, prefix: 'bad' });
      const decision = await store.take({ key: `k${i}`, params: perSecond(10), maxWaitMs: 0 });
      assert.equal(decision.allowed, false, `after ${String(garbage)}`);
      const ttl = await io.pttl(`bad:{k${i}}:rl`);
      assert.ok(ttl > 0 && ttl <= 1_000, `ttl ${ttl}`);
      // Healed: the value is a TAT again (8 bytes), about one refill (B × T = 1 s) ahead.
      const ahead = (await storedTat(`bad:{k${i}}:rl`)) - (await redisTimeUs(io));
      assert.ok(ahead > 900_000 && ahead <= 1_000_000, `TAT ${ahead} µs ahead`);
    }
  });

  void test('the TAT is stored as an 8-byte double; a decimal TAT (written by hand) is read too', async () => {
    const store = redisStore({ client: io, prefix: 'fmt' });
    const params = perSecond(10);
    assert.equal((await store.take({ key: 'a', params, maxWaitMs: 0 })).allowed, true);
    const raw = await io.getBuffer('fmt:{a}:rl');
    assert.equal(raw?.length, 8);
    // A hand-written decimal TAT 5 s ahead: refused, with the wait it implies.
    const now = await redisTimeUs(io);
    await io.set('fmt:{b}:rl', String(now + 5_000_000), 'PX', 10_000);
    const decision = await store.take({ key: 'b', params, maxWaitMs: 0 });
    assert.ok(
      !decision.allowed && decision.retryAfterMs > 4_000 && decision.retryAfterMs <= 4_100,
      JSON.stringify(decision),
    );
  });

  void test('works inside the RateLimiter policy (strategy error)', async () => {
    const limiter = new RateLimiter({
      requests: 3,
      per: 'hour',
      strategy: 'error',
      store: redisStore({ client: io, prefix: 'limiter' }),
    });
    for (let i = 0; i < 3; i++) await limiter.acquire('api');
    await assert.rejects(Promise.resolve(limiter.acquire('api')), { code: 'RATE_LIMITED', key: 'api' });
  });

  void test("a year-long server hold reaches Redis bounded to an hour: the fleet's bucket is not shut for a year", async () => {
    const store = redisStore({ client: io, prefix: 'yearhold' });
    const limiter = new RateLimiter({ requests: 10, per: 'second', strategy: 'error', store });
    assert.equal(limiter.hold('api', 31_536_000_000), MAX_HOLD_MS);
    await until(async () => (await io.exists('yearhold:{api}:rl')) === 1, 'the hold reached Redis');
    const other = redisStore({ client: nodeRedis, prefix: 'yearhold' });
    const refused = await other.take({ key: 'api', params: perSecond(10), maxWaitMs: 0 });
    assert.ok(!refused.allowed);
    assert.ok(
      refused.retryAfterMs > MAX_HOLD_MS - 5_000 && refused.retryAfterMs <= MAX_HOLD_MS,
      `another node is held ${refused.retryAfterMs} ms`,
    );
    const ttlMs = await io.pttl('yearhold:{api}:rl');
    assert.ok(ttlMs > 0 && ttlMs <= MAX_HOLD_MS + 2_000, `the key expires in ${ttlMs} ms`);
  });

  void test('default prefix `bulwark`; an unbounded wait is reserved, not refused', async () => {
    const store = redisStore({ client: io });
    const params = { emissionIntervalMs: 60_000, burst: 1 };
    assert.equal((await store.take({ key: 'inf', params, maxWaitMs: 0 })).allowed, true);
    const waited = await store.take({ key: 'inf', params, maxWaitMs: Number.POSITIVE_INFINITY });
    assert.ok(waited.allowed && waited.waitMs > 59_000 && waited.waitMs <= 60_000);
    assert.equal(await io.exists('bulwark:{inf}:rl'), 1);
  });

  void test('a reply the store does not understand is a failure, never an admission', async () => {
    for (const reply of [[1, '0', 3], [2, 0, 3], 'OK', null, [1, 0]]) {
      const client = {
        evalsha: () => Promise.resolve(reply),
        eval: () => Promise.resolve(reply),
        script: () => Promise.resolve(''),
      };
      const store = redisStore({ client, onStoreError: 'closed' });
      const decision = await store.take({ key: 'k', params: perSecond(10), maxWaitMs: 0 });
      assert.equal(decision.allowed, false, JSON.stringify(reply));
      assert.equal(store.degraded, true);
    }
  });

  void test('the client is never closed by the store', async () => {
    const store = redisStore({ client: io, prefix: 'close' });
    await store.close();
    assert.equal(await io.ping(), 'PONG');
  });

  void test('refuses a value that is not a Redis client, naming the option', () => {
    assert.throws(() => redisStore({ client: { get: () => 1 } as unknown as RedisClientLike }), {
      code: 'INVALID_OPTIONS',
      path: 'rateLimit.store.client',
    });
  });
});

for (const name of ['ioredis', 'node-redis'] as const) {
  void describe(`${name}: Redis stops, pauses and comes back`, redisTestOptions(), () => {
    test('falls back to the local limiter, warns once, and shares the limit again after a restart', async () => {
      const server = await startRedisServer();
      const io = new Redis(server.port, '127.0.0.1', {
        enableOfflineQueue: false,
        retryStrategy: () => 20,
        lazyConnect: true,
      });
      io.on('error', () => undefined);
      await io.connect();
      const node = createClient({ url: server.url, socket: { reconnectStrategy: () => 20 } });
      node.on('error', () => undefined);
      await node.connect();
      const client: RedisClientLike = name === 'ioredis' ? io : node;
      const events: StoreEvent[] = [];
      const warnings: unknown[] = [];
      const store = redisStore({
        client,
        prefix: 'restart',
        probeIntervalMs: 20,
        // Long enough that a loaded machine does not time out a healthy Redis.
        timeoutMs: 300,
        onEvent: (e) => events.push(e),
        logger: { warn: (obj) => warnings.push(obj) },
      });
      const params = { emissionIntervalMs: 3_600_000, burst: 3 };
      const take = (): Promise<{ allowed: boolean; remaining: number }> =>
        store.take({ key: 'k', params, maxWaitMs: 0 });
      try {
        assert.equal((await take()).remaining, 2);

        await server.stop('SIGKILL');
        // The local bucket is fresh (same params): 3 more go per process, then refusals.
        const local = [await take(), await take(), await take(), await take()];
        assert.deepEqual(
          local.map((d) => d.allowed),
          [true, true, true, false],
        );
        assert.equal(store.degraded, true);
        assert.equal(warnings.length, 1, 'warned once for the whole outage');

        await server.start();
        await until(async () => (await take(), !store.degraded), 'the store to use Redis again');
        // Redis restarted empty (no persistence): the shared bucket starts over, and is shared.
        assert.equal(await io.exists('restart:{k}:rl').catch(() => 1), 1);

        server.pause();
        const paused = await take();
        assert.equal(store.degraded, true, 'a frozen Redis is abandoned after timeoutMs');
        assert.equal(paused.allowed, false, 'the local bucket was already drained');
        server.resume();
        await until(async () => (await take(), !store.degraded), 'the store to recover from the pause');
        assert.deepEqual(
          events.map((e) => e.type),
          ['store-down', 'store-up', 'store-down', 'store-up'],
        );
        assert.equal(warnings.length, 2);
      } finally {
        server.resume();
        io.disconnect();
        await node.quit().catch(() => undefined);
        await server.stop();
      }
    });
  });
}
