/**
 * What the HTTP cache costs and buys: a hit against a miss to the same loopback upstream, and
 * the memory of 100,000 cached answers. Run: `npx tsx bench/cache.bench.ts [--seconds 2]
 * [--rounds 5] [--upstream nginx|node]`. The upstream runs in its own process (nginx when
 * installed, see start-upstream.ts) and answers `cache-control: max-age=3600`; both clients run
 * the defaults (retry, breaker, timeouts), one with `cache: true`. Rounds are interleaved (miss,
 * hit, miss, hit...), medians printed; then the CPU time of one hit. bulwark is measured from
 * the built `dist/` (built first), as users run it; BULWARK_BENCH_SRC=1 measures `src/` through
 * tsx, whose `__name` wrappers add to every call. Measures, never gates.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type * as Bulwark from '../src/index.js';
import type * as HttpCache from '../src/policies/http-cache.js';
import type * as Testing from '../src/testing/index.js';
import { startUpstream } from './start-upstream.js';

const fromSrc = process.env['BULWARK_BENCH_SRC'] === '1';
if (!fromSrc) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('bench: `tsc -p tsconfig.build.json` failed');
}
// Paths in variables: type checking does not need a build.
const root = fromSrc ? '../src' : '../dist/src';
const { createClient, MemoryCacheStore } = (await import(`${root}/index.js`)) as typeof Bulwark;
const { CacheRules } = (await import(`${root}/policies/http-cache.js`)) as typeof HttpCache;
const { createVirtualClock } = (await import(`${root}/testing/index.js`)) as typeof Testing;
type Client = Bulwark.Client;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]?.replace(/^--/, '') ?? '', process.argv[i + 1] ?? '');
const seconds = Number(args.get('seconds') ?? 2);
const rounds = Number(args.get('rounds') ?? 5);

const upstream = await startUpstream({ kind: args.get('upstream'), cacheControl: 'max-age=3600' });
const url = upstream.url.slice(0, -1);
console.log(
  `bulwark from ${fromSrc ? 'src/ (tsx)' : 'dist/'}, ${upstream.kind} upstream, Node ${process.version}`,
);

// Memory first, on a quiet heap: 100,000 distinct answers of 300 bytes into a store bounded at 16 MiB.
const clock = createVirtualClock();
const rules = new CacheRules({ clock });
const store = new MemoryCacheStore({ maxEntries: 1_000_000, maxBytes: 16 * 1024 * 1024, clock });
gc();
const before = process.memoryUsage().heapUsed;
const externalBefore = process.memoryUsage().arrayBuffers;
for (let i = 0; i < 100_000; i++) {
  const req = { method: 'GET', url: `http://api.test/items/${i}`, headers: {} };
  const policy = rules.policyOf(req, {
    status: 200,
    headers: { 'cache-control': 'max-age=600', etag: `"${i}"` },
  });
  store.set(
    `GET ${req.url}`,
    [
      {
        policy: policy.toObject(),
        statusText: 'OK',
        url: req.url,
        body: Buffer.from(new Uint8Array(300).buffer),
      },
    ],
    600_000,
  );
}
// Evicted bodies' buffers are freed by a background sweeper after the collection: let it run.
gc();
await new Promise((resolve) => setTimeout(resolve, 200));
gc();
const after = process.memoryUsage().heapUsed;
const external = process.memoryUsage().arrayBuffers;
const grown = after - before + external - externalBefore;
console.table([
  {
    entries: store.size,
    'store bytes (counted)': store.bytes,
    bound: 16 * 1024 * 1024,
    'heap + buffers growth': grown,
    // How close entrySize is to the truth: counted against measured bytes per kept entry.
    'counted / entry': Math.round(store.bytes / store.size),
    'measured / entry': Math.round(grown / store.size),
  },
]);

async function throughput(client: Client, inflight: number): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      await (await client.get('/')).text();
      done++;
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  return done / seconds;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const miss = createClient({ baseUrl: url });
const hit = createClient({ baseUrl: url, cache: true });
await (await hit.get('/')).text();
const rows: Record<string, string>[] = [];
for (const inflight of [1, 16]) {
  const m: number[] = [];
  const h: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const a = await throughput(miss, inflight);
    const b = await throughput(hit, inflight);
    m.push(a);
    h.push(b);
    ratios.push(b / a);
  }
  rows.push({
    'in flight': String(inflight),
    'miss req/s': median(m).toFixed(0),
    'hit req/s': median(h).toFixed(0),
    'hit / miss': `${median(ratios).toFixed(1)}× (${Math.min(...ratios).toFixed(1)}–${Math.max(...ratios).toFixed(1)})`,
    'µs per hit': (1e6 / median(h)).toFixed(2),
  });
}
console.table(rows);

// CPU per hit, one at a time: what a hit costs the process, whatever else the machine runs
// (wall time on a loaded machine counts other processes' turns too).
const cpu: number[] = [];
for (let r = 0; r < rounds; r++) {
  const n = 50_000;
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) await (await hit.get('/')).text();
  const used = process.cpuUsage(start);
  cpu.push((used.user + used.system) / n);
}
console.log(
  `CPU per cache hit (defaults + cache): median ${median(cpu).toFixed(2)} µs (${Math.min(...cpu).toFixed(2)}–${Math.max(...cpu).toFixed(2)})`,
);
await miss.close();
await hit.close();
upstream.stop();
