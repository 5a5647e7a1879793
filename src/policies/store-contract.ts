/**
 * The store contracts of the policies: where rate-limit and shared circuit state live. They sit
 * here, beside the policies that use them, so policies import nothing from `stores/`; the
 * in-process {@link MemoryStore} is the limiter's default and `bulwark/redis` implements the
 * same interfaces so a limit holds across processes and machines.
 */

/** GCRA parameters of one bucket: `requests` per `periodMs`, up to `burst` at once. */
export interface GcraParams {
  /** Milliseconds between two requests at the steady rate (`periodMs / requests`). */
  readonly emissionIntervalMs: number;
  /** How many requests may go at once after a quiet period. */
  readonly burst: number;
}

/** One decision of the limiter. */
export type RateLimitDecision =
  /** Admitted: the caller may send after `waitMs` (0 = now). The slot is reserved. */
  (
    | {
        readonly allowed: true;
        readonly waitMs: number;
        readonly remaining: number;
        /**
         * The bucket's theoretical arrival time after this reservation, µs, from a store that can
         * give a reservation back ({@link RateLimitStore.release}); absent otherwise.
         */
        readonly tat?: number;
      }
    /** Refused: the next slot frees in `retryAfterMs`. Nothing was reserved. */
    | { readonly allowed: false; readonly retryAfterMs: number; readonly remaining: number }
  ) & {
    /**
     * Set by a fallback store when its shared store failed on this very decision and `onStoreError`
     * decided instead: the mode and the failure (for metrics and the `bulwark:rate-limit` channel).
     */
    readonly storeError?: { readonly fallback: 'local' | 'open' | 'closed'; readonly error: Error };
  };

/** A request for a slot. */
export interface TakeRequest {
  readonly key: string;
  readonly params: GcraParams;
  /** Longest wait the caller accepts; a slot further away is refused. 0 = only now. */
  readonly maxWaitMs: number;
  /** Tokens to take. @default 1 */
  readonly cost?: number;
  /**
   * The caller's deadline, epoch ms of the limiter's clock: a store that has to wait before it can
   * decide (a Redis client still connecting) never waits past it.
   */
  readonly deadline?: number | undefined;
}

/** How a {@link CallbackRateLimitStore} answers: an error, or a decision. */
export type TakeCallback = (error: Error | undefined, decision: RateLimitDecision | undefined) => void;

/** The storage behind a rate limiter. Decisions are atomic per key. */
export interface RateLimitStore {
  /** Reserves a slot within `maxWaitMs` or refuses. */
  take(request: TakeRequest): RateLimitDecision | Promise<RateLimitDecision>;
  /**
   * Holds the bucket: no slot is granted before `untilMs` from now (a server said so through
   * `Retry-After` or `RateLimit` headers).
   */
  hold(key: string, params: GcraParams, forMs: number): void | Promise<void>;
  /**
   * Gives back the reservation of `cost` tokens that left the bucket at `tat` (its decision's),
   * because its caller stopped waiting for it. Only while it is still the latest reservation of
   * the key: a later caller's slot was computed after it and is not moved. Optional.
   */
  release?(key: string, params: GcraParams, cost: number, tat: number): void | Promise<void>;
  /** Number of live buckets (for inspect). */
  size?(): number;
  /** Releases timers and connections the store owns (never a caller's Redis client). */
  close?(): void | Promise<void>;
}

/** What the shared circuit state says about a key, as every node sees it. */
export type SharedCircuitState =
  /** No node has the circuit open: each node's own breaker decides. */
  | { readonly state: 'closed' }
  /** A node opened the circuit; nothing may be sent for `retryAfterMs`. `openMs` is how long it was opened for. */
  | { readonly state: 'open'; readonly retryAfterMs: number; readonly openMs: number }
  /**
   * The open period ended and no node has closed the circuit yet: one probe may go. `probing`
   * is true while a node holds the probe lease ({@link CircuitStore.acquireProbe}).
   */
  | { readonly state: 'half-open'; readonly openMs: number; readonly probing: boolean };

/**
 * Circuit state shared by every node (opt-in: `circuitBreaker: { store }`), so a circuit one node
 * opens is open for all of them from their next decision. It is advisory: each node keeps its own
 * breaker, and a store that cannot answer reports `closed` rather than failing the request.
 */
export interface CircuitStore {
  /** One small call per decision: the state of `key` right now. */
  check(key: string): SharedCircuitState | Promise<SharedCircuitState>;
  /** Opens the circuit for `forMs` on every node; releases any probe lease. */
  open(key: string, forMs: number): void | Promise<void>;
  /** Closes the circuit on every node (a probe passed); releases any probe lease. */
  close(key: string): void | Promise<void>;
  /**
   * Leases the half-open probe for `leaseMs`: true on exactly one node at a time. The lease ends
   * with {@link open} or {@link close}, or by itself after `leaseMs` if the probe never reports.
   */
  acquireProbe(key: string, leaseMs: number): boolean | Promise<boolean>;
}

/** One bucket as inspect shows it. */
export interface BucketState {
  readonly key: string;
  /** Requests (of cost 1) that could go at once. */
  readonly remaining: number;
  /** Milliseconds until the next token is free; 0 when `remaining` > 0. */
  readonly nextFreeMs: number;
}

/**
 * A store that can list its live buckets without taking from them (the memory store can; a shared
 * store usually cannot list cheaply). The rate limiter's `snapshot()` uses it when present.
 */
export interface InspectableRateLimitStore extends RateLimitStore {
  /** Every live bucket as `params` see it now. A key with no bucket is full. */
  buckets(params: GcraParams): BucketState[];
}

/**
 * A remote store that can also answer through a callback. A wrapper that adds a deadline and a
 * fallback (`fallbackStore`) then builds one promise per decision instead of one per layer: each
 * layer of promises is one more microtask on the way back and more garbage under load.
 */
export interface CallbackRateLimitStore extends RateLimitStore {
  /** Like `take`; `done` is called exactly once, never synchronously. */
  takeInto(request: TakeRequest, done: TakeCallback): void;
}

/** Whether a store answered through a promise (a shared store such as Redis) rather than at once. */
export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as Partial<PromiseLike<T>> | null)?.then === 'function';
}

/** Whether `value` has the methods of a {@link RateLimitStore} (`take` and `hold`). */
export function isRateLimitStore(value: unknown): value is RateLimitStore {
  const candidate = value as Partial<RateLimitStore> | null;
  return (
    typeof value === 'object' && typeof candidate?.take === 'function' && typeof candidate.hold === 'function'
  );
}
