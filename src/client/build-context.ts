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
  const raw: unknown = options;
  if (!isRecord(raw)) throw invalidRequest('options', raw, 'an object of request options');
  for (const key in options) {
    // Only on a miss: the known keys' list is built for the error, never for a good request.
    if (!REQUEST_KEYS.has(key)) checkKeys('request', '', raw, [...REQUEST_KEYS]);
  }
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
  const replayable = body === null || typeof body === 'string' || body instanceof Uint8Array;

  let idempotent = IDEMPOTENT.has(method) || headers['idempotency-key'] !== undefined;
  if (options.idempotent !== undefined) {
    if (typeof options.idempotent !== 'boolean')
      throw invalidRequest('idempotent', options.idempotent, 'true or false');
    idempotent = options.idempotent;
  }

  let attemptTimeoutMs = client.attemptTimeoutMs;
  let totalTimeoutMs = client.totalTimeoutMs;
  if (options.timeout !== undefined) {
    const own = resolveTimeouts(
      'request',
      options.timeout,
      { attemptMs: attemptTimeoutMs, totalMs: totalTimeoutMs },
      "the client's",
    );
    attemptTimeoutMs = own.attemptMs;
    totalTimeoutMs = own.totalMs;
  }

  const clock = runtime.clock;
  const now = clock.now();
  let deadline = Number.POSITIVE_INFINITY;
  let deadlineSource: CallContext['deadlineSource'] = 'none';
  if (totalTimeoutMs > 0) {
    deadline = now + totalTimeoutMs;
    deadlineSource = 'timeout';
  }
  const ambient = currentDeadline();
  if (ambient < deadline) {
    deadline = ambient;
    deadlineSource = 'deadline';
  }
  if (options.deadline !== undefined) {
    const own = requestDeadline(options.deadline, now);
    if (own < deadline) {
      deadline = own;
      deadlineSource = 'deadline';
    }
  }

  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw invalidRequest('signal', signal, 'an AbortSignal');
  let key = target.origin;
  if (options.key !== undefined) {
    if (typeof options.key !== 'string' || options.key === '')
      throw invalidRequest('key', options.key, 'a non-empty string');
    key = options.key;
  }

  let id: string;
  const idHeader = client.requestIdHeader;
  if (idHeader !== false) {
    const given = headers[idHeader];
    id = given !== undefined && isValidCorrelationId(given) ? given : correlationId();
    headers[idHeader] = id;
  } else id = correlationId();

  return {
    method,
    origin: target.origin,
    path: target.path,
    urlTemplate: target.template,
    userinfo: target.credentials !== undefined,
    headers,
    body,
    bodyReplayable: replayable,
    idempotent,
    key,
    signal,
    deadline,
    deadlineSource,
    totalTimeoutMs,
    attemptTimeoutMs,
    startedAt: now,
    attempts: 0,
    correlationId: id,
    policies: policies(options),
    span: undefined,
    cancelled: undefined,
    live: undefined,
    runtime,
  };
}

function normaliseMethod(value: unknown): string {
  if (value === undefined) return 'GET';
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
