import { BulwarkError, bulwarkError } from '../errors.js';
import type { CallContext } from './types.js';

/**
 * Cancels a call: every attempt in flight is aborted with `reason`, and any wait (backoff,
 * rate-limit or concurrency queue) wakes with it. Only the first reason counts.
 */
export function cancelCall(ctx: CallContext, reason: BulwarkError): void {
  if (ctx.cancelled !== undefined) return;
  ctx.cancelled = reason;
  ctx.wake?.abort(reason);
  let live = ctx.live;
  while (live !== undefined) {
    const next = live.nextLive;
    live.abort(reason);
    live = next;
  }
  const forks = forksOf.get(ctx);
  if (forks !== undefined) for (const fork of forks) cancelCall(fork, reason);
}

const forksOf = new WeakMap<CallContext, CallContext[]>();

/** True while an attempt of the call (or of one of its hedges) is on the wire or reading its body. */
export function hasLiveAttempt(ctx: CallContext): boolean {
  if (ctx.live !== undefined) return true;
  const forks = forksOf.get(ctx);
  return forks !== undefined && forks.some(hasLiveAttempt);
}

/**
 * A copy of the call for one hedged attempt: its own live attempts and cancellation, while
 * cancelling the call (timeout, caller abort) still reaches the fork's attempt.
 */
export function forkContext(ctx: CallContext): CallContext {
  // A fork's own cancellation (a hedge that lost) must not wake the call's waits.
  const fork: CallContext = { ...ctx, live: undefined, wake: undefined };
  const list = forksOf.get(ctx);
  if (list === undefined) forksOf.set(ctx, [fork]);
  else list.push(fork);
  return fork;
}

/** The error for a call whose budget ran out, by what set the budget. */
export function budgetError(ctx: CallContext, url: string): BulwarkError {
  if (ctx.deadlineSource === 'timeout') {
    return bulwarkError('TIMEOUT', `${ctx.method} ${url} timed out after ${ctx.totalTimeoutMs} ms.`, {
      method: ctx.method,
      url,
      timeoutMs: ctx.totalTimeoutMs,
      attempts: ctx.attempts,
    });
  }
  return bulwarkError('DEADLINE_EXCEEDED', `${ctx.method} ${url}: the deadline passed.`, {
    method: ctx.method,
    url,
    deadline: ctx.deadline,
    attempts: ctx.attempts,
  });
}

/** The call's URL as errors and events show it: redacted with the client's lists. */
export function urlOf(ctx: CallContext): string {
  return ctx.runtime.events.url(ctx);
}

/** Fills in what `error` does not say of its call: the method, the redacted URL and the attempts. */
export function nameTheCall(error: BulwarkError, ctx: CallContext, attempts: number): BulwarkError {
  error.method ??= ctx.method;
  error.url ??= urlOf(ctx);
  error.attempts ??= attempts;
  return error;
}

/** `ABORTED`, keeping the caller's reason as cause. */
export function abortedError(ctx: CallContext, url: string): BulwarkError {
  return new BulwarkError('ABORTED', `${ctx.method} ${url} was aborted by the caller.`, {
    cause: ctx.signal?.reason,
    method: ctx.method,
    url,
    attempts: ctx.attempts,
  });
}
