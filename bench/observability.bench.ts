/**
 * What observability costs on the hot path. Run: `npx tsx bench/observability.bench.ts
 * [--runs 5] [--seconds 3] [--concurrency 16]`. Measures, never gates.
 *
 * 1. Throughput of one client against the fixed-response upstream (bench/upstream.ts, its own
 *    process). First `off` against `on` in one process, alternating 200 ms windows (the fairest
 *    comparison on a loaded machine); then three set-ups, each run in a fresh process, runs
 *    interleaved:
 *    - `off`: `telemetry: false`, no logger;
 *    - `on`: telemetry on with `@opentelemetry/api` installed but no SDK registered, and a pino
 *      logger at 'warn' (so the per-attempt info lines are skipped), writing to a discarding stream;
 *    - `on+subscriber`: as `on`, plus a subscriber on the `bulwark:request` TracingChannel.
 *    Prints each run, the medians and the ratio to `off` (target ≥ 0.95).
 * 2. Redaction of a 10 KB JSON body: the redactor alone, and a POST of that body through the
 *    client with `logBody` at info vs without a logger.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import diagnostics_channel from 'node:diagnostics_channel';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { createClient, type Client } from '../src/client/client.js';
import type { ClientOptions } from '../src/client/options.js';
import { defaultRedactor } from '../src/observability/redact.js';

type Setup = 'off' | 'on' | 'on+subscriber' | 'post-off' | 'post-logbody';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]?.replace(/^--/, '') ?? '', process.argv[i + 1] ?? '');

/** A JSON body of about `bytes` characters: customer records, two secrets and a card number. */
function body10k(bytes = 10_240): string {
  const data: Record<string, unknown>[] = [];
  const doc: Record<string, unknown> = {
    object: 'list',
    data,
    password: 'hunter2',
    auth: { access_token: 'tok_abcdefghijklmnop' },
  };
  for (let i = 0; JSON.stringify(doc).length < bytes; i++) {
    data.push({
      id: `cus_${String(100_000 + i)}`,
      email: `customer${i}@example.com`,
      balance: i * 125,
      address: { city: 'Paris', postal_code: '75001', line1: `${i} rue de Rivoli` },
      note: i === 3 ? 'paid with 4111 1111 1111 1111' : 'lorem ipsum dolor sit amet',
    });
  }
  return JSON.stringify(doc);
}

/** A pino logger that formats every line and throws it away (no I/O in the measurement). */
function discardingLogger(level: string): pino.Logger {
  return pino({ level }, { write: () => undefined });
}

function optionsFor(setup: Setup, url: string): ClientOptions {
  const base: ClientOptions = {
    name: 'bench',
    baseUrl: url,
    timeout: false,
    retry: false,
    circuitBreaker: false,
  };
  switch (setup) {
    case 'off':
    case 'post-off':
      return { ...base, telemetry: false };
    case 'on':
    case 'on+subscriber':
      return {
        ...base,
        telemetry: { propagate: true },
        logging: { logger: discardingLogger('warn'), level: 'info' },
      };
    case 'post-logbody':
      return {
        ...base,
        telemetry: false,
        logging: { logger: discardingLogger('info'), level: 'info', logBody: true },
      };
  }
}

/** A request loop for one set-up: `run(ms)` keeps `concurrency` calls in flight and counts them. */
function loopFor(
  setup: Setup,
  url: string,
  concurrency: number,
): { run: (ms: number) => Promise<number>; client: Client } {
  const client: Client = createClient(optionsFor(setup, url));
  const post = setup.startsWith('post');
  const json = post ? (JSON.parse(body10k()) as unknown) : undefined;
  const call = async (): Promise<void> => {
    const res = post
      ? await client.post('/ingest', { json })
      : await client.get('/users/:id', { params: { id: '42' } });
    await res.text();
  };
  const run = async (ms: number): Promise<number> => {
    const end = performance.now() + ms;
    let count = 0;
    const loop = async (): Promise<void> => {
      while (performance.now() < end) {
        await call();
        count++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, loop));
    return count;
  };
  return { run, client };
}

/** One measurement in this process: `concurrency` calls in flight for `seconds`, after a warm-up. */
async function worker(setup: Setup, url: string, concurrency: number, seconds: number): Promise<void> {
  if (setup === 'on+subscriber') {
    diagnostics_channel.tracingChannel('bulwark:request').subscribe({
      start: () => undefined,
      end: () => undefined,
      asyncStart: () => undefined,
      asyncEnd: () => undefined,
      error: () => undefined,
    });
  }
  const { run, client } = loopFor(setup, url, concurrency);
  await run(Math.min(1_000, seconds * 300));
  const started = performance.now();
  const count = await run(seconds * 1_000);
  console.log(JSON.stringify({ setup, rps: count / ((performance.now() - started) / 1_000) }));
  await client.close();
}

/**
 * Two set-ups in one process, alternating 200 ms windows (order swapped each round) for
 * `seconds` each: load from other processes falls on both alike, which separate runs cannot promise.
 */
async function alternate(
  a: Setup,
  b: Setup,
  url: string,
  concurrency: number,
  seconds: number,
): Promise<void> {
  const loops = [loopFor(a, url, concurrency), loopFor(b, url, concurrency)] as const;
  for (const l of loops) await l.run(500);
  const counts = [0, 0];
  const times = [0, 0];
  const rounds = Math.max(1, Math.round((seconds * 1_000) / 200));
  for (let r = 0; r < rounds; r++) {
    for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const t0 = performance.now();
      counts[i] = (counts[i] ?? 0) + (await (loops[i] as (typeof loops)[0]).run(200));
      times[i] = (times[i] ?? 0) + performance.now() - t0;
    }
  }
  const rps = counts.map((c, i) => c / ((times[i] ?? 1) / 1_000));
  console.log(JSON.stringify({ a, b, rpsA: rps[0], rpsB: rps[1] }));
  for (const l of loops) await l.client.close();
}

function measure(name: string, fn: () => unknown, iterations = 2_000): number {
  for (let i = 0; i < iterations; i++) fn();
  let best = Infinity;
  for (let round = 0; round < 9; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / iterations / 1_000);
  }
  console.log(`${name.padEnd(56)} ${best.toFixed(1).padStart(8)} µs`);
  return best;
}

const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main(): Promise<void> {
  const runs = Number(args.get('runs') ?? 5);
  const seconds = Number(args.get('seconds') ?? 3);
  const concurrency = Number(args.get('concurrency') ?? 16);
  const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  const pin = (core: string, cmd: string[]): string[] => (hasTaskset ? ['taskset', '-c', core, ...cmd] : cmd);
  const tsx = ['--import', 'tsx'];
  const [upCmd = process.execPath, ...upArgs] = pin('0', [
    process.execPath,
    ...tsx,
    'bench/upstream.ts',
    '0',
  ]);
  const upstream = spawn(upCmd, upArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = (await once(createInterface({ input: upstream.stdout }), 'line')) as [string];
    const url = `http://127.0.0.1:${line.split(' ')[1] ?? ''}`;
    const once_ = (setup: Setup): number => {
      const cmd = pin('1', [
        process.execPath,
        ...tsx,
        'bench/observability.bench.ts',
        '--worker',
        setup,
        '--url',
        url,
        '--concurrency',
        String(concurrency),
        '--seconds',
        String(seconds),
      ]);
      const out = execFileSync(cmd[0] ?? process.execPath, cmd.slice(1), { encoding: 'utf8' });
      return (JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { rps: number }).rps;
    };
    const table = (setups: readonly Setup[], title: string): Map<Setup, number[]> => {
      const samples = new Map<Setup, number[]>(setups.map((s) => [s, []]));
      console.log(
        `\n${title}: ${runs} interleaved runs × ${seconds} s, ${concurrency} in flight, Node ${process.version}, ${hasTaskset ? 'pinned' : 'unpinned'}`,
      );
      for (let r = 0; r < runs; r++) {
        const row: string[] = [];
        for (const setup of setups) {
          const rps = once_(setup);
          samples.get(setup)?.push(rps);
          row.push(`${setup} ${Math.round(rps)}`);
        }
        console.log(`  run ${r + 1}: ${row.join(', ')} req/s`);
      }
      const base = median(samples.get(setups[0] as Setup) ?? []);
      for (const setup of setups) {
        const xs = samples.get(setup) ?? [];
        const ratios = xs.map((x, i) => x / (samples.get(setups[0] as Setup)?.[i] ?? x));
        console.log(
          `  ${setup.padEnd(14)} median ${String(Math.round(median(xs))).padStart(6)} req/s  ×${(median(xs) / base).toFixed(3)} of ${setups[0] ?? ''} (per-run ratios ${ratios.map((x) => x.toFixed(2)).join(' ')})`,
        );
      }
      return samples;
    };
    const ab = (a: Setup, b: Setup): void => {
      console.log(
        `\nThroughput, ${a} vs ${b} in one process, alternating 200 ms windows, ${seconds} s each per run, ${concurrency} in flight`,
      );
      const ratios: number[] = [];
      for (let r = 0; r < runs; r++) {
        const cmd = pin('1', [
          process.execPath,
          ...tsx,
          'bench/observability.bench.ts',
          '--alternate',
          `${a},${b}`,
          '--url',
          url,
          '--concurrency',
          String(concurrency),
          '--seconds',
          String(seconds),
        ]);
        const out = execFileSync(cmd[0] ?? process.execPath, cmd.slice(1), { encoding: 'utf8' });
        const { rpsA, rpsB } = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as {
          rpsA: number;
          rpsB: number;
        };
        ratios.push(rpsB / rpsA);
        console.log(
          `  run ${r + 1}: ${a} ${Math.round(rpsA)}, ${b} ${Math.round(rpsB)} req/s  ×${(rpsB / rpsA).toFixed(3)}`,
        );
      }
      console.log(
        `  median ratio ${b}/${a}: ×${median(ratios).toFixed(3)}${a === 'off' ? ' (target ≥ 0.95)' : ''}`,
      );
    };
    ab('off', 'on');
    ab('post-off', 'post-logbody');
    table(['off', 'on', 'on+subscriber'], 'GET throughput, one process per run');
    table(['post-off', 'post-logbody'], 'POST 10 KB JSON, no logger vs logBody at info');
  } finally {
    upstream.kill('SIGTERM');
  }

  const text = body10k();
  const value = JSON.parse(text) as unknown;
  console.log(`\nRedaction of a ${text.length}-character JSON body (best of 9 rounds)`);
  const baseline = measure('JSON.parse + JSON.stringify (any parse-based redactor)', () =>
    JSON.stringify(JSON.parse(text)),
  );
  const redactText = measure('redactor.body(text, application/json)', () =>
    defaultRedactor.body(text, 'application/json'),
  );
  measure('redactor.body(parsed value)', () => defaultRedactor.body(value));
  console.log(`  text redaction: ×${(redactText / baseline).toFixed(2)} the parse+stringify baseline`);
}

if (args.has('alternate')) {
  const [a = 'off', b = 'on'] = (args.get('alternate') ?? '').split(',') as Setup[];
  await alternate(
    a,
    b,
    args.get('url') ?? '',
    Number(args.get('concurrency') ?? 16),
    Number(args.get('seconds') ?? 3),
  );
  process.exit(0);
} else if (args.has('worker')) {
  await worker(
    args.get('worker') as Setup,
    args.get('url') ?? '',
    Number(args.get('concurrency') ?? 16),
    Number(args.get('seconds') ?? 3),
  );
  process.exit(0);
} else {
  await main();
}
