// The call context of one request, built from the request options and validated before anything is sent.
import { invalidRequest } from '../errors.js';
import { currentDeadline } from '../policies/deadline.js';
import type { CallContext, CallPolicies, ClientRuntime, RequestBody } from '../pipeline/types.js';
import { isToken, mergeHeaders } from './headers.js';
import type { RequestOptions } from './request-options.js';
import type { ResolvedClient } from './resolve-options.js';
import { resolveTimeouts } from './timeouts.js';
import { resolveTarget } from './url.js';
import { checkKeys, isRecord } from '../validate.js';
import { correlationId, isValidCorrelationId } from '../observability/correlation.js';

// QUERY (draft-ietf-httpbis-safe-method-w-body) is safe and idempotent: a GET with a body.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE', 'QUERY']);
const KNOWN_METHODS = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'PUT',
  'DELETE',
  'TRACE',
  'POST',
  'PATCH',
  'CONNECT',
  'QUERY',
]);
const REQUEST_KEYS = new Set([
  'method',
  'path',
  'url',
  'params',
  'query',
  'headers',
  'body',
  'json',
  'form',
  'signal',
  'timeout',
  'deadline',
  'idempotent',
  'key',
  'throwHttpErrors',
  'retry',
  'circuitBreaker',
  'rateLimit',
  'cache',
]);

/** Builds the call context of one request: validates everything before anything is sent. */
export function buildContext(
  client: ResolvedClient,
  runtime: ClientRuntime,
  options: RequestOptions,
  policies: (o: RequestOptions) => CallPolicies,
): CallContext {
  checkRequestKeys(options);
  const method = normaliseMethod(options.method);
  const target = resolveTarget(
    client.base,
    options.path,
    options.url,
    options.params,
    options.query,
    runtime.events.redactor,
  );

  // Object.assign, not a spread: V8 (Node 20) gives a spread copy a new hidden class once a header
  // is added to it (the request id, below), so every stage's reads of the headers went megamorphic.
  const headers: Record<string, string> = Object.assign({}, client.headers);
  if (options.headers !== undefined) mergeHeaders('request', 'headers', headers, options.headers);
  if (target.credentials !== undefined && headers.authorization === undefined)
    headers.authorization = target.credentials;
  const body = encodeBody(options, headers);
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw invalidRequest('signal', signal, 'an AbortSignal');
  // Every field is set here, in one literal, so every call context has the same shape; the
  // budget and the correlation id are filled in below.
  const ctx: CallContext = {
    method,
    origin: target.origin,
    path: target.path,
    urlTemplate: target.template,
    userinfo: target.credentials !== undefined,
    headers,
    body,
    bodyReplayable: body === null || typeof body === 'string' || body instanceof Uint8Array,
    idempotent: isIdempotent(method, headers, options.idempotent),
    key: callKey(target.origin, options.key),
    signal,
    deadline: Number.POSITIVE_INFINITY,
    deadlineSource: 'none',
    totalTimeoutMs: client.totalTimeoutMs,
    attemptTimeoutMs: client.attemptTimeoutMs,
    startedAt: runtime.clock.now(),
    attempts: 0,
    correlationId: correlationIdOf(headers, client.requestIdHeader),
    policies: policies(options),
    span: undefined,
    cancelled: undefined,
    live: undefined,
    runtime,
    inFlightSlot: -1,
  };
  setBudget(ctx, options);
  return ctx;
}

function checkRequestKeys(options: RequestOptions): void {
  const raw: unknown = options;
  if (!isRecord(raw)) throw invalidRequest('options', raw, 'an object of request options');
  for (const key in options) {
    // Only on a miss: the known keys' list is built for the error, never for a good request.
    if (!REQUEST_KEYS.has(key)) checkKeys('request', '', raw, [...REQUEST_KEYS]);
  }
}

function isIdempotent(method: string, headers: Record<string, string>, given: unknown): boolean {
  if (given === undefined) return IDEMPOTENT.has(method) || headers['idempotency-key'] !== undefined;
  if (typeof given !== 'boolean') throw invalidRequest('idempotent', given, 'true or false');
  return given;
}

function callKey(origin: string, given: unknown): string {
  if (given === undefined) return origin;
  if (typeof given !== 'string' || given === '') throw invalidRequest('key', given, 'a non-empty string');
  return given;
}

/** The call's correlation id: the caller's own when valid, else a fresh one; sent in `idHeader`. */
function correlationIdOf(headers: Record<string, string>, idHeader: string | false): string {
  if (idHeader === false) return correlationId();
  const given = headers[idHeader];
  const id = given !== undefined && isValidCorrelationId(given) ? given : correlationId();
  headers[idHeader] = id;
  return id;
}

/**
 * The request's own `timeout` over the client's, then the earliest of the total timeout, the
 * ambient `withDeadline` and the request's `deadline`, counted from the call's start.
 */
function setBudget(ctx: CallContext, options: RequestOptions): void {
  if (options.timeout !== undefined) {
    const base = { attemptMs: ctx.attemptTimeoutMs, totalMs: ctx.totalTimeoutMs };
    const own = resolveTimeouts('request', options.timeout, base, "the client's");
    ctx.attemptTimeoutMs = own.attemptMs;
    ctx.totalTimeoutMs = own.totalMs;
  }
  const now = ctx.startedAt;
  if (ctx.totalTimeoutMs > 0) {
    ctx.deadline = now + ctx.totalTimeoutMs;
    ctx.deadlineSource = 'timeout';
  }
  const ambient = currentDeadline();
  if (ambient < ctx.deadline) {
    ctx.deadline = ambient;
    ctx.deadlineSource = 'deadline';
  }
  if (options.deadline !== undefined) {
    const own = requestDeadline(options.deadline, now);
    if (own < ctx.deadline) {
      ctx.deadline = own;
      ctx.deadlineSource = 'deadline';
    }
  }
}

function normaliseMethod(value: unknown): string {
  if (value === undefined) return 'GET';
  // A known method as the helpers pass it (`get()` says 'GET'): a token already, no pattern to run.
  if (typeof value === 'string' && KNOWN_METHODS.has(value)) return value;
  if (typeof value !== 'string' || !isToken(value))
    throw invalidRequest('method', value, 'an HTTP method token such as "GET"');
  const upper = value.toUpperCase();
  // Unknown methods keep their case (methods are case-sensitive); known ones are normalised.
  return KNOWN_METHODS.has(upper) ? upper : value;
}

function requestDeadline(value: unknown, now: number): number {
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.getTime();
  if (typeof value === 'number' && value >= 0 && !Number.isNaN(value)) return now + value;
  throw invalidRequest('deadline', value, 'a number of ms from now or a Date');
}

function encodeBody(options: RequestOptions, headers: Record<string, string>): RequestBody {
  const given =
    (options.body !== undefined ? 1 : 0) +
    (options.json !== undefined ? 1 : 0) +
    (options.form !== undefined ? 1 : 0);
  if (given > 1) throw invalidRequest('body', '[body]', 'only one of `body`, `json` or `form`');
  if (options.json !== undefined) {
    let text: unknown;
    try {
      // JSON.stringify returns undefined for a function or a symbol, despite its type.
      text = JSON.stringify(options.json);
    } catch (error) {
      throw invalidRequest('json', '[value]', `a JSON-serialisable value (${(error as Error).message})`);
    }
    if (typeof text !== 'string') throw invalidRequest('json', options.json, 'a JSON-serialisable value');
    headers['content-type'] ??= 'application/json';
    return text;
  }
  if (options.form !== undefined) {
    let params: URLSearchParams;
    if (options.form instanceof URLSearchParams) params = options.form;
    else if (isRecord(options.form)) {
      params = new URLSearchParams();
      for (const [name, value] of Object.entries(options.form)) {
        const values: readonly unknown[] = Array.isArray(value) ? value : [value];
        for (const v of values) {
          if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
            throw invalidRequest(`form.${name}`, v, 'a string, number, boolean or array of strings');
          }
          params.append(name, String(v));
        }
      }
    } else throw invalidRequest('form', options.form, 'an object or URLSearchParams');
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
    return params.toString();
  }
  const body = options.body;
  if (body === undefined || body === null) return null;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (typeof (body as { pipe?: unknown }).pipe === 'function' || Symbol.asyncIterator in (body as object))
    return body;
  throw invalidRequest(
    'body',
    body,
    'a string, Buffer, Uint8Array, Readable or async iterable (use `json` for objects)',
  );
}
