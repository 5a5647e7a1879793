/**
 * The contract between the pipeline and OpenTelemetry: one `startCall`/`endCall` per call, one
 * `startAttempt`/`inject`/`endAttempt` per attempt, and one method per policy decision.
 * Handles may be `undefined` (tracing off) and every method accepts that, so the pipeline never
 * branches on whether telemetry is on. Hot-path methods take positional arguments: no object
 * is allocated for telemetry that is switched off.
 */

import type { CodeWhere } from '../errors.js';

/** Opaque handle of a call's span, returned by {@link Telemetry.startCall}. */
export interface CallSpan {
  readonly kind: 'call';
}

/** Opaque handle of one attempt (its span and the start of its duration measurement). */
export interface AttemptSpan {
  readonly kind: 'attempt';
}

/** What `startCall` reads; a pipeline `CallContext` satisfies it as is. */
export interface CallTarget {
  /** The request method, as sent. */
  readonly method: string;
  /** The unfilled path template (`/repos/:owner/:repo`), when the caller used `params`. */
  readonly urlTemplate: string | undefined;
  /** The call's correlation id (`req_` + 16 hex), recorded as `bulwark.correlation_id`. */
  readonly correlationId?: string | undefined;
}

/** What `startAttempt` reads; a pipeline `CallContext` satisfies it as is. */
export interface AttemptTarget {
  /** The request method, as sent. */
  readonly method: string;
  /** `scheme://host:port` of the target. Gives `server.address` and `server.port`. */
  readonly origin: string;
  /** Path and query, starting with `/`. Joined to `origin` and redacted for `url.full`. */
  readonly path: string;
  /** The unfilled path template, recorded as `url.template` when present. */
  readonly urlTemplate: string | undefined;
  /** The URL the caller gave carried userinfo: `url.full` shows it as `REDACTED:REDACTED`. */
  readonly userinfo?: boolean;
}

/** The connection an attempt went over: `network.protocol.version`, `network.peer.address`/`port`. */
export interface NetworkPeer {
  /** `'1.1'` or `'2'`. */
  readonly protocolVersion: string;
  /** The IP the socket is connected to (a proxy's, through a proxy). */
  readonly peerAddress: string | undefined;
  readonly peerPort: number | undefined;
}

/** A breaker state as the telemetry names it (`bulwark.circuit.state`: 0, 1, 2). */
export type CircuitStateName = 'closed' | 'half-open' | 'open';

/** Reports one breaker: called by the pipeline's reader once per key at each collection. */
export type ReportCircuit = (key: string, state: CircuitStateName) => void;

/** Reports one concurrency limiter: called once per key at each collection. */
export type ReportConcurrency = (key: string, limit: number, inflight: number) => void;

/** Attributes of a span event (a subset of OpenTelemetry's, so no type from the API leaks out). */
export type TelemetryAttributes = Record<string, string | number | boolean | undefined>;

/** The timeout that fired, as its error code: recorded as `error.type` on the `bulwark.timeout` event. */
export type TimeoutCode = CodeWhere<'timeout', true>;

/** The OpenTelemetry side of one client. Made by `createTelemetry`. */
export interface Telemetry {
  /** False when `@opentelemetry/api` is not installed (every method is then empty). */
  readonly enabled: boolean;

  /**
   * Starts the call's INTERNAL span `{METHOD} {url.template}` as a child of the active context.
   * `undefined` when no tracer is registered (the API's no-op provider).
   */
  startCall(target: CallTarget): CallSpan | undefined;
  /**
   * Ends the call span once (later calls are ignored): `http.response.status_code` of the final
   * answer, `bulwark.attempts`, `error.type`, status ERROR unless the caller aborted.
   */
  endCall(call: CallSpan | undefined, status: number | undefined, error: unknown, attempts: number): void;

  /**
   * Starts one attempt: a CLIENT span under `call` (or the active context) and the clock for
   * `http.client.request.duration`. `resendCount` is 0 for the first attempt, then 1, 2, ...
   * (each redirect hop is an attempt span of its own and counts too). `undefined` when neither
   * tracing nor metrics are on.
   */
  startAttempt(
    call: CallSpan | undefined,
    target: AttemptTarget,
    resendCount: number,
  ): AttemptSpan | undefined;
  /**
   * Ends the attempt once: sets status code, `error.type` and span status, records the duration
   * (not for an aborted attempt). Pass the response status when one arrived, the error otherwise.
   */
  endAttempt(
    attempt: AttemptSpan | undefined,
    status: number | undefined,
    error?: unknown,
    network?: NetworkPeer,
  ): void;
  /**
   * Writes `traceparent`/`tracestate` for the attempt into `headers` through the global propagator
   * (the ambient context when `attempt` is undefined). Nothing when `propagate` is false.
   */
  inject(headers: Record<string, string>, attempt: AttemptSpan | undefined): void;

  /** Runs `fn` with the span active (for instrumentation below bulwark); plain `fn()` when undefined. */
  run<T>(span: CallSpan | AttemptSpan | undefined, fn: () => T): T;
  /** True when the span records: check before building costly event attributes. */
  isRecording(span: CallSpan | AttemptSpan | undefined): boolean;
  /** Adds an event to a recording span. */
  event(span: CallSpan | AttemptSpan | undefined, name: string, attributes?: TelemetryAttributes): void;

  /** A retry was scheduled. `reason`: the status as a string (`'503'`) or the error code (`'NETWORK'`). `attempt`: the attempt that failed, from 1. */
  retry(
    span: CallSpan | AttemptSpan | undefined,
    key: string,
    reason: string,
    attempt: number,
    delayMs: number,
  ): void;
  /** The retry budget refused a retry or a hedge. */
  retryBudgetExhausted(span: CallSpan | AttemptSpan | undefined, key: string): void;
  /** A hedged attempt was started; `hedge` counts from 1. */
  hedge(span: CallSpan | AttemptSpan | undefined, key: string, hedge: number, delayMs: number): void;
  /** A breaker changed state (also an event on `span` when given). */
  circuitTransition(
    key: string,
    from: CircuitStateName,
    to: CircuitStateName,
    span?: CallSpan | AttemptSpan,
  ): void;
  /** An open breaker refused an attempt (`CIRCUIT_OPEN`). */
  circuitRejected(span: CallSpan | AttemptSpan | undefined, key: string, retryAfterMs: number): void;
  /** An attempt waited `waitMs` for a rate-limit token. */
  rateLimitWait(span: CallSpan | AttemptSpan | undefined, key: string, waitMs: number): void;
  /** The rate limiter refused an attempt (`RATE_LIMITED`). */
  rateLimitRejected(span: CallSpan | AttemptSpan | undefined, key: string, retryAfterMs: number): void;
  /** The concurrency limiter refused an attempt (`CONCURRENCY_LIMITED`). */
  concurrencyRejected(
    span: CallSpan | AttemptSpan | undefined,
    key: string,
    limit: number,
    inflight: number,
  ): void;
  /** A timeout or deadline fired; `timeoutMs` is undefined for a deadline (it has no duration). */
  timeout(span: CallSpan | AttemptSpan | undefined, code: TimeoutCode, timeoutMs: number | undefined): void;
  /** A redirect is being followed; `location` is redacted here; `count` from 1. */
  redirect(span: CallSpan | AttemptSpan | undefined, status: number, location: string, count: number): void;
  /** The HTTP cache answered or stored the call: `bulwark.cache` (and `bulwark.cache.age` in s) on the call span. */
  cache(span: CallSpan | undefined, status: string, ageSeconds: number | undefined): void;

  /**
   * Registers the reader of `bulwark.circuit.state`: at each collection it must call `report`
   * once per breaker key. Returns the function that unregisters it (call it from `close()`).
   */
  observeCircuits(read: (report: ReportCircuit) => void): () => void;
  /** Registers the reader of `bulwark.concurrency.limit` and `.inflight`. Returns the unregister function. */
  observeConcurrency(read: (report: ReportConcurrency) => void): () => void;
}

function nothing(): void {
  // Telemetry is off: deliberately empty.
}

/** The telemetry used when `@opentelemetry/api` is not installed: every method is empty. */
export const NOOP_TELEMETRY: Telemetry = Object.freeze({
  enabled: false,
  startCall: () => undefined,
  endCall: nothing,
  startAttempt: () => undefined,
  endAttempt: nothing,
  inject: nothing,
  run: <T>(_span: unknown, fn: () => T): T => fn(),
  isRecording: () => false,
  event: nothing,
  retry: nothing,
  retryBudgetExhausted: nothing,
  hedge: nothing,
  circuitTransition: nothing,
  circuitRejected: nothing,
  rateLimitWait: nothing,
  rateLimitRejected: nothing,
  concurrencyRejected: nothing,
  timeout: nothing,
  redirect: nothing,
  cache: nothing,
  observeCircuits: () => nothing,
  observeConcurrency: () => nothing,
});
