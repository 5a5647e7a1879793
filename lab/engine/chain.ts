/**
 * The second hop of the `deadline` profile: service B, which the upstream (service A) calls with
 * the budget it received. B honours the `deadline` header the way `deadlineFromRequest` lets a
 * bulwark server do: work that cannot finish in the time left is refused at once, not started.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { closeServer, listen } from './loopback.js';
import { createPrng, sampleLatency } from './prng.js';
import type { Latency } from './scenario.js';

/** One request B handled: the work it did (ms), or `skipped` when the deadline left too little time. */
export interface WorkRecord {
  readonly call: string | undefined;
  readonly done: number;
  readonly workMs: number;
  readonly skipped: boolean;
}

/** Service B and A's connection pool to it. */
export interface DownstreamService {
  /** Calls B as service A does, forwarding the call id and, when A had one, the remaining deadline. */
  call(callId: string | undefined, remainingMs: number | undefined): Promise<number>;
  readonly work: WorkRecord[];
  close(): Promise<void>;
}

/** Reads a `deadline: <ms remaining>` header; absent or malformed means no deadline. */
export function readDeadlineHeader(req: IncomingMessage): number | undefined {
  const raw = req.headers['deadline'];
  if (typeof raw !== 'string' || !/^-?\d+$/.test(raw.trim())) return undefined;
  return Number(raw.trim());
}

/**
 * Starts service B on a loopback port. `now` is ms since the run began; `workAt(t)` is how long
 * B's work takes for a request arriving at `t`.
 */
export async function startDownstream(
  seed: number,
  now: () => number,
  workAt: (t: number) => Latency,
): Promise<DownstreamService> {
  const random = createPrng(seed);
  const work: WorkRecord[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    const call = req.headers['x-lab-call'] as string | undefined;
    const remaining = readDeadlineHeader(req);
    const workMs = sampleLatency(workAt(now()), random);
    if (remaining !== undefined && workMs > remaining) {
      work.push({ call, done: now(), workMs: 0, skipped: true });
      res
        .writeHead(504, { 'content-type': 'application/json' })
        .end('{"error":"deadline too short for the work"}');
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      work.push({ call, done: now(), workMs, skipped: false });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    }, workMs);
    timers.add(timer);
  });
  server.keepAliveTimeout = 30_000;
  await listen(server, 0);
  const { port } = server.address() as AddressInfo;
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 256 });
  return {
    work,
    async call(callId, remainingMs) {
      const headers: Record<string, string> = {};
      if (callId !== undefined) headers['x-lab-call'] = callId;
      if (remainingMs !== undefined) headers['deadline'] = String(Math.max(0, Math.floor(remainingMs)));
      const res = await pool.request({ method: 'GET', path: '/work', headers });
      await res.body.dump();
      return res.statusCode;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      await pool.destroy();
      await closeServer(server);
    },
  };
}
