import { circuitOpenError } from '../policies/circuit-breaker.js';
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
import { policyKeyOf, type PolicyKey } from './policy-key.js';
import type { CallContext, Middleware, Next } from './types.js';

/** Request-level breaker settings: `false` bypasses the breaker for this call. */
export interface BreakerOverride {
  /** Judges an attempt's outcome for this call. */
  isFailure?: (outcome: AttemptOutcome) => boolean;
}

/**
 * The circuit breaker stage: one breaker per key (the origin unless the request's `key` or the
 * client's `circuitBreaker.key` says otherwise). Each
 * attempt is one outcome. Rejections by inner stages (rate limit, concurrency) and the caller's
 * own abort or deadline are ignored, never counted as failures; an open circuit fails fast with
 * `CIRCUIT_OPEN` before anything is sent.
 */
export function createBreakerStage(
  breakers: CircuitBreakers,
  isFailure: (outcome: AttemptOutcome) => boolean = defaultIsFailure,
  key?: PolicyKey,
): Middleware {
  return (ctx, next) => {
    const override = ctx.policies.circuitBreaker as BreakerOverride | false | undefined;
    if (override === false) return next(ctx);
    return guarded(ctx, next, breakers, override?.isFailure ?? isFailure, key);
  };
}

async function guarded(
  ctx: CallContext,
  next: Next,
  breakers: CircuitBreakers,
  isFailure: (outcome: AttemptOutcome) => boolean,
  keyOption: PolicyKey | undefined,
): Promise<BulwarkResponse> {
  const key = policyKeyOf(ctx, keyOption, 'circuitBreaker.key');
  const breaker = breakers.get(key);
  const permit = breaker.tryAcquire();
  if (!permit.allowed) throw circuitRejection(ctx, key, permit.retryAfterMs);
  let response: BulwarkResponse;
  try {
    response = await next(ctx);
  } catch (error) {
    if (isRejection(error) || isCallerEnded(error)) breaker.onIgnore(permit);
    else if (judgeFailure(isFailure, ctx, undefined, error)) breaker.onFailure(permit);
    else breaker.onSuccess(permit);
    throw error;
  }
  if (judgeFailure(isFailure, ctx, response, undefined)) breaker.onFailure(permit);
  else breaker.onSuccess(permit);
  return response;
}

/** The `CIRCUIT_OPEN` error of this call, reported to the events (channel, span, metric, log). */
export function circuitRejection(ctx: CallContext, key: string, retryAfterMs: number): Error {
  const error = circuitOpenError(key, retryAfterMs);
  error.method = ctx.method;
  error.url = urlOf(ctx);
  ctx.runtime.events.circuitRejected(ctx, key, retryAfterMs, error);
  return error;
}
