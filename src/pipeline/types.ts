import type { Clock, RandomSource } from '../clock.js';
import type { BulwarkError } from '../errors.js';
import type { RequestBody } from '../http/body.js';
import type { BulwarkResponse } from '../http/response.js';
import type { AttemptControl } from '../transport/attempt.js';
import type { CallEvents } from './events.js';

export type { AttemptControl, RequestBody };

/**
 * The state of one logical call as it passes through the pipeline. Middleware may read every
 * field and change `headers`, `path`, `origin` and `body` before calling `next`.
 */
export interface CallContext {
  /** Uppercase method. */
  method: string;
  /** `scheme://host:port` of the target. */
  origin: string;
  /** Path and query string, starting with `/`. */
  path: string;
  /** The unfilled path template (`/users/:id`) when `params` were used: telemetry's `url.template`. */
  urlTemplate: string | undefined;
  /**
   * True when the caller's `url` carried userinfo (`https://user:pass@host/`): it is sent as
   * `Authorization`, and `url.full` shows `REDACTED:REDACTED@` for it, as the conventions ask.
   */
  userinfo?: boolean;
  /** Lowercase header names to values. Copied before the first attempt; attempts copy again. */
  headers: Record<string, string>;
  body: RequestBody;
  /** True when the body can be sent again (strings, buffers, none). */
  bodyReplayable: boolean;
  /** True for idempotent methods, `idempotent: true` or an `Idempotency-Key` header. */
  idempotent: boolean;
  /** Breaker and limiter key: the origin unless `key` was given. */
  key: string;
  /** The caller's signal. */
  signal: AbortSignal | undefined;
  /** Absolute deadline (epoch ms of the client's clock), `Infinity` when none. */
  deadline: number;
  /** What set `deadline`: the total timeout, an ambient `withDeadline`, or the request's `deadline`. */
  deadlineSource: 'timeout' | 'deadline' | 'none';
  /** The total timeout in ms (for `TIMEOUT` errors), or 0 when none. */
  totalTimeoutMs: number;
  /** The attempt timeout in ms, or 0 when none. */
  attemptTimeoutMs: number;
  /** Clock time when the call started. */
  readonly startedAt: number;
  /** Attempts made so far (the response's `attempts`). */
  attempts: number;
  /** `req_` + 16 hex; sent as `x-request-id` unless disabled. */
  correlationId: string;
  /** Per-call policy settings (the client's, merged with the request's overrides). */
  policies: CallPolicies;
  /** The call's span, when tracing records. */
  span: unknown;
  /** Set once the call is cancelled (total timeout, deadline, caller abort). */
  cancelled: BulwarkError | undefined;
  /** @internal Live attempts of the call: cancelling the call aborts them. */
  live: AttemptControl | undefined;
  /**
   * @internal Aborted when the call is cancelled, so a wait that has its own timer (the retry
   * backoff) ends at once. Made only when such a wait starts.
   */
  wake?: AbortController | undefined;
  /** Runtime shared by the client's calls. */
  readonly runtime: ClientRuntime;
}

/** Per-call policy settings the built-in stages read. `false` disables a stage for this call. */
export interface CallPolicies {
  retry: unknown;
  circuitBreaker: unknown;
  rateLimit: unknown;
  /** The HTTP cache mode of this call (`false`: leave the cache alone). */
  cache: unknown;
  throwHttpErrors: boolean;
}

/** What the client shares with its stages. */
export interface ClientRuntime {
  readonly name: string;
  readonly clock: Clock;
  readonly random: RandomSource;
  /** Where stages report their decisions (channels, OpenTelemetry, logs). */
  readonly events: CallEvents;
  /** Set by `close()` and `destroy()`: from then on no attempt is retried or hedged. */
  closed: boolean;
}

/** Continues the pipeline. */
export type Next = (ctx: CallContext) => Promise<BulwarkResponse>;

/**
 * A middleware: the user's `use: [...]` entries and every built-in stage share this shape.
 * @example
 * const addTenant: Middleware = (ctx, next) => { ctx.headers['x-tenant'] = 'acme'; return next(ctx); };
 */
export type Middleware = (ctx: CallContext, next: Next) => Promise<BulwarkResponse>;
