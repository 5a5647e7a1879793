import { traitsOf, type BulwarkError } from '../errors.js';
import type { BulwarkResponse } from '../http/response.js';
// Each message is built only when its channel has a listener (`hasSubscribers` first): payloads
// redact URLs, and the docs promise that an unobserved channel costs nothing.
import {
  attemptChannel,
  budgetChannel,
  cacheChannel,
  circuitChannel,
  concurrencyChannel,
  deadlineChannel,
  hedgeChannel,
  publishAttempt,
  publishBudget,
  publishCache,
  publishCircuit,
  publishConcurrency,
  publishDeadline,
  publishHedge,
  publishRateLimit,
  publishRedirect,
  publishRetry,
  rateLimitChannel,
  redirectChannel,
  retryChannel,
  type CacheStatus,
} from '../observability/channels.js';
import {
  levelEnabled,
  logEvent,
  type Logger,
  type LogInput,
  type LogLevel,
  type LogLevelSetting,
} from '../observability/logger.js';
import type { Redactor } from '../observability/redact.js';
import type { AttemptSpan, CallSpan, Telemetry, TimeoutCode } from '../observability/telemetry.js';
import type { Attempt } from '../transport/attempt.js';
import type { CallContext } from './types.js';

/** Logging settings of a client. */
export interface LogSettings {
  readonly logger: Logger | undefined;
  readonly level: LogLevelSetting;
  readonly logHeaders: boolean;
  readonly logBody: boolean;
  /** Longest body written in a line, characters (after redaction). */
  readonly bodyLimit: number;
}

/** The process warning for a client without a logger and with verification off is given once. */
let insecureWarned = false;

/**
 * Where every stage reports what it decided: one call fans out to the diagnostics channel,
 * the OpenTelemetry span and metrics, and the log, each only when someone listens. URLs are
 * redacted here, once, before any sink sees them.
 */
export class CallEvents {
  readonly telemetry: Telemetry;
  readonly redactor: Redactor;
  readonly log: LogSettings;
  readonly #client: string;
  readonly #unregister: (() => void)[] = [];
  readonly #observe: boolean;

  constructor(client: string, telemetry: Telemetry, redactor: Redactor, log: LogSettings) {
    this.#client = client;
    this.telemetry = telemetry;
    this.redactor = redactor;
    this.log = log;
    this.#observe = telemetry.enabled || levelEnabled(log.logger, 'info', log.level);
  }

  /** True when attempt-level spans, metrics, info logs or `bulwark:attempt` messages must be produced. */
  get observeAttempts(): boolean {
    return this.#observe || attemptChannel.hasSubscribers;
  }

  /** A breaker changed state (channel + metric); `failureRatio` and `openMs` when it opened. */
  circuitTransition(
    key: string,
    from: string,
    to: string,
    failureRatio: number | undefined,
    openMs: number | undefined,
    reason?: string,
  ): void {
    const f = stateName(from);
    const t = stateName(to);
    if (circuitChannel.hasSubscribers) {
      publishCircuit({
        client: this.#client,
        type: 'transition',
        key,
        from: f,
        to: t,
        failureRatio,
        openMs,
        reason,
      });
    }
    this.telemetry.circuitTransition(key, channelState(from), channelState(to));
    if (levelEnabled(this.log.logger, 'warn', this.log.level)) {
      try {
        this.log.logger?.warn(
          { client: this.#client, event: 'circuit', key: this.redactor.text(key), from: f, to: t },
          `circuit ${t}: ${this.redactor.text(key)}`,
        );
      } catch {
        // Logging never fails a request.
      }
    }
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
  url(ctx: CallContext): string {
    return this.redactor.url(ctx.origin + ctx.path);
  }

  #fields(ctx: CallContext): { client: string; correlationId: string; method: string; url: string } {
    return { client: this.#client, correlationId: ctx.correlationId, method: ctx.method, url: this.url(ctx) };
  }

  /** One line of a call, with the client's name on it (redacted by `logEvent`). */
  #write(input: LogInput, level?: LogLevel): void {
    logEvent(this.log.logger, this.log.level, input, this.redactor, level);
  }

  #logging(level: 'info' | 'warn' | 'error' | 'debug'): boolean {
    return levelEnabled(this.log.logger, level, this.log.level);
  }

  /** An attempt is about to be sent: attempt span, trace context, `→ GET …` line. */
  attemptStart(attempt: Attempt<CallContext>): AttemptSpan | undefined {
    const ctx = attempt.ctx;
    // Redirect hops count as resends too (semantic conventions): attempt n, hop h → (n − 1) + h.
    const span = this.telemetry.startAttempt(
      ctx.span as CallSpan | undefined,
      attempt,
      attempt.number - 1 + attempt.redirects,
    );
    this.telemetry.inject(attempt.headers, span);
    if (attemptChannel.hasSubscribers) {
      publishAttempt({
        ...this.#fields(ctx),
        method: attempt.method,
        url: this.redactor.url(attempt.origin + attempt.path),
        type: 'start',
        key: ctx.key,
        attempt: attempt.number,
        redirects: attempt.redirects,
      });
    }
    if (this.#logging('info')) {
      this.#write({
        client: this.#client,
        event: 'request',
        correlationId: ctx.correlationId,
        method: attempt.method,
        url: attempt.origin + attempt.path,
        attempt: attempt.number,
        key: ctx.key,
        ...(this.log.logHeaders ? { headers: attempt.headers } : {}),
        ...(this.log.logBody && typeof ctx.body === 'string'
          ? {
              body: ctx.body,
              contentType: attempt.headers['content-type'] ?? '',
              bodyLimit: this.log.bodyLimit,
            }
          : {}),
      });
    }
    return span;
  }

  /** An attempt got its answer or failed: `← 200 (45ms)`. */
  attemptEnd(
    attempt: Attempt<CallContext>,
    span: AttemptSpan | undefined,
    response: BulwarkResponse | undefined,
    error: unknown,
  ): void {
    const ctx = attempt.ctx;
    const code = (error as BulwarkError | undefined)?.code;
    const traits = traitsOf(error);
    // The event must reach the span before it ends: an ended span drops events.
    if (traits?.timeout === true) {
      // A deadline has no duration of its own: the attribute is left out rather than reading 0.
      // A timeout trait is the only thing that makes a code a `TimeoutCode`.
      this.telemetry.timeout(span, code as TimeoutCode, (error as BulwarkError).timeoutMs);
    }
    this.telemetry.endAttempt(span, response?.status, error, attempt.network);
    const durationMs = ctx.runtime.clock.now() - attempt.startedAt;
    if (attemptChannel.hasSubscribers) {
      publishAttempt({
        ...this.#fields(ctx),
        method: attempt.method,
        url: this.redactor.url(attempt.origin + attempt.path),
        type: 'end',
        key: ctx.key,
        attempt: attempt.number,
        redirects: attempt.redirects,
        durationMs,
        status: response?.status,
        errorCode: code,
      });
    }
    if (response !== undefined) {
      if (this.#logging('info')) {
        this.#write({
          client: this.#client,
          event: 'response',
          correlationId: ctx.correlationId,
          method: attempt.method,
          url: attempt.origin + attempt.path,
          status: response.status,
          durationMs,
          attempt: attempt.number,
          key: ctx.key,
          ...(this.log.logHeaders ? { headers: response.headers as Record<string, string> } : {}),
        });
      }
      return;
    }
    const level = traits?.logLevel ?? 'error';
    if (this.#logging(level)) {
      this.#write(
        {
          client: this.#client,
          event: 'error',
          correlationId: ctx.correlationId,
          method: attempt.method,
          url: attempt.origin + attempt.path,
          durationMs,
          attempt: attempt.number,
          key: ctx.key,
          ...(code === undefined ? {} : { code }),
          error,
        },
        level,
      );
    }
  }

  /**
   * With `logBody`: the call's final response body, once read whole by the caller (decoded).
   * Only the first 64 KiB are redacted and at most `bodyLimit` characters written.
   */
  responseBody(ctx: CallContext, response: BulwarkResponse, bytes: Buffer): void {
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

  /** A policy refused the call before anything was sent. */
  rejected(ctx: CallContext, error: BulwarkError, key: string = ctx.key): void {
    if (this.#logging('warn')) {
      this.#write({
        client: this.#client,
        event: 'rejected',
        correlationId: ctx.correlationId,
        method: ctx.method,
        url: ctx.origin + ctx.path,
        key,
        code: error.code,
      });
    }
  }

  /** An open circuit (local or shared through a store) refused the call: channel, span, metric, log. */
  circuitRejected(ctx: CallContext, key: string, retryAfterMs: number, error: BulwarkError): void {
    if (circuitChannel.hasSubscribers) {
      publishCircuit({
        client: this.#client,
        type: 'rejected',
        correlationId: ctx.correlationId,
        method: ctx.method,
        url: error.url ?? this.url(ctx),
        key,
        retryAfterMs,
      });
    }
    this.telemetry.circuitRejected(ctx.span as CallSpan | undefined, key, retryAfterMs);
    this.rejected(ctx, error, key);
  }

  retry(
    ctx: CallContext,
    attempt: number,
    delayMs: number,
    delaySource: 'backoff' | 'retry-after' | 'rate-limit-reset',
    outcome: { response?: BulwarkResponse; error?: unknown },
  ): void {
    const status = outcome.response?.status;
    const code = (outcome.error as BulwarkError | undefined)?.code;
    const reason = status !== undefined ? String(status) : (code ?? 'error');
    if (retryChannel.hasSubscribers) {
      publishRetry({
        ...this.#fields(ctx),
        key: ctx.key,
        attempt,
        delayMs,
        status,
        errorCode: code,
        delaySource,
      });
    }
    this.telemetry.retry(ctx.span as CallSpan | undefined, ctx.key, reason, attempt, delayMs);
    if (this.#logging('warn')) {
      this.#write({
        client: this.#client,
        event: 'retry',
        correlationId: ctx.correlationId,
        method: ctx.method,
        url: ctx.origin + ctx.path,
        attempt,
        delayMs,
        key: ctx.key,
        ...(status === undefined ? {} : { status }),
        ...(code === undefined ? {} : { code }),
      });
    }
  }

  /** The HTTP cache answered the call (or stored its answer): channel, call-span attribute, log line. */
  cache(ctx: CallContext, status: CacheStatus, age: number, reason: string | undefined): void {
    if (cacheChannel.hasSubscribers) publishCache({ ...this.#fields(ctx), status, age, reason });
    this.telemetry.cache(ctx.span as CallSpan | undefined, status, status === 'miss' ? undefined : age);
    // A miss is logged by its attempt's own lines; what the cache answered is logged here.
    if (status !== 'miss' && this.#logging('info')) {
      logEvent(
        this.log.logger,
        this.log.level,
        {
          event: 'cache',
          correlationId: ctx.correlationId,
          method: ctx.method,
          url: ctx.origin + ctx.path,
          cache: status,
          age,
          key: ctx.key,
          ...(reason === undefined ? {} : { reason }),
        },
        this.redactor,
      );
    }
  }

  budgetExhausted(ctx: CallContext, kind: 'retry' | 'hedge'): void {
    if (budgetChannel.hasSubscribers) {
      publishBudget({ ...this.#fields(ctx), type: 'exhausted', key: ctx.key, kind });
    }
    this.telemetry.retryBudgetExhausted(ctx.span as CallSpan | undefined, ctx.key);
  }

  deadlineExceeded(ctx: CallContext, phase: 'before-send' | 'in-flight' | 'before-retry'): void {
    if (deadlineChannel.hasSubscribers) {
      publishDeadline({
        ...this.#fields(ctx),
        type: 'exceeded',
        deadline: ctx.deadline,
        phase,
        source: ctx.deadlineSource === 'timeout' ? 'timeout' : 'deadline',
      });
    }
  }

  rateLimitWait(ctx: CallContext, key: string, waitMs: number): void {
    if (rateLimitChannel.hasSubscribers) {
      publishRateLimit({ ...this.#fields(ctx), type: 'wait', key, waitMs });
    }
    this.telemetry.rateLimitWait(ctx.span as CallSpan | undefined, key, waitMs);
  }

  rateLimitRejected(ctx: CallContext, key: string, error: BulwarkError): void {
    const retryAfterMs = error.retryAfterMs ?? 0;
    if (rateLimitChannel.hasSubscribers) {
      publishRateLimit({ ...this.#fields(ctx), type: 'rejected', key, retryAfterMs });
    }
    this.telemetry.rateLimitRejected(ctx.span as CallSpan | undefined, key, retryAfterMs);
    this.rejected(ctx, error);
  }

  /** The shared store failed on a decision and `onStoreError` decided (the error's code, never its message). */
  rateLimitStoreError(key: string, fallback: 'local' | 'open' | 'closed', error: unknown): void {
    const code = (error as { code?: unknown } | null)?.code;
    if (rateLimitChannel.hasSubscribers) {
      publishRateLimit({
        client: this.#client,
        type: 'store-error',
        key,
        fallback,
        code: typeof code === 'string' ? code : errorName(error),
      });
    }
  }

  rateLimitHint(key: string, remaining: number | undefined, resetMs: number): void {
    if (rateLimitChannel.hasSubscribers) {
      publishRateLimit({ client: this.#client, type: 'hint', key, remaining, resetMs });
    }
  }

  concurrencyQueued(ctx: CallContext, limit: number, inflight: number, queued: number): void {
    if (concurrencyChannel.hasSubscribers) {
      publishConcurrency({ ...this.#fields(ctx), type: 'queued', key: ctx.key, limit, inflight, queued });
    }
  }

  concurrencyRejected(ctx: CallContext, error: BulwarkError): void {
    const limit = error.limit ?? 0;
    const inflight = error.inflight ?? 0;
    if (concurrencyChannel.hasSubscribers) {
      publishConcurrency({ ...this.#fields(ctx), type: 'rejected', key: ctx.key, limit, inflight });
    }
    this.telemetry.concurrencyRejected(ctx.span as CallSpan | undefined, ctx.key, limit, inflight);
    this.rejected(ctx, error);
  }

  concurrencyLimit(key: string, from: number, to: number, inflight: number): void {
    if (concurrencyChannel.hasSubscribers) {
      publishConcurrency({
        client: this.#client,
        type: 'limit',
        key,
        limit: to,
        previousLimit: from,
        inflight,
      });
    }
  }

  hedgeSpawned(ctx: CallContext, hedge: number, delayMs: number): void {
    if (hedgeChannel.hasSubscribers) {
      publishHedge({ ...this.#fields(ctx), type: 'spawned', key: ctx.key, hedge, delayMs });
    }
    this.telemetry.hedge(ctx.span as CallSpan | undefined, ctx.key, hedge, delayMs);
  }

  /** A hedged call's first usable answer won (`winner` 0 is the primary); the others were aborted. */
  hedgeSettled(ctx: CallContext, winner: number, hedges: number): void {
    if (hedgeChannel.hasSubscribers) {
      publishHedge({ ...this.#fields(ctx), type: 'settled', key: ctx.key, winner, hedges });
    }
  }

  /** A redirect followed from `from` (the hop that answered 3xx, not the call's first URL). */
  redirect(
    ctx: CallContext,
    from: string,
    status: number,
    location: string,
    count: number,
    droppedHeaders: readonly string[],
  ): void {
    const redacted = this.redactor.url(location);
    if (redirectChannel.hasSubscribers) {
      publishRedirect({
        client: this.#client,
        correlationId: ctx.correlationId,
        method: ctx.method,
        url: this.redactor.url(from),
        status,
        location: redacted,
        count,
        droppedHeaders,
      });
    }
    this.telemetry.redirect(ctx.span as CallSpan | undefined, status, redacted, count);
  }
}

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
