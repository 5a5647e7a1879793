import { circuitOpenError, type CircuitBreaker, type CircuitPermit } from '../policies/circuit-breaker.js';
import type { CircuitBreakers } from '../policies/circuit-breakers.js';
import type { BulwarkResponse } from '../client/response.js';
import { urlOf } from './deadline-stage.js';
import {
  defaultIsFailure,
  isCallerEnded,
  isRejection,
  judgeHealth,
  type AttemptOutcome,
  type Health,
} from './outcome.js';
import type { CallContext, Middleware, Next } from './types.js';

/** Request-level breaker settings: `false` bypasses the breaker for this call. */
export interface BreakerOverride {
  /** Judges an attempt's outcome for this call. */
  isFailure?: (outcome: AttemptOutcome) => boolean;
}

/**
 * The circuit breaker stage: one breaker per key (the origin unless `key` is given). Each
 * attempt is one outcome. Rejections by inner stages (rate limit, concurrency), the caller's
 * own abort or deadline, and neutral outcomes (load signals, see {@link judgeHealth}) are
 * ignored, never counted as failures; an open circuit fails fast with `CIRCUIT_OPEN` before
 * anything is sent. `deadlineHeader` is the client's deadline propagation header (or false).
 */
export function createBreakerStage(
  breakers: CircuitBreakers,
  isFailure: (outcome: AttemptOutcome) => boolean = defaultIsFailure,
  deadlineHeader: string | false = false,
): Middleware {
  return (ctx, next) => {
    const override = ctx.policies.circuitBreaker as BreakerOverride | false | undefined;
    if (override === false) return next(ctx);
    return guarded(ctx, next, breakers, override?.isFailure ?? isFailure, deadlineHeader);
  };
}

async function guarded(
  ctx: CallContext,
  next: Next,
  breakers: CircuitBreakers,
  isFailure: (outcome: AttemptOutcome) => boolean,
  deadlineHeader: string | false,
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
    else report(breaker, permit, judged(isFailure, ctx, undefined, error, deadlineHeader, breaker, permit));
    throw error;
  }
  report(breaker, permit, judged(isFailure, ctx, response, undefined, deadlineHeader, breaker, permit));
  return response;
}

function report(breaker: CircuitBreaker, permit: CircuitPermit, health: Health): void {
  if (health === 'failure') breaker.onFailure(permit);
  else if (health === 'success') breaker.onSuccess(permit);
  else breaker.onIgnore(permit);
}

/**
 * {@link judgeHealth}; when the caller's `isFailure` throws, the attempt counts for nothing (the
 * permit, a half-open probe's included, is given back), its response is drained, and the call
 * fails with `CALLBACK_FAILED`.
 */
function judged(
  isFailure: (outcome: AttemptOutcome) => boolean,
  ctx: CallContext,
  response: BulwarkResponse | undefined,
  error: unknown,
  deadlineHeader: string | false,
  breaker: CircuitBreaker,
  permit: CircuitPermit,
): Health {
  try {
    return judgeHealth(isFailure, ctx, response, error, deadlineHeader);
  } catch (thrown) {
    breaker.onIgnore(permit);
    response?.dump();
    throw thrown;
  }
}
