import { requestChannelActive, traceRequest, type RequestChannelContext } from '../observability/channels.js';
import type { CallSpan } from '../observability/telemetry.js';
import type { BulwarkResponse } from '../http/response.js';
import { asError, isBulwarkError } from '../errors.js';
import type { CallContext, Middleware, Next } from './types.js';

/**
 * The outermost built-in stage: the call's span and the `bulwark:request` tracing channel.
 * When nobody observes (no SDK, no subscriber) it is a plain pass-through.
 */
export function createObserveStage(): Middleware {
  return (ctx, next) => {
    const events = ctx.runtime.events;
    const traced = requestChannelActive();
    if (!events.telemetry.enabled && !traced) return next(ctx);
    const span = events.telemetry.startCall(ctx);
    ctx.span = span;
    const run = span === undefined ? next : (c: CallContext) => observed(c, next, span);
    if (!traced) return run(ctx);
    const context: RequestChannelContext = {
      client: ctx.runtime.name,
      correlationId: ctx.correlationId,
      method: ctx.method,
      url: events.url(ctx),
      urlTemplate: ctx.urlTemplate,
    };
    return traceRequest(context, withAttempts(run), ctx);
  };
}

/**
 * A request refused before it became a call (`INVALID_REQUEST` while its options were checked)
 * still shows on `bulwark:request`: a start and an error, with what is known of the request
 * (`url` already redacted, `''` when it could not be made out). Resolves with `error`.
 */
export async function traceRefusedRequest(
  fields: Pick<RequestChannelContext, 'client' | 'correlationId' | 'method' | 'url'>,
  error: unknown,
): Promise<unknown> {
  if (!requestChannelActive()) return error;
  const context: RequestChannelContext = { ...fields, urlTemplate: undefined, attempts: 0 };
  await traceRequest(context, rejectWith, error).catch(() => undefined);
  return error;
}

const rejectWith = (error: unknown): Promise<never> => Promise.reject(asError(error));

function withAttempts(run: Next): Next {
  return async (ctx) => {
    let response: BulwarkResponse;
    try {
      response = await run(ctx);
    } catch (error) {
      // The channel reads `attempts` off the error before the client stamps it: stamp it here.
      if (isBulwarkError(error)) error.attempts ??= ctx.attempts;
      throw error;
    }
    response.attempts = ctx.attempts;
    return response;
  };
}

async function observed(ctx: CallContext, next: Next, span: CallSpan): Promise<BulwarkResponse> {
  const telemetry = ctx.runtime.events.telemetry;
  try {
    const response = await telemetry.run(span, () => next(ctx));
    telemetry.endCall(span, response.status, undefined, ctx.attempts);
    return response;
  } catch (error) {
    telemetry.endCall(
      span,
      (error as { response?: { status?: number } }).response?.status,
      error,
      ctx.attempts,
    );
    throw error;
  }
}
