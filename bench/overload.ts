/**
 * Overload: what the adaptive concurrency limiter buys against a real upstream offered three
 * times its capacity. A benchmark, not a test: it prints figures and never fails.
 *
 *   npx tsx bench/overload.ts [--load 3] [--seconds 10] [--capacity 20] [--service-ms 20]
 *                             [--queue 2000] [--timeout 1000] [--connections 512]
 *                             [--max-queue 0] [--queue-timeout 25] [--skip-abandoned]
 *
 * The upstream runs in a child process of its own (this file with `--upstream`). It models a
 * server with `capacity` workers and a FIFO queue: a request is served in `service-ms` ×
 * U(0.75, 1.25) once a worker is free, so latency grows with the concurrency it is offered; past
 * `queue` waiting requests it answers 503 at once. Like most servers it does not notice that a
 * client gave up and serves abandoned requests anyway (`--skip-abandoned` checks first).
 * Capacity is `capacity / service-ms` requests per second.
 *
 * The client is bulwark on its default undici transport, with retries and the breaker off so
 * the limiter is the only policy at work, a 1 s timeout per call, and a pool large enough not to
 * be a limiter itself. Arrivals are open-loop (Poisson at `load` × capacity), and latency runs
 * from the arrival's scheduled time, so a lagging load generator cannot hide queueing.
 *
 * Runs: the unloaded p99 (0.3 × capacity for 5 s, after a 2 s warm-up), then the overload without a limiter, with
 * `concurrency: { algorithm: 'gradient2' }` failing fast (`maxQueue: 0`, the default), and with
 * a short queue (`maxQueue` a quarter of the workers, `queueTimeout` half a service time).
 * `--algorithm` and `--initial-limit` try the others. docs/load-protection.md has the figures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient, type Client } from '../src/index.js';

const { values: args } = parseArgs({
  options: {
    upstream: { type: 'boolean', default: false },
    load: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    capacity: { type: 'string', default: '20' },
    'service-ms': { type: 'string', default: '50' },
    queue: { type: 'string', default: '2000' },
    timeout: { type: 'string', default: '1000' },
    connections: { type: 'string', default: '512' },
    'max-queue': { type: 'string', default: '' },
    'queue-timeout': { type: 'string', default: '' },
    'skip-abandoned': { type: 'boolean', default: false },
    algorithm: { type: 'string', default: 'gradient2' },
    'initial-limit': { type: 'string', default: '' },
  },
});

const C = Number(args.capacity);
const S = Number(args['service-ms']);
const QUEUE = Number(args.queue);

if (args.upstream) runUpstream();
else await main();

// ---------------------------------------------------------------------------------------------
// The upstream (child process)

function runUpstream(): void {
  interface Job {
    readonly req: IncomingMessage;
    readonly res: ServerResponse;
  }
  const body = Buffer.from('{"ok":true}');
  const waiting: Job[] = [];
  let head = 0;
  let active = 0;
  const stats = { served: 0, abandoned: 0, shed: 0, skipped: 0, maxQueued: 0 };
  const gone = (job: Job): boolean => job.res.destroyed || job.req.socket.destroyed;

  const start = (job: Job): void => {
    active++;
    setTimeout(
      () => {
        active--;
        if (gone(job)) stats.abandoned++;
        else {
          stats.served++;
          job.res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
          job.res.end(body);
        }
        next();
      },
      S * (0.75 + 0.5 * Math.random()),
    );
  };
  const next = (): void => {
    while (head < waiting.length) {
      const job = waiting[head++] as Job;
      if (head > 4_096) {
        waiting.splice(0, head);
        head = 0;
      }
      if (args['skip-abandoned'] && gone(job)) {
        stats.skipped++;
        continue;
      }
      start(job);
      return;
    }
  };

  const server = createServer((req, res) => {
    if (req.url === '/stats') {
      const queued = waiting.length - head;
      res.end(JSON.stringify({ ...stats, active, queued }));
      for (const key of Object.keys(stats) as (keyof typeof stats)[]) stats[key] = 0;
      return;
    }
    const queued = waiting.length - head;
    if (active < C && queued === 0) start({ req, res });
    else if (queued < QUEUE) {
      waiting.push({ req, res });
      if (queued + 1 > stats.maxQueued) stats.maxQueued = queued + 1;
    } else {
      stats.shed++;
      res.writeHead(503, { 'content-length': 0 });
      res.end();
    }
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : 0}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// The load generator (parent process)

interface RunResult {
  readonly name: string;
  readonly offered: number;
  readonly goodput: number;
  readonly p50: number;
  readonly p99: number;
  readonly outcomes: Record<string, number>;
  readonly lagMs: number;
  /** The client's event-loop delay, p99, ms. */
  readonly loopP99: number;
  readonly limit: string;
  readonly server: Record<string, number>;
}

async function main(): Promise<void> {
  const capacity = (C / S) * 1_000;
  const load = Number(args.load);
  const seconds = Number(args.seconds);
  const timeout = Number(args.timeout);
  const { child, origin } = await startUpstream();
  const base = {
    baseUrl: origin,
    retry: false,
    circuitBreaker: false,
    timeout: { attempt: timeout, total: timeout },
    pool: { connections: Number(args.connections) },
  } as const;
  const algorithm = args.algorithm as 'gradient2' | 'aimd' | 'vegas' | 'fixed';
  const limits = args['initial-limit'] === '' ? {} : { initialLimit: Number(args['initial-limit']) };
  const maxQueue = args['max-queue'] === '' ? Math.ceil(C / 4) : Number(args['max-queue']);
  const queueTimeout = args['queue-timeout'] === '' ? Math.round(S / 2) : Number(args['queue-timeout']);

  console.log(
    `upstream: ${C} workers × ${S} ms (±25%) = capacity ${capacity.toFixed(0)} req/s, 503 past ${QUEUE} queued, ` +
      `abandoned requests ${args['skip-abandoned'] ? 'skipped' : 'still served'}; client timeout ${timeout} ms, ` +
      `pool ${args.connections} connections, retries and breaker off`,
  );
  try {
    await run('warm-up', createClient(base), capacity * 0.3, 2, origin);
    const unloaded = await run('unloaded (0.3×)', createClient(base), capacity * 0.3, 5, origin);
    const rows = [unloaded];
    rows.push(await run(`no limiter (${load}×)`, createClient(base), capacity * load, seconds, origin));
    rows.push(
      await run(
        `${algorithm}, maxQueue 0 (${load}×)`,
        createClient({ ...base, concurrency: { algorithm, ...limits } }),
        capacity * load,
        seconds,
        origin,
      ),
    );
    rows.push(
      await run(
        `${algorithm}, queue ${maxQueue}/${queueTimeout} ms (${load}×)`,
        createClient({ ...base, concurrency: { algorithm, ...limits, maxQueue, queueTimeout } }),
        capacity * load,
        seconds,
        origin,
      ),
    );
    print(rows, capacity, unloaded.p99);
  } finally {
    child.kill('SIGTERM');
  }
}

async function startUpstream(): Promise<{ child: ChildProcess; origin: string }> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [...process.execArgv, self, '--upstream', ...process.argv.slice(2)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /listening (\d+)/.exec(chunk.toString());
      if (match !== null) resolve(Number(match[1]));
    });
  });
  return { child, origin: `http://127.0.0.1:${port}` };
}

/** mulberry32: the same arrivals for every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

async function run(
  name: string,
  client: Client,
  rate: number,
  seconds: number,
  origin: string,
): Promise<RunResult> {
  const random = seeded(42);
  const durationMs = seconds * 1_000;
  const latencies: number[] = [];
  const outcomes: Record<string, number> = {};
  const pending: Promise<void>[] = [];
  const limits: number[] = [];
  let lagMs = 0;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const t0 = performance.now();

  const call = async (at: number): Promise<void> => {
    const r = await client.safe.get('/work');
    let outcome: string;
    if (r.ok) {
      outcome = String(r.response.status);
      try {
        await r.response.arrayBuffer();
      } catch {
        outcome = 'body error';
      }
    } else outcome = r.error.code;
    if (outcome === '200') latencies.push(performance.now() - at);
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  };

  let next = t0;
  let sampledAt = t0;
  while (next < t0 + durationMs) {
    const now = performance.now();
    while (next <= now && next < t0 + durationMs) {
      if (now - next > lagMs) lagMs = now - next;
      pending.push(call(next));
      next += (-Math.log(1 - random()) / rate) * 1_000;
    }
    if (now - sampledAt >= 500) {
      sampledAt = now;
      const c = client.inspect().concurrency as { limit: number } | undefined;
      if (c !== undefined) limits.push(c.limit);
    }
    // Sleep until the next arrival (timers have 1 ms grain; latency counts from the scheduled time).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  }
  await Promise.all(pending);
  loop.disable();
  await client.close();
  const server = await drain(origin);
  latencies.sort((a, b) => a - b);
  const pct = (q: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return {
    name,
    offered: rate,
    goodput: latencies.length / seconds,
    p50: pct(0.5),
    p99: pct(0.99),
    outcomes,
    lagMs,
    loopP99: loop.percentile(99) / 1e6,
    limit: limits.length === 0 ? '-' : `${Math.min(...limits)}–${Math.max(...limits)}`,
    server,
  };
}

/** Waits until the upstream is idle again and returns (and resets) its counters. */
async function drain(origin: string): Promise<Record<string, number>> {
  const probe = createClient({ baseUrl: origin, retry: false, circuitBreaker: false });
  const totals: Record<string, number> = {};
  try {
    for (;;) {
      const stats = await (await probe.get('/stats')).json<Record<string, number>>();
      for (const [key, value] of Object.entries(stats)) {
        if (key === 'maxQueued') totals[key] = Math.max(totals[key] ?? 0, value);
        else if (key !== 'active' && key !== 'queued') totals[key] = (totals[key] ?? 0) + value;
      }
      if (stats.active === 0 && stats.queued === 0) return totals;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await probe.close();
  }
}

function print(rows: readonly RunResult[], capacity: number, unloadedP99: number): void {
  const f = (n: number, d = 1): string => (Number.isNaN(n) ? '-' : n.toFixed(d));
  console.log('');
  console.log(
    'run                                   offered/s  goodput/s (% cap)   p50 ms   p99 ms (× unloaded)  limit   lag max  loop p99',
  );
  for (const r of rows) {
    console.log(
      [
        r.name.padEnd(36),
        f(r.offered, 0).padStart(10),
        f(r.goodput, 0).padStart(10),
        `(${f((r.goodput / capacity) * 100)}%)`.padStart(8),
        f(r.p50).padStart(8),
        f(r.p99).padStart(8),
        `(${f(r.p99 / unloadedP99, 2)}×)`.padStart(9),
        r.limit.padStart(10),
        f(r.lagMs).padStart(8),
        f(r.loopP99).padStart(9),
      ].join(' '),
    );
  }
  console.log('');
  console.log('outcomes per run (client) | upstream counters');
  for (const r of rows) {
    const outcomes = Object.entries(r.outcomes)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    const server = Object.entries(r.server)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    console.log(`  ${r.name}: ${outcomes} | ${server}`);
  }
}
