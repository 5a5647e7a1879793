/**
 * The per-call settings the built-in stages read (the client's, or one request's overrides), and
 * the outcome user judges see. A leaf below the stages, so each stage reads its field typed.
 */
import type { BulwarkError } from '../errors.js';
import type { BulwarkResponse } from '../http/response.js';
import type { CacheMode } from '../policies/http-cache.js';
import type { RateLimitStrategy } from '../policies/rate-limiter.js';
import type { RetryPolicy } from '../policies/retry.js';

/**
 * What one attempt came to, as user hooks (`shouldRetry`, `isFailure`) see it: a response
 * (any status) or an error, never both.
 */
export type AttemptOutcome =
  | {
      readonly response: BulwarkResponse;
      readonly error?: undefined;
      readonly attempt: number;
      readonly method: string;
      readonly url: string;
    }
  | {
      readonly response?: undefined;
      readonly error: BulwarkError;
      readonly attempt: number;
      readonly method: string;
      readonly url: string;
    };

/** HTTP settings of the retry stage (the policy holds backoff, budget and limits). */
export interface HttpRetrySettings {
  /** Statuses retried. */
  readonly statuses: ReadonlySet<number>;
  /** The user's override: true/false decides, undefined keeps the default judgement. */
  readonly shouldRetry: ((outcome: AttemptOutcome) => boolean | undefined) | undefined;
}

/** A request's own retry: a policy from its overrides, and its own statuses or `shouldRetry` when given. */
export interface RetryCallOverride {
  readonly policy: RetryPolicy<BulwarkResponse>;
  readonly http: HttpRetrySettings | undefined;
}

/** Per-call retry: `false` disables it; a request's overrides replace the client's. */
export type RetryOverride = RetryCallOverride | false | undefined;

/** Request-level breaker settings: `false` bypasses the breaker for this call. */
export interface BreakerOverride {
  /** Judges an attempt's outcome for this call. */
  readonly isFailure?: ((outcome: AttemptOutcome) => boolean) | undefined;
}

/** Request-level rate limit settings: `false` bypasses the limiter for this call. */
export interface RateLimitOverride {
  /** Bucket key for this call. */
  readonly key?: string | undefined;
  /** Tokens this call takes. @default 1 */
  readonly cost?: number | undefined;
  /** This call's strategy: wait for a slot or fail fast. @default the client's */
  readonly strategy?: RateLimitStrategy | undefined;
  /** This call's longest wait for a slot, ms; implies `strategy: 'wait'`. @default the client's */
  readonly maxWait?: number | undefined;
}

/** How a call uses the client's HTTP cache; `false` leaves it alone. */
export type CacheCallMode = CacheMode | false;

/**
 * The settings of one call, one field per stage that takes a per-request option (named after
 * it). Each row of the stage table parses its field: see `StageDescriptor.request`.
 */
export interface CallPolicies {
  retry: RetryOverride;
  circuitBreaker: BreakerOverride | false | undefined;
  rateLimit: RateLimitOverride | false | undefined;
  cache: CacheCallMode;
  throwHttpErrors: boolean;
}
