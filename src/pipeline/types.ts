/**
 * The call's context: the small public part middleware sees (`RequestContext`), the internal
 * rest the built-in stages share (`CallContext`), and the shapes of middleware and stages.
 */
import type { Clock, RandomSource } from '../clock.js';
import type { BulwarkError } from '../errors.js';
import type { RequestBody } from '../http/body.js';
import type { BulwarkResponse } from '../http/response.js';
import type { AttemptControl } from '../transport/attempt.js';
import type { CallPolicies } from './call-policies.js';
import type { CallEvents } from './events.js';

export type { AttemptControl, CallPolicies, RequestBody };

/**
 * One call as user middleware (`use`) sees it. Middleware may read every field and change
 * `headers`, `path`, `origin` and `body` before calling `next`.
 */
export interface RequestContext {
  /** Uppercase method. */
  method: string;
  /** `scheme://host:port` of the target. */
  origin: string;
  /** Path and query string, starting with `/`. */
  path: string;
  /** The unfilled path template (`/users/:id`) when `params` were used: telemetry's `url.template`. */
  urlTemplate: string | undefined;
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
}

/**
 * The whole state of one call as the built-in stages share it: the public {@link RequestContext}
 * and the internals no middleware sees (not exported from the package).
 */
export interface CallContext extends RequestContext {
  /**
   * True when the caller's `url` carried userinfo (`https://user:pass@host/`): it is sent as
   * `Authorization`, and `url.full` shows `REDACTED:REDACTED@` for it, as the conventions ask.
   */
  userinfo?: boolean;
  /** What set `deadline`: the total timeout, an ambient `withDeadline`, or the request's `deadline`. */
  deadlineSource: 'timeout' | 'deadline' | 'none';
  /** Per-call policy settings (the client's, merged with the request's overrides). */
  policies: CallPolicies;
  /** The call's span, when tracing records. */
  span: unknown;
  /** Set once the call is cancelled (total timeout, deadline, caller abort). */
  cancelled: BulwarkError | undefined;
  /** Live attempts of the call: cancelling the call aborts them. */
  live: AttemptControl | undefined;
  /**
   * Aborted when the call is cancelled, so a wait that has its own timer (the retry
   * backoff) ends at once. Made only when such a wait starts.
   */
  wake?: AbortController | undefined;
  /** Runtime shared by the client's calls. */
  readonly runtime: ClientRuntime;
  /** Where the client's list of calls in flight holds this call; -1 outside it. */
  inFlightSlot?: number;
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

/** Continues the pipeline from user middleware. */
export type Next = (ctx: RequestContext) => Promise<BulwarkResponse>;

/**
 * User middleware (the client's `use: [...]`): sees the call's public context and continues it
 * with `next`.
 * @example
 * const addTenant: Middleware = (ctx, next) => { ctx.headers['x-tenant'] = 'acme'; return next(ctx); };
 */
export type Middleware = (ctx: RequestContext, next: Next) => Promise<BulwarkResponse>;

/** Continues the pipeline from a built-in stage. */
export type StageNext = (ctx: CallContext) => Promise<BulwarkResponse>;

/** A built-in stage: the shape of every row's middleware, reading the call's internals. */
export type Stage = (ctx: CallContext, next: StageNext) => Promise<BulwarkResponse>;
