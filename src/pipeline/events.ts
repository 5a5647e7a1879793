/**
 * The pipeline's side of policy events: one method per decision that checks whether any sink
 * listens, builds the event only then, and hands it to the sinks (observability/event-sinks.ts).
 * Attempt lines and spans, the TLS warning and the gauges' readers live here too.
 */
import { traitsOf, type BulwarkError } from '../errors.js';
import type { BulwarkResponse, ResponseCall } from '../http/response.js';
import { attemptChannel, type AttemptMessage, type CacheStatus } from '../observability/channels.js';
import { EventSinks, type LogSettings } from '../observability/event-sinks.js';
import { levelEnabled, logEvent, type LogInput, type LogLevel } from '../observability/logger.js';
import type { PolicyEventKind, TimeoutCode } from '../observability/policy-events.js';
import type { Redactor } from '../observability/redact.js';
import type { AttemptSpan, CallSpan, Telemetry } from '../observability/telemetry.js';
import type { Attempt, AttemptCall } from '../transport/attempt.js';

export type { LogSettings } from '../observability/event-sinks.js';

/**
 * What the events read of a call. The pipeline's call context is one; it is declared here, not
 * imported, because the context names its events (`runtime.events`) and neither may import the other.
 */
export interface EventCall extends AttemptCall, ResponseCall {
  readonly runtime: AttemptCall['runtime'] & ResponseCall['runtime'];
  readonly key: string;
  readonly deadline: number;
  readonly deadlineSource: 'timeout' | 'deadline' | 'none';
  readonly span: unknown;
}

/** The process warning for a client without a logger and with verification off is given once. */
let insecureWarned = false;

/**
 * Where every stage reports what it decided. Each method asks the sinks whether anyone listens
 * before building its event; URLs are redacted once, before any sink sees them.
 */
export class CallEvents {
  readonly telemetry: Telemetry;
  readonly redactor: Redactor;
  readonly log: LogSettings;
  readonly #client: string;
  readonly #unregister: (() => void)[] = [];
  readonly #observe: boolean;
  readonly #sinks: EventSinks;
  /** The store error last logged: decisions made while the same outage lasts are counted, not logged again. */
  #lastStoreError: unknown = undefined;

  constructor(client: string, telemetry: Telemetry, redactor: Redactor, log: LogSettings) {
    this.#client = client;
    this.#sinks = new EventSinks(client, telemetry, redactor, log);
    this.telemetry = telemetry;
    this.redactor = redactor;
    this.log = log;
    this.#observe = levelEnabled(log.logger, 'info', log.level);
  }

  /** True when attempt-level spans, metrics, info logs or `bulwark:attempt` messages must be produced. */
  get observeAttempts(): boolean {
    return this.#observe || attemptChannel.hasSubscribers || this.telemetry.live();
  }

  /** A breaker changed state; `failureRatio` and `openMs` when it opened. */
  circuitTransition(
    key: string,
    from: string,
    to: string,
    failureRatio: number | undefined,
    openMs: number | undefined,
    reason?: string,
  ): void {
    if (!this.#sinks.wants('circuit-transition', undefined)) return;
    this.#sinks.emit(undefined, undefined, {
      event: 'circuit-transition',
      key,
      from: stateName(from),
      to: stateName(to),
      failureRatio,
      openMs,
      reason,
    });
  }

  /**
   * Certificate verification is off (`pool.tls.rejectUnauthorized: false`): one `warn` line per
   * client. Without a logger the warning still shows, once per process, as a Node process warning
   * (as `NODE_TLS_REJECT_UNAUTHORIZED=0` does): a silent default must not hide this one.
   */
  tlsVerificationOff(): void {
    const message = `bulwark: TLS certificate verification is off for client "${this.#client}" (pool.tls.rejectUnauthorized: false); anyone on the path can read and change its traffic`;
    const logger = this.log.logger;
    if (logger === undefined) {
      if (!insecureWarned) {
        insecureWarned = true;
        process.emitWarning(message, { code: 'BULWARK_TLS_INSECURE' });
      }
      return;
    }
    if (!levelEnabled(logger, 'warn', this.log.level)) return;
    try {
      logger.warn({ event: 'tls-insecure', client: this.#client }, message);
    } catch {
      // Logging never fails a client.
    }
  }

  /** Reports circuit states to the state gauge while the client lives. */
  observeCircuits(breakers: { snapshot(): readonly { key: string; state: string }[] }): void {
    this.#unregister.push(
      this.telemetry.observeCircuits((report) => {
        for (const c of breakers.snapshot()) report(c.key, channelState(c.state));
      }),
    );
  }

  /** Reports the concurrency limit and inflight to the gauges while the client lives. */
  observeConcurrency(key: string, limiter: { readonly limit: number; readonly inflight: number }): void {
    this.#unregister.push(
      this.telemetry.observeConcurrency((report) => {
        report(key, limiter.limit, limiter.inflight);
      }),
    );
  }

  /** Stops the gauge callbacks (client close). */
  close(): void {
    for (const off of this.#unregister.splice(0)) off();
  }

  /** The call's URL, redacted. */
  url(ctx: EventCall): string {
    return this.redactor.url(ctx.origin + ctx.path);
  }

  /** One line of a call, with the client's name on it (redacted by `logEvent`). */
  #write(input: LogInput, level?: LogLevel): void {
    logEvent(this.log.logger, this.log.level, input, this.redactor, level);
  }

  #logging(level: LogLevel): boolean {
    return levelEnabled(this.log.logger, level, this.log.level);
  }

  /** The fields an attempt's channel message and log lines share (the log redacts `url` itself). */
  #attemptFields(
    attempt: Attempt<EventCall>,
    url: string,
  ): { correlationId: string; method: string; url: string; key: string; attempt: number } {
    const ctx = attempt.ctx;
    return {
      correlationId: ctx.correlationId,
      method: attempt.method,
      url,
      key: ctx.key,
      attempt: attempt.number,
    };
  }

  /** Publishes one `bulwark:attempt` message: `start`, or `end` with the outcome. */
  #publishAttempt(attempt: Attempt<EventCall>, end?: AttemptOutcome): void {
    const fields = this.#attemptFields(attempt, this.redactor.url(attempt.origin + attempt.path));
    const base = { client: this.#client, ...fields, redirects: attempt.redirects };
    const message: AttemptMessage =
      end === undefined ? { ...base, type: 'start' } : { ...base, type: 'end', ...end };
    attemptChannel.publish(message);
  }

  /** An attempt is about to be sent: attempt span, trace context, `→ GET …` line. */
  attemptStart(attempt: Attempt<EventCall>): AttemptSpan | undefined {
    const ctx = attempt.ctx;
    // Redirect hops count as resends too (semantic conventions): attempt n, hop h → (n − 1) + h.
    const span = this.telemetry.startAttempt(
      ctx.span as CallSpan | undefined,
      attempt,
      attempt.number - 1 + attempt.redirects,
    );
    this.telemetry.inject(attempt.headers, span);
    if (attemptChannel.hasSubscribers) this.#publishAttempt(attempt);
    if (!this.#logging('info')) return span;
    const withBody = this.log.logBody && typeof ctx.body === 'string';
    this.#write({
      client: this.#client,
      event: 'request',
      ...this.#attemptFields(attempt, attempt.origin + attempt.path),
      ...(this.log.logHeaders ? { headers: attempt.headers } : {}),
      ...(withBody
        ? {
            body: ctx.body,
            contentType: attempt.headers['content-type'] ?? '',
            bodyLimit: this.log.bodyLimit,
          }
        : {}),
    });
    return span;
  }

  /** An attempt got its answer or failed: `← 200 (45ms)`. */
  attemptEnd(
    attempt: Attempt<EventCall>,
    span: AttemptSpan | undefined,
    response: BulwarkResponse | undefined,
    error: unknown,
  ): void {
    const code = (error as BulwarkError | undefined)?.code;
    const traits = traitsOf(error);
    // The event must reach the span before it ends: an ended span drops events.
    if (span !== undefined && traits?.timeout === true) {
      // A timeout trait is the only thing that makes a code a `TimeoutCode`.
      this.telemetry.record(span, {
        event: 'timeout',
        code: code as TimeoutCode,
        timeoutMs: (error as BulwarkError).timeoutMs,
      });
    }
    this.telemetry.endAttempt(span, response?.status, error, attempt.network);
    const durationMs = attempt.ctx.runtime.clock.now() - attempt.startedAt;
    const status = response?.status;
    if (attemptChannel.hasSubscribers) this.#publishAttempt(attempt, { durationMs, status, errorCode: code });
    const level = response !== undefined ? 'info' : (traits?.logLevel ?? 'error');
    if (!this.#logging(level)) return;
    const fields = this.#attemptFields(attempt, attempt.origin + attempt.path);
    if (response !== undefined) {
      const headers = this.log.logHeaders ? { headers: response.headers as Record<string, string> } : {};
      this.#write({
        client: this.#client,
        event: 'response',
        ...fields,
        status: response.status,
        durationMs,
        ...headers,
      });
      return;
    }
    const withCode = code === undefined ? {} : { code };
    this.#write({ client: this.#client, event: 'error', ...fields, durationMs, ...withCode, error }, level);
  }

  /**
   * With `logBody`: the call's final response body, once read whole by the caller (decoded).
   * Only the first 64 KiB are redacted and at most `bodyLimit` characters written.
   */
  responseBody(ctx: EventCall, response: BulwarkResponse, bytes: Buffer): void {
    if (!this.log.logBody || !this.#logging('info')) return;
    const contentType = response.headers['content-type'];
    this.#write({
      client: this.#client,
      event: 'body',
      correlationId: ctx.correlationId,
      method: ctx.method,
      url: response.url,
      status: response.status,
      key: ctx.key,
      body: utf8Prefix(bytes, SCANNED_BODY_BYTES),
      contentType: typeof contentType === 'string' ? contentType : '',
      bodyLimit: this.log.bodyLimit,
      bytes: bytes.byteLength,
    });
  }

  /** True when some sink takes `kind`: the check before an event is built. */
  #wants(kind: PolicyEventKind, ctx: EventCall): boolean {
    return this.#sinks.wants(kind, ctx.span as CallSpan | undefined);
  }

  /** An open circuit (local or shared through a store) refused the call. */
  circuitRejected(ctx: EventCall, key: string, retryAfterMs: number, error: BulwarkError): void {
    if (!this.#wants('circuit-rejected', ctx)) return;
    this.#emit(ctx, { event: 'circuit-rejected', key, retryAfterMs, url: error.url });
  }

  retry(
    ctx: EventCall,
    attempt: number,
    delayMs: number,
    delaySource: 'backoff' | 'retry-after' | 'rate-limit-reset',
    outcome: { response?: BulwarkResponse; error?: unknown },
  ): void {
    if (!this.#wants('retry', ctx)) return;
    const status = outcome.response?.status;
    const errorCode = (outcome.error as BulwarkError | undefined)?.code;
    this.#emit(ctx, { event: 'retry', key: ctx.key, attempt, delayMs, status, errorCode, delaySource });
  }

  /** The HTTP cache answered the call (or stored its answer). */
  cache(ctx: EventCall, status: CacheStatus, age: number, reason: string | undefined): void {
    if (this.#wants('cache', ctx)) this.#emit(ctx, { event: 'cache', status, age, reason });
  }

  budgetExhausted(ctx: EventCall, kind: 'retry' | 'hedge'): void {
    if (this.#wants('budget-exhausted', ctx))
      this.#emit(ctx, { event: 'budget-exhausted', key: ctx.key, kind });
  }

  deadlineExceeded(ctx: EventCall, phase: 'before-send' | 'in-flight' | 'before-retry'): void {
    if (!this.#wants('deadline-exceeded', ctx)) return;
    const source = ctx.deadlineSource === 'timeout' ? 'timeout' : 'deadline';
    this.#emit(ctx, { event: 'deadline-exceeded', deadline: ctx.deadline, phase, source });
  }

  rateLimitWait(ctx: EventCall, key: string, waitMs: number): void {
    if (this.#wants('rate-limit-wait', ctx)) this.#emit(ctx, { event: 'rate-limit-wait', key, waitMs });
  }

  rateLimitRejected(ctx: EventCall, key: string, error: BulwarkError): void {
    if (!this.#wants('rate-limit-rejected', ctx)) return;
    this.#emit(ctx, { event: 'rate-limit-rejected', key, retryAfterMs: error.retryAfterMs ?? 0 });
  }

  /**
   * The shared store failed on a decision and `onStoreError` decided (the error's code, never its
   * message). Every fallback decision is published and counted; the log line is written once per
   * outage (per store error), not once per decision made while the store is down.
   */
  rateLimitStoreError(key: string, fallback: 'local' | 'open' | 'closed', error: unknown): void {
    if (!this.#sinks.wants('rate-limit-store-error', undefined)) return;
    const code = (error as { code?: unknown } | null)?.code;
    const repeat = error === this.#lastStoreError;
    this.#lastStoreError = error;
    const event = {
      event: 'rate-limit-store-error',
      key,
      fallback,
      code: typeof code === 'string' ? code : errorName(error),
    } as const;
    this.#sinks.emit(undefined, undefined, event, repeat);
  }

  rateLimitHint(key: string, remaining: number | undefined, resetMs: number): void {
    if (!this.#sinks.wants('rate-limit-hint', undefined)) return;
    this.#sinks.emit(undefined, undefined, { event: 'rate-limit-hint', key, remaining, resetMs });
  }

  concurrencyQueued(ctx: EventCall, limit: number, inflight: number, queued: number): void {
    if (!this.#wants('concurrency-queued', ctx)) return;
    this.#emit(ctx, { event: 'concurrency-queued', key: ctx.key, limit, inflight, queued });
  }

  concurrencyRejected(ctx: EventCall, error: BulwarkError): void {
    if (!this.#wants('concurrency-rejected', ctx)) return;
    const limit = error.limit ?? 0;
    const inflight = error.inflight ?? 0;
    this.#emit(ctx, { event: 'concurrency-rejected', key: ctx.key, limit, inflight });
  }

  concurrencyLimit(key: string, from: number, to: number, inflight: number): void {
    if (!this.#sinks.wants('concurrency-limit', undefined)) return;
    this.#sinks.emit(undefined, undefined, {
      event: 'concurrency-limit',
      key,
      limit: to,
      previousLimit: from,
      inflight,
    });
  }

  hedgeSpawned(ctx: EventCall, hedge: number, delayMs: number): void {
    if (this.#wants('hedge-spawned', ctx))
      this.#emit(ctx, { event: 'hedge-spawned', key: ctx.key, hedge, delayMs });
  }

  /** A hedged call's first usable answer won (`winner` 0 is the primary); the others were aborted. */
  hedgeSettled(ctx: EventCall, winner: number, hedges: number): void {
    if (this.#wants('hedge-settled', ctx))
      this.#emit(ctx, { event: 'hedge-settled', key: ctx.key, winner, hedges });
  }

  /** A redirect followed from `from` (the hop that answered 3xx, not the call's first URL). */
  redirect(
    ctx: EventCall,
    from: string,
    status: number,
    location: string,
    count: number,
    droppedHeaders: readonly string[],
  ): void {
    if (!this.#wants('redirect', ctx)) return;
    const url = this.redactor.url(from);
    this.#emit(ctx, {
      event: 'redirect',
      url,
      status,
      location: this.redactor.url(location),
      count,
      droppedHeaders,
    });
  }

  #emit(ctx: EventCall, event: Parameters<EventSinks['emit']>[2]): void {
    this.#sinks.emit(ctx, ctx.span as CallSpan | undefined, event);
  }
}

/** What an attempt's `end` message adds to its `start`. */
type AttemptOutcome = Pick<AttemptMessage & { type: 'end' }, 'durationMs' | 'status' | 'errorCode'>;

/** How much of a response body is redacted for the log: the line keeps at most `bodyLimit` of it. */
const SCANNED_BODY_BYTES = 65_536;

/** The first `max` bytes, cut at a character boundary so the text decoder still sees valid UTF-8. */
function utf8Prefix(bytes: Buffer, max: number): Buffer {
  if (bytes.byteLength <= max) return bytes;
  let end = max;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

/** A code for an error that has none: its class name (`StoreTimeoutError`), never its message. */
function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/** The state as channels and logs name it (isolation kept apart from an open window). */
function stateName(state: string): 'closed' | 'half-open' | 'open' | 'isolated' {
  return state === 'isolated' ? 'isolated' : channelState(state);
}

/** The state as the telemetry gauge counts it: an isolated circuit is open. */
function channelState(state: string): 'closed' | 'half-open' | 'open' {
  return state === 'closed' ? 'closed' : state === 'half-open' ? 'half-open' : 'open';
}
