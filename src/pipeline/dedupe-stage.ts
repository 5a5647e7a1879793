import { BulwarkError } from '../errors.js';
import { BodySource } from '../http/body.js';
import { BulwarkResponse } from '../http/response.js';
import { abortedError, budgetError, cancelCall, urlOf } from './cancel.js';
import type { CallContext, Middleware, Next } from './types.js';

/** Headers that change per call and say nothing of what is asked for. */
const VOLATILE = new Set(['x-request-id', 'deadline', 'traceparent', 'tracestate', 'baggage']);

/** What a landed flight hands each caller. */
interface Shared {
  readonly response: BulwarkResponse;
  readonly bytes: Buffer;
  readonly attempts: number;
}

/** One shared upstream request and the callers waiting on it. */
interface Flight {
  /** The request's own context: no caller's signal or budget. */
  readonly ctx: CallContext;
  readonly landed: Promise<Shared>;
  /** Callers still waiting; at 0 the request is cancelled. */
  callers: number;
}

/**
 * Dedupe: identical GET/HEAD calls in flight at the same time share one upstream request. The
 * key is the method, the URL and every header that can change the answer (authorization,
 * cookies, accept...), so two users never share one answer. The shared body is read once and
 * each caller gets its own copy; nothing is kept after the flight lands, on every exit path.
 *
 * The shared request runs under no caller's signal or budget, or the first caller's abort or
 * timeout would fail everyone. Each caller waits under its own: its signal, total timeout and
 * deadline end its wait (and only its), and the request is cancelled when the last caller has
 * left. Attempt timeouts, retries and every other policy apply to the shared request as usual.
 */
export function createDedupeStage(
  deadlineHeader: string | false,
  requestIdHeader: string | false,
): Middleware {
  const flights = new Map<string, Flight>();
  return (ctx, next) => {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || ctx.body !== null) return next(ctx);
    const key = flightKey(ctx, deadlineHeader, requestIdHeader);
    let flight = flights.get(key);
    if (flight === undefined) {
      const own = flightContext(ctx);
      const started: Flight = {
        ctx: own,
        callers: 0,
        landed: fly(own, next, () => {
          forget(started);
        }),
      };
      // Every caller may leave before it lands: its failure is then nobody's to handle.
      started.landed.catch(ignore);
      flight = started;
      flights.set(key, started);
    }
    flight.callers++;
    return waitFor(ctx, flight, leave).then((s) => {
      ctx.attempts = s.attempts;
      return copyOf(s);
    });

    function forget(f: Flight): void {
      if (flights.get(key) === f) flights.delete(key);
    }

    function leave(f: Flight): void {
      if (--f.callers > 0) return;
      // Nobody waits any more: the request stops, and a new caller starts a fresh one.
      forget(f);
      const url = urlOf(f.ctx);
      cancelCall(
        f.ctx,
        new BulwarkError('ABORTED', `${f.ctx.method} ${url}: every caller of the shared request left.`, {
          method: f.ctx.method,
          url,
        }),
      );
    }
  };
}

function ignore(): void {
  // See createDedupeStage: a flight's error reaches the callers that still wait.
}

async function fly(ctx: CallContext, next: Next, landed: () => void): Promise<Shared> {
  try {
    const response = await next(ctx);
    const bytes = ctx.method === 'HEAD' ? Buffer.alloc(0) : await response.source.read();
    return { response, bytes, attempts: ctx.attempts };
  } finally {
    landed();
  }
}

/** The shared request's context: the first caller's request, without its signal or budget. */
function flightContext(ctx: CallContext): CallContext {
  return {
    ...ctx,
    headers: { ...ctx.headers },
    signal: undefined,
    deadline: Number.POSITIVE_INFINITY,
    deadlineSource: 'none',
    totalTimeoutMs: 0,
    attempts: 0,
    cancelled: undefined,
    live: undefined,
    wake: undefined,
  };
}

/**
 * One caller's wait for the flight, under its own signal and budget. Leaving early rejects this
 * caller only (`ABORTED`, `TIMEOUT` or `DEADLINE_EXCEEDED`, as without dedupe).
 */
function waitFor(ctx: CallContext, flight: Flight, leave: (f: Flight) => void): Promise<Shared> {
  const signal = ctx.signal;
  const clock = ctx.runtime.clock;
  const remaining = ctx.deadline - clock.now();
  if (signal === undefined && remaining === Number.POSITIVE_INFINITY) return flight.landed;
  if (signal?.aborted === true) {
    leave(flight);
    return Promise.reject(abortedError(ctx, urlOf(ctx)));
  }
  if (remaining <= 0) {
    leave(flight);
    ctx.runtime.events.deadlineExceeded(ctx, 'before-send');
    return Promise.reject(budgetError(ctx, urlOf(ctx)));
  }
  return new Promise<Shared>((resolve, reject) => {
    let left = false;
    const quit = (error: BulwarkError): void => {
      if (left) return;
      left = true;
      done();
      leave(flight);
      reject(error);
    };
    const onAbort = (): void => {
      quit(abortedError(ctx, urlOf(ctx)));
    };
    const timer =
      remaining === Number.POSITIVE_INFINITY
        ? undefined
        : clock.setTimeout(() => {
            ctx.runtime.events.deadlineExceeded(ctx, 'in-flight');
            quit(budgetError(ctx, urlOf(ctx)));
          }, remaining);
    const done = (): void => {
      timer?.clear();
      signal?.removeEventListener('abort', onAbort);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    flight.landed.then(
      (shared) => {
        done();
        resolve(shared);
      },
      (error: unknown) => {
        done();
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the flight's own error
        reject(error);
      },
    );
  });
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
