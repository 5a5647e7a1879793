import { isBulwarkError, traitsOf } from '../errors.js';
import type { ConcurrencyLimiter, ConcurrencyToken } from '../policies/concurrency/index.js';
import type { BulwarkResponse } from '../http/response.js';
import { urlOf } from './cancel.js';
import { isCallerEnded, isRejection, outcomeOf, type AttemptOutcome } from './outcome.js';
import type { CallContext, Middleware, Next } from './types.js';

/**
 * The adaptive concurrency stage: an attempt takes a slot (at once when under the limit, else
 * from the queue up to `maxQueue`) and gives it back with one sample when its response body
 * has ended. Timeouts, network errors, 429 and 503 are `dropped` samples (congestion) unless
 * `isDropped` judges otherwise (Hardhat's `should_regulate`); the caller's abort and rejections
 * by other stages carry no sample.
 */
export function createConcurrencyStage(
  limiter: ConcurrencyLimiter,
  isDropped?: (outcome: AttemptOutcome) => boolean,
): Middleware {
  return (ctx, next) => {
    let slot: ConcurrencyToken | Promise<ConcurrencyToken>;
    try {
      slot = limiter.acquire(
        ctx.signal === undefined
          ? { deadline: ctx.deadline }
          : { signal: ctx.signal, deadline: ctx.deadline },
      );
    } catch (error) {
      return Promise.reject(decorate(ctx, error));
    }
    if (!(slot instanceof Promise)) return run(ctx, next, slot, isDropped);
    const { limit, inflight, queued } = limiter.snapshot();
    ctx.runtime.events.concurrencyQueued(ctx, limit, inflight, queued);
    return slot.then(
      (token) => run(ctx, next, token, isDropped),
      (error: unknown) => {
        throw decorate(ctx, error);
      },
    );
  };
}

async function run(
  ctx: CallContext,
  next: Next,
  token: ConcurrencyToken,
  isDropped: ((outcome: AttemptOutcome) => boolean) | undefined,
): Promise<BulwarkResponse> {
  let response: BulwarkResponse;
  try {
    response = await next(ctx);
  } catch (error) {
    // A timeout, or a refused or reset connection (HTTP's gRPC UNAVAILABLE), is congestion:
    // counted as a success, its short RTT would grow the limit during an outage. Anything else
    // (the caller's abort, another stage's refusal, a bad redirect) says nothing of capacity,
    // and neither does an error the user's `isDropped` clears.
    const judged =
      isDropped === undefined || isRejection(error) || isCallerEnded(error)
        ? isCongestion(error)
        : isDropped(outcomeOf(ctx, undefined, error));
    if (judged) token.dropped();
    else token.ignore();
    throw error;
  }
  const congested =
    isDropped === undefined
      ? response.status === 429 || response.status === 503
      : isDropped(outcomeOf(ctx, response, undefined));
  const source = response.source;
  source.whenSettled(() => {
    if (congested || isCongestion(source.error)) token.dropped();
    else if (source.error !== undefined && isCallerEnded(source.error)) token.ignore();
    else token.success();
  });
  return response;
}

function isCongestion(error: unknown): boolean {
  return traitsOf(error)?.congestion === true;
}

function decorate(ctx: CallContext, error: unknown): Error {
  if (isBulwarkError(error, 'CONCURRENCY_LIMITED')) {
    error.method = ctx.method;
    error.url = urlOf(ctx);
    ctx.runtime.events.concurrencyRejected(ctx, error);
  }
  return (ctx.cancelled ?? error) as Error;
}
