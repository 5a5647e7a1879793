import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { createCluster } from 'redis';
import { keySlot } from '../../src/stores/cluster-slot.js';
import {
  RedisRateLimitStore,
  redisCircuitStore,
  redisStore,
  type RedisClientLike,
} from '../../src/stores/redis.js';
import { DeadlineQueue } from '../../src/stores/store-timeout.js';
import type { GcraParams, RateLimitDecision } from '../../src/policies/store-contract.js';
import { createVirtualClock } from '../../src/testing/virtual-clock.js';
import { redisTestOptions, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const params: GcraParams = { emissionIntervalMs: 1_000, burst: 10 };

async function evalshaCalls(io: Redis): Promise<number> {
  const info = await io.info('commandstats');
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

const admitted = (decisions: readonly RateLimitDecision[]): number =>
  decisions.filter((d) => d.allowed).length;

void describe('decisions of one turn travel as one script call', redisTestOptions(), () => {
  let server: RedisServer;
  let io: Redis;

  before(async () => {
    server = await startRedisServer();
    io = new Redis(server.port, '127.0.0.1');
  });
  after(async () => {
    io.disconnect();
    await server.stop();
  });

  void test('64 decisions at once on one bucket: 2 EVALSHA, admitted in call order, never over the burst', async () => {
    const store = redisStore({ client: io, prefix: 'b1' });
    await store.take({ key: 'warm', params, maxWaitMs: 0 });
    await io.config('RESETSTAT');
    const decisions = await Promise.all(
      Array.from({ length: 64 }, () => store.take({ key: 'api', params, maxWaitMs: 0 })),
    );
    // The first goes at once (nothing in flight), the 63 others together right after.
    assert.equal(await evalshaCalls(io), 2);
    assert.equal(admitted(decisions), 10);
    assert.deepEqual(
      decisions.slice(0, 10).map((d) => (d.allowed ? d.remaining : -1)),
      [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    );
    for (const d of decisions.slice(10)) {
      assert.ok(!d.allowed && d.retryAfterMs > 0 && d.retryAfterMs <= 1_000, JSON.stringify(d));
    }
    assert.equal(store.degraded, false);
  });

  void test('maxBatch bounds a call; maxBatch 1 sends every decision alone', async () => {
    const chunked = new RedisRateLimitStore({ client: io, prefix: 'b2', maxBatch: 5 });
    await io.config('RESETSTAT');
    const decisions = await Promise.all(
      Array.from({ length: 21 }, (_, i) => chunked.take({ key: `k${i % 3}`, params, maxWaitMs: 0 })),
    );
    assert.equal(admitted(decisions), 21);
    assert.equal(await evalshaCalls(io), 1 + 4);

    const single = new RedisRateLimitStore({ client: io, prefix: 'b3', maxBatch: 1 });
    await io.config('RESETSTAT');
    await Promise.all(Array.from({ length: 8 }, () => single.take({ key: 'k', params, maxWaitMs: 0 })));
    assert.equal(await evalshaCalls(io), 8);
  });

  void test('a hot key is kept at least 1 s; a drained one lives until it is full again', async () => {
    const store = redisStore({ client: io, prefix: 'ttl' });
    const fast = { emissionIntervalMs: 1, burst: 5 };
    await store.take({ key: 'hot', params: fast, maxWaitMs: 0 });
    const hot = await io.pttl('ttl:{hot}:rl');
    assert.ok(hot > 900 && hot <= 1_000, `hot key ttl ${hot}`);
    const slow = { emissionIntervalMs: 2_000, burst: 3 };
    for (let i = 0; i < 3; i++) await store.take({ key: 'slow', params: slow, maxWaitMs: 0 });
    const drained = await io.pttl('ttl:{slow}:rl');
    assert.ok(drained > 5_000 && drained <= 6_001, `drained key ttl ${drained}`);
  });

  void test('unknown or bad store options are refused with the option path', () => {
    assert.throws(() => redisStore({ client: io, timeoutMS: 50 } as never), {
      code: 'INVALID_OPTIONS',
      path: 'rateLimit.store.timeoutMS',
      message: /did you mean `timeoutMs`/,
    });
    assert.throws(() => redisStore({ client: io, prefix: 5 } as never), { path: 'rateLimit.store.prefix' });
    assert.throws(() => redisStore({ client: io, local: 5 } as never), { path: 'local' });
    assert.throws(() => redisCircuitStore({ client: io, halfOpenTTLMs: 1 } as never), {
      path: 'circuitBreaker.store.halfOpenTTLMs',
      message: /did you mean `halfOpenTtlMs`/,
    });
  });

  void test('bad maxBatch is refused with the option path', () => {
    for (const maxBatch of [0, 1.5, 1_001, Number.NaN]) {
      assert.throws(() => redisStore({ client: io, maxBatch }), {
        code: 'INVALID_OPTIONS',
        path: 'rateLimit.store.maxBatch',
      });
    }
  });

  void test('a batch that fails falls back for every decision in it, warned once it lasts', async () => {
    let calls = 0;
    const client = {
      evalsha: () => {
        calls++;
        return Promise.reject(new Error('LOADING Redis is loading the dataset in memory'));
      },
      eval: () => Promise.reject(new Error('unused')),
      script: () => Promise.resolve(''),
    };
    const warnings: unknown[] = [];
    const store = redisStore({ client, logger: { warn: (obj) => warnings.push(obj) } });
    const decisions = await Promise.all(
      Array.from({ length: 12 }, () => store.take({ key: 'k', params, maxWaitMs: 0 })),
    );
    assert.equal(calls, 2);
    assert.equal(admitted(decisions), 10, 'the local limiter, same parameters');
    assert.equal(warnings.length, 0, 'an outage shorter than logAfterMs is not logged');
    await new Promise((resolve) => setTimeout(resolve, 120));
    await store.take({ key: 'k', params, maxWaitMs: 0 });
    assert.equal(warnings.length, 1, 'logged once it lasted 100 ms');
    assert.equal(store.degraded, true);
  });

  void test('a client that throws instead of rejecting fails the decision, not the process', async () => {
    const client = {
      evalsha: () => {
        throw new TypeError('connection is closed');
      },
      eval: () => Promise.reject(new Error('unused')),
      script: () => Promise.resolve(''),
    };
    const bare = new RedisRateLimitStore({ client });
    await assert.rejects(bare.take({ key: 'k', params, maxWaitMs: 0 }), /connection is closed/);
    const store = redisStore({ client, onStoreError: 'open' });
    const decisions = await Promise.all([1, 2, 3].map(() => store.take({ key: 'k', params, maxWaitMs: 0 })));
    assert.equal(admitted(decisions), 3);
  });
});

void describe('Redis Cluster: a batch keeps to one master', redisTestOptions(), () => {
  let server: RedisServer;
  let config: string;

  before(async () => {
    config = join(tmpdir(), `bulwark-cluster-batch-${process.pid}-${Date.now()}.conf`);
    server = await startRedisServer({
      args: [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        config,
        '--cluster-announce-ip',
        '127.0.0.1',
      ],
    });
    // One node that owns every slot: a real cluster as far as clients and CROSSSLOT go.
    const admin = new Redis(server.port, '127.0.0.1');
    await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    let state = '';
    for (let i = 0; i < 200 && !state.includes('cluster_state:ok'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      state = String(await admin.call('CLUSTER', 'INFO'));
    }
    assert.ok(state.includes('cluster_state:ok'), state);
    admin.disconnect();
  });
  after(async () => {
    await server.stop();
    await rm(config, { force: true });
  });

  void test('keySlot agrees with CLUSTER KEYSLOT, hash tags included', async () => {
    const admin = new Redis(server.port, '127.0.0.1');
    try {
      const keys = [
        '',
        'foo',
        'bulwark:{api.example.com}:rl',
        'api.example.com',
        '{user1000}.following',
        'foo{}{bar}',
        'foo{{bar}}zap',
        'foo{bar}{zap}',
        'x{y',
        '}{a}',
        'clé-ünïcødé-🙂',
        'https://api.example.com:8443',
      ];
      for (const key of keys)
        assert.equal(keySlot(key), Number(await admin.call('CLUSTER', 'KEYSLOT', key)), key);
    } finally {
      admin.disconnect();
    }
  });

  for (const name of ['ioredis Cluster', 'node-redis cluster'] as const) {
    void test(`${name}: 40 decisions over 4 keys of 4 slots, one call, no CROSSSLOT`, async () => {
      let client: RedisClientLike;
      let close: () => Promise<unknown>;
      if (name === 'ioredis Cluster') {
        const io = new Cluster([{ host: '127.0.0.1', port: server.port }]);
        await once(io, 'ready');
        client = io;
        close = () => io.quit();
      } else {
        const node = await createCluster({ rootNodes: [{ url: server.url }] }).connect();
        client = node;
        close = () => node.close();
      }
      try {
        const prefix = name.startsWith('io') ? 'c1' : 'c2';
        const store = redisStore({ client, prefix, onStoreError: 'closed' });
        await store.take({ key: 'warm', params, maxWaitMs: 0 });
        const stats = new Redis(server.port, '127.0.0.1');
        await stats.config('RESETSTAT');
        const decisions = await Promise.all(
          Array.from({ length: 40 }, (_, i) => store.take({ key: `tenant-${i % 4}`, params, maxWaitMs: 0 })),
        );
        assert.equal(store.degraded, false, 'every batch was accepted by the cluster');
        assert.equal(admitted(decisions), 40);
        const calls = await evalshaCalls(stats);
        stats.disconnect();
        // One master holds every slot: the 39 after the first go as one call (Redis 7+).
        assert.equal(calls, 2, `one call per master (+ the first alone): ${calls}`);
      } finally {
        await close();
      }
    });
  }
});

void describe('DeadlineQueue.track / finish', () => {
  void test('an answer stops the clock; a late answer after the timeout is refused', async () => {
    const clock = createVirtualClock();
    const queue = new DeadlineQueue(100, clock);
    const expired: string[] = [];
    const a = queue.track(() => expired.push('a'));
    const b = queue.track(() => expired.push('b'));
    queue.track(() => expired.push('c'));
    assert.equal(queue.size, 3);
    assert.equal(queue.finish(b), true);
    assert.equal(queue.finish(b), false, 'finished once');
    await clock.advance(100);
    await clock.flush();
    assert.deepEqual(expired, ['a', 'c']);
    assert.equal(queue.finish(a), false, 'a timed out: its answer is dropped');
    assert.equal(queue.size, 0);
    assert.equal(clock.pending(), 0);
  });
});
