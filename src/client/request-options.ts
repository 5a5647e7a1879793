/** The options of one request: the verbs' argument, each policy's override typed by its row of the stage table. */
import type { RequestBody } from '../pipeline/types.js';
import type { RequestCacheMode } from '../pipeline/cache-options.js';
import type { RequestCircuitBreakerOptions } from '../pipeline/circuit-breaker-options.js';
import type { RequestRateLimitOptions } from '../pipeline/rate-limit-options.js';
import type { RequestRetryOptions } from '../pipeline/retry-options.js';
import type { HeadersInit } from './headers.js';
import type { TimeoutOptions } from './timeouts.js';
import type { PathParams, QueryInit } from './url.js';

/**
 * Options of one request. Policy overrides apply to this call only: `retry` merges its backoff,
 * limits, statuses and `shouldRetry` over the client's (the retry budget stays shared), `circuitBreaker` and
 * `rateLimit` can be bypassed with `false` or adjusted (`isFailure`; `key`, `cost`, `strategy`,
 * `maxWait`). What belongs to shared state (a circuit's thresholds, a bucket's rate) stays the client's.
 */
export interface RequestOptions {
  /** HTTP method; known methods are upper-cased. @default 'GET' */
  method?: string;
  /**
   * Path relative to `baseUrl`, with `:name` placeholders filled from `params`; without a
   * `baseUrl`, an absolute URL.
   * @default none: `url` is given instead
   */
  path?: string;
  /** An absolute http(s) URL, to leave `baseUrl` on purpose. @default none: `path` is given instead */
  url?: string | URL;
  /**
   * Values for `:name` placeholders, encoded once. The unfilled path is telemetry's `url.template`.
   * A path with a placeholder and no `params` is refused.
   * @default none
   */
  params?: PathParams;
  /** Query string values, appended to any in the path; arrays repeat the key, `undefined` skips it. @default none */
  query?: QueryInit;
  /** Request headers, merged over the client's (`undefined` removes one). @default the client's */
  headers?: HeadersInit;
  /**
   * A raw body: string, Buffer, Uint8Array (replayable) or a stream (sent once, never retried).
   * @default none
   */
  body?: RequestBody;
  /** A value sent as JSON (`content-type: application/json` unless set). @default none */
  json?: unknown;
  /** Form fields sent as `application/x-www-form-urlencoded`. @default none */
  form?: Record<string, string | number | boolean | readonly string[]> | URLSearchParams;
  /** Aborts the call (`ABORTED`). @default none */
  signal?: AbortSignal;
  /**
   * Timeouts of this call in ms; `false` disables both. A `total` alone also cuts the attempt
   * timeout to it.
   * @default the client's
   */
  timeout?: TimeoutOptions | false;
  /**
   * A deadline for this call: ms from now (≥ 0) or a Date. The earliest of this, the ambient
   * deadline and `timeout.total` wins.
   * @default none
   */
  deadline?: number | Date;
  /**
   * Mark a non-idempotent request (POST, PATCH) as safe to retry. `false` forbids retries after
   * the request reached the wire, even for GET.
   * @default true for GET, HEAD, OPTIONS, PUT, DELETE, TRACE and requests with an Idempotency-Key
   */
  idempotent?: boolean;
  /** Breaker and limiter key, a non-empty string. @default the origin */
  key?: string;
  /** Reject 4xx/5xx with `HTTP_STATUS`. @default the client's */
  throwHttpErrors?: boolean;
  /**
   * This call's retry, merged over the client's; or `false`. Works on a client with
   * `retry: false` too (then without a budget). The retry budget stays the client's.
   * @default the client's
   */
  retry?: RequestRetryOptions | false;
  /**
   * `false` bypasses the breaker for this call; `isFailure` judges this call's outcome. Thresholds
   * and durations are the client's: they belong to the circuit every call of the key shares.
   * @default the client's
   */
  circuitBreaker?: RequestCircuitBreakerOptions | false;
  /**
   * `false` bypasses the rate limiter; otherwise which bucket, how many tokens and how long to
   * wait (the bucket itself, its rate and burst, is the client's: it is shared by every call).
   * @default the client's
   */
  rateLimit?: RequestRateLimitOptions | false;
  /**
   * How this call uses the client's HTTP cache: `false` leaves it alone (no read, no write);
   * `'no-cache'` always asks the origin (conditionally, when an entry has a validator);
   * `'force-cache'` uses any stored answer, however stale; `'only-if-cached'` never touches the
   * network (504 when nothing is stored). Only `false` is allowed on a client without a cache.
   * @default 'default' (RFC 9111: fresh answers are reused, stale ones revalidated)
   */
  cache?: RequestCacheMode | 'default';
}

/** Request options for the verb helpers (`get(path, opts)`): no `method` or `path`. */
export type VerbOptions = Omit<RequestOptions, 'method' | 'path'>;

/** Options of a verb helper called without a path: `get({ url: 'https://...' })`. */
export type UrlVerbOptions = VerbOptions & { url: string | URL };

export type { RequestCircuitBreakerOptions, RequestRateLimitOptions, RequestRetryOptions };
