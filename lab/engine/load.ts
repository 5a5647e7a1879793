/**
 * The load generator: offers calls to one client, open loop (arrivals at a rate, whatever the
 * client is doing, as real traffic does) or closed loop (workers that wait for each answer), and
 * records how every call ended.
 */
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { LabBulwark, LabClient, LabResponse } from './client.js';
import { settleWithin } from './loopback.js';
import { createPrng, deriveSeed, exponential } from './prng.js';
import type { CallSpec, Load } from './scenario.js';

/** One call as the caller saw it. Times are ms since the run began. */
export interface CallRecord {
  readonly id: number;
  readonly start: number;
  readonly end: number;
  /** A 2xx or 3xx response. */
  readonly ok: boolean;
  /** The status (`"200"`, `"503"`) or the error code (`"CIRCUIT_OPEN"`, `"NETWORK ECONNREFUSED"`). */
  readonly outcome: string;
  /** Attempts the client made (from `res.attempts` or the error's `attempts`). */
  readonly attempts: number;
  /** Still running when the run ended and its grace period ran out. */
  readonly cutOff: boolean;
}

/** Codes under which no attempt reached the wire, when the error does not say how many did. */
const NO_ATTEMPT = new Set([
  'CIRCUIT_OPEN',
  'RATE_LIMITED',
  'CONCURRENCY_LIMITED',
  'DEADLINE_EXCEEDED',
  'INVALID_REQUEST',
]);

/** A load generator bound to one client. */
export interface LoadDriver {
  readonly calls: CallRecord[];
  /** Calls started and not yet finished. */
  inflight(): number;
  /** Offers load until `duration` ms; resolves when the last call has been started. */
  run(): Promise<void>;
  /** Waits up to `graceMs` for calls still running, then aborts them (recorded as `cutOff`). */
  drain(graceMs: number): Promise<void>;
}

/** Arrival times (ms) of an open loop ramping linearly from `from` to `to` calls/s: a Poisson process. */
export function arrivals(load: Extract<Load, { kind: 'rate' }>, duration: number, seed: number): number[] {
  const random = createPrng(deriveSeed(seed, 'arrivals'));
  const out: number[] = [];
  let t = exponential(random, 1000 / load.from);
  while (t < duration) {
    out.push(t);
    const rate = load.from + ((load.to - load.from) * t) / duration;
    t += exponential(random, 1000 / rate);
  }
  return out;
}

/** Creates the driver. `now` is ms since the run began. */
export function createLoadDriver(args: {
  readonly bulwark: LabBulwark;
  readonly client: LabClient;
  readonly load: Load;
  readonly request: CallSpec;
  readonly duration: number;
  readonly seed: number;
  readonly now: () => number;
}): LoadDriver {
  const { bulwark, client, request, now, duration } = args;
  const calls: CallRecord[] = [];
  const running = new Map<number, { abort: AbortController; done: Promise<void> }>();
  let nextId = 0;

  const call = (): Promise<void> => {
    const id = nextId++;
    const abort = new AbortController();
    const start = now();
    const send = (): Promise<LabResponse> =>
      client.request({
        method: request.method,
        path: request.path,
        headers: { 'x-lab-call': String(id) },
        signal: abort.signal,
      });
    const record = (ok: boolean, outcome: string, attempts: number): void => {
      running.delete(id);
      calls.push({ id, start, end: now(), ok, outcome, attempts, cutOff: abort.signal.aborted });
    };
    const done = (async () => {
      try {
        const res = await (request.deadline === undefined
          ? send()
          : bulwark.withDeadline(request.deadline, send));
        await res.text();
        record(res.status < 400, String(res.status), res.attempts);
      } catch (error) {
        const { outcome, attempts } = describeError(bulwark, error);
        record(false, outcome, attempts);
      }
    })();
    running.set(id, { abort, done });
    return done;
  };

  const openLoop = async (load: Extract<Load, { kind: 'rate' }>): Promise<void> => {
    for (const at of arrivals(load, duration, args.seed)) {
      const wait = at - now();
      if (wait > 0) await sleep(wait);
      // A bound on what the lab itself holds: past it the client is not answering at all.
      if (running.size < 20_000) void call();
    }
  };

  const closedLoop = async (load: Extract<Load, { kind: 'concurrency' }>): Promise<void> => {
    const worker = async (): Promise<void> => {
      while (now() < duration) {
        await call();
        // A call that fails fast (an open breaker) settles in a microtask; yield so timers and I/O run.
        if (load.think > 0) await sleep(load.think);
        else await nextTurn();
      }
    };
    await Promise.all(Array.from({ length: load.workers }, worker));
  };

  return {
    calls,
    inflight: () => running.size,
    run: () => (args.load.kind === 'rate' ? openLoop(args.load) : closedLoop(args.load)),
    async drain(graceMs) {
      const pending = [...running.values()];
      if (pending.length === 0) return;
      await settleWithin(Promise.all(pending.map((p) => p.done)), graceMs);
      for (const p of running.values()) p.abort.abort();
      await Promise.all([...running.values()].map((p) => p.done));
    },
  };
}

function describeError(bulwark: LabBulwark, error: unknown): { outcome: string; attempts: number } {
  if (!bulwark.isBulwarkError(error)) {
    // Another library's error (a middleware's open breaker): its name says what happened.
    return { outcome: error instanceof Error ? error.name : 'UNEXPECTED', attempts: 1 };
  }
  const e = error as { code: string; attempts?: unknown; cause?: unknown };
  const causeCode =
    typeof e.cause === 'object' && e.cause !== null ? (e.cause as { code?: unknown }).code : undefined;
  // A middleware's own error (another library's open breaker) arrives as NETWORK with it as cause.
  const causeName =
    e.cause instanceof Error
      ? [e.cause.name, e.cause.constructor.name].find((n) => n !== 'Error' && n !== '')
      : undefined;
  const detail = typeof causeCode === 'string' ? causeCode : causeName;
  const outcome = e.code === 'NETWORK' && detail !== undefined ? `NETWORK ${detail}` : e.code;
  const attempts = typeof e.attempts === 'number' ? e.attempts : NO_ATTEMPT.has(e.code) ? 0 : 1;
  return { outcome, attempts };
}
