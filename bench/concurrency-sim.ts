/**
 * A simulation, not a test: drives each concurrency algorithm against a modelled server on a
 * virtual clock and prints goodput and latency with and without the limiter.
 *
 * The server has `C` workers and a FIFO queue (an M/M/C queue when service times are exponential):
 * below C in flight the latency is the service time S, above it every extra request waits, so
 * latency grows with concurrency. Clients arrive as a Poisson process at `load × C/S` per second,
 * give up after `timeout` ms (a dropped sample) and the server, not knowing, still serves what
 * they abandoned, unless `--skip-abandoned` (a server that checks the socket before working).
 *
 *   npx tsx bench/concurrency-sim.ts [--load 3] [--seconds 120] [--service exp|uniform] [--skip-abandoned]
 */

import { parseArgs } from 'node:util';
import { sleepWith, type Clock, type TimerHandle } from '../src/clock.js';
import {
  AimdLimit,
  ConcurrencyLimiter,
  Gradient2Limit,
  VegasLimit,
  type ConcurrencyToken,
  type LimitAlgorithm,
  type LimitAlgorithmName,
} from '../src/policies/concurrency/index.js';

const { values: args } = parseArgs({
  options: {
    load: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '120' },
    capacity: { type: 'string', default: '40' },
    service: { type: 'string', default: 'exp' },
    'service-ms': { type: 'string', default: '50' },
    'network-ms': { type: 'string', default: '2' },
    timeout: { type: 'string', default: '1000' },
    'skip-abandoned': { type: 'boolean', default: false },
    seed: { type: 'string', default: '42' },
  },
});

const C = Number(args.capacity);
const S = Number(args['service-ms']);
const NET = Number(args['network-ms']);
const TIMEOUT = Number(args.timeout);
const DURATION = Number(args.seconds) * 1_000;
const LOAD = Number(args.load);
const SKIP_ABANDONED = args['skip-abandoned'];
const RATE = (LOAD * C) / S; // arrivals per ms

/** mulberry32: a seeded PRNG so every run (and every algorithm) sees the same arrivals. */
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

interface SimEvent {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A discrete-event virtual clock: a binary heap of timers, time jumps from one to the next. */
class SimClock implements Clock {
  #now = 0;
  #seq = 0;
  readonly #heap: SimEvent[] = [];

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const event: SimEvent = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    const heap = this.#heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
    return { clear: () => (event.cancelled = true) };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }

  runUntil(end: number): void {
    const heap = this.#heap;
    while (heap.length > 0 && heap[0]!.at <= end) {
      const top = heap[0]!;
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
          if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
          if (m === i) break;
          [heap[i], heap[m]] = [heap[m]!, heap[i]!];
          i = m;
        }
      }
      if (top.cancelled) continue;
      this.#now = top.at;
      top.fn();
    }
    this.#now = end;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

interface Request {
  sentAt: number;
  abandoned: boolean;
  token: ConcurrencyToken | undefined;
  timer: TimerHandle | undefined;
}

interface Result {
  name: string;
  goodput: number;
  p50: number;
  p99: number;
  rejected: number;
  timedOut: number;
  limitMean: number;
  limitLast: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function simulate(name: string, algorithm: LimitAlgorithmName | (() => LimitAlgorithm) | undefined): Result {
  const clock = new SimClock();
  const random = seeded(Number(args.seed));
  const serviceTime =
    args.service === 'uniform' ? () => S * (0.5 + random()) : () => -S * Math.log(1 - random());
  const limiter =
    algorithm === undefined
      ? undefined
      : typeof algorithm === 'string'
        ? new ConcurrencyLimiter({ algorithm, clock, random: seeded(7) })
        : new ConcurrencyLimiter({ algorithm: algorithm(), clock });

  const queue: Request[] = [];
  let busy = 0;
  let arrivals = 0;
  let rejected = 0;
  let timedOut = 0;
  let good = 0;
  let latencies = new Float64Array(1 << 16);
  let limitSum = 0;
  let limitTicks = 0;
  const measureFrom = DURATION / 2;

  const startService = (req: Request): void => {
    busy++;
    clock.setTimeout(() => {
      busy--;
      clock.setTimeout(() => respond(req), NET / 2);
      next();
    }, serviceTime());
  };
  const next = (): void => {
    while (busy < C && queue.length > 0) {
      const req = queue.shift()!;
      if (SKIP_ABANDONED && req.abandoned) continue;
      startService(req);
    }
  };
  const respond = (req: Request): void => {
    if (req.abandoned) return;
    req.timer?.clear();
    req.token?.success();
    const latency = clock.now() - req.sentAt;
    if (req.sentAt >= measureFrom) {
      if (good === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[good++] = latency;
    }
  };
  const arrive = (): void => {
    const now = clock.now();
    if (now < DURATION) clock.setTimeout(arrive, -Math.log(1 - random()) / RATE);
    const counted = now >= measureFrom;
    if (counted) arrivals++;
    let token: ConcurrencyToken | undefined;
    if (limiter !== undefined) {
      try {
        token = limiter.acquire() as ConcurrencyToken;
      } catch {
        if (counted) rejected++;
        return;
      }
    }
    const req: Request = { sentAt: now, abandoned: false, token, timer: undefined };
    req.timer = clock.setTimeout(() => {
      req.abandoned = true;
      req.token?.dropped();
      if (counted) timedOut++;
    }, TIMEOUT);
    clock.setTimeout(() => {
      queue.push(req);
      next();
    }, NET / 2);
  };
  const sampleLimit = (): void => {
    if (clock.now() >= measureFrom && limiter !== undefined) {
      limitSum += limiter.limit;
      limitTicks++;
    }
    if (clock.now() < DURATION) clock.setTimeout(sampleLimit, 100);
  };

  clock.setTimeout(arrive, 0);
  clock.setTimeout(sampleLimit, 0);
  clock.runUntil(DURATION + TIMEOUT * 2);

  const sorted = latencies.slice(0, good).sort();
  const seconds = (DURATION - measureFrom) / 1_000;
  return {
    name,
    goodput: good / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    rejected: arrivals === 0 ? 0 : rejected / arrivals,
    timedOut: arrivals === 0 ? 0 : timedOut / arrivals,
    limitMean: limitTicks === 0 ? Number.NaN : limitSum / limitTicks,
    limitLast: limiter?.limit ?? Number.NaN,
  };
}

const capacity = (C / S) * 1_000;
console.log(
  `server: C=${C} workers, S=${S} ms (${args.service}), network ${NET} ms, capacity ${capacity.toFixed(0)} req/s; ` +
    `offered ${LOAD}× = ${(capacity * LOAD).toFixed(0)} req/s for ${DURATION / 1_000} s; client timeout ${TIMEOUT} ms; ` +
    `abandoned work ${SKIP_ABANDONED ? 'skipped' : 'still served'}; figures over the second half`,
);
console.log(
  'limiter                   goodput/s  (% cap)   p50 ms   p99 ms  rejected  timed out  mean limit  last limit',
);
const runs: [string, LimitAlgorithmName | (() => LimitAlgorithm) | undefined][] = [
  ['none', undefined],
  ['gradient2', 'gradient2'],
  ['aimd', 'aimd'],
  ['vegas', 'vegas'],
  ['fixed (20)', 'fixed'],
  ['gradient2, per sample', () => new Gradient2Limit({ window: false })],
  ['vegas, per sample', () => new VegasLimit({ window: false, random: seeded(7) })],
  ['aimd, timeout 4·S', () => new AimdLimit({ timeout: 4 * S })],
  ['aimd, 4·S, 1 s windows', () => new AimdLimit({ timeout: 4 * S, window: {} })],
];
for (const [name, algorithm] of runs) {
  const r = simulate(name, algorithm);
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const ms = (x: number): string => (Number.isNaN(x) ? '-' : x.toFixed(1));
  console.log(
    [
      r.name.padEnd(24),
      r.goodput.toFixed(0).padStart(10),
      `(${pct(r.goodput / capacity)})`.padStart(9),
      ms(r.p50).padStart(8),
      ms(r.p99).padStart(8),
      pct(r.rejected).padStart(9),
      pct(r.timedOut).padStart(10),
      ms(r.limitMean).padStart(11),
      (Number.isNaN(r.limitLast) ? '-' : String(r.limitLast)).padStart(11),
    ].join(' '),
  );
}
