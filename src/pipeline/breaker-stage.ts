// The circuit breaker stage: admits or refuses each attempt per key and reports its outcome to the breaker.
import { circuitOpenError, type CircuitBreaker, type CircuitPermit } from '../policies/circuit-breaker.js';
import type { CircuitBreakers } from '../policies/circuit-breakers.js';
import type { BulwarkResponse } from '../http/response.js';
import { sentOrThrown } from '../errors.js';
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
import type { BreakerOverride } from './call-policies.js';
import type { CallContext, Stage, StageNext } from './types.js';

export type { BreakerOverride };

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
): Stage {
  const deadlineHeader = settings.deadlineHeader ?? false;
  const key = settings.key;
  return (ctx, next) => {
    const override = ctx.policies.circuitBreaker;
    if (override === false) return next(ctx);
    return guarded(ctx, next, breakers, override?.isFailure ?? isFailure, deadlineHeader, key);
  };
}

// Not async: one `then` on the inner stages' promise, with no frame of its own to suspend.
function guarded(
  ctx: CallContext,
  next: StageNext,
  breakers: CircuitBreakers,
  isFailure: (outcome: AttemptOutcome) => boolean,
  deadlineHeader: string | false,
  keyOption: PolicyKey | undefined,
): Promise<BulwarkResponse> {
  let breaker: CircuitBreaker;
  let permit: CircuitPermit;
  try {
    const key = policyKeyOf(ctx, keyOption, 'circuitBreaker.key');
    breaker = breakers.get(key);
    const decision = breaker.tryAcquire();
    if (!decision.allowed) throw circuitRejection(ctx, key, decision.retryAfterMs);
    permit = decision;
  } catch (error) {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the key's or the circuit's own error
    return Promise.reject(error);
  }
  return sentOrThrown(next, ctx).then(
    (response) => {
      report(breaker, permit, judged(isFailure, ctx, response, undefined, deadlineHeader, breaker, permit));
      return response;
    },
    (error: unknown) => {
      if (isRejection(error) || isCallerEnded(error)) breaker.onIgnore(permit);
      else report(breaker, permit, judged(isFailure, ctx, undefined, error, deadlineHeader, breaker, permit));
      throw error;
    },
  );
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
