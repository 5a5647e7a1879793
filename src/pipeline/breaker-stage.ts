import { circuitOpenError, type CircuitBreaker, type CircuitPermit } from '../policies/circuit-breaker.js';
import type { CircuitBreakers } from '../policies/circuit-breakers.js';
import type { BulwarkResponse } from '../http/response.js';
import { urlOf } from './cancel.js';
import {
  defaultIsFailure,
  isCallerEnded,
  isRejection,
  judgeHealth,
  type AttemptOutcome,
  type Health,
} from './outcome.js';
import { policyKeyOf, type PolicyKey } from './policy-key.js';
import type { CallContext, Middleware, Next } from './types.js';

/** Request-level breaker settings: `false` bypasses the breaker for this call. */
export interface BreakerOverride {
  /** Judges an attempt's outcome for this call. */
  isFailure?: (outcome: AttemptOutcome) => boolean;
}

/** What the breaker stage needs besides the breakers. */
export interface BreakerStageSettings {
  /** The client's deadline propagation header (or false), for the default health judgement. */
  readonly deadlineHeader?: string | false;
  /** The client's `circuitBreaker.key`. */
  readonly key?: PolicyKey | undefined;
}

/**
 * The circuit breaker stage: one breaker per key (the origin unless the request's `key` or the
 * client's `circuitBreaker.key` says otherwise). Each attempt is one outcome. Rejections by
 * inner stages (rate limit, concurrency), the caller's own abort or deadline, and neutral
 * outcomes (load signals, see {@link judgeHealth}) are ignored, never counted as failures; an
 * open circuit fails fast with `CIRCUIT_OPEN` before anything is sent.
 */
export function createBreakerStage(
  breakers: CircuitBreakers,
  isFailure: (outcome: AttemptOutcome) => boolean = defaultIsFailure,
  settings: BreakerStageSettings = {},
): Middleware {
  const deadlineHeader = settings.deadlineHeader ?? false;
  const key = settings.key;
  return (ctx, next) => {
    const override = ctx.policies.circuitBreaker as BreakerOverride | false | undefined;
    if (override === false) return next(ctx);
    return guarded(ctx, next, breakers, override?.isFailure ?? isFailure, deadlineHeader, key);
  };
}

async function guarded(
  ctx: CallContext,
  next: Next,
  breakers: CircuitBreakers,
  isFailure: (outcome: AttemptOutcome) => boolean,
  deadlineHeader: string | false,
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

/** The `CIRCUIT_OPEN` error of this call, reported to the events (channel, span, metric, log). */
export function circuitRejection(ctx: CallContext, key: string, retryAfterMs: number): Error {
  const error = circuitOpenError(key, retryAfterMs);
  error.method = ctx.method;
  error.url = urlOf(ctx);
  ctx.runtime.events.circuitRejected(ctx, key, retryAfterMs, error);
  return error;
}
