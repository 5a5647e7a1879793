import type { Clock, RandomSource } from '../clock.js';
import type { Middleware } from '../pipeline/types.js';
import type { Transport } from '../transport/attempt.js';
import type { OriginPoolOptions, TlsOptions } from '../transport/undici-transport.js';
import type { HeadersInit } from './headers.js';
import type {
  CircuitBreakerClientOptions,
  ConcurrencyClientOptions,
  HedgingOptions,
  RateLimitClientOptions,
  RetryClientOptions,
} from './policies.js';
import type { TelemetryOptions } from '../observability/otel.js';
import type { Logger, LogLevelSetting } from '../observability/logger.js';
import type { RedactorOptions } from '../observability/redact.js';

/** Attempt and total timeouts in ms; `false` disables one. */
export interface TimeoutOptions {
  /**
   * Longest time one attempt may take, from send to the end of its response body.
   * @default 10_000
   */
  attempt?: number | false;
  /**
   * Longest time the whole call may take, retries and backoff included. Validated ≥ `attempt`.
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
  /** Per-origin overrides, keyed by origin (`https://uploads.example.com`). */
  origins?: Record<string, OriginPoolOptions>;
  /** TLS settings; certificate verification is on unless `tls.rejectUnauthorized` is `false`. */
  tls?: TlsOptions;
  /** An HTTP(S) proxy every request goes through. */
  proxy?: string;
}

/** Options of `createClient`. Every part has a default; nothing is required. */
export interface ClientOptions {
  /**
   * Name of the client in spans, metrics, logs and state keys.
   * @default 'default'
   */
  name?: string;
  /** Base URL for `path`s (`https://api.github.com`). Without it, calls pass `url`. */
  baseUrl?: string | URL;
  /** Headers sent with every request. */
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
  /** User middleware, outermost first; runs outside every built-in stage. */
  use?: readonly Middleware[];
  /** Replaces the network (the mock transport or a cassette of `bulwark/testing`). */
  transport?: Transport;
  /** Time source (the virtual clock of `bulwark/testing` in tests). @default systemClock */
  clock?: Clock;
  /** Random source in [0, 1). @default Math.random */
  random?: RandomSource;
  /**
   * Refuse every real request with `TEST_MODE_BLOCKED`. Also on when `BULWARK_TEST_MODE=1`.
   * @default false
   */
  testMode?: boolean;
  /** Retries with backoff, server hints and a budget; `false` disables. @default { maxRetries: 3 } */
  retry?: RetryClientOptions | false;
  /** Circuit breaker per key (origin); `false` disables. @default { failureRatio: 0.5, minimumCalls: 20 } */
  circuitBreaker?: CircuitBreakerClientOptions | false;
  /** Local (or, with `store`, global) rate limit. Off unless given. */
  rateLimit?: RateLimitClientOptions | false;
  /** Adaptive concurrency limit. Off unless given. */
  concurrency?: ConcurrencyClientOptions | false;
  /** Hedged requests for idempotent calls. @default false */
  hedging?: HedgingOptions | boolean;
  /** Share identical in-flight GET/HEAD requests. @default false */
  dedupe?: boolean;
  /** OpenTelemetry through `@opentelemetry/api` when installed; `false` turns it off. */
  telemetry?: TelemetryClientOptions | false;
  /** Structured logs through a pino-compatible logger. Silent by default. */
  logging?: LoggingOptions;
  /** Redirects followed per attempt; 0 hands 3xx back. @default 5 */
  maxRedirects?: number;
  /** Follow https → http redirects. @default false */
  allowDowngrade?: boolean;
  /** Only these hosts may be called (`api.example.com`, `*.example.com`). */
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
  /** A tracer provider; the global one by default. */
  tracerProvider?: TelemetryOptions['tracerProvider'];
  /** A meter provider; the global one by default. */
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
  /** A pino-compatible logger (`info`, `warn`, `error`, `debug`, `child`...). */
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
  /** Extra names to redact; lists extend the defaults. */
  redact?: RedactorOptions;
}
