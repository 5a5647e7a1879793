/**
 * Turns a run's records into what the report shows: per configuration, a series of time buckets
 * (success rate, latency percentiles, attempts per call, breaker states, concurrency, rate-limit
 * waits, upstream load) and the totals.
 */
import type { BreakerState } from './client.js';
import type { CallRecord } from './load.js';
import type { ConfigRun, LabRun } from './run.js';
import { describePhase, type Scenario } from './scenario.js';

/** One time bucket of one configuration. Calls count in the bucket where they finished. */
export interface BucketMetrics {
  /** Bucket start, ms since the run began. */
  readonly t: number;
  readonly calls: number;
  readonly ok: number;
  /** `ok / calls`, null when no call finished in the bucket. */
  readonly successRate: number | null;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly attemptsPerCall: number | null;
  /** Requests the upstream received in the bucket. */
  readonly upstreamReceived: number;
  /** Most calls in flight seen in the bucket. */
  readonly inflight: number | null;
  /** The concurrency limit (last sample), when a limiter is configured. */
  readonly limit: number | null;
  /** The worst breaker state seen in the bucket, per key. */
  readonly breakers: Readonly<Record<string, BreakerState>>;
  readonly rateLimitWaits: number;
  readonly rateLimitWaitMs: number;
}

/** Totals of one configuration over the run. */
export interface Totals {
  readonly calls: number;
  readonly ok: number;
  readonly successRate: number | null;
  /** Successful calls per second of the run. */
  readonly goodput: number;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly attempts: number;
  readonly attemptsPerCall: number | null;
  /** Attempts that did not yield a success: `attempts - ok`. */
  readonly wastedAttempts: number;
  readonly upstreamReceived: number;
  /** Failed calls by outcome (`"503"`, `"CIRCUIT_OPEN"`, `"NETWORK ECONNREFUSED"`…). */
  readonly errors: Readonly<Record<string, number>>;
  /** Upstream responses finished after the caller had already given up on that call. */
  readonly lateResponses: number;
  /** Calls still running when the run's grace period ended. */
  readonly cutOff: number;
  readonly rateLimitWaits: number;
  readonly rateLimitWaitMs: number;
  /** Deadline chain only: ms of work service B did, of which for callers already gone, and requests it skipped. */
  readonly downstream: {
    readonly workMs: number;
    readonly wastedMs: number;
    readonly skipped: number;
  } | null;
}

/** The metrics of one configuration. */
export interface ConfigResult {
  readonly name: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly buckets: readonly BucketMetrics[];
  readonly totals: Totals;
}

/** What the report renders. */
export interface LabResult {
  readonly scenario: Scenario;
  readonly startedAt: string;
  readonly phases: readonly {
    readonly from: number;
    readonly to: number;
    readonly label: string;
    readonly fault: string;
  }[];
  readonly configs: readonly ConfigResult[];
}

const STATE_RANK: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };
/** A response later than this after the call ended was not awaited (loopback delivery takes ~1 ms). */
const LATE_SLACK_MS = 5;

/** Computes buckets and totals for every configuration. */
export function summarize(run: LabRun): LabResult {
  const { scenario } = run;
  return {
    scenario,
    startedAt: run.startedAt.toISOString(),
    phases: scenario.phases.map((p) => ({ from: p.from, to: p.to, label: describePhase(p), fault: p.fault })),
    configs: run.configs.map((c) => ({
      name: c.config.name,
      options: c.config.options,
      buckets: bucketize(scenario, c),
      totals: totals(scenario, c),
    })),
  };
}

function bucketize(scenario: Scenario, run: ConfigRun): BucketMetrics[] {
  const count = Math.ceil(scenario.duration / scenario.bucket);
  const index = (t: number): number => Math.min(count - 1, Math.max(0, Math.floor(t / scenario.bucket)));
  const calls: CallRecord[][] = Array.from({ length: count }, () => []);
  for (const call of run.calls)
    if (!call.cutOff && call.end < scenario.duration) calls[index(call.end)]!.push(call);
  const received = new Array<number>(count).fill(0);
  for (const r of run.received) if (r.at >= 0 && r.at < scenario.duration) received[index(r.at)]!++;
  const waits = Array.from({ length: count }, () => ({ n: 0, ms: 0 }));
  for (const w of run.waits) {
    const b = waits[index(w.at)]!;
    b.n++;
    b.ms += w.ms;
  }
  const samples = Array.from({ length: count }, () => [] as ConfigRun['samples'][number][]);
  for (const s of run.samples) samples[index(s.at)]!.push(s);
  return calls.map((inBucket, i) => {
    const latencies = inBucket.map((c) => c.end - c.start).sort((a, b) => a - b);
    const ok = inBucket.filter((c) => c.ok).length;
    const attempts = inBucket.reduce((n, c) => n + c.attempts, 0);
    const breakers: Record<string, BreakerState> = {};
    for (const s of samples[i]!) {
      for (const [key, state] of s.breakers) {
        const seen = breakers[key];
        if (seen === undefined || STATE_RANK[state] > STATE_RANK[seen]) breakers[key] = state;
      }
    }
    const last = samples[i]!.at(-1);
    return {
      t: i * scenario.bucket,
      calls: inBucket.length,
      ok,
      successRate: inBucket.length === 0 ? null : ok / inBucket.length,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      attemptsPerCall: inBucket.length === 0 ? null : attempts / inBucket.length,
      upstreamReceived: received[i]!,
      inflight: samples[i]!.length === 0 ? null : Math.max(...samples[i]!.map((s) => s.inflight)),
      limit: last?.limit ?? null,
      breakers,
      rateLimitWaits: waits[i]!.n,
      rateLimitWaitMs: waits[i]!.ms,
    };
  });
}

function totals(scenario: Scenario, run: ConfigRun): Totals {
  const finished = run.calls.filter((c) => !c.cutOff);
  const ok = finished.filter((c) => c.ok).length;
  const attempts = finished.reduce((n, c) => n + c.attempts, 0);
  const errors: Record<string, number> = {};
  for (const c of finished) if (!c.ok) errors[c.outcome] = (errors[c.outcome] ?? 0) + 1;
  const ended = new Map<string, number>();
  for (const c of run.calls) ended.set(String(c.id), c.end);
  const givenUp = (call: string | undefined, done: number): boolean => {
    const end = call === undefined ? undefined : ended.get(call);
    return end !== undefined && done > end + LATE_SLACK_MS;
  };
  const latencies = finished.map((c) => c.end - c.start).sort((a, b) => a - b);
  const work = run.downstreamWork;
  return {
    calls: finished.length,
    ok,
    successRate: finished.length === 0 ? null : ok / finished.length,
    goodput: ok / (scenario.duration / 1000),
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    attempts,
    attemptsPerCall: finished.length === 0 ? null : attempts / finished.length,
    wastedAttempts: attempts - ok,
    upstreamReceived: run.received.length,
    errors,
    lateResponses: run.received.filter((r) => givenUp(r.call, r.done)).length,
    cutOff: run.calls.length - finished.length,
    rateLimitWaits: run.waits.length,
    rateLimitWaitMs: run.waits.reduce((n, w) => n + w.ms, 0),
    downstream:
      work.length === 0
        ? null
        : {
            workMs: work.reduce((n, w) => n + w.workMs, 0),
            wastedMs: work.filter((w) => givenUp(w.call, w.done)).reduce((n, w) => n + w.workMs, 0),
            skipped: work.filter((w) => w.skipped).length,
          },
  };
}

/** Nearest-rank percentile of an ascending array; null when empty. */
export function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
