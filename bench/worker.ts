/**
 * One benchmark run in a fresh process: `worker.ts <client> <concurrency> <seconds> <url> [calls]`.
 * Keeps `concurrency` requests in flight for the duration (after a warm-up), reads every body,
 * and prints one JSON line: requests per second and latency percentiles in ms. Given `calls`,
 * it makes that many calls instead (after a warm-up of the same number) and prints the CPU time
 * (user + system, from `process.cpuUsage()`) each call cost, in µs: a figure a loaded machine
 * does not move the way it moves wall-clock throughput. It prints the time garbage collection
 * took per call too: a client that keeps its calls' objects alive past a young-generation
 * collection shows there first (Node 22 did, see docs/benchmarks.md).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { clients } from './clients.js';

const [name = 'bulwark', c = '16', s = '3', url = 'http://127.0.0.1:3000/', n] = process.argv.slice(2);
const concurrency = Number(c);
const seconds = Number(s);
const factory = clients[name];
if (factory === undefined)
  throw new Error(`unknown client ${name}; known: ${Object.keys(clients).join(', ')}`);
const client = await factory(url);

async function run(ms: number, record: boolean): Promise<{ count: number; latencies: number[] }> {
  const end = performance.now() + ms;
  const latencies: number[] = [];
  let count = 0;
  const loop = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await client.call();
      if (record) latencies.push(performance.now() - t0);
      count++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { count, latencies };
}

/** Makes exactly `calls` calls, `concurrency` at a time. */
async function runCalls(calls: number): Promise<void> {
  let left = calls;
  const loop = async (): Promise<void> => {
    while (left > 0) {
      left--;
      await client.call();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
}

if (n !== undefined) {
  const calls = Number(n);
  await runCalls(calls);
  let gcMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  gc.observe({ entryTypes: ['gc'] });
  const before = process.cpuUsage();
  const started = performance.now();
  await runCalls(calls);
  const used = process.cpuUsage(before);
  const elapsed = (performance.now() - started) / 1_000;
  // Entries arrive after their collection: one turn lets the last of them in.
  await new Promise((resolve) => setImmediate(resolve));
  gc.disconnect();
  console.log(
    JSON.stringify({
      client: name,
      concurrency,
      cpuUs: (used.user + used.system) / calls,
      gcUs: (gcMs * 1_000) / calls,
      rps: calls / elapsed,
    }),
  );
} else {
  await run(Math.min(1_000, seconds * 300), false);
  const started = performance.now();
  const { count, latencies } = await run(seconds * 1_000, true);
  const elapsed = (performance.now() - started) / 1_000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  console.log(
    JSON.stringify({ client: name, concurrency, rps: count / elapsed, p50: pct(0.5), p99: pct(0.99) }),
  );
}
await client.close();
process.exit(0);
