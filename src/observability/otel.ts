/**
 * OpenTelemetry for bulwark through `@opentelemetry/api`, an optional peer. The API is loaded
 * lazily and synchronously; without it every method is an empty function. With the API but no
 * SDK registered, calls get no span and attempts no handle, so the pipeline pays a few
 * comparisons. Spans: see otel-tracing.ts; instruments: otel-metrics.ts; names in docs/observability.md.
 */

import { createRequire } from 'node:module';
import type { Attributes, Meter, Span, Tracer } from '@opentelemetry/api';
import { systemClock, type Clock } from '../clock.js';
import { invalidOption, isBulwarkError } from '../errors.js';
import { checkFunction } from '../validate.js';
import { errorType, isAbortError, normaliseMethod, parseOrigin, sanitizeUrl } from './otel-attributes.js';
import { ATTR } from './names.js';
import {
  instrumentsFor,
  observeCircuitState,
  observeConcurrency,
  recordValue,
  type Instruments,
} from './otel-metrics.js';
import { EVENT_TABLE, type EventRow, type PolicyEvent } from './policy-events.js';
import {
  AttemptHandle,
  type AttemptState,
  type CallState,
  finishSpan,
  startAttemptSpan,
  startCallSpan,
  type OtelApiModule,
} from './otel-tracing.js';
import {
  NOOP_TELEMETRY,
  type AttemptSpan,
  type AttemptTarget,
  type CallSpan,
  type CallTarget,
  type NetworkPeer,
  type ReportCircuit,
  type ReportConcurrency,
  type Telemetry,
} from './telemetry.js';

export type {
  AttemptSpan,
  AttemptTarget,
  CallSpan,
  CallTarget,
  CircuitStateName,
  ReportCircuit,
  ReportConcurrency,
  Telemetry,
  TelemetryAttributes,
  TimeoutCode,
} from './telemetry.js';
export { NOOP_TELEMETRY } from './telemetry.js';
export { errorType, sanitizeUrl } from './otel-attributes.js';

/** An `@opentelemetry/api` `TracerProvider`, typed structurally so bulwark's types never need the package. */
export interface TracerProviderLike {
  getTracer(name: string, version?: string): unknown;
}

/** An `@opentelemetry/api` `MeterProvider`, typed structurally. */
export interface MeterProviderLike {
  getMeter(name: string, version?: string): unknown;
}

/** Options of {@link createTelemetry}. The client maps its `name` and `telemetry` options onto these. */
export interface TelemetryOptions {
  /** The client's `name`: the `bulwark.client` attribute on every span and metric point. */
  readonly clientName: string;
  /**
   * Inject W3C trace context (`traceparent`, `tracestate`) into each attempt through the global propagator.
   * @default true
   */
  readonly propagate?: boolean;
  /**
   * Where spans go.
   * @default the global provider (`trace.getTracerProvider()`), looked up on every call so an SDK started later is picked up
   */
  readonly tracerProvider?: TracerProviderLike;
  /**
   * Where metrics go. The API has no proxy for meters: register the SDK's provider before creating clients.
   * @default the global provider (`metrics.getMeterProvider()`) at creation
   */
  readonly meterProvider?: MeterProviderLike;
  /**
   * Makes `url.full` and redirect locations safe. Always stripped of userinfo and fragment afterwards.
   * @default sanitizeUrl (userinfo, fragment and well-known secret query values)
   */
  readonly redactUrl?: (url: string) => string;
  /**
   * Time source of `http.client.request.duration` (milliseconds).
   * @default systemClock
   */
  readonly clock?: Pick<Clock, 'now'>;
  /**
   * Names the call span and each attempt span (Hardhat's `span_name`). A throw or a result that
   * is not a non-empty string falls back to the default: telemetry never fails a request. Keep
   * names low-cardinality: no ids, no query strings.
   * @default `{METHOD} {url.template}`, or `{METHOD}` without a template
   * @example spanName: ({ method, urlTemplate }) => `github ${method} ${urlTemplate ?? '/'}`
   */
  readonly spanName?: (request: SpanNameRequest) => string;
  /**
   * Statuses (400–599) a span counts as a success (Hardhat's `mark_status_ok`): no ERROR status
   * and no `error.type` on the span and the duration metric, also when `throwHttpErrors` turned
   * the status into an `HTTP_STATUS` error. For a lookup API where 404 is an answer, not a fault.
   * @default []
   */
  readonly okStatuses?: readonly number[];
  /**
   * The span status a success sets: `'unset'` as the HTTP semantic conventions advise for client
   * spans, or `'ok'` for backends that only count explicit OK statuses.
   * @default 'unset'
   */
  readonly successStatus?: 'unset' | 'ok';
}

/** What a `spanName` function is given. */
export interface SpanNameRequest {
  /** Which span: the call's (INTERNAL) or one attempt's (CLIENT). */
  readonly kind: 'call' | 'attempt';
  /** The method as sent (`GET`, or a custom token). */
  readonly method: string;
  /** The unfilled path template (`/repos/:owner/:repo`), when the caller used `params`. */
  readonly urlTemplate: string | undefined;
  /** `scheme://host:port` of the target; only on attempt spans. */
  readonly origin: string | undefined;
}

let loaded: OtelApiModule | null | undefined;

/**
 * `@opentelemetry/api` if it can be required from here, else `undefined`. Resolved once; the
 * package ships CommonJS, so `createRequire` loads it synchronously at client creation.
 */
function loadOtelApi(): OtelApiModule | undefined {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('@opentelemetry/api') as OtelApiModule;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}

/**
 * The telemetry of one client. Returns {@link NOOP_TELEMETRY} when `@opentelemetry/api` is not installed.
 * @throws BulwarkError `INVALID_OPTIONS` naming the option (`name`, `telemetry.propagate`, ...).
 * @example const telemetry = createTelemetry({ clientName: 'github', propagate: true });
 */
export function createTelemetry(options: TelemetryOptions): Telemetry {
  return createTelemetryWith(loadOtelApi(), options);
}

/**
 * {@link createTelemetry} with the `@opentelemetry/api` module given; `undefined` stands for "not
 * installed" (the tests' seam). Typed `object` so bulwark's declarations never name the API's types.
 */
export function createTelemetryWith(api: object | undefined, options: TelemetryOptions): Telemetry {
  validate(options);
  return api === undefined ? NOOP_TELEMETRY : new OtelTelemetry(api as OtelApiModule, options);
}

function validate(options: TelemetryOptions): void {
  const { clientName, propagate, tracerProvider, meterProvider, redactUrl, clock } = options;
  if (typeof clientName !== 'string' || clientName === '') {
    throw invalidOption('name', clientName, 'a non-empty string');
  }
  if (propagate !== undefined && typeof propagate !== 'boolean') {
    throw invalidOption('telemetry.propagate', propagate, 'a boolean');
  }
  if (tracerProvider !== undefined && typeof tracerProvider.getTracer !== 'function') {
    throw invalidOption('telemetry.tracerProvider', tracerProvider, 'an OpenTelemetry TracerProvider');
  }
  if (meterProvider !== undefined && typeof meterProvider.getMeter !== 'function') {
    throw invalidOption('telemetry.meterProvider', meterProvider, 'an OpenTelemetry MeterProvider');
  }
  checkFunction('options', 'telemetry.redactUrl', redactUrl, 'a function (url: string) => string');
  checkFunction(
    'options',
    'telemetry.spanName',
    options.spanName,
    'a function of the request returning a string',
  );
  const ok: unknown = options.okStatuses;
  if (
    ok !== undefined &&
    (!Array.isArray(ok) ||
      ok.some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < 400 || v > 599))
  ) {
    throw invalidOption('telemetry.okStatuses', ok, 'an array of HTTP status codes from 400 to 599');
  }
  const success: unknown = options.successStatus;
  if (success !== undefined && success !== 'unset' && success !== 'ok') {
    throw invalidOption('telemetry.successStatus', success, "'unset' or 'ok'");
  }
  if (clock !== undefined && typeof clock.now !== 'function') {
    throw invalidOption('clock', clock, 'a Clock');
  }
}

let version: string | undefined;
function packageVersion(): string | undefined {
  if (version === undefined) {
    try {
      version = (createRequire(import.meta.url)('bulwark/package.json') as { version: string }).version;
    } catch {
      version = '';
    }
  }
  return version === '' ? undefined : version;
}

type Handle = CallSpan | AttemptSpan | undefined;

function spanOf(handle: Handle): Span | undefined {
  return handle === undefined ? undefined : (handle as CallState | AttemptState).span;
}

class OtelTelemetry implements Telemetry {
  readonly enabled = true;
  readonly metering: boolean;
  readonly #api: OtelApiModule;
  readonly #tracer: Tracer;
  readonly #ownTracerProvider: boolean;
  readonly #noopTracerProvider: unknown;
  readonly #meter: Meter;
  readonly #instruments: Instruments | undefined;
  readonly #client: string;
  readonly #propagate: boolean;
  readonly #redact: (url: string) => string;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #spanName: ((request: SpanNameRequest) => string) | undefined;
  readonly #okStatuses: ReadonlySet<number>;
  readonly #markOk: boolean;

  constructor(api: OtelApiModule, options: TelemetryOptions) {
    this.#api = api;
    this.#spanName = options.spanName;
    this.#okStatuses = new Set(options.okStatuses ?? []);
    this.#markOk = options.successStatus === 'ok';
    this.#client = options.clientName;
    this.#propagate = options.propagate ?? true;
    const redact = options.redactUrl;
    this.#redact = redact === undefined ? sanitizeUrl : (url) => sanitizeUrl(redact(url));
    this.#clock = options.clock ?? systemClock;
    this.#ownTracerProvider = options.tracerProvider !== undefined;
    const tracerProvider = options.tracerProvider ?? api.trace.getTracerProvider();
    this.#tracer = tracerProvider.getTracer('bulwark', packageVersion()) as Tracer;
    // A fresh proxy's delegate is the API's no-op provider: the identity that means "no SDK".
    // (The class is deprecated for API 2.0; without it, tracing is simply assumed on.)
    const Proxy = (api as { ProxyTracerProvider?: new () => { getDelegate(): unknown } }).ProxyTracerProvider;
    this.#noopTracerProvider = Proxy === undefined ? undefined : new Proxy().getDelegate();
    const meterProvider = options.meterProvider ?? api.metrics.getMeterProvider();
    this.#meter = meterProvider.getMeter('bulwark', packageVersion()) as Meter;
    this.#instruments = this.#meter === api.createNoopMeter() ? undefined : instrumentsFor(this.#meter);
    this.metering = this.#instruments !== undefined;
  }

  #tracing(): boolean {
    if (this.#ownTracerProvider) return true;
    const provider = this.#api.trace.getTracerProvider() as { getDelegate?: () => unknown };
    return (
      this.#noopTracerProvider === undefined ||
      typeof provider.getDelegate !== 'function' ||
      provider.getDelegate() !== this.#noopTracerProvider
    );
  }

  live(): boolean {
    return this.#instruments !== undefined || this.#tracing() || this.#ambient();
  }

  /** An active context to propagate: without one (the root), standard propagators write nothing. */
  #ambient(): boolean {
    return this.#propagate && this.#api.context.active() !== this.#api.ROOT_CONTEXT;
  }

  startCall(target: CallTarget): CallSpan | undefined {
    if (!this.#tracing()) return undefined;
    const name =
      this.#spanName === undefined
        ? undefined
        : this.#name({
            kind: 'call',
            method: target.method,
            urlTemplate: target.urlTemplate,
            origin: undefined,
          });
    return startCallSpan(this.#api, this.#tracer, this.#client, target, name);
  }

  endCall(call: CallSpan | undefined, status: number | undefined, error: unknown, attempts: number): void {
    if (call === undefined) return;
    const handle = call as CallState;
    if (handle.ended) return;
    handle.ended = true;
    if (attempts > 0 && handle.span.isRecording()) handle.span.setAttribute(ATTR.attempts, attempts);
    const type = this.#errorType(status, error);
    finishSpan(this.#api, handle.span, status, error, type, this.#redact, this.#succeeded(type, error));
  }

  startAttempt(
    call: CallSpan | undefined,
    target: AttemptTarget,
    resendCount: number,
  ): AttemptSpan | undefined {
    const tracing = call !== undefined || this.#tracing();
    if (!tracing && this.#instruments === undefined) return undefined;
    const method = normaliseMethod(target.method);
    const endpoint = parseOrigin(target.origin);
    let span: Span | undefined;
    let parent;
    if (tracing) {
      parent = call === undefined ? this.#api.context.active() : (call as CallState).context;
      span = startAttemptSpan(
        this.#api,
        this.#tracer,
        parent,
        method,
        endpoint,
        target,
        resendCount,
        this.#redact,
        this.#spanName === undefined
          ? undefined
          : this.#name({
              kind: 'attempt',
              method: target.method,
              urlTemplate: target.urlTemplate,
              origin: target.origin,
            }),
      );
    }
    return new AttemptHandle(span, parent, this.#clock.now(), method, endpoint);
  }

  endAttempt(
    attempt: AttemptSpan | undefined,
    status: number | undefined,
    error?: unknown,
    network?: NetworkPeer,
  ): void {
    if (attempt === undefined) return;
    const handle = attempt as AttemptState;
    if (handle.ended) return;
    handle.ended = true;
    const type = this.#errorType(status, error);
    if (network !== undefined && handle.span?.isRecording() === true) {
      // Recommended on client spans by the stable HTTP conventions.
      handle.span.setAttribute(ATTR.networkProtocol, network.protocolVersion);
      if (network.peerAddress !== undefined) {
        handle.span.setAttribute(ATTR.networkPeerAddress, network.peerAddress);
        if (network.peerPort !== undefined) handle.span.setAttribute(ATTR.networkPeerPort, network.peerPort);
      }
    }
    if (handle.span !== undefined) {
      finishSpan(this.#api, handle.span, status, error, type, this.#redact, this.#succeeded(type, error));
    }
    // A cancelled attempt (the caller's abort, a hedge loser) measures nothing about the server.
    if (this.#instruments === undefined || isAbortError(error)) return;
    const attributes: Attributes = {
      [ATTR.httpMethod]: handle.method,
      [ATTR.serverAddress]: handle.address,
      [ATTR.serverPort]: handle.port,
      [ATTR.client]: this.#client,
    };
    if (status !== undefined) attributes[ATTR.httpStatus] = status;
    if (type !== undefined) attributes[ATTR.errorType] = type;
    // The metric takes the protocol version (Recommended) but not the peer: an address per
    // socket would multiply its series.
    if (network !== undefined) attributes[ATTR.networkProtocol] = network.protocolVersion;
    this.#instruments.requestDuration.record((this.#clock.now() - handle.startedAt) / 1000, attributes);
  }

  inject(headers: Record<string, string>, attempt: AttemptSpan | undefined): void {
    if (!this.#propagate) return;
    const context =
      attempt === undefined ? this.#api.context.active() : (attempt as AttemptState).contextIn(this.#api);
    // The root context carries no span and no baggage: there is nothing to write.
    if (context !== this.#api.ROOT_CONTEXT) this.#api.propagation.inject(context, headers);
  }

  run<T>(handle: Handle, fn: () => T): T {
    if (handle === undefined) return fn();
    const context =
      handle.kind === 'call' ? (handle as CallState).context : (handle as AttemptState).contextIn(this.#api);
    return this.#api.context.with(context, fn);
  }

  isRecording(handle: Handle): boolean {
    return spanOf(handle)?.isRecording() ?? false;
  }

  event(handle: Handle, name: string, attributes?: Attributes): void {
    const span = spanOf(handle);
    if (span?.isRecording() === true) span.addEvent(name, attributes);
  }

  record(handle: Handle, event: PolicyEvent): void {
    const row = EVENT_TABLE[event.event] as EventRow<PolicyEvent>;
    const metric = row.metric;
    if (metric !== false && this.#instruments !== undefined) {
      const attributes = metric.attributes(event) as Attributes;
      attributes[ATTR.client] = this.#client;
      recordValue(this.#instruments, metric.instrument, metric.value(event), attributes);
    }
    const spanRow = row.span;
    const span = spanRow === false ? undefined : spanOf(handle);
    if (spanRow === false || span?.isRecording() !== true) return;
    const attributes = spanRow.attributes(event) as Attributes;
    const url = attributes[ATTR.urlFull];
    if (typeof url === 'string') attributes[ATTR.urlFull] = this.#redact(url);
    if (spanRow.name === undefined) span.setAttributes(attributes);
    else span.addEvent(spanRow.name, attributes);
  }

  observeCircuits(read: (report: ReportCircuit) => void): () => void {
    if (this.#instruments === undefined) return noop;
    return observeCircuitState(this.#instruments, this.#client, read);
  }

  observeConcurrency(read: (report: ReportConcurrency) => void): () => void {
    if (this.#instruments === undefined) return noop;
    return observeConcurrency(this.#meter, this.#instruments, this.#client, read);
  }

  /** `error.type`, except for the statuses `okStatuses` says are a success. */
  #errorType(status: number | undefined, error: unknown): string | undefined {
    if (status !== undefined && this.#okStatuses.has(status)) {
      if (error === undefined || error === null || isBulwarkError(error, 'HTTP_STATUS')) return undefined;
    }
    return errorType(status, error);
  }

  /** True when the span must say OK: a success (no error type, not an abort) and `successStatus: 'ok'`. */
  #succeeded(type: string | undefined, error: unknown): boolean {
    return (
      this.#markOk && type === undefined && (error === undefined || error === null || !isAbortError(error))
    );
  }

  /** The user's span name, or the default when it throws or returns no usable name. */
  #name(request: SpanNameRequest): string | undefined {
    try {
      const name: unknown = this.#spanName?.(request);
      return typeof name === 'string' && name !== '' ? name : undefined;
    } catch {
      return undefined;
    }
  }
}

function noop(): void {
  // Nothing was registered, so there is nothing to remove.
}
