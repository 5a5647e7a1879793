// The types of createClient's options: timeouts, deadlines, pool, telemetry, logging, and the sections of the policies.
import type { Clock, RandomSource } from '../clock.js';
import type { Middleware } from '../pipeline/types.js';
import type { Transport } from '../transport/attempt.js';
import type { HeadersInit } from './headers.js';
import type { PoolOptions } from './pool-options.js';
import type { DeadlineOptions, TimeoutOptions } from './timeouts.js';
import type { CacheOptions } from '../pipeline/cache-options.js';
import type { CircuitBreakerClientOptions } from '../pipeline/circuit-breaker-options.js';
import type { ConcurrencyClientOptions } from '../pipeline/concurrency-options.js';
import type { RateLimitClientOptions } from '../pipeline/rate-limit-options.js';
import type { HedgingOptions, RetryClientOptions } from '../pipeline/retry-options.js';
import type { LoggingOptions } from './logging-options.js';
import type { TelemetryClientOptions } from './telemetry-options.js';

export type { LoggingOptions } from './logging-options.js';
export type { PoolOptions } from './pool-options.js';
export type { TelemetryClientOptions } from './telemetry-options.js';
export type { DeadlineOptions, TimeoutOptions } from './timeouts.js';

/** Options of `createClient`. Every part has a default; nothing is required. */
export interface ClientOptions {
  /**
   * Name of the client in spans, metrics, logs and state keys.
   * @default 'default'
   */
  name?: string;
  /**
   * Base URL for `path`s (`https://api.github.com`): http(s), no query, fragment or credentials.
   * Without it, a call's path is an absolute URL, or the call passes `url`.
   * @default none
   */
  baseUrl?: string | URL;
  /**
   * Headers sent with every request; a request's headers merge over them, and `undefined`
   * removes one (a default included).
   * @default { 'user-agent': 'bulwark/<version>', 'accept-encoding': 'gzip, deflate, br' } (the latter while `decompress` is on)
   */
  headers?: HeadersInit;
  /** Timeouts; `false` disables both. @default { attempt: 10_000, total: 30_000 } */
  timeout?: TimeoutOptions | false;
  /** Propagation of the remaining budget downstream; `false` sends nothing. @default { header: 'deadline' } */
  deadline?: DeadlineOptions | false;
  /** Connection pools. @default { connections: 50, pipelining: 1 } */
  pool?: PoolOptions;
  /**
   * Reject 4xx and 5xx responses with `HTTP_STATUS` instead of resolving them.
   * @default false
   */
  throwHttpErrors?: boolean;
  /**
   * Largest response body accepted (decoded), bytes.
   * @default 52_428_800
   */
  maxResponseBytes?: number;
  /**
   * Header carrying the call's correlation id; `false` sends none.
   * @default 'x-request-id'
   */
  requestIdHeader?: string | false;
  /** User middleware, outermost first; runs outside every built-in stage. @default [] */
  use?: readonly Middleware[];
  /** Replaces the network (the mock transport or a cassette of `bulwark/testing`). @default undici pools owned by the client */
  transport?: Transport;
  /** Time source (the virtual clock of `bulwark/testing` in tests). @default systemClock */
  clock?: Clock;
  /** Random source in [0, 1). @default Math.random */
  random?: RandomSource;
  /**
   * Refuse every real request with `TEST_MODE_BLOCKED`. Also on when the environment has `BULWARK_TEST_MODE=1` (or `true`, `yes`, `on`).
   * @default false
   */
  testMode?: boolean;
  /** Retries with backoff, server hints and a budget; `false` disables. @default { maxRetries: 3 } */
  retry?: RetryClientOptions | false;
  /** Circuit breaker per key (origin); `false` disables. @default { failureRatio: 0.5, minimumCalls: 20 } */
  circuitBreaker?: CircuitBreakerClientOptions | false;
  /** Local (or, with `store`, global) rate limit. @default off */
  rateLimit?: RateLimitClientOptions | false;
  /** Adaptive concurrency limit. @default off */
  concurrency?: ConcurrencyClientOptions | false;
  /** Hedged requests for idempotent calls. @default false */
  hedging?: HedgingOptions | boolean;
  /** Share identical in-flight GET/HEAD requests. @default false */
  dedupe?: boolean;
  /**
   * An HTTP cache (RFC 9111) whose stale entries stand in for errors and refusals
   * (`stale-if-error`); `true` is a private cache in memory. See docs/caching.md.
   * @default false
   */
  cache?: CacheOptions | boolean;
  /** OpenTelemetry through `@opentelemetry/api` when installed; `false` turns it off. @default { propagate: true } with the global providers */
  telemetry?: TelemetryClientOptions | false;
  /** Structured logs through a pino-compatible logger. @default silent (no logger) */
  logging?: LoggingOptions;
  /** Redirects followed per attempt; 0 hands 3xx back. @default 5 */
  maxRedirects?: number;
  /** Follow https → http redirects. @default false */
  allowDowngrade?: boolean;
  /** Only these hosts may be called (`api.example.com`, `*.example.com`). @default any host */
  allowedHosts?: readonly string[];
  /** Refuse private, loopback and link-local destinations (checked on the resolved address). @default false */
  blockPrivateIps?: boolean;
  /** Decode gzip, deflate and br bodies (bounded by `maxResponseBytes`). @default true */
  decompress?: boolean;
}
