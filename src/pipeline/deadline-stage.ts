// The deadline stage: total timeout, ambient deadline and caller signal as one budget for the whole call.
import { DueEntry, DueList, dueListOf } from '../clock.js';
import { sentOrThrown } from '../errors.js';
import type { BulwarkResponse } from '../http/response.js';
import { abortedError, budgetError, cancelCall, hasLiveAttempt, urlOf } from './cancel.js';
import type { CallContext, Stage, StageNext } from './types.js';

/**
 * The total timeout, the ambient deadline and the caller's signal, as one budget for the whole
 * call: when it runs out, the attempt in flight and any wait are cancelled. The budget covers
 * the response body too; its timer is cleared when the body ends.
 */
export const deadlineStage: Stage = (ctx, next) => {
  if (ctx.deadline === Number.POSITIVE_INFINITY && ctx.signal === undefined) return next(ctx);
  return guarded(ctx, next);
};

// Not async: one `then` on the inner stages' promise, with no frame of its own to suspend.
function guarded(ctx: CallContext, next: StageNext): Promise<BulwarkResponse> {
  const signal = ctx.signal;
  if (signal?.aborted === true) return Promise.reject(abortedError(ctx, urlOf(ctx)));
  // An expired budget sends nothing. The call's start stands for now (no clock read): a budget
  // that runs out while an outer stage waits (a cache lookup, a middleware) is caught by the
  // attempt stage, which reads the clock before it sends.
  if (ctx.deadline - ctx.startedAt <= 0) {
    ctx.runtime.events.deadlineExceeded(ctx, 'before-send');
    return Promise.reject(budgetError(ctx, urlOf(ctx)));
  }
  const budget = new CallBudget(ctx);
  if (ctx.deadline !== Number.POSITIVE_INFINITY) budgetList(ctx).add(budget, ctx.deadline);
  if (signal !== undefined) watchSignal(signal, ctx);
  return sentOrThrown(next, ctx).then(
    (response) => {
      response.source.whenSettled(budget);
      return response;
    },
    (error: unknown) => {
      budget.release();
      throw ctx.cancelled ?? error;
    },
  );
}

/**
 * The list the call's budget waits in: a total timeout shares the clock's timer with every
 * other call of that timeout (their deadlines arrive in order); any other deadline is keyed by
 * what is left of it, which makes it a list of its own most of the time.
 */
function budgetList(ctx: CallContext): DueList {
  const clock = ctx.runtime.clock;
  if (ctx.deadlineSource === 'timeout') return dueListOf(clock, ctx.totalTimeoutMs);
  return new DueList(clock);
}

/** One call's armed budget: expires when the deadline passes, released when the call settles. */
class CallBudget extends DueEntry {
  readonly #ctx: CallContext;
  #released = false;

  constructor(ctx: CallContext) {
    super();
    this.#ctx = ctx;
  }

  expire(): void {
    budgetSpent(this.#ctx);
  }

  /** The response body settled: the budget is over. */
  settled(): void {
    this.release();
  }

  /** Disarms the budget and stops watching the caller's signal. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.list?.remove(this);
    const signal = this.#ctx.signal;
    if (signal !== undefined) unwatchSignal(signal, this.#ctx);
  }
}

/**
 * The budget ran out: reported as `'in-flight'` when an attempt (or a response body) was on the
 * wire, `'before-send'` when the call was still waiting (limiter, queue) to send one.
 */
function budgetSpent(ctx: CallContext): void {
  if (ctx.cancelled !== undefined) return;
  ctx.runtime.events.deadlineExceeded(ctx, hasLiveAttempt(ctx) ? 'in-flight' : 'before-send');
  cancelCall(ctx, budgetError(ctx, urlOf(ctx)));
}

// One abort listener per caller signal, fanning out to its calls: a long-lived signal shared by
// many concurrent calls would otherwise collect one listener per call.
const watched = new WeakMap<AbortSignal, { calls: Set<CallContext>; listener: () => void }>();

function watchSignal(signal: AbortSignal, ctx: CallContext): void {
  let entry = watched.get(signal);
  if (entry === undefined) {
    const calls = new Set<CallContext>();
    const listener = (): void => {
      watched.delete(signal);
      for (const call of calls) cancelCall(call, abortedError(call, urlOf(call)));
    };
    entry = { calls, listener };
    watched.set(signal, entry);
    signal.addEventListener('abort', listener, { once: true });
  }
  entry.calls.add(ctx);
}

function unwatchSignal(signal: AbortSignal, ctx: CallContext): void {
  const entry = watched.get(signal);
  if (entry === undefined) return;
  entry.calls.delete(ctx);
  if (entry.calls.size === 0) {
    watched.delete(signal);
    signal.removeEventListener('abort', entry.listener);
  }
}
