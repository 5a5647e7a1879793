/**
 * Ready-made option sets for three common kinds of upstream. Each is a frozen, plain options
 * object: spread it into `createClient` and override what differs. The values come from
 * HTTPower's production profiles (Stripe: breaker of 3 failures, 30 s open; 1 s retry base)
 * and the default profile of docs/research (§16 of resilience-algorithms.md).
 */
import type { ClientOptions } from './options.js';

/** Any preset of {@link presets}: deeply frozen client options. */
export type Preset = DeepReadonly<ClientOptions>;

type DeepReadonly<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends readonly (infer E)[]
    ? readonly DeepReadonly<E>[]
    : T extends object
      ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T;

function deepFreeze<T extends object>(value: T): DeepReadonly<T> {
  for (const inner of Object.values(value)) {
    if (typeof inner === 'object' && inner !== null) deepFreeze(inner as object);
  }
  return Object.freeze(value) as DeepReadonly<T>;
}

/**
 * A payment processor (Stripe, Adyen): a duplicated charge costs more than a failed one.
 *
 * - Retries only what is safe to repeat — GET, PUT, DELETE, or a POST carrying an
 *   `Idempotency-Key` header or `idempotent: true` (bulwark's rule for every client) — at most
 *   twice, from a 1 s base (HTTPower's `base_delay`), within a 15 s total.
 * - Tight timeouts: 5 s per attempt, 15 s per call, so a checkout never hangs.
 * - A conservative breaker: it trips only on clear evidence (half of at least 20 calls over
 *   60 s fail), then stays open 30 s (HTTPower's Stripe profile) before one probe, doubling up
 *   to 2 min while the processor stays down.
 * - No client-side rate limit: the processor's own 429s (and their `Retry-After`) decide.
 */
const paymentProcessing = deepFreeze({
  timeout: { attempt: 5_000, total: 15_000 },
  retry: { maxRetries: 2, baseDelay: 1_000, maxDelay: 5_000 },
  circuitBreaker: {
    failureRatio: 0.5,
    minimumCalls: 20,
    window: { ms: 60_000, buckets: 12 },
    openDuration: 30_000,
    maxOpenDuration: 120_000,
    halfOpenRequests: 1,
  },
  rateLimit: false,
  hedging: false,
} satisfies ClientOptions);

/**
 * A high-volume API called thousands of times a second: protect it (and yourself) from
 * overload without a hand-tuned limit.
 *
 * - Adaptive concurrency (Gradient2, Netflix's defaults: start at 20, between 4 and 256 in
 *   flight), with a short queue (32 callers, 250 ms) to absorb bursts before failing fast
 *   with `CONCURRENCY_LIMITED`.
 * - Retries with a tighter budget: 10 % of requests plus 10 per second, so a failing upstream
 *   sees at most ~1.1× its load; backoff from 50 ms, capped at 2 s.
 * - A breaker judged on plenty of traffic (at least 100 calls over 30 s in 10 buckets), open
 *   5 s doubling to 60 s, three probes to close (resilience4j and Polly's range).
 * - 5 s per attempt, 10 s per call; 256 connections per origin to match the limit's ceiling.
 */
const highVolumeApi = deepFreeze({
  timeout: { attempt: 5_000, total: 10_000 },
  pool: { connections: 256 },
  concurrency: {
    algorithm: 'gradient2',
    initialLimit: 20,
    minLimit: 4,
    maxLimit: 256,
    maxQueue: 32,
    queueTimeout: 250,
  },
  retry: {
    maxRetries: 2,
    baseDelay: 50,
    maxDelay: 2_000,
    budget: { ratio: 0.1, minPerSecond: 10, ttlMs: 10_000 },
  },
  circuitBreaker: {
    failureRatio: 0.5,
    minimumCalls: 100,
    window: { ms: 30_000, buckets: 10 },
    openDuration: 5_000,
    maxOpenDuration: 60_000,
    halfOpenRequests: 3,
  },
} satisfies ClientOptions);

/**
 * A service inside your own network, answering in milliseconds: fail fast, pass the budget on,
 * and cut the tail.
 *
 * - Short timeouts: 1 s per attempt, 3 s per call.
 * - The remaining time travels downstream in the `deadline` header, so the callee can stop
 *   work nobody waits for (`deadlineFromRequest` on its side).
 * - Hedging for idempotent requests (GET, HEAD, OPTIONS, PUT, DELETE, or marked
 *   `idempotent`): a second attempt after the p95 latency (250 ms until 20 samples are known),
 *   paid from the retry budget.
 * - Quick retries (25 ms base, 500 ms cap) and a breaker that reacts within 10 s
 *   (half of at least 20 calls), open 2 s doubling to 30 s.
 */
const internalService = deepFreeze({
  timeout: { attempt: 1_000, total: 3_000 },
  deadline: { header: 'deadline' },
  hedging: { delay: 'p95', maxHedges: 1, fallbackDelay: 250 },
  retry: { maxRetries: 2, baseDelay: 25, maxDelay: 500 },
  circuitBreaker: {
    failureRatio: 0.5,
    minimumCalls: 20,
    window: { ms: 10_000, buckets: 10 },
    openDuration: 2_000,
    maxOpenDuration: 30_000,
    halfOpenRequests: 1,
  },
} satisfies ClientOptions);

/**
 * Frozen option sets for common upstreams. Spread one and add what is yours; a section you
 * pass replaces the preset's whole section, so spread that too to change one field.
 * @example
 * const stripe = createClient({
 *   ...presets.paymentProcessing,
 *   name: 'stripe',
 *   baseUrl: 'https://api.stripe.com',
 *   retry: { ...presets.paymentProcessing.retry, maxRetries: 1 },
 * });
 */
export const presets = Object.freeze({ paymentProcessing, highVolumeApi, internalService });
