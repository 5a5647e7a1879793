/**
 * Many keys in one turn on a Redis Cluster: 300 distinct limiter keys asked for at once, on a
 * local cluster of 3 masters (and a replica each), for both client libraries. Reports the script
 * calls the masters ran per turn (`INFO commandstats`), p50/p99 from the turn's start to each
 * decision, this process's CPU per turn, the masters' script CPU per turn, and the decisions
 * that missed their deadline. `per master` is the store as shipped; `per slot` gives it the same
 * client with its slot map hidden, so every slot goes as a call of its own (what the store did
 * before it grouped by master).
 *
 *   node --import tsx bench/redis-cluster.bench.ts [--turns 30] [--keys 300]
 *
 * It measures; it never fails on a number.
 */
import { parseArgs } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { createCluster } from 'redis';
import { redisStore, type RedisClientLike } from '../src/stores/redis.js';
import type { GcraParams } from '../src/policies/store-contract.js';
import { startRedisCluster, type RedisCluster } from '../test/helpers/redis-cluster.js';

const { values } = parseArgs({
  options: { turns: { type: 'string', default: '30' }, keys: { type: 'string', default: '300' } },
});
const TURNS = Number(values.turns);
const KEYS = Number(values.keys);
const params: GcraParams = { emissionIntervalMs: 10, burst: 10 };

async function eachMaster<T>(cluster: RedisCluster, run: (io: Redis) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (const node of cluster.nodes.filter((n) => n.startedAs === 'master')) {
    const io = new Redis(node.port, '127.0.0.1');
    out.push(await run(io));
    io.disconnect();
  }
  return out;
}

/** Script calls and their µs on every master since the last reset. */
async function scriptStats(cluster: RedisCluster): Promise<{ calls: number; usec: number }> {
  const infos = await eachMaster(cluster, (io) => io.info('commandstats'));
  let calls = 0;
  let usec = 0;
  for (const info of infos) {
    for (const name of ['evalsha', 'eval']) {
      const match = new RegExp(`cmdstat_${name}:calls=(\\d+),usec=(\\d+)`).exec(info);
      calls += Number(match?.[1] ?? 0);
      usec += Number(match?.[2] ?? 0);
    }
  }
  return { calls, usec };
}

/** The same client, its slot map hidden: the store then sends every slot on its own. */
function withoutSlotMap(client: RedisClientLike): RedisClientLike {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'slots') return [];
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function connect(
  library: string,
  cluster: RedisCluster,
): Promise<[RedisClientLike, () => Promise<unknown>]> {
  if (library === 'ioredis') {
    const io = new Cluster([...cluster.seeds], { enableOfflineQueue: false });
    await new Promise((resolve) => io.once('ready', resolve));
    return [io, () => io.quit()];
  }
  const node = await createCluster({
    rootNodes: cluster.seeds.map(({ host, port }) => ({ url: `redis://${host}:${port}` })),
    defaults: { disableOfflineQueue: true },
  }).connect();
  return [node, () => node.close()];
}

const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? Number.NaN;

const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
try {
  console.log(`${KEYS} distinct keys in one turn, ${TURNS} turns, 3 masters`);
  for (const library of ['ioredis', 'node-redis']) {
    for (const mode of ['per slot', 'per master']) {
      const [raw, close] = await connect(library, cluster);
      const client = mode === 'per slot' ? withoutSlotMap(raw) : raw;
      const store = redisStore({ client, prefix: `${library}-${mode.replace(' ', '-')}` });
      // Warm: every master has the scripts and the client a connection to each.
      for (let round = 0; round < 2; round++) {
        await Promise.all(
          Array.from({ length: KEYS }, (_, i) => store.take({ key: `w${round}-${i}`, params, maxWaitMs: 0 })),
        );
      }
      const latencies: number[] = [];
      let calls = 0;
      let usec = 0;
      let cpu = 0;
      let missed = 0;
      for (let turn = 0; turn < TURNS; turn++) {
        await eachMaster(cluster, (io) => io.config('RESETSTAT'));
        const started = performance.now();
        const cpuBefore = process.cpuUsage();
        await Promise.all(
          Array.from({ length: KEYS }, (_, i) =>
            store.take({ key: `t${turn}-k${i}`, params, maxWaitMs: 0 }).then((decision) => {
              latencies.push(performance.now() - started);
              if (decision.storeError !== undefined) missed++;
            }),
          ),
        );
        const used = process.cpuUsage(cpuBefore);
        cpu += used.user + used.system;
        const stats = await scriptStats(cluster);
        calls += stats.calls;
        usec += stats.usec;
      }
      latencies.sort((a, b) => a - b);
      console.log(
        `${library.padEnd(10)} ${mode.padEnd(10)} script calls/turn ${(calls / TURNS).toFixed(1).padStart(6)}` +
          `  p50 ${quantile(latencies, 0.5).toFixed(1).padStart(5)} ms  p99 ${quantile(latencies, 0.99).toFixed(1).padStart(5)} ms` +
          `  client CPU/turn ${(cpu / TURNS / 1000).toFixed(1)} ms  Redis script CPU/turn ${(usec / TURNS / 1000).toFixed(1)} ms` +
          `  missed deadline ${missed} of ${KEYS * TURNS}`,
      );
      await store.close();
      await close();
    }
  }
} finally {
  await cluster.stop();
}
