/**
 * Spans for one call and its attempts, through `@opentelemetry/api` only. The call span is
 * INTERNAL and parents one CLIENT span per attempt that follows the stable HTTP conventions.
 * Attributes are computed only for recording spans; every span ends exactly once.
 */

import type * as OtelApi from '@opentelemetry/api';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { isBulwarkError } from '../errors.js';
import { ATTR } from './names.js';
import {
  isAbortError,
  normaliseMethod,
  sanitizeText,
  sanitizeUrl,
  withRedactedUserinfo,
  spanName,
  type ServerEndpoint,
} from './otel-attributes.js';
import type { AttemptSpan, AttemptTarget, CallSpan, CallTarget } from './telemetry.js';

/** The `@opentelemetry/api` module as loaded at run time. */
export type OtelApiModule = typeof OtelApi;

/** @internal The state behind a {@link CallSpan}. */
export interface CallState extends CallSpan {
  readonly span: Span;
  /** The context in which the span is active: parent of the attempts. */
  readonly context: Context;
  ended: boolean;
}

/** @internal The state behind an {@link AttemptSpan}; `span` is undefined when only metrics are on. */
export interface AttemptState extends AttemptSpan {
  readonly span: Span | undefined;
  readonly startedAt: number;
  readonly method: string;
  readonly address: string;
  readonly port: number;
  ended: boolean;
  /** The context in which this attempt's span is active. */
  contextIn(api: OtelApiModule): Context;
}

/** @internal */
export class CallHandle implements CallState {
  readonly kind = 'call';
  readonly span: Span;
  /** The context in which the span is active: parent of the attempts. */
  readonly context: Context;
  ended = false;
  constructor(span: Span, context: Context) {
    this.span = span;
    this.context = context;
  }
}

/** @internal */
export class AttemptHandle implements AttemptState {
  readonly kind = 'attempt';
  readonly span: Span | undefined;
  /** Context of the parent (the call span, or the ambient context). */
  readonly parent: Context | undefined;
  readonly startedAt: number;
  readonly method: string;
  readonly address: string;
  readonly port: number;
  ended = false;
  #context: Context | undefined;
  constructor(
    span: Span | undefined,
    parent: Context | undefined,
    startedAt: number,
    method: string,
    endpoint: ServerEndpoint,
  ) {
    this.span = span;
    this.parent = parent;
    this.startedAt = startedAt;
    this.method = method;
    this.address = endpoint.address;
    this.port = endpoint.port;
  }

  /** The context in which this attempt's span is active (memoised: inject and run share it). */
  contextIn(api: OtelApiModule): Context {
    if (this.#context === undefined) {
      const parent = this.parent ?? api.context.active();
      this.#context = this.span === undefined ? parent : api.trace.setSpan(parent, this.span);
    }
    return this.#context;
  }
}

/** Starts the INTERNAL call span in the ambient context. */
export function startCallSpan(
  api: OtelApiModule,
  tracer: Tracer,
  clientName: string,
  target: CallTarget,
  name: string = spanName(normaliseMethod(target.method), target.urlTemplate),
): CallHandle {
  const method = normaliseMethod(target.method);
  const parent = api.context.active();
  const span = tracer.startSpan(name, { kind: api.SpanKind.INTERNAL }, parent);
  if (span.isRecording()) {
    const attributes: Attributes = { [ATTR.httpMethod]: method, [ATTR.client]: clientName };
    if (method === '_OTHER') attributes[ATTR.httpMethodOriginal] = target.method;
    if (target.urlTemplate !== undefined) attributes[ATTR.urlTemplate] = target.urlTemplate;
    if (target.correlationId !== undefined) attributes[ATTR.correlationId] = target.correlationId;
    span.setAttributes(attributes);
  }
  return new CallHandle(span, api.trace.setSpan(parent, span));
}

/**
 * Starts the CLIENT span of one attempt. The attributes a sampler may look at are given at
 * creation; `url.full` (which needs redaction) only once the span is known to record.
 */
export function startAttemptSpan(
  api: OtelApiModule,
  tracer: Tracer,
  parent: Context,
  method: string,
  endpoint: ServerEndpoint,
  target: AttemptTarget,
  resendCount: number,
  redactUrl: (url: string) => string,
  name: string = spanName(method, target.urlTemplate),
): Span {
  const attributes: Attributes = {
    [ATTR.httpMethod]: method,
    [ATTR.serverAddress]: endpoint.address,
    [ATTR.serverPort]: endpoint.port,
  };
  if (target.urlTemplate !== undefined) attributes[ATTR.urlTemplate] = target.urlTemplate;
  const span = tracer.startSpan(name, { kind: api.SpanKind.CLIENT, attributes }, parent);
  if (span.isRecording()) {
    const url = redactUrl(target.origin + target.path);
    span.setAttribute(ATTR.urlFull, target.userinfo === true ? withRedactedUserinfo(url) : url);
    if (method === '_OTHER') span.setAttribute(ATTR.httpMethodOriginal, target.method);
    if (resendCount > 0) span.setAttribute(ATTR.httpResendCount, resendCount);
  }
  return span;
}

/**
 * Sets the outcome on a span and ends it. Status ERROR for failures and for any status >= 400
 * (client spans, per the conventions) unless `type` is undefined; UNSET with no `error.type` for
 * the caller's abort; OK for a success when `markOk` (the client's `successStatus: 'ok'`).
 */
export function finishSpan(
  api: OtelApiModule,
  span: Span,
  status: number | undefined,
  error: unknown,
  type: string | undefined,
  redactUrl: (url: string) => string = sanitizeUrl,
  markOk = false,
): void {
  if (span.isRecording()) {
    if (status !== undefined) span.setAttribute(ATTR.httpStatus, status);
    if (markOk) span.setStatus({ code: api.SpanStatusCode.OK });
    if (type !== undefined) {
      span.setAttribute(ATTR.errorType, type);
      const failed = error !== undefined && error !== null && !isAbortError(error);
      if (failed) span.recordException(safeException(error, redactUrl));
      span.setStatus({
        code: api.SpanStatusCode.ERROR,
        ...(failed && isBulwarkError(error) ? { message: sanitizeText(error.message, redactUrl) } : {}),
      });
    }
  }
  span.end();
}

/**
 * What reaches the exception event. A bulwark error's message and stack embed the request's URL,
 * which a lower layer may not have fully redacted, so every URL in them is redacted again; a
 * foreign error's message may embed anything (undici's do), so only its name is kept.
 */
function safeException(error: unknown, redactUrl: (url: string) => string): OtelApi.Exception {
  if (isBulwarkError(error)) {
    return {
      code: error.code,
      name: error.name,
      message: sanitizeText(error.message, redactUrl),
      ...(error.stack === undefined ? {} : { stack: sanitizeText(error.stack, redactUrl) }),
    };
  }
  const name = (error as { name?: unknown }).name;
  return { name: typeof name === 'string' ? name : 'Error' };
}
