/**
 * The global limiter against a local redis-server: decisions per second and p50/p99 latency of
 * bulwark's `redisStore` (through the `RateLimiter` policy, and the bare store without fallback)
 * next to rate-limiter-flexible's `RateLimiterRedis`, on the same client and the same limit,
 * at concurrency 1 and 64, interleaved run by run. Then the commands each sends per decision,
 * counted with MONITOR (commands run inside a Lua script are reported as `lua` and not counted).
 *
 *   node --expose-gc --import tsx bench/redis.bench.ts [--client ioredis|node-redis] [--seconds 2]
 *     [--runs 3] [--concurrency 1,64]
 *
 * It measures; it never fails on a number.
 */
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { createClient } from 'redis';
import { RateLimiter } from '../src/policies/rate-limiter.js';
import { RedisRateLimitStore, redisStore, type RedisClientLike } from '../src/stores/redis.js';
import { startRedisServer } from '../test/helpers/redis-server.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const clientKind = args.get('client') ?? 'ioredis';
const seconds = Number(args.get('seconds') ?? 2);
const runs = Number(args.get('runs') ?? 3);
const levels = (args.get('concurrency') ?? '1,64').split(',').map(Number);
const KEYS = 1_000;
// A limit no run reaches: the bench measures the admit path, the common one.
const LIMIT = 1_000_000_000;

const server = await startRedisServer();
const io = new Redis(server.port, '127.0.0.1', { lazyConnect: true });
await io.connect();
const nodeRedis = createClient({ url: server.url });
await nodeRedis.connect();
const client: RedisClientLike = clientKind === 'node-redis' ? nodeRedis : io;

type Decide = (key: string) => Promise<unknown>;
const bulwark = new RateLimiter({
  requests: LIMIT,
  per: 'minute',
  strategy: 'error',
  store: redisStore({ client, prefix: 'bench-b' }),
});
const bare = new RedisRateLimitStore({ client, prefix: 'bench-raw' });
const rlf = new RateLimiterRedis({
  storeClient: client,
  points: LIMIT,
  duration: 60,
  keyPrefix: 'bench-rlf',
  ...(clientKind === 'node-redis' ? { useRedisPackage: true } : {}),
});
const implementations: Record<string, Decide> = {
  'bulwark redisStore': (key) => Promise.resolve(bulwark.acquire(key)),
  'bulwark bare store': (key) => bare.take({ key, params: bulwark.params, maxWaitMs: 0 }),
  'rlf RateLimiterRedis': (key) => rlf.consume(key, 1),
};

interface Result {
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  /** CPU the redis-server spent per decision, µs (user + sys, from INFO cpu). */
  readonly redisCpuUs: number;
}

async function redisCpuSeconds(): Promise<number> {
  const info = await io.info('cpu');
  const field = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

async function measure(decide: Decide, concurrency: number, ms: number): Promise<Result> {
  const latencies: number[] = [];
  let n = 0;
  const cpuBefore = await redisCpuSeconds();
  const start = performance.now();
  const end = start + ms;
  const loop = async (): Promise<void> => {
    while (performance.now() < end) {
      const key = `k${n++ % KEYS}`;
      const t0 = performance.now();
      await decide(key);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = performance.now() - start;
  const redisCpuUs = (((await redisCpuSeconds()) - cpuBefore) * 1e6) / latencies.length;
  latencies.sort((a, b) => a - b);
  const at = (q: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { perSecond: (latencies.length / elapsed) * 1_000, p50: at(0.5), p99: at(0.99), redisCpuUs };
}

/** Client-sent commands per decision, from MONITOR (script-internal commands excluded). */
async function commandsPerDecision(decide: Decide, decisions: number): Promise<number> {
  const watcher = new Redis(server.port, '127.0.0.1');
  const monitor = await watcher.monitor();
  let sent = 0;
  monitor.on('monitor', (_time: string, _args: string[], source: string) => {
    if (source !== 'lua') sent++;
  });
  // MONITOR streams asynchronously: a PING marks the start and the end of the counted window.
  await new Promise((resolve) => setTimeout(resolve, 50));
  sent = 0;
  for (let i = 0; i < decisions; i++) await decide(`rt${i % 10}`);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const count = sent;
  monitor.disconnect();
  watcher.disconnect();
  return count / decisions;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const names = Object.keys(implementations);

// Warm-up: scripts loaded, JIT warm, connections established.
for (const name of names) await measure(implementations[name]!, 8, 300);

console.log(`redis-server ${server.port}, client ${clientKind}, ${runs} runs × ${seconds} s, medians`);
for (const concurrency of levels) {
  const samples = new Map<string, Result[]>(names.map((n) => [n, []]));
  for (let r = 0; r < runs; r++) {
    // Rotate the order each run so no implementation always follows the same one (GC debt, caches).
    for (let j = 0; j < names.length; j++) {
      const name = names[(r + j) % names.length]!;
      (globalThis as { gc?: () => void }).gc?.();
      samples.get(name)!.push(await measure(implementations[name]!, concurrency, seconds * 1_000));
    }
  }
  const reference = median(samples.get('rlf RateLimiterRedis')!.map((s) => s.perSecond));
  console.log(`\nconcurrency ${concurrency}`);
  console.log('implementation           decisions/s   p50 ms   p99 ms   vs rlf   redis CPU µs/decision');
  for (const name of names) {
    const rs = samples.get(name)!;
    const perSecond = median(rs.map((s) => s.perSecond));
    console.log(
      `${name.padEnd(24)} ${perSecond.toFixed(0).padStart(11)}   ${median(rs.map((s) => s.p50))
        .toFixed(3)
        .padStart(6)}` +
        `   ${median(rs.map((s) => s.p99))
          .toFixed(3)
          .padStart(6)}   ${(perSecond / reference).toFixed(2)}×` +
        `   ${median(rs.map((s) => s.redisCpuUs))
          .toFixed(1)
          .padStart(6)}`,
    );
  }
}

console.log('\ncommands sent to Redis per decision (MONITOR)');
for (const name of names)
  console.log(`${name.padEnd(24)} ${(await commandsPerDecision(implementations[name]!, 500)).toFixed(2)}`);

io.disconnect();
await nodeRedis.quit();
await server.stop();
