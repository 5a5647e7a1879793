/**
 * Turns a run's records into what the report shows: per configuration, a series of time buckets
 * (success rate, latency percentiles, attempts per call, breaker states, concurrency, rate-limit
 * waits, upstream load) and the totals.
 */
import type { BreakerState } from './client.js';
import { arrivals, type CallRecord } from './load.js';
import { DOWN_FAULTS, measureRecovery, type Recovery } from './recovery.js';
import type { ConfigRun, LabRun, LoopDelay } from './run.js';
import type { BreakerTransition } from './sampler.js';
import { describePhase, type Scenario } from './scenario.js';
import { judge, type Verdict } from './verdict.js';

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
  /** Percentiles of the calls that succeeded: fast failures do not pull these down. */
  readonly p50ok: number | null;
  readonly p99ok: number | null;
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
  /** Calls made, those still running when the grace period ended included (as failures). */
  readonly calls: number;
  readonly ok: number;
  readonly successRate: number | null;
  /** Calls that succeeded within the run (not in its grace period), per second of the run. */
  readonly goodput: number;
  readonly p50: number | null;
  readonly p99: number | null;
  /** Percentiles of the calls that succeeded. */
  readonly p50ok: number | null;
  readonly p99ok: number | null;
  readonly attempts: number;
  readonly attemptsPerCall: number | null;
  /** Attempts that did not yield a success: `attempts - ok`. */
  readonly wastedAttempts: number;
  readonly upstreamReceived: number;
  /** Failed calls by outcome (`"503"`, `"CIRCUIT_OPEN"`, `"NETWORK ECONNREFUSED"`…). */
  readonly errors: Readonly<Record<string, number>>;
  /** Upstream responses finished after the caller had already given up on that call. */
  readonly lateResponses: number;
  /** Calls still running when the run's grace period ended (counted as failed, `CUT_OFF`). */
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
  /** Breaker state changes, in order, with their reason. */
  readonly transitions: readonly BreakerTransition[];
}

/** Detection and recovery of every configuration in one outage or black-hole phase. */
export interface OutageRecovery {
  readonly from: number;
  readonly to: number;
  readonly label: string;
  readonly configs: readonly Recovery[];
}

/** A level the upstream can take during a phase: its capacity or its quota, requests/s. */
export interface ReferenceLine {
  readonly from: number;
  readonly to: number;
  readonly perSecond: number;
  readonly label: string;
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
  /** Every configuration but plain judged against plain (docs/lab.md, "Verdicts"); empty without plain. */
  readonly verdicts: readonly Verdict[];
  readonly outages: readonly OutageRecovery[];
  readonly references: readonly ReferenceLine[];
  /** Calls offered per bucket (open-loop load only; the same for every configuration). */
  readonly offered: readonly number[] | null;
  readonly loopDelay: LoopDelay;
}

const STATE_RANK: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };
/** A response later than this after the call ended was not awaited (loopback delivery takes ~1 ms). */
const LATE_SLACK_MS = 5;

/** Computes buckets and totals for every configuration. */
export function summarize(run: LabRun): LabResult {
  const { scenario } = run;
  const configs = run.configs.map((c) => ({
    name: c.config.name,
    options: c.config.options,
    buckets: bucketize(scenario, c),
    totals: totals(scenario, c),
    transitions: c.transitions,
  }));
  const plain = configs.find((c) => c.name === 'plain');
  const blackhole = scenario.phases.some((p) => p.fault === 'blackhole');
  return {
    scenario,
    startedAt: run.startedAt.toISOString(),
    phases: scenario.phases.map((p) => ({ from: p.from, to: p.to, label: describePhase(p), fault: p.fault })),
    configs,
    verdicts:
      plain === undefined
        ? []
        : configs
            .filter((c) => c !== plain)
            .map((c) =>
              judge({ name: c.name, ...c.totals }, { name: plain.name, ...plain.totals }, blackhole),
            ),
    outages: scenario.phases
      .filter((p) => DOWN_FAULTS.has(p.fault))
      .map((p) => ({
        from: p.from,
        to: p.to,
        label: describePhase(p),
        configs: run.configs.map((c) =>
          measureRecovery(
            p,
            {
              name: c.config.name,
              calls: c.calls,
              transitions: c.transitions,
              hasBreaker: c.transitions.length > 0 || c.samples.some((x) => x.breakers.size > 0),
            },
            scenario.bucket,
            scenario.duration,
          ),
        ),
      })),
    references: references(scenario),
    offered: offered(scenario),
    loopDelay: run.loopDelay,
  };
}

function references(scenario: Scenario): ReferenceLine[] {
  const out: ReferenceLine[] = [];
  for (const p of scenario.phases) {
    if (p.fault === 'overload')
      out.push({
        from: p.from,
        to: p.to,
        perSecond: (p.capacity * 1000) / p.serviceTime,
        label: 'API capacity',
      });
    if (p.fault === 'throttle')
      out.push({ from: p.from, to: p.to, perSecond: p.quota / p.window, label: 'API quota' });
  }
  return out;
}

function offered(scenario: Scenario): number[] | null {
  if (scenario.load.kind !== 'rate') return null;
  const counts = new Array<number>(Math.ceil(scenario.duration / scenario.bucket)).fill(0);
  for (const at of arrivals(scenario.load, scenario.duration, scenario.seed))
    counts[Math.min(counts.length - 1, Math.floor(at / scenario.bucket))]!++;
  return counts;
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
  // Waits and samples of the grace period after the run would pile up in the last bucket.
  for (const w of run.waits) {
    if (w.at >= scenario.duration) continue;
    const b = waits[index(w.at)]!;
    b.n++;
    b.ms += w.ms;
  }
  const samples = Array.from({ length: count }, () => [] as ConfigRun['samples'][number][]);
  for (const s of run.samples) if (s.at <= scenario.duration) samples[index(s.at)]!.push(s);
  return calls.map((inBucket, i) => {
    const latencies = inBucket.map((c) => c.end - c.start).sort((a, b) => a - b);
    const okLatencies = inBucket
      .filter((c) => c.ok)
      .map((c) => c.end - c.start)
      .sort((a, b) => a - b);
    const ok = okLatencies.length;
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
      p50ok: percentile(okLatencies, 0.5),
      p99ok: percentile(okLatencies, 0.99),
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
  const calls = run.calls;
  const finished = calls.filter((c) => !c.cutOff);
  const ok = finished.filter((c) => c.ok).length;
  const attempts = calls.reduce((n, c) => n + c.attempts, 0);
  const errors: Record<string, number> = {};
  for (const c of calls) {
    const outcome = c.cutOff ? 'CUT_OFF' : c.outcome;
    if (!c.ok || c.cutOff) errors[outcome] = (errors[outcome] ?? 0) + 1;
  }
  const ended = new Map<string, number>();
  for (const c of calls) ended.set(String(c.id), c.end);
  const givenUp = (call: string | undefined, done: number): boolean => {
    const end = call === undefined ? undefined : ended.get(call);
    return end !== undefined && done > end + LATE_SLACK_MS;
  };
  const sorted = (list: readonly CallRecord[]): number[] =>
    list.map((c) => c.end - c.start).sort((a, b) => a - b);
  // A cut-off call took at least until it was cut off: that lower bound is its latency.
  const latencies = sorted(calls);
  const okLatencies = sorted(finished.filter((c) => c.ok));
  const work = run.downstreamWork;
  return {
    calls: calls.length,
    ok,
    successRate: calls.length === 0 ? null : ok / calls.length,
    goodput: finished.filter((c) => c.ok && c.end <= scenario.duration).length / (scenario.duration / 1000),
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    p50ok: percentile(okLatencies, 0.5),
    p99ok: percentile(okLatencies, 0.99),
    attempts,
    attemptsPerCall: calls.length === 0 ? null : attempts / calls.length,
    wastedAttempts: attempts - ok,
    upstreamReceived: run.received.length,
    errors,
    lateResponses: run.received.filter((r) => r.outcome !== 'silent' && givenUp(r.call, r.done)).length,
    cutOff: calls.length - finished.length,
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
