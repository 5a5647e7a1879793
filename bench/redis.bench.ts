/**
 * The global limiter against a local redis-server: decisions per second and p50/p99 latency of
 * bulwark's `redisStore` (through the `RateLimiter` policy, and the bare store without fallback)
 * next to rate-limiter-flexible's `RateLimiterRedis`, on the same client and the same limit,
 * at concurrency 1 and 64, interleaved run by run. Then the commands each sends per decision,
 * counted with MONITOR (commands run inside a Lua script are reported as `lua` and not counted),
 * one decision at a time and 64 at a time.
 *
 * bulwark is measured as users run it: the compiled `dist/` (built first by this script), like
 * rate-limiter-flexible's published JavaScript. Through tsx, esbuild's `keepNames` wraps every
 * closure created on the hot path in a `__name` call, which costs more than the code measured.
 *
 *   node --expose-gc --import tsx bench/redis.bench.ts [--client ioredis|node-redis] [--seconds 2]
 *     [--runs 3] [--concurrency 1,64]
 *
 * It measures; it never fails on a number.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { createClient } from 'redis';
import type { RateLimiter as RateLimiterClass } from '../src/policies/rate-limiter.js';
import type * as RedisModule from '../src/stores/redis.js';
import type { RedisClientLike } from '../src/stores/redis.js';
import { rawCommand, startRedisServer } from '../test/helpers/redis-server.js';

const rawInfo = (port: number): Promise<string> => rawCommand(port, 'INFO server');

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
if (build.status !== 0) throw new Error('bench: `tsc -p tsconfig.build.json` failed');
// Paths held in variables so TypeScript does not resolve the built files.
const limiterPath = '../dist/src/policies/rate-limiter.js';
const storePath = '../dist/src/stores/redis.js';
const { RateLimiter } = (await import(limiterPath)) as { RateLimiter: typeof RateLimiterClass };
const { RedisRateLimitStore, redisStore } = (await import(storePath)) as typeof RedisModule;

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
// Redis on core 0, this process on core 1 (when `taskset` exists): at one decision in flight the
// figure is a round trip, and two processes the scheduler moves around make it noise.
const redisPid = /process_id:(\d+)/.exec(await rawInfo(server.port))?.[1];
const pinned =
  redisPid !== undefined &&
  spawnSync('taskset', ['-pc', '0', redisPid]).status === 0 &&
  spawnSync('taskset', ['-pc', '1', String(process.pid)]).status === 0;
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
  /** CPU this process spent per decision, µs (user + sys, client library included). */
  readonly clientCpuUs: number;
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
  const clientBefore = process.cpuUsage();
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
  const client = process.cpuUsage(clientBefore);
  const clientCpuUs = (client.user + client.system) / latencies.length;
  const redisCpuUs = (((await redisCpuSeconds()) - cpuBefore) * 1e6) / latencies.length;
  latencies.sort((a, b) => a - b);
  const at = (q: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    perSecond: (latencies.length / elapsed) * 1_000,
    p50: at(0.5),
    p99: at(0.99),
    redisCpuUs,
    clientCpuUs,
  };
}

/** Client-sent commands per decision, from MONITOR (script-internal commands excluded). */
async function commandsPerDecision(decide: Decide, decisions: number, concurrency: number): Promise<number> {
  const watcher = new Redis(server.port, '127.0.0.1');
  const monitor = await watcher.monitor();
  let sent = 0;
  monitor.on('monitor', (_time: string, _args: string[], source: string) => {
    if (source !== 'lua') sent++;
  });
  // MONITOR streams asynchronously: a PING marks the start and the end of the counted window.
  await new Promise((resolve) => setTimeout(resolve, 50));
  sent = 0;
  let i = 0;
  const loop = async (): Promise<void> => {
    while (i < decisions) await decide(`rt${i++ % 100}`);
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const count = sent;
  monitor.disconnect();
  watcher.disconnect();
  return count / decisions;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const only = args.get('only');
const names = Object.keys(implementations).filter(
  (name) =>
    only === undefined || only.split(',').some((part) => name.includes(part)) || name.startsWith('rlf'),
);

// Warm-up: scripts loaded, JIT warm, connections established.
for (const name of names) await measure(implementations[name]!, 8, 300);

console.log(
  `redis-server ${server.port}, client ${clientKind}, ${runs} runs × ${seconds} s, medians, ` +
    (pinned ? 'Redis and the bench pinned to separate cores' : 'unpinned'),
);
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
  console.log(
    'implementation           decisions/s   p50 ms   p99 ms   vs rlf   CPU µs/decision: redis  client',
  );
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
          .padStart(28)}  ${median(rs.map((s) => s.clientCpuUs))
          .toFixed(1)
          .padStart(6)}`,
    );
  }
}

console.log('\ncommands sent to Redis per decision (MONITOR)   1 in flight   64 in flight');
for (const name of names) {
  const one = await commandsPerDecision(implementations[name]!, 500, 1);
  const many = await commandsPerDecision(implementations[name]!, 5_000, 64);
  console.log(`${name.padEnd(24)} ${one.toFixed(2).padStart(24)} ${many.toFixed(2).padStart(14)}`);
}

io.disconnect();
await nodeRedis.quit();
await server.stop();
