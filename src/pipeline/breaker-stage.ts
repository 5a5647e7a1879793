import { circuitOpenError, type CircuitBreaker, type CircuitPermit } from '../policies/circuit-breaker.js';
import type { CircuitBreakers } from '../policies/circuit-breakers.js';
import type { BulwarkResponse } from '../client/response.js';
import { urlOf } from './deadline-stage.js';
import {
  defaultIsFailure,
  isCallerEnded,
  isRejection,
  judgeFailure,
  type AttemptOutcome,
} from './outcome.js';
import type { CallContext, Middleware, Next } from './types.js';

/** Request-level breaker settings: `false` bypasses the breaker for this call. */
export interface BreakerOverride {
  /** Judges an attempt's outcome for this call. */
  isFailure?: (outcome: AttemptOutcome) => boolean;
}

/**
 * The circuit breaker stage: one breaker per key (the origin unless `key` is given). Each
 * attempt is one outcome. Rejections by inner stages (rate limit, concurrency) and the caller's
 * own abort or deadline are ignored, never counted as failures; an open circuit fails fast with
 * `CIRCUIT_OPEN` before anything is sent.
 */
export function createBreakerStage(
  breakers: CircuitBreakers,
  isFailure: (outcome: AttemptOutcome) => boolean = defaultIsFailure,
): Middleware {
  return (ctx, next) => {
    const override = ctx.policies.circuitBreaker as BreakerOverride | false | undefined;
    if (override === false) return next(ctx);
    return guarded(ctx, next, breakers, override?.isFailure ?? isFailure);
  };
}

async function guarded(
  ctx: CallContext,
  next: Next,
  breakers: CircuitBreakers,
  isFailure: (outcome: AttemptOutcome) => boolean,
): Promise<BulwarkResponse> {
  const breaker = breakers.get(ctx.key);
  const permit = breaker.tryAcquire();
  if (!permit.allowed) {
    const error = circuitOpenError(ctx.key, permit.retryAfterMs);
    error.method = ctx.method;
    error.url = urlOf(ctx);
    ctx.runtime.events.circuitRejected(ctx, permit.retryAfterMs, error);
    throw error;
  }
  let response: BulwarkResponse;
  try {
    response = await next(ctx);
  } catch (error) {
    if (isRejection(error) || isCallerEnded(error)) breaker.onIgnore(permit);
    else if (judged(isFailure, ctx, undefined, error, breaker, permit)) breaker.onFailure(permit);
    else breaker.onSuccess(permit);
    throw error;
  }
  if (judged(isFailure, ctx, response, undefined, breaker, permit)) breaker.onFailure(permit);
  else breaker.onSuccess(permit);
  return response;
}

/**
 * {@link judgeFailure}; when the caller's `isFailure` throws, the attempt counts for nothing (the
 * permit, a half-open probe's included, is given back), its response is drained, and the call
 * fails with `CALLBACK_FAILED`.
 */
function judged(
  isFailure: (outcome: AttemptOutcome) => boolean,
  ctx: CallContext,
  response: BulwarkResponse | undefined,
  error: unknown,
  breaker: CircuitBreaker,
  permit: CircuitPermit,
): boolean {
  try {
    return judgeFailure(isFailure, ctx, response, error);
  } catch (thrown) {
    breaker.onIgnore(permit);
    response?.dump();
    throw thrown;
  }
}
