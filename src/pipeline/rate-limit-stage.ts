import { asError, isBulwarkError } from '../errors.js';
import type { RateLimiter, RateLimitStrategy } from '../policies/rate-limiter.js';
import { rateLimitStateFromHeaders, retryHintFromHeaders } from '../policies/server-hints.js';
import type { BulwarkResponse } from '../http/response.js';
import { urlOf } from './cancel.js';
import { policyKeyOf, type PolicyKey } from './policy-key.js';
import type { CallContext, Middleware, Next } from './types.js';

/** Request-level rate limit settings: `false` bypasses the limiter for this call. */
export interface RateLimitOverride {
  /** Bucket key for this call. */
  key?: string;
  /** Tokens this call takes. @default 1 */
  cost?: number;
  /** This call's strategy: wait for a slot or fail fast. @default the client's */
  strategy?: RateLimitStrategy;
  /** This call's longest wait for a slot, ms; implies `strategy: 'wait'`. @default the client's */
  maxWait?: number;
}

/** How the client keys buckets: the origin (or the request's `key`), a fixed string, or a function. */
export type RateLimitKey = PolicyKey;

/**
 * The rate limit stage: one token per attempt (quotas count what reaches the wire). A free slot
 * costs a synchronous decision; a wait honours the caller's signal and the deadline. Answers
 * that say the server's quota is spent (429 with `Retry-After`, `RateLimit` or
 * `X-RateLimit-Remaining: 0`) hold the bucket until the server's reset.
 */
export function createRateLimitStage(limiter: RateLimiter, key: RateLimitKey | undefined): Middleware {
  return (ctx, next) => {
    const override = ctx.policies.rateLimit as RateLimitOverride | false | undefined;
    if (override === false) return next(ctx);
    let bucket: string;
    try {
      bucket = override?.key ?? policyKeyOf(ctx, key, 'rateLimit.key');
    } catch (error) {
      return Promise.reject(asError(error));
    }
    const clock = ctx.runtime.clock;
    const started = clock.now();
    let wait: Promise<void> | undefined;
    // A promise is not always a wait: a shared store (Redis) answers every decision through one.
    let waited = false;
    try {
      wait = limiter.acquire(bucket, {
        signal: ctx.signal,
        deadline: ctx.deadline,
        cost: override?.cost,
        strategy: override?.strategy,
        maxWait: override?.maxWait,
        onWait: () => {
          waited = true;
        },
      });
    } catch (error) {
      return Promise.reject(decorate(ctx, bucket, error));
    }
    if (wait === undefined) return sendAndLearn(ctx, next, limiter, bucket);
    return wait.then(
      () => {
        if (waited) ctx.runtime.events.rateLimitWait(ctx, bucket, clock.now() - started);
        return sendAndLearn(ctx, next, limiter, bucket);
      },
      (error: unknown) => {
        throw decorate(ctx, bucket, error);
      },
    );
  };
}

/** Names of the headers that carry quota hints (`RateLimit*`, `X-RateLimit-*`, `Retry-After`). */
const HINT_PREFIXES = ['ratelimit', 'x-ratelimit', 'retry-after'];

async function sendAndLearn(
  ctx: CallContext,
  next: Next,
  limiter: RateLimiter,
  bucket: string,
): Promise<BulwarkResponse> {
  const response = await next(ctx);
  if (response.status !== 429 && !response.hasHeaderPrefix(HINT_PREFIXES)) return response;
  const now = ctx.runtime.clock.now();
  const headers = response.headers;
  let holdMs: number | undefined;
  if (response.status === 429) {
    holdMs = retryHintFromHeaders(headers, now)?.delayMs;
    // A 429 says the quota is spent: nothing remains until the hint's reset.
    if (holdMs !== undefined) ctx.runtime.events.rateLimitHint(bucket, 0, holdMs);
  }
  if (holdMs === undefined) {
    const state = rateLimitStateFromHeaders(headers, now);
    if (state !== undefined && state.remaining <= 0 && state.resetMs !== undefined) holdMs = state.resetMs;
    if (state !== undefined && state.resetMs !== undefined)
      ctx.runtime.events.rateLimitHint(bucket, state.remaining, state.resetMs);
  }
  if (holdMs !== undefined && holdMs > 0) limiter.hold(bucket, holdMs);
  return response;
}

function decorate(ctx: CallContext, bucket: string, error: unknown): Error {
  if (isBulwarkError(error, 'RATE_LIMITED')) {
    error.method = ctx.method;
    error.url = urlOf(ctx);
    ctx.runtime.events.rateLimitRejected(ctx, bucket, error);
  }
  return (ctx.cancelled ?? error) as Error;
}
