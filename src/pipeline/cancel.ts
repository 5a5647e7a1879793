import { BulwarkError } from '../errors.js';
import type { CallContext } from './types.js';

/**
 * Cancels a call: every attempt in flight is aborted with `reason`, and any wait (backoff,
 * rate-limit or concurrency queue) wakes with it. Only the first reason counts.
 */
export function cancelCall(ctx: CallContext, reason: BulwarkError): void {
  if (ctx.cancelled !== undefined) return;
  ctx.cancelled = reason;
  let live = ctx.live;
  while (live !== undefined) {
    const next = live.nextLive;
    live.abort(reason);
    live = next;
  }
  waitControllers.get(ctx)?.abort(reason);
}

const waitControllers = new WeakMap<CallContext, AbortController>();

/**
 * An AbortSignal for stages that wait, made on first use so a call that never waits pays
 * nothing. It aborts with the call's cancellation reason.
 */
export function waitSignal(ctx: CallContext): AbortSignal {
  let controller = waitControllers.get(ctx);
  if (controller === undefined) {
    controller = new AbortController();
    if (ctx.cancelled !== undefined) controller.abort(ctx.cancelled);
    waitControllers.set(ctx, controller);
  }
  return controller.signal;
}

/** The error for a call whose budget ran out, by what set the budget. */
export function budgetError(ctx: CallContext, url: string): BulwarkError {
  if (ctx.deadlineSource === 'timeout') {
    return new BulwarkError('TIMEOUT', `${ctx.method} ${url} timed out after ${ctx.totalTimeoutMs} ms.`, {
      method: ctx.method,
      url,
      timeoutMs: ctx.totalTimeoutMs,
      attempts: ctx.attempts,
    });
  }
  return new BulwarkError('DEADLINE_EXCEEDED', `${ctx.method} ${url}: the deadline passed.`, {
    method: ctx.method,
    url,
    deadline: ctx.deadline,
    attempts: ctx.attempts,
  });
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
