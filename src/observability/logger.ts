/**
 * Logging primitives: the pino-compatible {@link Logger} shape, a silent default, level
 * checks, and the record builders. A record's URL, headers, body and error pass through a
 * {@link Redactor} before the logger is called, so a logger never sees a secret.
 */
import { invalidOption } from '../errors.js';
import { defaultRedactor, type HeadersInput, type RedactedError, type Redactor } from './redact.js';
import { truncateText } from './redact-text.js';

/** Levels a line can be written at. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** A configured minimum level; `'silent'` writes nothing. */
export type LogLevelSetting = LogLevel | 'silent';

/** One level's method: pino's `(obj, msg?)` form. */
export type LogFn = (obj: object, msg?: string) => void;

/**
 * Any pino-compatible logger (pino itself, a pino child, fastify's `request.log`, or an
 * adapter): the six level methods taking `(obj, msg?)`, `child(bindings)` and `level`.
 */
export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  child(bindings: Record<string, unknown>): Logger;
  /** The logger's own minimum level (pino's `level`); unknown or custom names are treated as enabled. */
  level: string;
}

const noop: LogFn = () => undefined;

/** The logger used when none is configured: writes nothing and costs one call. */
export const noopLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  fatal: noop,
  child: () => noopLogger,
  level: 'silent',
};

const LEVEL_VALUES: Readonly<Record<LogLevelSetting, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

function isLevelSetting(value: unknown): value is LogLevelSetting {
  return typeof value === 'string' && Object.hasOwn(LEVEL_VALUES, value);
}

/**
 * Validates a `logging.level` option.
 * @default 'info' when `value` is undefined
 */
export function parseLogLevel(value: unknown, path = 'logging.level'): LogLevelSetting {
  if (value === undefined) return 'info';
  if (!isLevelSetting(value))
    throw invalidOption(path, value, "'trace', 'debug', 'info', 'warn', 'error', 'fatal' or 'silent'");
  return value;
}

/**
 * True when a line at `level` would be written: the logger exists and is not the no-op one,
 * `level` is at or above the configured `minimum`, and at or above the logger's own `level`.
 * Check it before building a record so a silent logger costs nothing.
 */
export function levelEnabled(
  logger: Logger | undefined,
  level: LogLevel,
  minimum: LogLevelSetting = 'info',
): boolean {
  if (logger === undefined || logger === noopLogger) return false;
  const value = LEVEL_VALUES[level];
  if (value < LEVEL_VALUES[minimum]) return false;
  const own = logger.level;
  return isLevelSetting(own) ? value >= LEVEL_VALUES[own] : true;
}

/**
 * What a line reports, in `event`:
 * - `request`: an attempt is sent. `→ GET https://api.test/users`
 * - `response`: an attempt got a response (any status). `← 200 (45ms)`
 * - `retry`: a retry is scheduled; `delayMs` is the wait, `code` or `status` the reason. `↻ retry 2 in 150ms (503)`
 * - `error`: an attempt failed with an error; `code` and `err` say how. `← NETWORK (5ms)`
 * - `rejected`: a policy refused the call before anything was sent (`CIRCUIT_OPEN`,
 *   `RATE_LIMITED`, `CONCURRENCY_LIMITED`). `✕ CIRCUIT_OPEN GET https://api.test/users`
 * - `cache`: the HTTP cache answered. `◆ cache hit GET https://api.test/users (age 3s)`
 * - `body`: with `logBody`, the final response's body once the caller read it with `text()`,
 *   `json()` or `arrayBuffer()`; `bytes` is its decoded size. `← 200 body (1834 bytes)`
 * - `deadline`: the call's budget ran out (`phase`, `source`). `⏱ deadline exceeded before-send GET https://api.test/users`
 * - `hedge-settled`: a hedged call's race ended. `⑂ hedge settled: winner 1 of 1 hedges`
 * - `concurrency-queued`: an attempt waits for a concurrency permit. `⧗ queued GET https://api.test/users (limit 20, inflight 20, queued 3)`
 *
 * Lines that belong to no one call carry no `correlationId`, `method` or `url`:
 * - `circuit`: a breaker changed state (`key`, `from`, `to`). `circuit open: https://api.test`
 * - `concurrency-limit`: the adaptive limit moved. `concurrency limit 20 → 24: api`
 * - `rate-limit-hint`: the server said how much is left. `rate-limit hint: https://api.test (4999 left, reset in 3600000ms)`
 * - `rate-limit-store-error`: the shared store failed a decision and `onStoreError` decided. `rate-limit store failed (ECONNREFUSED): local limit for https://api.test`
 */
export type LogEvent =
  | 'request'
  | 'response'
  | 'retry'
  | 'error'
  | 'rejected'
  | 'cache'
  | 'body'
  | 'deadline'
  | 'hedge-settled'
  | 'concurrency-queued'
  | 'circuit'
  | 'concurrency-limit'
  | 'rate-limit-hint'
  | 'rate-limit-store-error';

/** The level each event is written at by default. */
export const LOG_EVENT_LEVELS: Readonly<Record<LogEvent, LogLevel>> = {
  request: 'info',
  response: 'info',
  retry: 'warn',
  error: 'error',
  rejected: 'warn',
  cache: 'info',
  body: 'info',
  deadline: 'warn',
  'hedge-settled': 'debug',
  'concurrency-queued': 'debug',
  circuit: 'warn',
  'concurrency-limit': 'debug',
  'rate-limit-hint': 'debug',
  'rate-limit-store-error': 'warn',
};

/** What a policy's line adds: numbers and literal names, written as given. */
export interface PolicyLogFields {
  /** `circuit`: the states before and after. */
  from?: string;
  to?: string;
  /** `deadline`: when it ran out (`before-send`, `in-flight`, `before-retry`) and what set it. */
  phase?: string;
  source?: string;
  /** `concurrency-*`: the limit, the permits held, the attempts waiting, the limit before. */
  limit?: number;
  inflight?: number;
  queued?: number;
  previousLimit?: number;
  /** `hedge-settled`: which attempt won (0 the primary) and how many hedges started. */
  winner?: number;
  hedges?: number;
  /** `rate-limit-hint`: requests left, when the server said, and ms to its reset. */
  remaining?: number;
  resetMs?: number;
  /** `rate-limit-store-error`: what bulwark did instead. */
  fallback?: string;
}

/** The fields a line has both as the pipeline gives them and as they are written. */
interface LineFields extends PolicyLogFields {
  /** The client's `name`: on every line, so one logger can serve many clients. */
  client?: string;
  event: LogEvent;
  /** The call's; absent on lines that belong to no one call (`circuit`, ...). */
  correlationId?: string;
  method?: string;
  status?: number;
  durationMs?: number;
  /** 1 for the first attempt. */
  attempt?: number;
  /** Breaker and limiter key. */
  key?: string;
  /** `retry`: how long until the next attempt. */
  delayMs?: number;
  /** A `BulwarkError` code (`error`, `rejected`, `retry`), or a store error's code. */
  code?: string;
  /** `cache`: how the HTTP cache answered (`hit`, `stale`, `revalidated`). */
  cache?: string;
  /** `cache`: age of the answer served, in seconds. */
  age?: number;
  /** `cache`: why a stale answer was served (the error code or status it stood in for). */
  reason?: string;
  body?: unknown;
  /** `body`: the decoded size of the response body, bytes. */
  bytes?: number;
}

/** What the pipeline knows when it logs; raw values, redacted by {@link logFields}. */
export interface LogInput extends LineFields {
  url?: string | URL;
  error?: unknown;
  headers?: HeadersInput;
  contentType?: string;
  /** Longest body written, in characters, after redaction; the rest is cut and says how much. */
  bodyLimit?: number;
}

/** The structured fields of a line; every string in them has been redacted. */
export interface LogFields extends LineFields {
  url?: string;
  err?: RedactedError;
  headers?: Record<string, string | string[]>;
}

/** `→ GET https://api.test/users` (the URL redacted). */
export function requestLine(method: string, url: string | URL, redactor: Redactor = defaultRedactor): string {
  return `→ ${printable(method)} ${redactor.url(url)}`;
}

/** `← 200 (45ms)`, or `← error (5ms)` without a status. */
export function responseLine(status: number | undefined, durationMs: number): string {
  return `← ${status ?? 'error'} (${Math.round(durationMs)}ms)`;
}

/** The message of a line for `input.event`; see {@link LogEvent}. */
export function logMessage(input: LogInput, redactor: Redactor = defaultRedactor): string {
  const ms = Math.round(input.durationMs ?? 0);
  const target = (): string => requestLine(input.method ?? '', input.url ?? '', redactor).slice(2);
  switch (input.event) {
    case 'request':
      return requestLine(input.method ?? '', input.url ?? '', redactor);
    case 'response':
      return responseLine(input.status, ms);
    case 'retry':
      return `↻ retry ${input.attempt ?? '?'} in ${Math.round(input.delayMs ?? 0)}ms (${printable(String(input.code ?? input.status ?? 'error'))})`;
    case 'error':
      return `← ${printable(input.code ?? 'error')} (${ms}ms)`;
    case 'rejected':
      return `✕ ${printable(input.code ?? 'rejected')} ${target()}`;
    case 'cache':
      return `◆ cache ${printable(input.cache ?? 'hit')} ${target()} (age ${Math.round(input.age ?? 0)}s${input.reason === undefined ? '' : `, for ${printable(input.reason)}`})`;
    case 'body':
      return `← ${input.status ?? 'error'} body (${input.bytes ?? 0} bytes)`;
    case 'deadline':
      return `⏱ deadline exceeded ${printable(input.phase ?? '')} ${target()}`;
    case 'hedge-settled':
      return `⑂ hedge settled: winner ${input.winner ?? 0} of ${input.hedges ?? 0} hedges`;
    case 'concurrency-queued':
      return `⧗ queued ${target()} (limit ${input.limit ?? 0}, inflight ${input.inflight ?? 0}, queued ${input.queued ?? 0})`;
    default:
      return policyMessage(input, redactor);
  }
}

/** Messages of the lines that belong to no one call. */
function policyMessage(input: LogInput, redactor: Redactor): string {
  const key = printable(redactor.text(input.key ?? ''));
  switch (input.event) {
    case 'circuit':
      return `circuit ${printable(input.to ?? '')}: ${key}`;
    case 'concurrency-limit':
      return `concurrency limit ${input.previousLimit ?? 0} → ${input.limit ?? 0}: ${key}`;
    case 'rate-limit-hint':
      return `rate-limit hint: ${key} (${input.remaining === undefined ? '' : `${input.remaining} left, `}reset in ${Math.round(input.resetMs ?? 0)}ms)`;
    case 'rate-limit-store-error':
      return `rate-limit store failed (${printable(input.code ?? 'error')}): ${printable(input.fallback ?? '')} for ${key}`;
    default:
      return printable(input.event);
  }
}

/** Fields written as given (numbers and codes: nothing in them to redact). */
const PLAIN_FIELDS = [
  'status',
  'attempt',
  'code',
  'cache',
  'age',
  'reason',
  'from',
  'to',
  'phase',
  'source',
  'limit',
  'inflight',
  'queued',
  'previousLimit',
  'winner',
  'hedges',
  'remaining',
  'resetMs',
  'fallback',
] as const satisfies readonly (keyof LogInput & keyof LogFields)[];

/** The structured fields of a line, with URL, key, headers, body and error redacted. */
export function logFields(input: LogInput, redactor: Redactor = defaultRedactor): LogFields {
  const fields: LogFields = { event: input.event };
  if (input.client !== undefined) fields.client = input.client;
  if (input.correlationId !== undefined) fields.correlationId = input.correlationId;
  if (input.method !== undefined) fields.method = printable(input.method);
  if (input.url !== undefined) fields.url = redactor.url(input.url);
  const plain = fields as unknown as Record<string, unknown>;
  for (const name of PLAIN_FIELDS) {
    const value = input[name];
    if (value !== undefined) plain[name] = value;
  }
  if (input.durationMs !== undefined) fields.durationMs = Math.round(input.durationMs);
  if (input.key !== undefined) fields.key = redactor.text(input.key);
  if (input.delayMs !== undefined) fields.delayMs = Math.round(input.delayMs);
  if (input.error !== undefined) fields.err = redactor.error(input.error);
  if (input.headers !== undefined) fields.headers = redactor.headers(input.headers);
  if (input.body !== undefined) {
    // Redact first, then cut: a cut made before redaction could split a secret's field from its value.
    const body = redactor.body(input.body, input.contentType);
    fields.body =
      input.bodyLimit !== undefined && typeof body === 'string' ? truncateText(body, input.bodyLimit) : body;
  }
  if (input.bytes !== undefined) fields.bytes = input.bytes;
  return fields;
}

/**
 * Writes one line when `level` is enabled (see {@link levelEnabled}), redacted. A logger
 * that throws is ignored: logging never fails a request.
 * @default level LOG_EVENT_LEVELS[input.event]
 */
export function logEvent(
  logger: Logger | undefined,
  minimum: LogLevelSetting,
  input: LogInput,
  redactor: Redactor = defaultRedactor,
  level: LogLevel = LOG_EVENT_LEVELS[input.event],
): void {
  if (!levelEnabled(logger, level, minimum)) return;
  try {
    (logger as Logger)[level](logFields(input, redactor), logMessage(input, redactor));
  } catch {
    // A broken sink must not turn a successful call into a failed one.
  }
}

// Method names and codes are validated upstream; this keeps a stray CR/LF out of text logs anyway.
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x1f\x7f]/.test(text) ? text.replace(/[\x00-\x1f\x7f]/g, '?') : text;
}
