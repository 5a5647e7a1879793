/**
 * A comparison configuration: what many teams would build instead of using bulwark's policies,
 * cockatiel's README pattern (retry with exponential backoff, a consecutive-failures breaker and
 * a timeout, wrapped) plugged into bulwark through `use`, with bulwark's own retry and breaker off.
 *
 *   npm run lab -- outage --config lab/configs/cockatiel.ts
 *
 * The default export is a factory, so every lab run gets fresh policies (a breaker's state must
 * not leak from one run into the next).
 */
import {
  ConsecutiveBreaker,
  ExponentialBackoff,
  TimeoutStrategy,
  circuitBreaker,
  handleAll,
  retry,
  timeout,
  wrap,
} from 'cockatiel';
import type { BulwarkResponse, Middleware } from '../../src/index.js';

/** A response cockatiel should treat as a failure; it carries the response so the last one is returned. */
class FailedResponse extends Error {
  override readonly name = 'FailedResponse';
  readonly response: BulwarkResponse;
  constructor(response: BulwarkResponse) {
    super(`HTTP ${response.status}`);
    this.response = response;
  }
}

/** 5xx and 429, the answers a plain fetch wrapper would retry. */
const isFailure = (res: BulwarkResponse): boolean => res.status >= 500 || res.status === 429;

export default function cockatielOptions(): Record<string, unknown> {
  // As in cockatiel's README: 3 attempts with exponential backoff; open for 10 s after 5
  // consecutive failures; and a 10 s timeout per attempt (bulwark's attempt timeout is the same).
  const retryPolicy = retry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() });
  const breakerPolicy = circuitBreaker(handleAll, {
    halfOpenAfter: 10 * 1000,
    breaker: new ConsecutiveBreaker(5),
  });
  const timeoutPolicy = timeout(10 * 1000, TimeoutStrategy.Aggressive);
  const policy = wrap(retryPolicy, breakerPolicy, timeoutPolicy);
  // A failed response that is retried is never read: drain it so its connection is freed.
  retryPolicy.onRetry((reason) => {
    if ('error' in reason && reason.error instanceof FailedResponse) reason.error.response.dump();
  });
  const middleware: Middleware = async (ctx, next) => {
    try {
      return await policy.execute(async () => {
        const res = await next(ctx);
        if (isFailure(res)) throw new FailedResponse(res);
        return res;
      }, ctx.signal);
    } catch (error) {
      // Out of attempts on a failed answer: the caller gets that answer, as without cockatiel.
      if (error instanceof FailedResponse) return error.response;
      throw error;
    }
  };
  return { retry: false, circuitBreaker: false, use: [middleware] };
}
