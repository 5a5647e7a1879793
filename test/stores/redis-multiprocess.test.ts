/**
 * The global limit, proven with real processes: worker processes (fixtures/redis-worker.ts, half
 * on ioredis, half on node-redis) hammer one RateLimiter key (100 per second, burst 100) through
 * a real redis-server, and the parent adds up what they were granted. The GCRA bound for a window
 * of d ms is burst + d / 10; over-admission by a non-atomic store would show as a multiple of it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { redisTestOptions, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const WORKER = fileURLToPath(new URL('fixtures/redis-worker.ts', import.meta.url));
const SLICE_MS = 50;
const RATE_PER_MS = 100 / 1_000;
const BURST = 100;

interface WorkerReport {
  readonly admitted: number[];
  readonly refused: number[];
  readonly errors: number;
  readonly events: string[];
}

interface Run {
  readonly reports: WorkerReport[];
  /** Admitted (or refused) by every worker in [fromMs, toMs) since the start. */
  admitted(fromMs: number, toMs: number, worker?: number): number;
  refused(fromMs: number, toMs: number, worker?: number): number;
}

/** The most GCRA grants in any window of `ms`: a full burst plus the steady rate (+1 at the edge). */
const bound = (ms: number): number => BURST + Math.floor(ms * RATE_PER_MS) + 1;

function sum(slices: number[], fromMs: number, toMs: number): number {
  let total = 0;
  for (let i = Math.floor(fromMs / SLICE_MS); i < Math.ceil(toMs / SLICE_MS) && i < slices.length; i++) {
    total += slices[i] ?? 0;
  }
  return total;
}

async function runWorkers(
  server: RedisServer,
  options: {
    workers: number;
    durationMs: number;
    mode: string;
    prefix: string;
    during?: (startAt: number) => void;
  },
): Promise<Run> {
  const children: ChildProcess[] = [];
  const lines: Promise<string>[] = [];
  const readies: Promise<void>[] = [];
  for (let i = 0; i < options.workers; i++) {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
      env: {
        ...process.env,
        REDIS_PORT: String(server.port),
        WORKER: String(i),
        PREFIX: options.prefix,
        MODE: options.mode,
        CONCURRENCY: '4',
        PROBE_MS: '250',
        // Generous: this proves the shared limit, not the deadline (a loaded CI box can stall 100 ms).
        TIMEOUT_MS: '1000',
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.push(child);
    const reader = createInterface({ input: child.stdout });
    const received: string[] = [];
    const exited = once(child, 'exit') as Promise<[number | null]>;
    // A worker that dies before it is ready (a compile error, say) fails the run at once, not at
    // the test's timeout.
    const ready = new Promise<void>((resolve, reject) => {
      reader.on('line', (line) => {
        if (line === 'ready') resolve();
        else received.push(line);
      });
      void exited.then(([code]) => {
        reject(new Error(`worker ${i} exited with ${code} before it was ready`));
      });
    });
    const report = ready.then(async () => {
      const [code] = await exited;
      assert.equal(code, 0, `worker ${i} exited with ${code}`);
      return received.join('');
    });
    report.catch(() => undefined); // observed through Promise.all below, or the run already failed
    lines.push(report);
    readies.push(ready);
  }
  try {
    await Promise.all(readies);
  } catch (error) {
    for (const child of children) child.kill();
    throw error;
  }
  const startAt = Date.now() + 100;
  for (const child of children) child.stdin?.write(`${startAt} ${startAt + options.durationMs}\n`);
  options.during?.(startAt);
  const reports = (await Promise.all(lines)).map((line) => JSON.parse(line) as WorkerReport);
  const pick = (i: number | undefined): WorkerReport[] => (i === undefined ? reports : [reports[i]!]);
  return {
    reports,
    admitted: (from, to, i) => pick(i).reduce((n, r) => n + sum(r.admitted, from, to), 0),
    refused: (from, to, i) => pick(i).reduce((n, r) => n + sum(r.refused, from, to), 0),
  };
}

void describe('a global limit across processes (real redis-server)', redisTestOptions(), () => {
  void test('4 processes × 5 s share 100/s with burst 100: admitted ≤ 100 × 5 + 100', async (t) => {
    const server = await startRedisServer();
    try {
      const run = await runWorkers(server, { workers: 4, durationMs: 5_000, mode: 'local', prefix: 'mp' });
      const total = run.admitted(0, 6_000);
      t.diagnostic(
        `events ${JSON.stringify(run.reports.map((r) => r.events))}; admitted ${total} of at most 600 (${run.reports.map((_, i) => run.admitted(0, 6_000, i)).join(' + ')})`,
      );
      // A decision started just before the end reaches Redis a moment later: at most one more grant.
      assert.ok(total <= 100 * 5 + 100 + 1, `admitted ${total}`);
      assert.ok(total >= 0.8 * 600, `admitted ${total}: the limiter starved`);
      for (const [i, report] of run.reports.entries()) {
        assert.equal(report.errors, 0);
        assert.deepEqual(report.events, [], `worker ${i} never lost Redis`);
        assert.ok(run.admitted(0, 6_000, i) > 0, `worker ${i} was served`);
      }
    } finally {
      await server.stop();
    }
  });

  // Redis is killed (SIGKILL) 1.2 s in and restarted empty on the same port at 2.4 s; the run ends at 4 s.
  const KILL = 1_200;
  const RESTART = 2_400;
  const END = 4_000;
  // Decisions near a transition may go either way: the outage is detected by the first failing
  // call, the recovery by a trial call (every 250 ms) once the client has reconnected.
  const DOWN: [number, number] = [KILL + 200, RESTART];
  const BACK: [number, number] = [RESTART + 700, END];
  const WORKERS = 3;

  for (const mode of ['local', 'open', 'closed'] as const) {
    void test(`Redis dies mid-run, onStoreError '${mode}', then comes back on the same port`, async (t) => {
      const server = await startRedisServer();
      const timers: NodeJS.Timeout[] = [];
      try {
        const run = await runWorkers(server, {
          workers: WORKERS,
          durationMs: END,
          mode,
          prefix: `fault-${mode}`,
          during: (startAt) => {
            timers.push(setTimeout(() => void server.stop('SIGKILL'), startAt + KILL - Date.now()));
            timers.push(setTimeout(() => void server.start(), startAt + RESTART - Date.now()));
          },
        });
        const up = run.admitted(0, KILL);
        assert.ok(up <= bound(KILL) && up >= 0.8 * bound(KILL), `shared before the outage: ${up}`);

        const downMs = DOWN[1] - DOWN[0];
        const down = run.admitted(...DOWN);
        if (mode === 'local') {
          for (let i = 0; i < WORKERS; i++) {
            const mine = run.admitted(...DOWN, i);
            // Each process keeps its own 100/s (its local bucket starts full at the outage).
            assert.ok(mine <= bound(downMs + 200), `worker ${i} local: ${mine}`);
            assert.ok(mine >= 0.8 * downMs * RATE_PER_MS, `worker ${i} kept admitting: ${mine}`);
          }
          assert.ok(down > bound(downMs), `local limits are per process: ${down}`);
        } else if (mode === 'open') {
          assert.equal(run.refused(...DOWN), 0, 'nothing refused while open');
          assert.ok(down > WORKERS * bound(downMs), `admits everything: ${down}`);
        } else {
          assert.equal(down, 0, 'nothing admitted while closed');
          assert.ok(run.refused(...DOWN) > 0);
        }

        const backMs = BACK[1] - BACK[0];
        const back = run.admitted(...BACK);
        t.diagnostic(
          `up ${up}/${bound(KILL)}, down ${down} (per worker ${[0, 1, 2].map((i) => run.admitted(...DOWN, i)).join('/')}, shared bound ${bound(downMs)}), back ${back}/${bound(backMs)}`,
        );
        assert.ok(back <= bound(backMs), `shared again after the restart: ${back} > ${bound(backMs)}`);
        assert.ok(back >= 0.8 * backMs * RATE_PER_MS, `recovered: ${back}`);
        for (const report of run.reports) {
          assert.deepEqual(report.events, ['store-down', 'store-up']);
          assert.equal(report.errors, 0);
        }
      } finally {
        for (const timer of timers) clearTimeout(timer);
        await server.stop();
      }
    });
  }
});
