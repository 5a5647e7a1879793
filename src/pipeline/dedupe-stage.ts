import { SingleFlight } from '../policies/single-flight.js';
import { BodySource } from '../client/body.js';
import { BulwarkResponse } from '../client/response.js';
import { abortedError } from './cancel.js';
import { urlOf } from './deadline-stage.js';
import type { CallContext, Middleware } from './types.js';

/** Headers that change per call and say nothing of what is asked for. */
const VOLATILE = new Set(['x-request-id', 'deadline', 'traceparent', 'tracestate', 'baggage']);

/**
 * Dedupe: identical GET/HEAD calls in flight at the same time share one upstream request. The
 * key is the method, the URL and every header that can change the answer (authorization,
 * cookies, accept...), so two users never share one answer. The shared body is read once and
 * each caller gets its own copy; nothing is kept after the flight lands, on every exit path.
 * The flight runs under the first caller's budget; a later caller whose own signal aborts
 * stops waiting without cancelling it.
 */
export function createDedupeStage(
  deadlineHeader: string | false,
  requestIdHeader: string | false,
): Middleware {
  const flights = new SingleFlight<string, Shared>();
  return (ctx, next) => {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || ctx.body !== null) return next(ctx);
    const key = flightKey(ctx, deadlineHeader, requestIdHeader);
    const shared = flights.run(key, async () => {
      const response = await next(ctx);
      const bytes = ctx.method === 'HEAD' ? Buffer.alloc(0) : await response.source.read();
      return { response, bytes, attempts: ctx.attempts };
    });
    const mine = ctx.signal === undefined ? shared : raceSignal(shared, ctx.signal, ctx);
    return mine.then((s) => {
      ctx.attempts = s.attempts;
      return copyOf(s);
    });
  };
}

interface Shared {
  readonly response: BulwarkResponse;
  readonly bytes: Buffer;
  readonly attempts: number;
}

function flightKey(
  ctx: CallContext,
  deadlineHeader: string | false,
  requestIdHeader: string | false,
): string {
  let key = `${ctx.method} ${ctx.origin}${ctx.path}`;
  for (const name of Object.keys(ctx.headers).sort()) {
    if (VOLATILE.has(name) || name === deadlineHeader || name === requestIdHeader) continue;
    key += `\n${name}: ${ctx.headers[name] ?? ''}`;
  }
  return key;
}

function copyOf(shared: Shared): BulwarkResponse {
  const body = new BodySource(undefined);
  if (shared.bytes.length > 0) body.push(shared.bytes);
  body.end();
  const copy = new BulwarkResponse({
    status: shared.response.status,
    statusText: shared.response.statusText,
    url: shared.response.url,
    headers: { ...shared.response.headers },
    body,
  });
  copy.redirects = shared.response.redirects;
  return copy;
}

function raceSignal<T>(promise: Promise<T>, signal: AbortSignal, ctx: CallContext): Promise<T> {
  if (signal.aborted) return Promise.reject(abortedError(ctx, urlOf(ctx)));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(abortedError(ctx, urlOf(ctx)));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes the flight's own error on
        reject(error);
      },
    );
  });
}
