/**
 * Where rate-limit state lives. The in-process {@link MemoryStore} is the default; `bulwark/redis`
 * implements the same interface so a limit holds across processes and machines.
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
  | { readonly allowed: true; readonly waitMs: number; readonly remaining: number }
  /** Refused: the next slot frees in `retryAfterMs`. Nothing was reserved. */
  | { readonly allowed: false; readonly retryAfterMs: number; readonly remaining: number };

/** A request for a slot. */
export interface TakeRequest {
  readonly key: string;
  readonly params: GcraParams;
  /** Longest wait the caller accepts; a slot further away is refused. 0 = only now. */
  readonly maxWaitMs: number;
  /** Tokens to take. @default 1 */
  readonly cost?: number;
}

/** The storage behind a rate limiter. Decisions are atomic per key. */
export interface RateLimitStore {
  /** Reserves a slot within `maxWaitMs` or refuses. */
  take(request: TakeRequest): RateLimitDecision | Promise<RateLimitDecision>;
  /**
   * Holds the bucket: no slot is granted before `untilMs` from now (a server said so through
   * `Retry-After` or `RateLimit` headers).
   */
  hold(key: string, params: GcraParams, forMs: number): void | Promise<void>;
  /** Number of live buckets (for inspect). */
  size?(): number;
  /** Releases timers and connections the store owns (never a caller's Redis client). */
  close?(): void | Promise<void>;
}
