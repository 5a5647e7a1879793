// The types of createClient's options: timeouts, deadlines, pool, telemetry, logging, and the sections of the policies.
import type { Clock, RandomSource } from '../clock.js';
import type { Middleware } from '../pipeline/types.js';
import type { Transport } from '../transport/attempt.js';
import type { OriginPoolOptions, TlsOptions } from '../transport/undici-transport.js';
import type { HeadersInit } from './headers.js';
import type { CacheOptions } from '../pipeline/cache-options.js';
import type { CircuitBreakerClientOptions } from '../pipeline/circuit-breaker-options.js';
import type { ConcurrencyClientOptions } from '../pipeline/concurrency-options.js';
import type { RateLimitClientOptions } from '../pipeline/rate-limit-options.js';
import type { HedgingOptions, RetryClientOptions } from '../pipeline/retry-options.js';
import type { TelemetryOptions } from '../observability/otel.js';
import type { Logger, LogLevelSetting } from '../observability/logger.js';
import type { RedactorOptions } from '../observability/redact.js';

/** Attempt and total timeouts in ms; `false` disables one. */
export interface TimeoutOptions {
  /**
   * Longest time one attempt may take in ms, from send to the end of its response body, from 1
   * to 2_147_483_647.
   * @default 10_000, or `total` when that is smaller
   */
  attempt?: number | false;
  /**
   * Longest time the whole call may take in ms, retries and backoff included, from 1 to
   * 2_147_483_647. Validated ≥ `attempt`.
   * @default 30_000
   */
  total?: number | false;
}

/** How the remaining time travels downstream. */
export interface DeadlineOptions {
  /**
   * Header carrying the remaining milliseconds, recomputed for each attempt.
   * @default 'deadline'
   */
  header?: string;
}

/** Connection pools of the client (never shared with another client). */
export interface PoolOptions extends OriginPoolOptions {
  /** Per-origin overrides, keyed by origin (`https://uploads.example.com`). @default none: every origin gets the settings above */
  origins?: Record<string, OriginPoolOptions>;
  /** TLS settings; certificate verification is on unless `tls.rejectUnauthorized` is `false`. @default Node's CA store, verification on */
  tls?: TlsOptions;
  /** An HTTP(S) proxy URL every request goes through (`http://proxy:8080`). @default none: direct connections */
  proxy?: string;
}

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

/** OpenTelemetry settings. */
export interface TelemetryClientOptions {
  /** Inject W3C trace context into requests. @default true */
  propagate?: boolean;
  /** A tracer provider. @default the global one */
  tracerProvider?: TelemetryOptions['tracerProvider'];
  /** A meter provider. @default the global one */
  meterProvider?: TelemetryOptions['meterProvider'];
  /**
   * Names the call and attempt spans (Hardhat's `span_name`); a throw or an empty result keeps the default.
   * @default `{METHOD} {url.template}`, or `{METHOD}` without a template
   */
  spanName?: TelemetryOptions['spanName'];
  /**
   * Statuses (400–599) spans count as a success (Hardhat's `mark_status_ok`): no ERROR, no `error.type`.
   * @default []
   */
  okStatuses?: readonly number[];
  /**
   * The span status a success sets: `'unset'` (the HTTP semantic conventions) or `'ok'`.
   * @default 'unset'
   */
  successStatus?: 'unset' | 'ok';
}

/** Logging settings. */
export interface LoggingOptions {
  /** A pino-compatible logger (`info`, `warn`, `error`, `debug`, `child`...). @default none: silent */
  logger?: Logger;
  /** Lowest level written. @default 'info' when a logger is given */
  level?: LogLevelSetting;
  /** Log request and response headers (redacted). @default false */
  logHeaders?: boolean;
  /**
   * Log bodies, redacted, as HTTPower's `log_body`: the request body (given as `json`, `form` or a
   * string `body`) on its `→` line, and the final response body on a `body` line once the caller
   * reads it with `text()`, `json()` or `arrayBuffer()` (a streamed `body` is not logged). A
   * diagnostic switch: keep it off in production and for payment or identity services.
   * @default false
   */
  logBody?: boolean;
  /**
   * Longest body written in a line, in characters, counted after redaction; the rest is cut and
   * the line says how much was dropped. Integer 0–1_048_576.
   * @default 4_096
   */
  bodyLimit?: number;
  /** Extra names to redact; lists extend the defaults. @default the built-in header, body-field and query lists */
  redact?: RedactorOptions;
}
