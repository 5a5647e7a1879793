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

/** Extra, code-specific fields an error may carry: each declared here once, with its type. */
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
  /**
   * The response that was refused (`HTTP_STATUS`). Serialised (JSON, pino, `util.inspect`) as its
   * status, redacted URL and headers: never its body.
   */
  response?: unknown;
  /**
   * The option path that was refused (`INVALID_OPTIONS`, `INVALID_REQUEST`), or of the callback
   * that threw (`CALLBACK_FAILED`: `use[0]`, `retry.shouldRetry`, `circuitBreaker.isFailure`, ...).
   */
  path?: string;
  /** How many attempts were made before this error. */
  attempts?: number;
}

/** The name of a field an error may carry. */
export type BulwarkErrorFieldName = keyof BulwarkErrorFields;

/** The cause of a `NETWORK` error: the socket or undici error, with its `code` (`ECONNRESET`...) when it has one. */
export interface NetworkErrorCause extends Error {
  readonly code?: string;
}

/**
 * What a code means to bulwark: one row per code in {@link ERROR_TRAITS}, read by each policy
 * instead of a list of its own (docs/errors.md shows the table).
 */
export interface ErrorTraits {
  /**
   * Raised by bulwark itself (a policy's fail-fast refusal, a guard, a bad option) or by the
   * caller's own callback: it says nothing of the upstream's health, so no other stage counts it.
   */
  readonly rejection: boolean;
  /** The caller ended the call (`'abort'`: its signal, or `close()`), or the call's deadline did. */
  readonly callerEnded: 'abort' | 'deadline' | false;
  /** Counted as a failure by the breaker's default health judgement (`circuitBreaker.isFailure`). */
  readonly breakerFailure: boolean;
  /**
   * `'transient'`: retried by default (the HTTP retry stage: when the method is idempotent or
   * nothing was sent; the standalone policy: always). `'if-asked'`: only when `retry.shouldRetry`
   * says so. `'never'`: not even then (`shouldRetry` is not asked).
   */
  readonly retry: 'transient' | 'if-asked' | 'never';
  /** A congestion signal: the adaptive concurrency limit counts the attempt as dropped. */
  readonly congestion: boolean;
  /** A timeout: recorded as a `bulwark.timeout` span event. */
  readonly timeout: boolean;
  /** The level an attempt ending with this code is logged at. */
  readonly logLevel: 'debug' | 'error';
  /** The HTTP cache may answer with a stale entry in its place (`staleIfError`). */
  readonly servesStale: boolean;
  /** A recording cassette keeps it in the file (replayed as a `NETWORK` error with its socket code). */
  readonly recorded: boolean;
  /** The fields every error of this code carries (typed as present by `isBulwarkError(e, code)`). */
  readonly fields: readonly BulwarkErrorFieldName[];
}

/**
 * The one table of error codes and their traits. A new code does not compile until its row
 * decides every trait, and a new trait until every row does; each policy reads its trait here
 * (a frozen object lookup, no allocation) rather than keeping a list of its own.
 */
export const ERROR_TRAITS = deepFreeze({
  CIRCUIT_OPEN: {
    rejection: true,
    callerEnded: false,
    breakerFailure: false,
    retry: 'if-asked',
    congestion: false,
    timeout: false,
    logLevel: 'error',
    servesStale: true,
    recorded: false,
    fields: ['key', 'retryAfterMs'],
  },
  RATE_LIMITED: {
    rejection: true,
    callerEnded: false,
    breakerFailure: false,
    retry: 'if-asked',
    congestion: false,
    timeout: false,
    logLevel: 'error',
    servesStale: true,
    recorded: false,
    fields: ['key', 'retryAfterMs'],
  },
  CONCURRENCY_LIMITED: {
    rejection: true,
    callerEnded: false,
    breakerFailure: false,
    retry: 'if-asked',
    congestion: false,
    timeout: false,
    logLevel: 'error',
    servesStale: true,
    recorded: false,
    fields: ['limit', 'inflight'],
  },
  ATTEMPT_TIMEOUT: {
    rejection: false,
    callerEnded: false,
    breakerFailure: true,
    retry: 'transient',
    congestion: true,
    timeout: true,
    logLevel: 'error',
    servesStale: true,
    recorded: false,
    fields: ['timeoutMs'],
  },
  TIMEOUT: {
    rejection: false,
    callerEnded: false,
    breakerFailure: true,
    retry: 'if-asked',
    congestion: true,
    timeout: true,
    logLevel: 'error',
    servesStale: true,
    recorded: false,
    fields: ['timeoutMs'],
  },
  DEADLINE_EXCEEDED: {
    rejection: false,
    callerEnded: 'deadline',
    breakerFailure: false,
    retry: 'if-asked',
    congestion: false,
    timeout: true,
    logLevel: 'error',
    servesStale: true,
    recorded: false,
    fields: ['deadline'],
  },
  ABORTED: {
    rejection: false,
    callerEnded: 'abort',
    breakerFailure: false,
    retry: 'if-asked',
    congestion: false,
    timeout: false,
    logLevel: 'debug',
    servesStale: false,
    recorded: false,
    fields: [],
  },
  NETWORK: {
    rejection: false,
    callerEnded: false,
    breakerFailure: true,
    retry: 'transient',
    congestion: true,
    timeout: false,
    logLevel: 'error',
    servesStale: true,
    recorded: true,
    fields: ['cause', 'sent'],
  },
  HTTP_STATUS: {
    rejection: false,
    callerEnded: false,
    breakerFailure: false,
    retry: 'if-asked',
    congestion: false,
    timeout: false,
    logLevel: 'error',
    servesStale: false,
    recorded: false,
    fields: ['response'],
  },
  RESPONSE_TOO_LARGE: {
    rejection: false,
    callerEnded: false,
    breakerFailure: false,
    retry: 'if-asked',
    congestion: false,
    timeout: false,
    logLevel: 'error',
    servesStale: false,
    recorded: false,
    fields: [],
  },
  INVALID_RESPONSE: {
    rejection: false,
    callerEnded: false,
    breakerFailure: false,
    retry: 'if-asked',
    congestion: false,
    timeout: false,
    logLevel: 'error',
    servesStale: false,
    recorded: false,
    fields: ['response'],
  },
  REDIRECT: {
    rejection: false,
    callerEnded: false,
    breakerFailure: false,
    retry: 'if-asked',
    congestion: false,
    timeout: false,
    logLevel: 'error',
    servesStale: false,
    recorded: false,
    fields: [],
  },
  TEST_MODE_BLOCKED: {
    rejection: true,
    callerEnded: false,
    breakerFailure: false,
    retry: 'if-asked',
    congestion: false,
    timeout: false,
    logLevel: 'error',
    servesStale: false,
    recorded: false,
    fields: [],
  },
  BLOCKED_DESTINATION: {
    rejection: true,
    callerEnded: false,
    breakerFailure: false,
    retry: 'if-asked',
    congestion: false,
    timeout: false,
    logLevel: 'error',
    servesStale: false,
    recorded: false,
    fields: [],
  },
  CALLBACK_FAILED: {
    rejection: true,
    callerEnded: false,
    breakerFailure: false,
    retry: 'never',
    congestion: false,
    timeout: false,
    logLevel: 'error',
    servesStale: false,
    recorded: false,
    fields: ['path', 'cause'],
  },
  INVALID_OPTIONS: {
    rejection: true,
    callerEnded: false,
    breakerFailure: false,
    retry: 'if-asked',
    congestion: false,
    timeout: false,
    logLevel: 'error',
    servesStale: false,
    recorded: false,
    fields: ['path'],
  },
  INVALID_REQUEST: {
    rejection: true,
    callerEnded: false,
    breakerFailure: false,
    retry: 'if-asked',
    congestion: false,
    timeout: false,
    logLevel: 'error',
    servesStale: false,
    recorded: false,
    fields: ['path'],
  },
} as const satisfies Record<BulwarkErrorCode, ErrorTraits>);

function deepFreeze<T extends Record<string, ErrorTraits>>(table: T): T {
  for (const row of Object.values(table)) Object.freeze(Object.freeze(row).fields);
  return Object.freeze(table);
}

/** The traits of `error`'s code, or `undefined` for an error that is not a bulwark error. */
export function traitsOf(error: unknown): ErrorTraits | undefined {
  return isBulwarkError(error) ? ERROR_TRAITS[error.code] : undefined;
}

/** The codes whose row has `trait` set to `value` (for types: `CodeWhere<'timeout', true>`). */
export type CodeWhere<K extends keyof ErrorTraits, V> = {
  [C in BulwarkErrorCode]: (typeof ERROR_TRAITS)[C][K] extends V ? C : never;
}[BulwarkErrorCode];

/** True for a cancellation by the caller (`ABORTED`, or a foreign `AbortError`): not a failure of the server. */
export function isAbortError(error: unknown): boolean {
  if (traitsOf(error)?.callerEnded === 'abort') return true;
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

type GuaranteedFields<C extends BulwarkErrorCode> = {
  readonly [F in (typeof ERROR_TRAITS)[C]['fields'][number]]-?: Exclude<BulwarkErrorFields[F], undefined>;
};

/**
 * The fields each code guarantees, on top of the optional ones every error may carry: derived
 * from each row's `fields` in {@link ERROR_TRAITS}. Where a field's type is narrower for one code,
 * it is said here (`NETWORK`'s cause) or where that type lives (http/response.ts gives
 * `HTTP_STATUS` its `response`), so this module stays below everything that imports it.
 */
export interface BulwarkErrorDetails extends TableDetails {
  NETWORK: GuaranteedFields<'NETWORK'> & { readonly cause: NetworkErrorCause };
}

type TableDetails = { readonly [C in BulwarkErrorCode]: GuaranteedFields<C> };

/**
 * A {@link BulwarkError} of code `C` (any code by default, as a union that a `switch` on `code`
 * narrows), with the fields that code guarantees typed as present.
 * @example
 * if (isBulwarkError(error, 'CIRCUIT_OPEN')) setTimeout(retry, error.retryAfterMs); // a number
 */
export type BulwarkErrorOf<C extends BulwarkErrorCode = BulwarkErrorCode> = C extends BulwarkErrorCode
  ? BulwarkError & { readonly code: C } & DetailsOf<C>
  : never;

type DetailsOf<C extends BulwarkErrorCode> = BulwarkErrorDetails[C];

/**
 * `Error` typed as carrying the optional fields of {@link BulwarkErrorFields} (but `cause`, which
 * `Error` has): the fields are declared once, there, and a field is an own property only when
 * set, so an error shows (and costs) only what it carries, not a dozen `undefined`s.
 */
const ErrorWithFields = Error as new (
  message?: string,
  options?: ErrorOptions,
) => Error & Omit<BulwarkErrorFields, 'cause'>;

/**
 * The one error class of bulwark. Switch on `code`, never on the message. `instanceof` holds
 * for an error from another copy of the package too (a registered-symbol brand, as undici does).
 */
export class BulwarkError extends ErrorWithFields {
  override readonly name = 'BulwarkError';
  readonly code: BulwarkErrorCode;
  /** `Error.prototype.toString`: `BulwarkError: <message>`, declared so that `String(error)` types as an Error's. */
  declare toString: () => string;

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

/**
 * The optional fields of a {@link BulwarkError} (all of {@link BulwarkErrorFields} but `cause`,
 * which `Error` keeps), in the order they are copied and shown. A field left out does not compile.
 */
export const BULWARK_ERROR_FIELDS = everyField([
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
]);

type CopiedField = Exclude<BulwarkErrorFieldName, 'cause'>;

function everyField<const L extends readonly CopiedField[]>(
  list: L &
    ([Exclude<CopiedField, L[number]>] extends [never]
      ? unknown
      : { missing: Exclude<CopiedField, L[number]> }),
): L {
  return Object.freeze(list);
}

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

/**
 * `fn(arg)`'s promise, or a rejection with the very value `fn` threw synchronously: for a hot
 * path that chains on a step with `then` (a pipeline stage, a transport), where
 * {@link promiseOf}'s closure per call is a cost and a throw must reach the same handler as a
 * rejection would.
 */
export function sentOrThrown<A, T>(fn: (arg: A) => Promise<T>, arg: A): Promise<T> {
  try {
    return fn(arg);
  } catch (thrown) {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passed on as it was thrown
    return Promise.reject(thrown);
  }
}

/** `fn()` as a promise: a synchronous throw becomes a rejection (with {@link asError}). */
export function promiseOf<T>(fn: () => T | PromiseLike<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(asError(error));
  }
}
