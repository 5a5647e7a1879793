/**
 * Every failure bulwark produces is a {@link BulwarkError} with a stable `code`.
 * The brand is a registered symbol so `isBulwarkError()` holds across two copies of the package.
 */

const brand = Symbol.for('bulwark.error');

/** The stable error codes. See docs/errors.md for when each is raised. */
export type BulwarkErrorCode =
  | 'CIRCUIT_OPEN'
  | 'RATE_LIMITED'
  | 'CONCURRENCY_LIMITED'
  | 'ATTEMPT_TIMEOUT'
  | 'TIMEOUT'
  | 'DEADLINE_EXCEEDED'
  | 'ABORTED'
  | 'NETWORK'
  | 'HTTP_STATUS'
  | 'RESPONSE_TOO_LARGE'
  | 'INVALID_RESPONSE'
  | 'REDIRECT'
  | 'TEST_MODE_BLOCKED'
  | 'BLOCKED_DESTINATION'
  | 'CALLBACK_FAILED'
  | 'INVALID_OPTIONS'
  | 'INVALID_REQUEST';

/** Extra, code-specific fields an error may carry. */
export interface BulwarkErrorFields {
  /** The underlying error (a socket error keeps its own `code`, e.g. `ECONNREFUSED`). */
  cause?: unknown;
  /** The request method. */
  method?: string;
  /** The request URL with credentials and secret query values redacted. */
  url?: string;
  /** Breaker or limiter key (`CIRCUIT_OPEN`, `RATE_LIMITED`). */
  key?: string;
  /** How long until a retry could be admitted (`CIRCUIT_OPEN`, `RATE_LIMITED`). */
  retryAfterMs?: number;
  /** Concurrency limit at the time of rejection (`CONCURRENCY_LIMITED`). */
  limit?: number;
  /** Requests in flight at the time of rejection (`CONCURRENCY_LIMITED`). */
  inflight?: number;
  /** The timeout that fired (`ATTEMPT_TIMEOUT`, `TIMEOUT`). */
  timeoutMs?: number;
  /** The absolute deadline, epoch ms (`DEADLINE_EXCEEDED`). */
  deadline?: number;
  /** Whether any byte of the request reached the wire (`NETWORK`). */
  sent?: boolean;
  /** The response that was refused (`HTTP_STATUS`). */
  response?: unknown;
  /**
   * The option path that was refused (`INVALID_OPTIONS`, `INVALID_REQUEST`), or of the callback
   * that threw (`CALLBACK_FAILED`: `use[0]`, `retry.shouldRetry`, `circuitBreaker.isFailure`, ...).
   */
  path?: string;
  /** How many attempts were made before this error. */
  attempts?: number;
}

/** The cause of a `NETWORK` error: the socket or undici error, with its `code` (`ECONNRESET`...) when it has one. */
export interface NetworkErrorCause extends Error {
  readonly code?: string;
}

/**
 * The fields each code guarantees, on top of the optional ones every error may carry. `HTTP_STATUS`
 * (its `response`) is added where the response type lives (http/response.ts), so this module
 * stays below everything that imports it.
 */
export interface BulwarkErrorDetails {
  CIRCUIT_OPEN: { readonly key: string; readonly retryAfterMs: number };
  RATE_LIMITED: { readonly key: string; readonly retryAfterMs: number };
  CONCURRENCY_LIMITED: { readonly limit: number; readonly inflight: number };
  ATTEMPT_TIMEOUT: { readonly timeoutMs: number };
  TIMEOUT: { readonly timeoutMs: number };
  DEADLINE_EXCEEDED: { readonly deadline: number };
  NETWORK: { readonly cause: NetworkErrorCause; readonly sent: boolean };
  CALLBACK_FAILED: { readonly path: string; readonly cause: unknown };
  INVALID_OPTIONS: { readonly path: string };
  INVALID_REQUEST: { readonly path: string };
}

/**
 * A {@link BulwarkError} of code `C` (any code by default, as a union that a `switch` on `code`
 * narrows), with the fields that code guarantees typed as present.
 * @example
 * if (isBulwarkError(error, 'CIRCUIT_OPEN')) setTimeout(retry, error.retryAfterMs); // a number
 */
export type BulwarkErrorOf<C extends BulwarkErrorCode = BulwarkErrorCode> = C extends BulwarkErrorCode
  ? BulwarkError & { readonly code: C } & DetailsOf<C>
  : never;

type DetailsOf<C extends BulwarkErrorCode> = C extends keyof BulwarkErrorDetails
  ? BulwarkErrorDetails[C]
  : unknown;

/**
 * The one error class of bulwark. Switch on `code`, never on the message. `instanceof` holds
 * for an error from another copy of the package too (a registered-symbol brand, as undici does).
 */
export class BulwarkError extends Error {
  override readonly name = 'BulwarkError';
  readonly code: BulwarkErrorCode;
  // `declare`: a field is an own property only when set, so an error shows (and costs) only
  // what it carries, not a dozen `undefined`s.
  declare method?: string;
  declare url?: string;
  declare key?: string;
  declare retryAfterMs?: number;
  declare limit?: number;
  declare inflight?: number;
  declare timeoutMs?: number;
  declare deadline?: number;
  declare sent?: boolean;
  /**
   * The refused response (`HTTP_STATUS`). Serialised (JSON, pino, `util.inspect`) as its
   * status, redacted URL and headers: never its body.
   */
  declare response?: unknown;
  declare path?: string;
  declare attempts?: number;

  constructor(code: BulwarkErrorCode, message: string, fields?: BulwarkErrorFields) {
    super(message, fields?.cause === undefined ? undefined : { cause: fields.cause });
    this.code = code;
    if (fields !== undefined) {
      for (const name of BULWARK_ERROR_FIELDS) {
        const value = fields[name];
        if (value !== undefined) (this as Record<string, unknown>)[name] = value;
      }
    }
  }

  /** @internal */
  get [brand](): true {
    return true;
  }

  /** True for any bulwark error, from this copy of the package or another; narrows like {@link isBulwarkError}. */
  static override [Symbol.hasInstance](value: unknown): value is BulwarkErrorOf {
    return isBulwarkError(value);
  }

  /**
   * A plain object safe to log: no cause stack, and a refused response only as its own
   * `toJSON()` gives it (status, redacted URL and headers; no body).
   */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name, code: this.code, message: this.message };
    for (const name of BULWARK_ERROR_FIELDS) {
      const value = (this as Record<string, unknown>)[name];
      if (value === undefined) continue;
      if (name !== 'response') out[name] = value;
      else if (typeof (value as { toJSON?: unknown }).toJSON === 'function')
        out[name] = (value as { toJSON(): unknown }).toJSON();
    }
    return out;
  }
}

/** The optional fields of a {@link BulwarkError}, in the order they are copied and shown. */
export const BULWARK_ERROR_FIELDS = [
  'method',
  'url',
  'key',
  'retryAfterMs',
  'limit',
  'inflight',
  'timeoutMs',
  'deadline',
  'sent',
  'response',
  'path',
  'attempts',
] as const satisfies readonly (keyof BulwarkErrorFields)[];

/**
 * True for any bulwark error, from this copy of the package or another; with a `code`, only for
 * that code. Narrows to {@link BulwarkErrorOf}: the code's own fields are typed as present.
 * @example
 * if (isBulwarkError(err, 'CIRCUIT_OPEN')) useFallback(err.retryAfterMs);
 * if (isBulwarkError(err)) switch (err.code) { case 'NETWORK': log(err.cause.code); }
 */
export function isBulwarkError<C extends BulwarkErrorCode = BulwarkErrorCode>(
  value: unknown,
  code?: C,
): value is BulwarkErrorOf<C> {
  if (typeof value !== 'object' || value === null) return false;
  if ((value as Record<symbol, unknown>)[brand] !== true) return false;
  return code === undefined || (value as BulwarkError).code === code;
}

/** A new error of `code`, the compiler checking that `fields` has what the code guarantees. */
export function bulwarkError<C extends BulwarkErrorCode>(
  code: C,
  message: string,
  fields: BulwarkErrorFields & DetailsOf<C>,
): BulwarkErrorOf<C> {
  return new BulwarkError(code, message, fields) as BulwarkErrorOf<C>;
}

const withheldKind = Symbol('bulwark.withheld');

/**
 * A value an error message names by its kind only ("a string (not shown)"): what sits under a key
 * nobody expected (`{ authorization: 'Bearer …' }` passed as an option) may well be a credential.
 */
export function withheld(value: unknown): unknown {
  return { [withheldKind]: kindOf(value) };
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (value === undefined) return 'undefined';
  return `a ${typeof value}`;
}

/** Describes a value for an error message without dumping large or secret content. */
export function describeValue(value: unknown): string {
  if (typeof value === 'object' && value !== null && withheldKind in value)
    return `${String((value as Record<symbol, unknown>)[withheldKind])} (not shown)`;
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return typeof value === 'symbol' ? value.toString() : 'undefined';
}

/** `INVALID_OPTIONS`: names the option path, the value received and what is allowed. */
export function invalidOption(path: string, value: unknown, allowed: string): BulwarkError {
  return new BulwarkError(
    'INVALID_OPTIONS',
    `Invalid option \`${path}\`: got ${describeValue(value)}, expected ${allowed}.`,
    {
      path,
    },
  );
}

/** `INVALID_REQUEST`: names the request option path, the value received and what is allowed. */
export function invalidRequest(path: string, value: unknown, allowed: string): BulwarkError {
  return new BulwarkError(
    'INVALID_REQUEST',
    `Invalid request \`${path}\`: got ${describeValue(value)}, expected ${allowed}.`,
    {
      path,
    },
  );
}

/**
 * `CALLBACK_FAILED`: a function the caller gave bulwark (`use` middleware, `isFailure`,
 * `shouldRetry`, a `key` function) threw. What it threw is the `cause`, `path` names the option:
 * a bug in the caller's code is never reported as an upstream failure (`NETWORK`), never retried
 * and never counted by a breaker. A `BulwarkError` it threw (or passed on) is kept as it is.
 */
export function callbackFailed(path: string, thrown: unknown): BulwarkError {
  if (isBulwarkError(thrown)) return thrown;
  // Its name only, as spans do for foreign errors: a message of the caller's may hold data.
  const name = thrown instanceof Error ? thrown.name : typeof thrown;
  return new BulwarkError('CALLBACK_FAILED', `The callback \`${path}\` threw a ${name} (see cause).`, {
    path,
    cause: thrown,
  });
}

/** `error` when it is an Error, otherwise an Error carrying its string form (what a `catch` or a rejection may hold). */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** `fn()` as a promise: a synchronous throw becomes a rejection (with {@link asError}). */
export function promiseOf<T>(fn: () => T | PromiseLike<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(asError(error));
  }
}
