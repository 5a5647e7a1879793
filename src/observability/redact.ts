/**
 * PCI-grade redaction: everything bulwark logs, traces or puts in an error passes through a
 * {@link Redactor} first, so no sink (pino, OpenTelemetry, a diagnostics subscriber) ever
 * sees a credential, a card number or a secret query value, whatever its own configuration.
 */
import { BULWARK_ERROR_FIELDS, invalidOption } from '../errors.js';
import { setUnboundResponseRedactor } from '../http/response.js';
import { requireInteger } from '../validate.js';
import { isSecretKey, redactBody, setKey } from './redact-body.js';
import {
  applyEdits,
  fragmentPattern,
  headerLinePattern,
  normalizeName,
  redactText,
  scanCards,
  scanTokens,
  type Edit,
  type RedactRules,
} from './redact-text.js';
import { redactUrl } from './redact-url.js';
import {
  DEFAULT_REDACT_BODY_FIELDS,
  DEFAULT_REDACT_HEADERS,
  DEFAULT_REDACT_QUERY_PARAMS,
  HEADER_HINTS,
  URL_HEADERS,
} from './redact-defaults.js';

export { DEFAULT_REDACT_BODY_FIELDS, DEFAULT_REDACT_HEADERS, DEFAULT_REDACT_QUERY_PARAMS };

/** Most header entries read from one input; the rest are dropped. */
const MAX_HEADERS = 1000;

/** The keys of {@link RedactorOptions}, for the callers that check option objects against them. */
export const REDACTOR_OPTION_KEYS = [
  'headers',
  'bodyFields',
  'queryParams',
  'replacement',
  'maxBodyLength',
] as const;

/** Options of a {@link Redactor}. Every list extends the defaults; none replaces them. */
export interface RedactorOptions {
  /**
   * More header names to redact.
   * @default [] (plus {@link DEFAULT_REDACT_HEADERS})
   */
  headers?: readonly string[];
  /**
   * More body, form and text field names to redact, matched at any depth, in any case, with
   * or without separators (`apiKey`, `api-key` and `API_KEY` are one name).
   * @default [] (plus {@link DEFAULT_REDACT_BODY_FIELDS})
   */
  bodyFields?: readonly string[];
  /**
   * More query parameter names to redact.
   * @default [] (plus {@link DEFAULT_REDACT_QUERY_PARAMS} and the body fields)
   */
  queryParams?: readonly string[];
  /**
   * What replaces a secret: 1–64 printable characters without `"` or `\`.
   * @default '[REDACTED]'
   */
  replacement?: string;
  /**
   * Longest text body (and string value) scanned, in characters; longer ones are cut and
   * say how much was dropped. Binary bodies up to this size are decoded when they are text.
   * @default 65536
   */
  maxBodyLength?: number;
}

/** An error reduced to what is safe to log: no config objects, no headers, no bodies. */
export interface RedactedError {
  name: string;
  message: string;
  code?: string | number;
  stack?: string;
  cause?: unknown;
  errors?: RedactedError[];
  [field: string]: unknown;
}

/** Header input shapes: plain objects, `[name, value]` pairs, undici's flat raw arrays, `Headers`, `Map`. */
export type HeadersInput =
  | Readonly<Record<string, unknown>>
  | Iterable<readonly [unknown, unknown]>
  | readonly unknown[]
  | null
  | undefined;

// Primitive error fields worth keeping: Node's system error fields and BulwarkError's (objects
// among them, such as `response`, are skipped where they are read).
const ERROR_FIELDS = [
  'code',
  'errno',
  'syscall',
  'address',
  'port',
  'status',
  'statusCode',
  ...BULWARK_ERROR_FIELDS,
] as const;

/**
 * Redacts headers, URLs, bodies and errors. Never mutates its input, never throws: input it
 * cannot read becomes `[Unreadable]`, and a failure inside redaction yields the replacement.
 * @example
 * const redactor = new Redactor({ bodyFields: ['merchant_ref'] });
 * redactor.url('https://u:p@api.test/x?api_key=abc'); // 'https://[REDACTED]@api.test/x?api_key=[REDACTED]'
 */
export class Redactor {
  /** The text that replaces secrets. */
  readonly replacement: string;
  readonly #rules: RedactRules;

  constructor(options: RedactorOptions = {}) {
    const replacement = options.replacement ?? '[REDACTED]';
    // eslint-disable-next-line no-control-regex
    if (typeof replacement !== 'string' || !/^[^"\\\x00-\x1f\x7f]{1,64}$/.test(replacement)) {
      throw invalidOption(
        'logging.redact.replacement',
        replacement,
        '1 to 64 printable characters without `"` or `\\`',
      );
    }
    const maxBodyLength = requireInteger(
      'options',
      'logging.redact.maxBodyLength',
      options.maxBodyLength ?? 65_536,
      64,
      16_777_216,
    );
    const headerNames = nameSet(DEFAULT_REDACT_HEADERS, options.headers, 'headers');
    const bodyNames = nameSet(DEFAULT_REDACT_BODY_FIELDS, options.bodyFields, 'bodyFields');
    const keyNames = new Set([...bodyNames, ...headerNames]);
    const queryNames = new Set([
      ...nameSet(DEFAULT_REDACT_QUERY_PARAMS, options.queryParams, 'queryParams'),
      ...bodyNames,
    ]);
    this.replacement = replacement;
    const rules: RedactRules = {
      replacement,
      keyNames,
      queryNames,
      headerNames,
      fragmentPattern: fragmentPattern(keyNames),
      headerLinePattern: headerLinePattern(headerNames),
      maxBodyLength,
      url: (url) => redactUrl(url, rules),
    };
    this.#rules = rules;
  }

  /** Headers as a new object with lowercase names; secret values become the replacement. */
  headers(input: HeadersInput): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    try {
      forEachHeader(input, (rawName, rawValue) => {
        const name = headerText(rawName).toLowerCase();
        const value = this.#headerValue(name, rawValue);
        if (value === undefined) return;
        const previous = Object.hasOwn(out, name) ? out[name] : undefined;
        if (previous === undefined || value === this.replacement) setKey(out, name, value);
        else if (previous !== this.replacement) setKey(out, name, [previous, value].flat());
      });
    } catch {
      return { '[headers]': this.replacement };
    }
    return out;
  }

  /** The URL with userinfo, secret query values, credential-looking path segments and the fragment removed. */
  url(input: string | URL): string {
    try {
      return redactUrl(typeof input === 'string' ? input : input.href, this.#rules);
    } catch {
      return this.replacement;
    }
  }

  /**
   * A body with every secret replaced: JSON text or values at any depth, form bodies, free
   * text (Luhn-valid card numbers, `cvv=123`, credentials), and binary (`[binary N bytes]`
   * unless small and textual). Strings come back as strings, values as new values.
   */
  body(value: unknown, contentType?: string): unknown {
    try {
      return redactBody(value, this.#rules, contentType);
    } catch {
      return this.replacement;
    }
  }

  /** Free text (an error message, a log line) with secrets replaced. */
  text(value: string): string {
    try {
      return redactText(
        value.length > this.#rules.maxBodyLength ? value.slice(0, this.#rules.maxBodyLength) : value,
        this.#rules,
        true,
      );
    } catch {
      return this.replacement;
    }
  }

  /** An error reduced to name, message, code, stack and safe fields, all scrubbed; causes follow (4 deep). */
  error(err: unknown): RedactedError {
    try {
      return this.#error(err, 0);
    } catch {
      return { name: 'Error', message: this.replacement };
    }
  }

  /** Redacts anything: URLs, errors, `Headers`, strings (URL or body text), buffers and values. */
  value(input: unknown): unknown {
    if (typeof input === 'string')
      return /^[A-Za-z][A-Za-z0-9+.-]*:\/\/\S*$/.test(input) ? this.url(input) : this.body(input);
    if (input instanceof URL) return this.url(input);
    if (input instanceof Error) return this.error(input);
    if (input instanceof Headers) return this.headers(input);
    return this.body(input);
  }

  /** True when a header of this name is redacted whole. */
  isSecretHeader(name: string): boolean {
    const normalized = normalizeName(name);
    if (this.#rules.headerNames.has(normalized)) return true;
    for (const hint of HEADER_HINTS) if (normalized.includes(hint)) return true;
    return false;
  }

  /** True when a body field or form field of this name is redacted. */
  isSecretField(name: string): boolean {
    return isSecretKey(name, this.#rules);
  }

  #headerValue(name: string, raw: unknown): string | string[] | undefined {
    if (raw === undefined || raw === null) return undefined;
    if (this.isSecretHeader(name)) return this.replacement;
    if (Array.isArray(raw)) return raw.map((item) => this.#headerValue(name, item) ?? '').flat();
    const value = headerText(raw);
    if (URL_HEADERS.has(name)) return redactUrl(value, this.#rules);
    const edits: Edit[] = [];
    scanTokens(value, this.replacement, edits);
    scanCards(value, this.replacement, edits);
    return applyEdits(value, edits);
  }

  #error(err: unknown, depth: number): RedactedError {
    if (typeof err !== 'object' || err === null) return { name: 'Error', message: this.text(describe(err)) };
    const source = err as Record<string, unknown>;
    const name = read(source, 'name');
    const message = read(source, 'message');
    const out: RedactedError = {
      name: typeof name === 'string' ? name : 'Error',
      message: this.text(typeof message === 'string' ? message : describe(err)),
    };
    for (const field of ERROR_FIELDS) {
      const value = read(source, field);
      if (typeof value === 'number' || typeof value === 'boolean')
        (out as Record<string, unknown>)[field] = value;
      else if (typeof value === 'string') out[field] = field === 'url' ? this.url(value) : this.text(value);
    }
    const stack = read(source, 'stack');
    if (typeof stack === 'string') out.stack = this.text(stack);
    const cause = read(source, 'cause');
    if (cause !== undefined) out.cause = depth >= 4 ? '[Truncated]' : this.#causeOf(cause, depth);
    const errors = read(source, 'errors');
    if (Array.isArray(errors) && depth < 4)
      out.errors = errors.slice(0, 10).map((e: unknown) => this.#error(e, depth + 1));
    return out;
  }

  #causeOf(cause: unknown, depth: number): unknown {
    return cause instanceof Error ? this.#error(cause, depth + 1) : this.value(cause);
  }
}

/** The redactor with the default lists: what bulwark uses unless `logging.redact` says more. */
export const defaultRedactor: Redactor = new Redactor();
setUnboundResponseRedactor(defaultRedactor);

function nameSet(
  defaults: readonly string[],
  extra: readonly string[] | undefined,
  option: string,
): Set<string> {
  if (extra !== undefined && !Array.isArray(extra)) {
    throw invalidOption(`logging.redact.${option}`, extra, 'an array of names');
  }
  const names = new Set<string>();
  for (const name of defaults) names.add(normalizeName(name));
  (extra ?? []).forEach((name: unknown, i) => {
    const normalized = typeof name === 'string' ? normalizeName(name) : '';
    if (normalized === '')
      throw invalidOption(`logging.redact.${option}[${i}]`, name, 'a name with a letter or digit');
    names.add(normalized);
  });
  return names;
}

function forEachHeader(input: HeadersInput, visit: (name: unknown, value: unknown) => void): void {
  if (input === null || input === undefined) return;
  let count = 0;
  const each = (name: unknown, value: unknown): void => {
    if (++count <= MAX_HEADERS) visit(name, value);
  };
  if (Array.isArray(input)) {
    if (input.every((entry) => Array.isArray(entry))) {
      for (const entry of input as readonly (readonly unknown[])[]) each(entry[0], entry[1]);
    } else {
      for (let i = 0; i + 1 < input.length; i += 2) each(input[i], input[i + 1]);
    }
    return;
  }
  if (input instanceof Headers || input instanceof Map) {
    input.forEach((value: unknown, name: unknown) => {
      each(name, value);
    });
    return;
  }
  if (typeof (input as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const entry of input as Iterable<readonly [unknown, unknown]>) each(entry[0], entry[1]);
    return;
  }
  for (const name of Object.keys(input)) each(name, read(input as Record<string, unknown>, name));
}

function headerText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
  return describe(value);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (value === null || value === undefined) return String(value);
  try {
    return Object.prototype.toString.call(value);
  } catch {
    return '[Unreadable]';
  }
}

function read(source: object, key: string): unknown {
  try {
    return (source as Record<string, unknown>)[key];
  } catch {
    return '[Unreadable]';
  }
}
