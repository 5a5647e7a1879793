// The last stage: one attempt per call to it, with its attempt timeout and deadline header, handed to the transport.
import { BulwarkError, bulwarkError } from '../errors.js';
import { Attempt, type Transport } from '../transport/attempt.js';
import type { BulwarkResponse } from '../http/response.js';
import { budgetError, cancelCall, urlOf } from './cancel.js';
import type { CallContext, StageNext } from './types.js';

/** Settings of the last stage. */
export interface AttemptStageOptions {
  /** Header carrying the remaining ms, or false. */
  readonly deadlineHeader: string | false;
}

/**
 * The innermost stage: attempt timeout, deadline propagation, then the transport. The deadline
 * header is recomputed for every attempt as the smaller of the attempt timeout and what is left
 * of the call's budget, and an attempt whose budget already ran out is never sent.
 */
export function createAttemptStage(transport: Transport, options: AttemptStageOptions): StageNext {
  const { deadlineHeader } = options;
  return (ctx: CallContext): Promise<BulwarkResponse> => {
    if (ctx.cancelled !== undefined) return Promise.reject(ctx.cancelled);
    const clock = ctx.runtime.clock;
    ctx.attempts++;
    const timeoutMs = ctx.attemptTimeoutMs;
    // One clock read serves the deadline check, the header, the attempt's start and its timeout.
    const now = clock.now();
    if (ctx.deadline !== Number.POSITIVE_INFINITY) {
      const remaining = Math.floor(ctx.deadline - now);
      if (remaining <= 0) {
        // Cancelled as well, so the call's own deadline timer (due within the millisecond) finds
        // it settled and does not report the same deadline twice.
        const spent = budgetError(ctx, urlOf(ctx));
        ctx.runtime.events.deadlineExceeded(ctx, 'before-send');
        cancelCall(ctx, spent);
        return Promise.reject(spent);
      }
      // What this attempt can still use: past its own timeout nobody waits for the answer.
      if (deadlineHeader !== false)
        ctx.headers[deadlineHeader] = String(timeoutMs > 0 && timeoutMs < remaining ? timeoutMs : remaining);
    } else if (deadlineHeader !== false && timeoutMs > 0) {
      ctx.headers[deadlineHeader] = String(timeoutMs);
    }
    const attempt = new Attempt(ctx, ctx.attempts, ctx.headers, now);
    if (timeoutMs > 0) attempt.arm(clock, timeoutMs, attemptTimeoutError, now + timeoutMs);
    const events = ctx.runtime.events;
    if (!events.observeAttempts) return transport.send(attempt);
    attempt.span = events.attemptStart(attempt);
    // A redirect ends its hop's span and starts the next one's (see withRedirects): the outcome
    // belongs to the hop the attempt ended on.
    return transport.send(attempt).then(
      (response) => {
        const hop = attempt.lastHop;
        events.attemptEnd(hop, hop.span, response, undefined);
        return response;
      },
      (error: unknown) => {
        const hop = attempt.lastHop;
        events.attemptEnd(hop, hop.span, undefined, error);
        throw error;
      },
    );
  };
}

function attemptTimeoutError(attempt: Attempt, timeoutMs: number): BulwarkError {
  // This stage arms only attempts it made, of its own call contexts.
  const ctx = attempt.ctx as CallContext;
  const sent = attempt.sent;
  // The client's redactor, not the transport's userinfo-only placeholder: query secrets too.
  const url = urlOf(ctx);
  return bulwarkError(
    'ATTEMPT_TIMEOUT',
    `${ctx.method} ${url}: attempt ${ctx.attempts} timed out after ${timeoutMs} ms.`,
    {
      method: ctx.method,
      url,
      timeoutMs,
      attempts: ctx.attempts,
      sent,
    },
  );
}
