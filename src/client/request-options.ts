import type { RequestBody } from '../pipeline/types.js';
import type { AttemptOutcome } from '../pipeline/outcome.js';
import type { HeadersInit } from './headers.js';
import type { TimeoutOptions } from './options.js';
import type { PathParams, QueryInit } from './url.js';

/**
 * Options of one request. Policy overrides apply to this call only: `retry` merges its backoff,
 * limits, statuses and `shouldRetry` over the client's (the retry budget stays shared), `circuitBreaker` and
 * `rateLimit` can be bypassed with `false` or adjusted (`isFailure`; `key`, `cost`, `strategy`,
 * `maxWait`). What belongs to shared state (a circuit's thresholds, a bucket's rate) stays the client's.
 */
export interface RequestOptions {
  /** HTTP method. @default 'GET' */
  method?: string;
  /** Path relative to `baseUrl`, with `:name` placeholders filled from `params`. */
  path?: string;
  /** An absolute URL, to leave `baseUrl` on purpose. */
  url?: string | URL;
  /** Values for `:name` placeholders, encoded once. The unfilled path is telemetry's `url.template`. */
  params?: PathParams;
  /** Query string values, appended to any in the path. */
  query?: QueryInit;
  /** Request headers, merged over the client's (`undefined` removes one). */
  headers?: HeadersInit;
  /** A raw body: string, Buffer, Uint8Array (replayable) or a stream (sent once, never retried). */
  body?: RequestBody;
  /** A value sent as JSON (`content-type: application/json` unless set). */
  json?: unknown;
  /** Form fields sent as `application/x-www-form-urlencoded`. */
  form?: Record<string, string | number | boolean | readonly string[]> | URLSearchParams;
  /** Aborts the call (`ABORTED`). */
  signal?: AbortSignal;
  /** Timeouts of this call; `false` disables both. */
  timeout?: TimeoutOptions | false;
  /** A deadline for this call: ms from now or a Date. The earliest of this, the ambient deadline and `timeout.total` wins. */
  deadline?: number | Date;
  /**
   * Mark a non-idempotent request (POST, PATCH) as safe to retry. `false` forbids retries after
   * the request reached the wire, even for GET.
   */
  idempotent?: boolean;
  /** Breaker and limiter key. @default the origin */
  key?: string;
  /** Reject 4xx/5xx with `HTTP_STATUS`. @default the client's */
  throwHttpErrors?: boolean;
  /**
   * This call's retry, merged over the client's: `maxRetries`, `baseDelay`, `maxDelay`, `jitter`,
   * `throttledBaseDelay`, `maxRetryAfter`, `statuses`, `shouldRetry`; or `false`. Works on a client
   * with `retry: false` too (then without a budget). The retry budget stays the client's.
   */
  retry?:
    | {
        maxRetries?: number;
        baseDelay?: number;
        maxDelay?: number;
        jitter?: 'full' | 'equal' | 'none';
        throttledBaseDelay?: number;
        maxRetryAfter?: number;
        statuses?: readonly number[];
        shouldRetry?: (outcome: AttemptOutcome) => boolean | undefined;
      }
    | false;
  /**
   * `false` bypasses the breaker for this call; `isFailure` judges this call's outcome. Thresholds
   * and durations are the client's: they belong to the circuit every call of the key shares.
   */
  circuitBreaker?: { isFailure?: (outcome: AttemptOutcome) => boolean } | false;
  /**
   * `false` bypasses the rate limiter; `key` picks the bucket, `cost` the tokens taken, `strategy`
   * and `maxWait` whether and how long this call waits for a slot (the bucket itself, its rate
   * and burst, is the client's: it is shared by every call).
   */
  rateLimit?: { key?: string; cost?: number; strategy?: 'wait' | 'error'; maxWait?: number } | false;
}

/** Request options for the verb helpers (`get(path, opts)`): no `method` or `path`. */
export type VerbOptions = Omit<RequestOptions, 'method' | 'path'>;

/** Options of a verb helper called without a path: `get({ url: 'https://...' })`. */
export type UrlVerbOptions = VerbOptions & { url: string | URL };
