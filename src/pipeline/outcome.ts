import { callbackFailed, traitsOf, type BulwarkError } from '../errors.js';
import type { BulwarkResponse } from '../http/response.js';
import { urlOf } from './cancel.js';
import type { CallContext } from './types.js';

/**
 * What one attempt came to, as user hooks (`shouldRetry`, `isFailure`) see it: a response
 * (any status) or an error, never both.
 */
export type AttemptOutcome =
  | {
      readonly response: BulwarkResponse;
      readonly error?: undefined;
      readonly attempt: number;
      readonly method: string;
      readonly url: string;
    }
  | {
      readonly response?: undefined;
      readonly error: BulwarkError;
      readonly attempt: number;
      readonly method: string;
      readonly url: string;
    };

/**
 * True for a refusal by bulwark itself, or the caller's own callback failing (the code's
 * `rejection` trait): it says nothing of the upstream's health, so no other stage counts it.
 */
export function isRejection(error: unknown): boolean {
  return traitsOf(error)?.rejection === true;
}

/** True when the caller (signal) or the call's own budget ended the attempt (`callerEnded`). */
export function isCallerEnded(error: unknown): boolean {
  const ended = traitsOf(error)?.callerEnded;
  return ended !== undefined && ended !== false;
}

/** Builds the outcome hooks receive. */
export function outcomeOf(
  ctx: CallContext,
  response: BulwarkResponse | undefined,
  error: unknown,
): AttemptOutcome {
  const url = urlOf(ctx);
  if (response !== undefined) return { response, attempt: ctx.attempts, method: ctx.method, url };
  return { error: error as BulwarkError, attempt: ctx.attempts, method: ctx.method, url };
}

/**
 * What an attempt says of the upstream's health: a `failure` (counted against it), a `success`,
 * or `neutral`: a load signal (429, 503: the upstream is alive and asks for less) or a 504 under a
 * caller's propagated deadline (the budget was too short, not the upstream broken). A neutral
 * outcome is neither counted nor breaks a streak of failures: tripping on load signals would fail
 * calls the upstream could still serve, and it sheds on its own already.
 */
export type Health = 'success' | 'failure' | 'neutral';

/** The default health judgement: network errors, timeouts and 5xx other than 503 are failures. */
export function defaultIsFailure(outcome: AttemptOutcome): boolean {
  return defaultHealth(undefined, outcome.response, outcome.error, false) === 'failure';
}

function defaultHealth(
  ctx: CallContext | undefined,
  response: BulwarkResponse | undefined,
  error: unknown,
  deadlineHeader: string | false,
): Health {
  if (response !== undefined) {
    const status = response.status;
    if (status === 429 || status === 503) return 'neutral';
    if (status === 504 && ctx !== undefined && underCallerDeadline(ctx, deadlineHeader)) return 'neutral';
    return status >= 500 ? 'failure' : 'success';
  }
  return traitsOf(error)?.breakerFailure === true ? 'failure' : 'success';
}

/** True when the attempt told the upstream the caller's own deadline (not just the total timeout). */
function underCallerDeadline(ctx: CallContext, deadlineHeader: string | false): boolean {
  return deadlineHeader !== false && ctx.deadlineSource === 'deadline' && deadlineHeader in ctx.headers;
}

/**
 * The health an attempt's outcome tells: `isFailure(outcomeOf(ctx, response, error))` when the
 * user gave one (true: failure, false: success), else the default judgement, which reads the
 * status or code directly: no outcome object and no redacted URL for every call of a client that
 * kept the default.
 * @throws BulwarkError `CALLBACK_FAILED` when the caller's `isFailure` throws (the stage then
 *   counts the attempt as neither success nor failure)
 */
export function judgeHealth(
  isFailure: (outcome: AttemptOutcome) => boolean,
  ctx: CallContext,
  response: BulwarkResponse | undefined,
  error: unknown,
  deadlineHeader: string | false,
): Health {
  if (isFailure === defaultIsFailure) return defaultHealth(ctx, response, error, deadlineHeader);
  let failed: boolean;
  try {
    failed = isFailure(outcomeOf(ctx, response, error));
  } catch (thrown) {
    throw callbackFailed('circuitBreaker.isFailure', thrown);
  }
  return failed ? 'failure' : 'success';
}
