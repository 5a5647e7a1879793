/**
 * bulwark's diagnostics channels: a TracingChannel around each call and one point channel per
 * policy decision. Channels are global by name, so two copies of bulwark publish to the same
 * subscribers. Point messages are published by the channel sink (event-sinks.ts), which checks
 * `hasSubscribers` before building a payload, so nobody listening costs one property read.
 *
 * Payloads never carry secrets: URLs must arrive already redacted (the publisher's duty), and
 * no headers or bodies are ever included. The page docs/diagnostics-channels.md lists them all.
 */

import { channel, tracingChannel } from 'node:diagnostics_channel';
import type { BulwarkErrorCode } from '../errors.js';

/** Channel names, stable across versions. */
export const CHANNEL_NAMES = {
  request: 'bulwark:request',
  retry: 'bulwark:retry',
  circuit: 'bulwark:circuit',
  rateLimit: 'bulwark:rate-limit',
  concurrency: 'bulwark:concurrency',
  deadline: 'bulwark:deadline',
  hedge: 'bulwark:hedge',
  redirect: 'bulwark:redirect',
  budget: 'bulwark:budget',
  cache: 'bulwark:cache',
  attempt: 'bulwark:attempt',
} as const;

/** Fields shared by point-channel payloads. */
export interface ChannelMessageBase {
  /** The client's `name`. */
  readonly client: string;
}

/** Fields of payloads tied to one call. */
export interface CallMessageFields extends ChannelMessageBase {
  /** The call's correlation id (`req_` + 16 hex). */
  readonly correlationId: string;
  /** The request method. */
  readonly method: string;
  /** The request URL, redacted (no userinfo, no secret query values, no fragment). */
  readonly url: string;
}

/**
 * The context object of `bulwark:request` (one per call). Start: identity fields. The
 * TracingChannel adds `result` (the response) or `error`; bulwark sets `status` and `attempts`
 * before `asyncStart`/`asyncEnd` are published.
 */
export interface RequestChannelContext extends CallMessageFields {
  /** The unfilled path template (`/repos/:owner/:repo`), when `params` were used. */
  readonly urlTemplate: string | undefined;
  /** Final status: the response's, or the refused response's on an `HTTP_STATUS` error. */
  status?: number;
  /** Attempts made (1 when no retry). */
  attempts?: number;
  /** Set by the TracingChannel on success: the response. */
  result?: unknown;
  /** Set by the TracingChannel on failure: the `BulwarkError`. */
  error?: unknown;
}

/** `bulwark:retry`: a retry was scheduled. */
export interface RetryMessage extends CallMessageFields {
  readonly key: string;
  /** The attempt that failed, from 1. */
  readonly attempt: number;
  /** Delay before the next attempt (backoff or the server's hint). */
  readonly delayMs: number;
  /** Status of the failed attempt, when it got an answer. */
  readonly status: number | undefined;
  /** Error code of the failed attempt, when it failed without an answer. */
  readonly errorCode: BulwarkErrorCode | undefined;
  /** Where the delay came from. */
  readonly delaySource: 'backoff' | 'retry-after' | 'rate-limit-reset';
}

/** A breaker state as the channels name it; `isolated` is open by hand (`client.circuit(key).isolate()`) until reset. */
export type CircuitState = 'closed' | 'half-open' | 'open' | 'isolated';

/** `bulwark:circuit`: a breaker changed state, or refused an attempt. */
export type CircuitMessage =
  | (ChannelMessageBase & {
      readonly type: 'transition';
      readonly key: string;
      readonly from: CircuitState;
      readonly to: CircuitState;
      /** Failure ratio of the window when the breaker tripped, 0–1 (transitions to `open`). */
      readonly failureRatio: number | undefined;
      /** How long the breaker stays open (transitions to `open`). */
      readonly openMs: number | undefined;
      /**
       * Why: `'consecutive-failures'`, `'failure-ratio'`, `'failure-threshold'`, `'open-elapsed'`,
       * `'probe-failed'`, `'probe-released'`, `'probes-passed'`, `'isolated'` or `'reset'`.
       */
      readonly reason: string | undefined;
    })
  | (CallMessageFields & { readonly type: 'rejected'; readonly key: string; readonly retryAfterMs: number });

/** `bulwark:rate-limit`: a wait, a refusal, a server hint, or a store failure. */
export type RateLimitMessage =
  | (CallMessageFields & { readonly type: 'wait'; readonly key: string; readonly waitMs: number })
  | (CallMessageFields & { readonly type: 'rejected'; readonly key: string; readonly retryAfterMs: number })
  | (ChannelMessageBase & {
      readonly type: 'hint';
      readonly key: string;
      /** Requests the server says are left, when it said. */
      readonly remaining: number | undefined;
      /** Milliseconds until the server's window resets. */
      readonly resetMs: number;
    })
  | (ChannelMessageBase & {
      readonly type: 'store-error';
      readonly key: string;
      /** What bulwark did instead (`onStoreError`). */
      readonly fallback: 'local' | 'open' | 'closed';
      /** The store error's `code` (e.g. `ECONNREFUSED`), never its message. */
      readonly code: string | undefined;
    });

/** `bulwark:concurrency`: the limit moved, an attempt queued, or one was refused. */
export type ConcurrencyMessage =
  | (ChannelMessageBase & {
      readonly type: 'limit';
      readonly key: string;
      readonly limit: number;
      readonly previousLimit: number;
      readonly inflight: number;
    })
  | (CallMessageFields & {
      readonly type: 'queued';
      readonly key: string;
      readonly limit: number;
      readonly inflight: number;
      readonly queued: number;
    })
  | (CallMessageFields & {
      readonly type: 'rejected';
      readonly key: string;
      readonly limit: number;
      readonly inflight: number;
    });

/** `bulwark:deadline`: the budget ran out before sending, in flight, or before a retry could fit. */
export interface DeadlineMessage extends CallMessageFields {
  readonly type: 'exceeded';
  /** Absolute deadline, epoch ms. */
  readonly deadline: number;
  readonly phase: 'before-send' | 'in-flight' | 'before-retry';
  /** What set the deadline: the total timeout, an ambient `withDeadline`, or the request's `deadline`. */
  readonly source: 'timeout' | 'deadline';
}

/** `bulwark:hedge`: a hedged attempt started, or the race settled. */
export type HedgeMessage =
  | (CallMessageFields & {
      readonly type: 'spawned';
      readonly key: string;
      /** The hedge's number, from 1. */
      readonly hedge: number;
      readonly delayMs: number;
    })
  | (CallMessageFields & {
      readonly type: 'settled';
      readonly key: string;
      /** Which attempt won: 0 the primary, n the n-th hedge. */
      readonly winner: number;
      /** Hedges started in total. */
      readonly hedges: number;
    });

/** `bulwark:redirect`: a redirect is being followed. */
export interface RedirectMessage extends CallMessageFields {
  readonly status: number;
  /** The redirect target, redacted. `url` is where the redirect came from. */
  readonly location: string;
  /** Redirects followed so far in this call, from 1. */
  readonly count: number;
  /** Names (never values) of headers dropped because the origin changed. */
  readonly droppedHeaders: readonly string[];
}

/** `bulwark:budget`: the retry budget refused a retry or a hedge. */
export interface BudgetMessage extends CallMessageFields {
  readonly type: 'exhausted';
  readonly key: string;
  readonly kind: 'retry' | 'hedge';
}

/** How the HTTP cache answered a call (`bulwark:cache`, and `response.cache`). */
export type CacheStatus = 'hit' | 'stale' | 'revalidated' | 'miss';

/** `bulwark:cache`: the HTTP cache answered a call, stored its answer, or served stale in place of an error. */
export interface CacheMessage extends CallMessageFields {
  /** `hit` fresh, `stale` (while revalidating, or in place of an error), `revalidated` after a 304, `miss` from the origin. */
  readonly status: CacheStatus;
  /** Age of the answer served, in seconds (0 for a miss). */
  readonly age: number;
  /** Why a stale answer was served: `'stale-while-revalidate'`, `'only-if-cached'`, or the error code or status it stood in for. */
  readonly reason: string | undefined;
}

/**
 * `bulwark:attempt`: one attempt (or redirect hop) was sent, then ended, as Tesla's telemetry
 * reports each request with its duration. `end` comes once per `start`.
 */
export type AttemptMessage =
  | (CallMessageFields & {
      readonly type: 'start';
      readonly key: string;
      /** The attempt's number, from 1 (a redirect hop keeps its attempt's number). */
      readonly attempt: number;
      /** Redirects followed before this hop, 0 for the first. */
      readonly redirects: number;
    })
  | (CallMessageFields & {
      readonly type: 'end';
      readonly key: string;
      readonly attempt: number;
      readonly redirects: number;
      /** From sending to the response's headers (or the error), ms of the client's clock. */
      readonly durationMs: number;
      /** The status, when an answer arrived. */
      readonly status: number | undefined;
      /** The error's code, when the attempt failed without an answer. */
      readonly errorCode: BulwarkErrorCode | undefined;
    });

/** The TracingChannel `bulwark:request` (`tracing:bulwark:request:start`, `:end`, `:asyncStart`, `:asyncEnd`, `:error`). */
export const requestChannel = tracingChannel<unknown, RequestChannelContext>(CHANNEL_NAMES.request);
/** `bulwark:retry` */
export const retryChannel = channel(CHANNEL_NAMES.retry);
/** `bulwark:circuit` */
export const circuitChannel = channel(CHANNEL_NAMES.circuit);
/** `bulwark:rate-limit` */
export const rateLimitChannel = channel(CHANNEL_NAMES.rateLimit);
/** `bulwark:concurrency` */
export const concurrencyChannel = channel(CHANNEL_NAMES.concurrency);
/** `bulwark:deadline` */
export const deadlineChannel = channel(CHANNEL_NAMES.deadline);
/** `bulwark:hedge` */
export const hedgeChannel = channel(CHANNEL_NAMES.hedge);
/** `bulwark:redirect` */
export const redirectChannel = channel(CHANNEL_NAMES.redirect);
/** `bulwark:budget` */
export const budgetChannel = channel(CHANNEL_NAMES.budget);
/** `bulwark:cache` */
export const cacheChannel = channel(CHANNEL_NAMES.cache);
/** `bulwark:attempt` */
export const attemptChannel = channel(CHANNEL_NAMES.attempt);

/**
 * True when anyone listens to `bulwark:request`. Build the context only then. (Node 20.13+ has
 * `TracingChannel#hasSubscribers`; the floor, 20.19, has it on every supported line.)
 */
export function requestChannelActive(): boolean {
  return requestChannel.hasSubscribers;
}

/** What `traceRequest` reads from the call's outcome. `BulwarkResponse` satisfies it. */
export interface TracedOutcome {
  readonly status: number;
  readonly attempts: number;
}

/**
 * Runs `fn(arg)` inside the `bulwark:request` TracingChannel (subscribers' bound stores are
 * active during the call), setting `status` and `attempts` on `context` before `asyncStart`.
 * Without subscribers it is `fn(arg)`. Pass the function and its argument, not a closure.
 * @example return requestChannelActive() ? traceRequest(makeContext(ctx), runCall, ctx) : runCall(ctx);
 */
export function traceRequest<A, R extends TracedOutcome>(
  context: RequestChannelContext,
  fn: (arg: A) => Promise<R>,
  arg: A,
): Promise<R> {
  if (!requestChannelActive()) return fn(arg);
  return requestChannel.tracePromise(recordOutcome<A, R>, context, undefined, context, fn, arg);
}

async function recordOutcome<A, R extends TracedOutcome>(
  context: RequestChannelContext,
  fn: (arg: A) => Promise<R>,
  arg: A,
): Promise<R> {
  try {
    const result = await fn(arg);
    context.status = result.status;
    context.attempts = result.attempts;
    return result;
  } catch (error) {
    const fields = error as { attempts?: unknown; response?: { status?: unknown } } | null;
    if (typeof fields?.attempts === 'number') context.attempts = fields.attempts;
    if (typeof fields?.response?.status === 'number') context.status = fields.response.status;
    throw error;
  }
}
