import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { redisCircuitStore } from '../../src/stores/redis-circuit.js';
import type { RedisClientLike } from '../../src/stores/redis-client.js';
import type { StoreEvent } from '../../src/stores/store-health.js';
import { createVirtualClock } from '../../src/testing/virtual-clock.js';
import { redisTestOptions, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

void describe('redisCircuitStore on a real redis-server', redisTestOptions(), () => {
  let server: RedisServer;
  let io: Redis;
  let nodeRedis: ReturnType<typeof createClient>;

  before(async () => {
    server = await startRedisServer();
    io = new Redis(server.port, '127.0.0.1', { lazyConnect: false });
    nodeRedis = createClient({ url: server.url });
    await nodeRedis.connect();
  });
  after(async () => {
    io.disconnect();
    await nodeRedis.quit();
    await server.stop();
  });

  const clients = (): [string, RedisClientLike][] => [
    ['ioredis', io],
    ['node-redis', nodeRedis],
  ];

  void test('a circuit opened by one node is open on another node (other client library) at once', async () => {
    const a = redisCircuitStore({ client: io, prefix: 't1' });
    const b = redisCircuitStore({ client: nodeRedis, prefix: 't1' });
    assert.deepEqual(await b.check('api'), { state: 'closed' });
    await a.open('api', 5_000);
    const seen = await b.check('api');
    assert.ok(seen.state === 'open');
    assert.ok(seen.retryAfterMs > 4_000 && seen.retryAfterMs <= 5_000);
    assert.equal(seen.openMs, 5_000);
    assert.deepEqual(await b.check('other'), { state: 'closed' });
    await b.close('api');
    assert.deepEqual(await a.check('api'), { state: 'closed' });
  });

  for (const name of ['ioredis', 'node-redis'] as const) {
    void test(`${name}: half-open after the open period; exactly one node leases the probe`, async () => {
      const c = clients().find(([n]) => n === name)![1];
      const nodes = [1, 2, 3, 4].map(() => redisCircuitStore({ client: c, prefix: `t2-${name}` }));
      const first = nodes[0]!;
      await first.open('svc', 30);
      await new Promise((resolve) => setTimeout(resolve, 60));
      const state = await first.check('svc');
      assert.deepEqual(state, { state: 'half-open', openMs: 30, probing: false });
      const leases = await Promise.all(nodes.map((n) => n.acquireProbe('svc', 10_000)));
      assert.equal(leases.filter(Boolean).length, 1);
      assert.deepEqual(await first.check('svc'), { state: 'half-open', openMs: 30, probing: true });
      // The probe failed: reopened for longer, lease released for the next half-open period.
      await first.open('svc', 60_000);
      assert.equal((await first.check('svc')).state, 'open');
      assert.equal(await io.exists(`t2-${name}:{svc}:probe`), 0);
    });
  }

  void test('a probe lease that is never reported ends by itself', async () => {
    const a = redisCircuitStore({ client: io, prefix: 't3' });
    const b = redisCircuitStore({ client: io, prefix: 't3' });
    await a.open('k', 1);
    assert.equal(await a.acquireProbe('k', 300), true);
    assert.equal(await b.acquireProbe('k', 300), false);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(await b.acquireProbe('k', 300), true);
  });

  void test('a shorter open never cuts a longer one short; every key carries a TTL', async () => {
    const a = redisCircuitStore({ client: io, prefix: 't4', halfOpenTtlMs: 1_000 });
    await a.open('k', 60_000);
    await a.open('k', 10);
    const state = await a.check('k');
    assert.ok(state.state === 'open' && state.retryAfterMs > 59_000 && state.openMs === 60_000);
    const ttl = await io.pttl('t4:{k}:cb');
    assert.ok(ttl > 60_000 && ttl <= 61_000, `ttl ${ttl}`);
  });

  void test('keys of one circuit share a hash tag: one Cluster slot, computed by a cluster-mode Redis', async () => {
    const a = redisCircuitStore({ client: io, prefix: 't5' });
    await a.open('https://api.example.com', 1_000);
    await a.acquireProbe('https://api.example.com', 1_000);
    const keys = (await io.keys('t5:*')).sort();
    assert.deepEqual(keys, ['t5:{https://api.example.com}:cb', 't5:{https://api.example.com}:probe']);
    const config = join(tmpdir(), `bulwark-cluster-${process.pid}-${Date.now()}.conf`);
    const cluster = await startRedisServer({
      args: ['--cluster-enabled', 'yes', '--cluster-config-file', config],
    });
    const node = new Redis(cluster.port, '127.0.0.1');
    try {
      const slot = (key: string): Promise<unknown> => node.call('CLUSTER', 'KEYSLOT', key);
      const slots = await Promise.all([...keys, 'bulwark:{https://api.example.com}:rl'].map(slot));
      assert.equal(new Set(slots).size, 1, JSON.stringify(slots));
      assert.notEqual(await slot('t5:{other}:cb'), slots[0]);
    } finally {
      node.disconnect();
      await cluster.stop();
      await rm(config, { force: true });
    }
  });

  void test('a malformed value is read as closed, not as open forever', async () => {
    await io.set('t6:{k}:cb', 'garbage', 'PX', 10_000);
    const a = redisCircuitStore({ client: io, prefix: 't6' });
    assert.deepEqual(await a.check('k'), { state: 'closed' });
  });

  void test('the script cache can be flushed (NOSCRIPT) without an error surfacing', async () => {
    const a = redisCircuitStore({ client: nodeRedis, prefix: 't7' });
    await a.open('k', 5_000);
    await io.script('FLUSH');
    assert.equal((await a.check('k')).state, 'open');
    await io.script('FLUSH');
    assert.equal(await a.acquireProbe('k', 100), true);
  });

  void test('invalid durations are refused with the option path', () => {
    const a = redisCircuitStore({ client: io });
    assert.throws(() => a.open('k', -1), /`forMs`: got -1/);
    assert.throws(() => a.acquireProbe('k', Number.NaN), /`leaseMs`: got NaN/);
    assert.throws(
      () => redisCircuitStore({ client: io, timeoutMs: 0 }),
      /`circuitBreaker.store.timeoutMs`: got 0/,
    );
    assert.throws(() => redisCircuitStore({ client: {} as RedisClientLike }), /circuitBreaker.store.client/);
  });
});

void describe('redisCircuitStore when Redis fails', () => {
  void test('answers as a lone node, warns once, tries again once per interval and recovers', async () => {
    const clock = createVirtualClock();
    let fail = true;
    let calls = 0;
    const client = {
      evalsha: () => {
        calls++;
        return fail ? Promise.reject(new Error('ECONNREFUSED')) : Promise.resolve([1, 900, 1_000]);
      },
      eval: () => Promise.reject(new Error('unused')),
      script: () => Promise.resolve('sha'),
    };
    const events: StoreEvent[] = [];
    const warnings: unknown[] = [];
    const store = redisCircuitStore({
      client,
      clock,
      onEvent: (e) => events.push(e),
      logger: { warn: (obj) => warnings.push(obj) },
    });
    assert.deepEqual(await store.check('k'), { state: 'closed' });
    assert.equal(await store.acquireProbe('k', 100), true);
    await store.open('k', 100);
    await store.close('k');
    assert.equal(calls, 1, 'only one call reaches a failed Redis within the probe interval');
    assert.equal(warnings.length, 0, 'not logged before the outage lasts logAfterMs (100 ms)');
    await clock.advance(1_000);
    fail = false;
    assert.deepEqual(await store.check('k'), { state: 'open', retryAfterMs: 900, openMs: 1_000 });
    assert.deepEqual(
      events.map((e) => e.type),
      ['store-down', 'store-up'],
    );
  });

  void test('a hung Redis costs at most timeoutMs, and the late reply is dropped', async () => {
    const clock = createVirtualClock();
    let answer: ((value: unknown) => void) | undefined;
    const client = {
      evalSha: () => new Promise((resolve) => (answer = resolve)),
      eval: () => Promise.reject(new Error('unused')),
      scriptLoad: () => Promise.resolve('sha'),
    };
    const store = redisCircuitStore({ client, clock, timeoutMs: 50 });
    const pending = store.check('k');
    await clock.advance(50);
    assert.deepEqual(await pending, { state: 'closed' });
    answer?.([1, 10, 10]);
    await clock.flush();
  });

  void test('an unexpected reply counts as a failure, never as an open circuit', async () => {
    for (const reply of ['OK', [1, 'x', 2], [9, 1, 1], null]) {
      const client = {
        evalsha: () => Promise.resolve(reply),
        eval: () => Promise.reject(new Error('unused')),
        script: () => Promise.resolve('sha'),
      };
      const events: StoreEvent[] = [];
      const store = redisCircuitStore({ client, onEvent: (e) => events.push(e) });
      assert.deepEqual(await store.check('k'), { state: 'closed' });
      assert.equal(events[0]?.type, 'store-down');
    }
  });
});
