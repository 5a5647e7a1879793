/**
 * The scenario model: what the lab runs. A scenario file (JSON) is parsed into a {@link Scenario}
 * by `parseScenario`; times are seconds in the file and milliseconds here.
 */

/** A latency in ms: fixed, or drawn uniformly from `[min, max]`. */
export type Latency = number | readonly [number, number];

interface PhaseWindow {
  /** Phase start, ms from the beginning of the run. */
  readonly from: number;
  /** Phase end (exclusive), ms from the beginning of the run. */
  readonly to: number;
}

/** The upstream answers normally. */
export interface HealthyPhase extends PhaseWindow {
  readonly fault: 'healthy';
  readonly latency: Latency;
}

/** The upstream is down: its port refuses connections, or it accepts and resets them. */
export interface OutagePhase extends PhaseWindow {
  readonly fault: 'outage';
  readonly mode: 'refuse' | 'reset';
}

/** Random failures: `errorRate` of requests get `status`, `resetRate` get their socket reset. */
export interface FlakyPhase extends PhaseWindow {
  readonly fault: 'flaky';
  readonly errorRate: number;
  readonly resetRate: number;
  readonly status: number;
  readonly latency: Latency;
}

/** Latency climbs linearly from `startLatency` to `endLatency` over the phase. */
export interface SlowPhase extends PhaseWindow {
  readonly fault: 'slow';
  readonly startLatency: number;
  readonly endLatency: number;
}

/**
 * A server as a queue: `capacity` requests served at once, each taking `serviceTime` ms; the rest
 * wait in line, so latency grows with concurrency; past `queue` waiting requests it answers 503.
 */
export interface OverloadPhase extends PhaseWindow {
  readonly fault: 'overload';
  readonly capacity: number;
  readonly serviceTime: number;
  readonly queue: number;
}

/** A quota of `quota` requests per `window` seconds; past it, 429 with Retry-After and RateLimit headers. */
export interface ThrottlePhase extends PhaseWindow {
  readonly fault: 'throttle';
  readonly quota: number;
  readonly window: number;
  readonly latency: Latency;
}

/**
 * A chain: the upstream (service A) spends `hopLatency` ms, then calls service B, which works for
 * `downstreamLatency` ms. Both read the propagated `deadline` header (ms remaining) and refuse,
 * with 504, work that cannot finish in time.
 */
export interface DeadlinePhase extends PhaseWindow {
  readonly fault: 'deadline';
  readonly hopLatency: number;
  readonly downstreamLatency: Latency;
}

/**
 * A black hole: the upstream accepts connections and reads requests but never answers them, as a
 * hung process or a route that drops packets does. A request received during the phase stays
 * unanswered after it; only the client's timeout or abort ends it.
 */
export interface BlackholePhase extends PhaseWindow {
  readonly fault: 'blackhole';
}

/**
 * Connection drops, as a restarting load balancer or a deploy makes them: at the start of the
 * phase and every `every` ms after, the upstream resets every open connection (requests in flight
 * fail with ECONNRESET, pooled connections die); in between it answers normally.
 */
export interface ResetsPhase extends PhaseWindow {
  readonly fault: 'resets';
  readonly every: number;
  readonly latency: Latency;
}

/** One period of upstream behaviour. */
export type Phase =
  | HealthyPhase
  | OutagePhase
  | FlakyPhase
  | SlowPhase
  | OverloadPhase
  | ThrottlePhase
  | DeadlinePhase
  | BlackholePhase
  | ResetsPhase;

/** The fault kinds a phase can declare. */
export const FAULTS = [
  'healthy',
  'outage',
  'flaky',
  'slow',
  'overload',
  'throttle',
  'deadline',
  'blackhole',
  'resets',
] as const;

/** Offered load: an open loop at a rate (ramping from `from` to `to` calls/s), or a closed loop of workers. */
export type Load =
  | { readonly kind: 'rate'; readonly from: number; readonly to: number }
  | { readonly kind: 'concurrency'; readonly workers: number; readonly think: number };

/** The call each generated request makes. */
export interface CallSpec {
  readonly method: string;
  readonly path: string;
  /** When set, each call runs inside `withDeadline(deadline, …)`. */
  readonly deadline?: number;
}

/** A client configuration under comparison: a name and the options given to `createClient`. */
export interface ClientConfig {
  readonly name: string;
  readonly options: Readonly<Record<string, unknown>>;
}

/** A parsed, validated scenario. */
export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** What to look for in the results; printed after the summary and shown in the report. */
  readonly notes: string;
  readonly seed: number;
  readonly duration: number;
  readonly bucket: number;
  readonly load: Load;
  readonly request: CallSpec;
  /** Phases sorted by `from`, non-overlapping; gaps are healthy at `latency`. */
  readonly phases: readonly Phase[];
  readonly latency: Latency;
  readonly clients: readonly ClientConfig[];
}

/**
 * The comparison baseline: bulwark with every resilience policy off and no deadline header, so
 * it differs from the other configurations only by the policies, not by the transport.
 */
export const PLAIN_CLIENT: ClientConfig = {
  name: 'plain',
  options: { retry: false, circuitBreaker: false, deadline: false },
};

/** bulwark as `createClient()` ships. */
export const DEFAULT_CLIENT: ClientConfig = { name: 'defaults', options: {} };

const BUCKETS = [100, 250, 500, 1000, 2000, 5000, 10_000] as const;

/** The smallest of 100 ms, 250 ms, 500 ms, 1 s, 2 s… that keeps a run within 60 buckets. */
export function chooseBucket(duration: number): number {
  return BUCKETS.find((b) => duration / b <= 60) ?? 10_000;
}

/**
 * The scenario stretched or shrunk to `duration` ms: phases keep their share of the run, and the
 * bucket is chosen again unless the file fixed one that still fits.
 */
export function withDuration(scenario: Scenario, duration: number, fixedBucket?: number): Scenario {
  const scale = duration / scenario.duration;
  const phases = scenario.phases.map((p) => ({
    ...p,
    from: Math.round(p.from * scale),
    to: Math.round(p.to * scale),
  }));
  const bucket =
    fixedBucket !== undefined && duration / fixedBucket <= 400 ? fixedBucket : chooseBucket(duration);
  return { ...scenario, duration, phases, bucket };
}

/**
 * Placeholders a scenario's `description` and `notes` may hold, so their text follows
 * `--duration`: `{duration}` is the run's length, `{from:N}`, `{to:N}` and `{length:N}` the
 * start, end and length of the N-th phase in time order, all in seconds.
 */
export const TEXT_TOKEN = /\{(duration|from|to|length)(?::(\d+))?\}/g;

/** Why `text` cannot be rendered for these phases (an index past the last phase), or undefined. */
export function checkText(text: string, phases: readonly Phase[]): string | undefined {
  for (const match of text.matchAll(TEXT_TOKEN)) {
    const [token, kind, index] = match;
    if (kind === 'duration' && index !== undefined) return `${token}: {duration} takes no phase number`;
    if (kind !== 'duration' && (index === undefined || Number(index) >= phases.length))
      return `${token} names no phase (phases are numbered 0 to ${phases.length - 1} in time order)`;
  }
  return undefined;
}

/** `text` with its placeholders ({@link TEXT_TOKEN}) replaced by this scenario's times. */
export function renderText(scenario: Pick<Scenario, 'duration' | 'phases'>, text: string): string {
  return text.replace(TEXT_TOKEN, (token, kind: string, index: string | undefined) => {
    if (kind === 'duration') return trimSeconds(scenario.duration);
    const phase = scenario.phases[Number(index)];
    if (phase === undefined) return token;
    return trimSeconds(kind === 'from' ? phase.from : kind === 'to' ? phase.to : phase.to - phase.from);
  });
}

function trimSeconds(ms: number): string {
  return String(Number((ms / 1000).toFixed(ms < 10_000 ? 2 : 1)));
}

/** The phase in force at `t` ms, or a healthy one in the gaps. */
export function phaseAt(scenario: Pick<Scenario, 'phases' | 'latency'>, t: number): Phase {
  for (const phase of scenario.phases) {
    if (t >= phase.from && t < phase.to) return phase;
  }
  return { fault: 'healthy', from: 0, to: Infinity, latency: scenario.latency };
}

/** A short human label for a phase, used in charts and the terminal. */
export function describePhase(phase: Phase): string {
  switch (phase.fault) {
    case 'healthy':
      return 'healthy';
    case 'outage':
      return phase.mode === 'refuse' ? 'outage (refused)' : 'outage (reset)';
    case 'flaky':
      return phase.resetRate === 0
        ? `errors: ${pct(phase.errorRate)} answer ${phase.status}`
        : `flaky: ${pct(phase.errorRate)} ${phase.status}, ${pct(phase.resetRate)} resets`;
    case 'slow':
      return `slow: ${phase.startLatency}→${phase.endLatency} ms`;
    case 'overload':
      return `overload: ${phase.capacity} at a time × ${phase.serviceTime} ms, queue ${phase.queue}`;
    case 'throttle':
      return `throttle: ${phase.quota} per ${phase.window} s`;
    case 'deadline':
      return `deadline chain: B works ${latencyLabel(phase.downstreamLatency)}`;
    case 'blackhole':
      return 'black hole (no answer)';
    case 'resets':
      return `connection drops every ${formatEvery(phase.every)}`;
  }
}

function formatEvery(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toFixed(2))} s` : `${Math.round(ms)} ms`;
}

function pct(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}

function latencyLabel(latency: Latency): string {
  return typeof latency === 'number' ? `${latency} ms` : `${latency[0]}–${latency[1]} ms`;
}
