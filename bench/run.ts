/**
 * The HTTP client benchmark: `npm run bench -- [--clients a,b] [--concurrency 1,16,128]
 * [--runs 3] [--seconds 3] [--calls N] [--upstream nginx|node]`. Starts the fixed-response
 * upstream in its own process (nginx when installed, see start-upstream.ts; pinned to core 0 when
 * `taskset` exists), runs each client in a fresh process per run (pinned to core 1; runs
 * interleaved in a rotated order), and prints the medians: throughput, p50/p99 latency, and the
 * ratio to `undici.request` run by run, with its range; when `undici Pool.dispatch` (the floor of
 * any client on undici's pool) runs too, each client's ratio to it as well. bulwark is measured
 * from the built `dist/` (built first), as users run it; BULWARK_BENCH_SRC=1 measures `src/`
 * through tsx. With `--calls N` each run makes N calls (after N to warm up) and the table shows
 * CPU µs (user + system) and garbage-collection µs per call instead, and undici.request's CPU
 * over each client's: the figure to compare on a loaded machine, where wall-clock throughput is
 * noise. It measures; it never fails on a number.
 */
import { spawnSync, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

// bulwark is measured from dist/ (see clients.ts): build it before the first worker loads it.
if (process.env['BULWARK_BENCH_SRC'] !== '1') {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('bench: `tsc -p tsconfig.build.json` failed');
}
const { clients } = await import('./clients.js');
const { startUpstream } = await import('./start-upstream.js');

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]?.replace(/^--/, '') ?? '', process.argv[i + 1] ?? '');
const names = (args.get('clients') ?? Object.keys(clients).join(',')).split(',');
const levels = (args.get('concurrency') ?? '1,16,128').split(',').map(Number);
const runs = Number(args.get('runs') ?? 3);
const seconds = Number(args.get('seconds') ?? 3);
const calls = args.get('calls');
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const pin = (core: string, cmd: string[]): string[] => (hasTaskset ? ['taskset', '-c', core, ...cmd] : cmd);

const tsx = ['--import', 'tsx'];
const upstream = await startUpstream({ kind: args.get('upstream'), core: '0' });
const url = upstream.url;

interface Result {
  rps: number;
  p50: number;
  p99: number;
  /** CPU µs per call (`--calls` only). */
  cpuUs: number;
  /** Garbage collection µs per call (`--calls` only). */
  gcUs: number;
}
interface Row extends Result {
  /** The ratio to undici.request in each run (runs are interleaved, so run r against run r). */
  ratios: number[];
  /** The same against the floor, `undici Pool.dispatch`, when it ran. */
  floorRatios: number[];
}
const FLOOR = 'undici Pool.dispatch';
const hasFloor = names.includes(FLOOR);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const table = new Map<string, Row>();

const sample = (name: string, concurrency: number): Result => {
  const cmd = pin('1', [
    process.execPath,
    ...tsx,
    'bench/worker.ts',
    name,
    String(concurrency),
    String(seconds),
    url,
    ...(calls === undefined ? [] : [calls]),
  ]);
  const out = execFileSync(cmd[0] ?? process.execPath, cmd.slice(1), { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Result;
};

for (const concurrency of levels) {
  // Runs are interleaved, each in a rotated order: a machine that slows down for a while slows
  // every client alike instead of the ones that happened to run then.
  const samples = new Map<string, Result[]>(names.map((name) => [name, []]));
  for (let r = 0; r < runs; r++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(r + j) % names.length] ?? '';
      samples.get(name)?.push(sample(name, concurrency));
    }
  }
  // Throughput: this client's over the base's; CPU: the base's over this client's (higher is
  // better either way).
  const ratiosTo = (baseName: string, rs: Result[]): number[] => {
    const base = samples.get(baseName);
    if (base === undefined) return [];
    return rs.map((s, r) => {
      const b = base[r];
      if (b === undefined) return Number.NaN;
      return calls === undefined ? s.rps / b.rps : b.cpuUs / s.cpuUs;
    });
  };
  for (const name of names) {
    const rs = samples.get(name) ?? [];
    const result = {
      rps: median(rs.map((s) => s.rps)),
      p50: median(rs.map((s) => s.p50)),
      p99: median(rs.map((s) => s.p99)),
      cpuUs: median(rs.map((s) => s.cpuUs)),
      gcUs: median(rs.map((s) => s.gcUs)),
      ratios: ratiosTo('undici.request', rs),
      floorRatios: ratiosTo(FLOOR, rs),
    };
    table.set(`${name}@${concurrency}`, result);
    const cpu = calls === undefined ? '' : `, ${result.cpuUs.toFixed(1)} CPU µs/call`;
    process.stderr.write(`${name} @${concurrency}: ${Math.round(result.rps)} req/s${cpu}\n`);
  }
}
upstream.stop();

const pinning = hasTaskset ? 'client and upstream pinned to separate cores' : 'unpinned';
const setting = `Node ${process.version}, ${upstream.kind} upstream, ${pinning}`;
if (calls === undefined) printThroughput();
else printCpu();

/** The median of the per-run ratios and their range, e.g. `1.42 (1.31–1.50)`. */
function ratioCell(ratios: readonly number[]): string {
  if (ratios.length === 0) return '';
  const sorted = [...ratios].sort((a, b) => a - b);
  const mid = median(sorted).toFixed(2);
  if (sorted.length === 1) return mid;
  return `${mid} (${(sorted[0] ?? 0).toFixed(2)}–${(sorted.at(-1) ?? 0).toFixed(2)})`;
}

/** The `× floor` column's header, rule and cell: empty when the floor did not run. */
function floorHead(): string {
  return hasFloor ? ' × floor |' : '';
}
function floorRule(): string {
  return hasFloor ? '---:|' : '';
}
function floorCell(row: Row): string {
  return hasFloor ? ` ${ratioCell(row.floorRatios)} |` : '';
}

function printThroughput(): void {
  console.log(
    `\nMedians of ${runs} runs × ${seconds} s, ${setting}; the ratio is per run, its range in brackets\n`,
  );
  console.log(`| client | in flight | req/s | p50 ms | p99 ms | × undici.request |${floorHead()}`);
  console.log(`|---|---:|---:|---:|---:|---:|${floorRule()}`);
  for (const concurrency of levels) {
    for (const name of names) {
      const r = table.get(`${name}@${concurrency}`);
      if (r === undefined) continue;
      console.log(
        `| ${name} | ${concurrency} | ${Math.round(r.rps)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${ratioCell(r.ratios)} |${floorCell(r)}`,
      );
    }
  }
}

function printCpu(): void {
  console.log(
    `\nMedians of ${runs} runs × ${calls ?? ''} calls, ${setting}; the ratio is per run, its range in brackets\n`,
  );
  console.log(
    `| client | in flight | CPU µs/call | GC µs/call | × undici.request (its CPU / this CPU) |${floorHead()}`,
  );
  console.log(`|---|---:|---:|---:|---:|${floorRule()}`);
  for (const concurrency of levels) {
    for (const name of names) {
      const r = table.get(`${name}@${concurrency}`);
      if (r === undefined) continue;
      console.log(
        `| ${name} | ${concurrency} | ${r.cpuUs.toFixed(1)} | ${r.gcUs.toFixed(2)} | ${ratioCell(r.ratios)} |${floorCell(r)}`,
      );
    }
  }
}
