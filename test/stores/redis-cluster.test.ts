import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Cluster, Redis } from 'ioredis';
import { createCluster } from 'redis';
import { keySlot } from '../../src/stores/cluster-slot.js';
import { redisStore, type FallbackStore, type RedisClientLike } from '../../src/stores/redis.js';
import type { GcraParams, RateLimitDecision } from '../../src/policies/store-contract.js';
import { rawCommand, redisTestOptions } from '../helpers/redis-server.js';
import { isMaster, startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';

const LIBRARIES = ['ioredis', 'node-redis'] as const;
type Library = (typeof LIBRARIES)[number];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The nodes still running (a test may have killed one). */
const seeds = (cluster: RedisCluster): { host: string; port: number }[] =>
  cluster.nodes.filter((node) => node.server.running).map((node) => ({ host: '127.0.0.1', port: node.port }));

/** A cluster client of `library` with the options docs/many-nodes.md recommends. */
async function connect(
  library: Library,
  cluster: RedisCluster,
): Promise<{ client: RedisClientLike; close: () => Promise<unknown> }> {
  if (library === 'ioredis') {
    const io = new Cluster(seeds(cluster), { enableOfflineQueue: false });
    await once(io, 'ready');
    return { client: io, close: () => io.quit() };
  }
  const node = await createCluster({
    rootNodes: seeds(cluster).map(({ host, port }) => ({ url: `redis://${host}:${port}` })),
    defaults: { disableOfflineQueue: true },
  }).connect();
  // A node-redis client that loses a node emits 'error'; the test only watches decisions.
  node.on('error', () => undefined);
  return { client: node, close: () => node.close().catch(() => undefined) };
}

/** Script calls the masters ran since their last RESETSTAT. */
async function scriptCalls(cluster: RedisCluster, masters: readonly number[]): Promise<number> {
  let calls = 0;
  for (const index of masters) {
    const io = new Redis(cluster.nodes[index]?.port ?? 0, '127.0.0.1');
    const info = await io.info('commandstats');
    io.disconnect();
    for (const name of ['evalsha', 'eval']) {
      calls += Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
    }
  }
  return calls;
}

async function resetStats(cluster: RedisCluster, masters: readonly number[]): Promise<void> {
  for (const index of masters) {
    const io = new Redis(cluster.nodes[index]?.port ?? 0, '127.0.0.1');
    await io.config('RESETSTAT');
    io.disconnect();
  }
}

/** The master index (0, 1, 2) whose slot range holds `slot` (the helper splits the slots evenly). */
const shardOf = (slot: number, masters: number): number => Math.floor(slot / Math.ceil(16_384 / masters));

/** A limiter key whose bucket lives on each master, in order. */
function keysPerShard(prefix: string, masters: number): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.length < masters; i++) {
    const key = `tenant-${i}`;
    if (shardOf(keySlot(`${prefix}:{${key}}:rl`), masters) === keys.length) keys.push(key);
  }
  return keys;
}

/** Every master has both scripts cached and the client a connection to each (a warm process). */
async function warm(store: FallbackStore, prefix: string, params: GcraParams): Promise<void> {
  for (const round of [0, 1]) {
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => store.take({ key: `warm-${round}-${i}`, params, maxWaitMs: 0 })),
    );
  }
  for (const key of keysPerShard(prefix, 3)) await store.take({ key: `warm-${key}`, params, maxWaitMs: 0 });
}

void describe('Redis Cluster, 3 masters with a replica each', redisTestOptions(), () => {
  let cluster: RedisCluster;
  const masters = [0, 1, 2];

  before(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1_000 });
  });
  after(async () => {
    await cluster.stop();
  });

  for (const library of LIBRARIES) {
    void test(`${library}: 300 distinct keys in one turn go as one script call per master (≤ 64 each)`, async () => {
      const { client, close } = await connect(library, cluster);
      try {
        const prefix = `batch-${library}`;
        // Calls are counted here, not timed: a loaded machine's slow turn must not fall back.
        const store = redisStore({ client, prefix, onStoreError: 'closed', timeoutMs: 5_000 });
        const params: GcraParams = { emissionIntervalMs: 60_000, burst: 5 };
        await warm(store, prefix, params);
        await resetStats(cluster, masters);
        const decisions = await Promise.all(
          Array.from({ length: 300 }, (_, i) => store.take({ key: `k${i}`, params, maxWaitMs: 0 })),
        );
        assert.equal(decisions.filter((d) => d.allowed && d.storeError === undefined).length, 300);
        const perMaster = new Map<number, number>();
        for (let i = 0; i < 300; i++) {
          const shard = shardOf(keySlot(`${prefix}:{k${i}}:rl`), 3);
          perMaster.set(shard, (perMaster.get(shard) ?? 0) + 1);
        }
        // The first decision goes alone (nothing was in flight); the rest: ⌈keys of a master / 64⌉ each.
        const expected = 1 + [...perMaster.values()].reduce((sum, n) => sum + Math.ceil(n / 64), 0);
        const calls = await scriptCalls(cluster, masters);
        assert.ok(
          calls <= expected + 1,
          `${calls} script calls for 300 keys over 3 masters (expected ${expected})`,
        );
        // Each bucket took exactly one slot, in Redis.
        const again = await store.take({ key: 'k7', params, maxWaitMs: 0 });
        assert.equal(again.allowed && again.remaining, 3);
        await store.close();
      } finally {
        await close();
      }
    });
  }

  for (const [round, library] of LIBRARIES.entries()) {
    void test(`${library}: a bucket whose slot moved to another master is decided there, not by the fallback`, async () => {
      const { client, close } = await connect(library, cluster);
      const prefix = `moved-${library}`;
      // Calls are counted here, not timed: a loaded machine's slow turn must not fall back.
      const store = redisStore({ client, prefix, onStoreError: 'closed', timeoutMs: 5_000 });
      const params: GcraParams = { emissionIntervalMs: 60_000, burst: 5 };
      try {
        await warm(store, prefix, params);
        // Two keys on master 0, and one whose (empty) slot is moved from master 0 to master 1
        // behind the client's back: its slot map still sends it to master 0.
        const onZero: string[] = [];
        let moved: string | undefined;
        for (let i = 0; moved === undefined || onZero.length < 2; i++) {
          const key = `m${round}-${i}`;
          if (shardOf(keySlot(`${prefix}:{${key}}:rl`), 3) !== 0) continue;
          if (onZero.length < 2) onZero.push(key);
          else moved = key;
        }
        const slot = keySlot(`${prefix}:{${moved}}:rl`);
        const [from, to] = [cluster.nodes[0], cluster.nodes[1]] as const;
        assert.ok(from !== undefined && to !== undefined);
        for (const line of [
          [to.port, `CLUSTER SETSLOT ${slot} IMPORTING ${from.id}`],
          [from.port, `CLUSTER SETSLOT ${slot} MIGRATING ${to.id}`],
          [to.port, `CLUSTER SETSLOT ${slot} NODE ${to.id}`],
          [from.port, `CLUSTER SETSLOT ${slot} NODE ${to.id}`],
        ] as const) {
          assert.match(await rawCommand(line[0], line[1]), /^\+OK/, line[1]);
        }
        const decisions = await Promise.all(
          [...onZero, moved].map((key) => store.take({ key, params, maxWaitMs: 0 })),
        );
        for (const decision of decisions) {
          assert.equal(decision.storeError, undefined);
          assert.equal(decision.allowed && decision.remaining, 4);
        }
        const exists = async (port: number): Promise<string> =>
          rawCommand(port, `EXISTS ${prefix}:{${moved}}:rl`).catch((error: unknown) => String(error));
        assert.equal(await exists(to.port), ':1\r\n', 'the bucket is on the new owner');
        assert.match(await exists(from.port), /MOVED/, 'and nothing was written on the old one');
      } finally {
        await store.close();
        await close();
      }
    });
  }

  // Each library fails over a master of its own (the first kills master 0, the second master 1).
  for (const [round, library] of LIBRARIES.entries()) {
    void test(`${library}: SIGKILL of a master under load falls back only until its replica is promoted`, async () => {
      const { client, close } = await connect(library, cluster);
      const prefix = `failover-${library}`;
      const events: string[] = [];
      // A deadline of 250 ms rides out the stalls of a loaded test machine: what is measured is
      // the failover, and a decision on the dead master falls back within it either way.
      const timeoutMs = 250;
      const store = redisStore({ client, prefix, timeoutMs, onEvent: (event) => events.push(event.type) });
      const params: GcraParams = { emissionIntervalMs: 10, burst: 20 }; // 100/s
      const keys = keysPerShard(prefix, 3);
      const victim = cluster.nodes[round] as (typeof cluster.nodes)[number];
      const replica = cluster.nodes.find((node) => node.masterIndex === round);
      assert.ok(replica !== undefined && (await isMaster(victim.port)));
      interface Seen {
        readonly key: number;
        readonly at: number;
        readonly decision: RateLimitDecision;
      }
      await warm(store, prefix, params);
      const seen: Seen[] = [];
      const loading = { running: true };
      const t0 = performance.now();
      // Steady load: every key asked about every 4 ms (250/s offered against a 100/s limit).
      const load = (async () => {
        while (loading.running) {
          const at = performance.now() - t0;
          for (const [index, key] of keys.entries()) {
            void store.take({ key, params, maxWaitMs: 0 }).then((decision) => {
              seen.push({ key: index, at, decision });
            });
          }
          await sleep(4);
        }
      })();
      try {
        await sleep(600);
        const killedAt = performance.now() - t0;
        await victim.server.stop('SIGKILL');
        let promotedAt = Number.NaN;
        while (performance.now() - t0 < killedAt + 15_000) {
          if (await isMaster(replica.port)) {
            promotedAt = performance.now() - t0;
            break;
          }
          await sleep(10);
        }
        assert.ok(Number.isFinite(promotedAt), 'the replica was promoted within 15 s');
        // The failover is over when every master serves again: Redis refuses every query
        // (CLUSTERDOWN) from the dead master's FAIL flag until each master has seen the promotion.
        const serving = cluster.nodes.filter((node) => node.server.running);
        const role = promotedAt;
        for (;;) {
          const states = await Promise.all(
            serving.map(async (node) =>
              (await rawCommand(node.port, 'CLUSTER INFO')).includes('cluster_state:ok'),
            ),
          );
          if (states.every(Boolean)) break;
          assert.ok(performance.now() - t0 < promotedAt + 10_000, 'the cluster serves again within 10 s');
          await sleep(10);
        }
        promotedAt = performance.now() - t0;
        await sleep(1_500);
        loading.running = false;
        await load;
        await sleep(timeoutMs + 100); // the last decisions come back, or fall back at their deadline

        const fallbacks = seen.filter((s) => s.decision.storeError !== undefined);
        const first = Math.min(...fallbacks.map((s) => s.at));
        const last = Math.max(...fallbacks.map((s) => s.at));
        const backAt = Math.min(
          ...seen
            .filter((s) => s.key === round && s.at > promotedAt && !s.decision.storeError)
            .map((s) => s.at),
        );
        const report =
          `killed at ${killedAt.toFixed(0)} ms, replica a master at ${role.toFixed(0)}, cluster_state:ok everywhere at ${promotedAt.toFixed(0)} ms (+${(promotedAt - killedAt).toFixed(0)}), ` +
          `fallbacks ${fallbacks.length} of ${seen.length} from ${first.toFixed(0)} to ${last.toFixed(0)} ms, ` +
          `the victim's key back through Redis ${(backAt - promotedAt).toFixed(0)} ms after the promotion; events ${events.length}`;
        const healthy = seen.filter((s) => s.key !== round);
        const healthyFallbacks = healthy.filter((s) => s.decision.storeError !== undefined).length;
        console.log(
          `# ${library}: ${report}; keys of the other masters: ${healthyFallbacks} of ${healthy.length} fell back`,
        );
        // Keys of the other masters fall back too, but only while Redis refuses every query
        // (CLUSTERDOWN, from the master's FAIL flag to the promotion): the window checks below.
        // A decision asked for up to its deadline before the kill may be in flight when it lands.
        assert.ok(first >= killedAt - timeoutMs, `nothing fell back before the kill: ${report}`);
        const late = fallbacks
          .filter((f) => f.at >= promotedAt + 500)
          .slice(0, 4)
          .map((f) => `key ${f.key} at ${f.at.toFixed(0)}: ${String(f.decision.storeError?.error)}`);
        assert.ok(
          last < promotedAt + 500,
          `back to Redis within 500 ms of the promotion: ${report}; ${late.join('; ')}`,
        );
        assert.ok(backAt < promotedAt + 500, report);

        // Over-admission of the victim's key: the bound is burst + rate × the span of its admissions.
        const admitted = seen.filter((s) => s.key === round && s.decision.allowed).map((s) => s.at);
        const span = Math.max(...admitted) - Math.min(...admitted);
        const bound = params.burst + span / params.emissionIntervalMs;
        const over = admitted.length - bound;
        console.log(
          `# ${library}: admitted ${admitted.length}, bound ${bound.toFixed(0)}, over ${over.toFixed(1)}`,
        );
        assert.ok(
          over <= Math.max(3, 0.05 * bound),
          `over-admission ${over.toFixed(1)} of bound ${bound.toFixed(0)}`,
        );
        // Keys on the masters that stayed up were never over-admitted either.
        for (const index of [0, 1, 2].filter((i) => i !== round)) {
          const times = seen.filter((s) => s.key === index && s.decision.allowed).map((s) => s.at);
          const b = params.burst + (Math.max(...times) - Math.min(...times)) / params.emissionIntervalMs;
          assert.ok(
            times.length - b <= Math.max(3, 0.05 * b),
            `key of master ${index}: ${times.length} over ${b}`,
          );
        }
      } finally {
        loading.running = false;
        await load;
        await store.close();
        await close();
      }
    });
  }
});
