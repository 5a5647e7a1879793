import { callbackFailed, isBulwarkError, type BulwarkError, type BulwarkErrorCode } from '../errors.js';
import type { BulwarkResponse } from '../client/response.js';
import { urlOf } from './deadline-stage.js';
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

/** Refusals by bulwark itself, and the caller's own callbacks failing: they say nothing of the upstream's health. */
const REJECTIONS: ReadonlySet<BulwarkErrorCode> = new Set<BulwarkErrorCode>([
  'CALLBACK_FAILED',
  'CIRCUIT_OPEN',
  'RATE_LIMITED',
  'CONCURRENCY_LIMITED',
  'INVALID_OPTIONS',
  'INVALID_REQUEST',
  'TEST_MODE_BLOCKED',
  'BLOCKED_DESTINATION',
]);

/** True for an error one stage raised on its own: no other stage counts it as a failure. */
export function isRejection(error: unknown): boolean {
  return isBulwarkError(error) && REJECTIONS.has(error.code);
}

/** True when the caller (signal) or the call's own budget ended the attempt. */
export function isCallerEnded(error: unknown): boolean {
  return isBulwarkError(error) && (error.code === 'ABORTED' || error.code === 'DEADLINE_EXCEEDED');
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

/** The default health judgement: network errors, timeouts, 5xx and 429 are failures. */
export function defaultIsFailure(outcome: AttemptOutcome): boolean {
  return isDefaultFailure(outcome.response, outcome.error);
}

function isDefaultFailure(response: BulwarkResponse | undefined, error: unknown): boolean {
  if (response !== undefined) return response.status >= 500 || response.status === 429;
  const code = (error as Partial<BulwarkError> | undefined)?.code;
  return code === 'NETWORK' || code === 'ATTEMPT_TIMEOUT' || code === 'TIMEOUT';
}

/**
 * `isFailure(outcomeOf(ctx, response, error))`, except that the default judgement reads the
 * status or code directly: no outcome object and no redacted URL for every call of a client that
 * kept the default.
 * @throws BulwarkError `CALLBACK_FAILED` when the caller's `isFailure` throws (the stage then
 *   counts the attempt as neither success nor failure)
 */
export function judgeFailure(
  isFailure: (outcome: AttemptOutcome) => boolean,
  ctx: CallContext,
  response: BulwarkResponse | undefined,
  error: unknown,
): boolean {
  if (isFailure === defaultIsFailure) return isDefaultFailure(response, error);
  try {
    return isFailure(outcomeOf(ctx, response, error));
  } catch (thrown) {
    throw callbackFailed('circuitBreaker.isFailure', thrown);
  }
}
