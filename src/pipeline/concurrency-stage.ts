import { isBulwarkError } from '../errors.js';
import type { ConcurrencyLimiter, ConcurrencyToken } from '../policies/concurrency/index.js';
import type { BulwarkResponse } from '../client/response.js';
import { urlOf } from './deadline-stage.js';
import { isCallerEnded, isRejection } from './outcome.js';
import type { CallContext, Middleware, Next } from './types.js';

/**
 * The adaptive concurrency stage: an attempt takes a slot (at once when under the limit, else
 * from the queue up to `maxQueue`) and gives it back with one sample when its response body
 * has ended. Timeouts, 429 and 503 are `dropped` samples (congestion); the caller's abort and
 * rejections by other stages carry no sample.
 */
export function createConcurrencyStage(limiter: ConcurrencyLimiter): Middleware {
  return (ctx, next) => {
    let slot: ConcurrencyToken | Promise<ConcurrencyToken>;
    try {
      slot = limiter.acquire(ctx.signal === undefined ? { deadline: ctx.deadline } : { signal: ctx.signal, deadline: ctx.deadline });
    } catch (error) {
      return Promise.reject(decorate(ctx, error));
    }
    if (!(slot instanceof Promise)) return run(ctx, next, slot);
    const { limit, inflight, queued } = limiter.snapshot();
    ctx.runtime.events.concurrencyQueued(ctx, limit, inflight, queued);
    return slot.then(
      (token) => run(ctx, next, token),
      (error: unknown) => {
        throw decorate(ctx, error);
      },
    );
  };
}

async function run(ctx: CallContext, next: Next, token: ConcurrencyToken): Promise<BulwarkResponse> {
  let response: BulwarkResponse;
  try {
    response = await next(ctx);
  } catch (error) {
    if (isRejection(error) || isCallerEnded(error)) token.ignore();
    else if (isBulwarkError(error) && (error.code === 'ATTEMPT_TIMEOUT' || error.code === 'TIMEOUT')) token.dropped();
    else token.success();
    throw error;
  }
  const congested = response.status === 429 || response.status === 503;
  const source = response.source;
  source.whenSettled(() => {
    if (congested || isBulwarkError(source.error, 'ATTEMPT_TIMEOUT') || isBulwarkError(source.error, 'TIMEOUT')) token.dropped();
    else if (source.error !== undefined && isCallerEnded(source.error)) token.ignore();
    else token.success();
  });
  return response;
}

function decorate(ctx: CallContext, error: unknown): unknown {
  if (isBulwarkError(error, 'CONCURRENCY_LIMITED')) {
    error.method = ctx.method;
    error.url = urlOf(ctx);
    ctx.runtime.events.concurrencyRejected(ctx, error);
  }
  return ctx.cancelled ?? error;
}
