// Request headers: the defaults (user-agent), validation of names and values, and merging.
import { ACCEPT_ENCODING } from '../transport/decompress.js';
import { validationError, type Scope } from '../validate.js';
import { VERSION } from '../version.js';

/** The default `user-agent`: APIs such as GitHub's refuse a request without one. */
export const DEFAULT_USER_AGENT = `bulwark/${VERSION}`;

/**
 * The headers every client starts from, before its own `headers` (where `undefined` removes
 * one): `user-agent`, and `accept-encoding` for what bulwark decodes when `decompress` is on.
 */
export function defaultHeaders(decompress: boolean): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': DEFAULT_USER_AGENT };
  if (decompress) headers['accept-encoding'] = ACCEPT_ENCODING.join(', ');
  return headers;
}

/** Headers as a caller may pass them. `undefined` removes a client default for one request. */
export type HeadersInit =
  | Record<string, string | number | readonly string[] | undefined>
  | readonly (readonly [string, string])[]
  | { forEach(callback: (value: string, name: string) => void): void };

// RFC 9110 token characters.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: no CR, LF or NUL (header injection / request smuggling).
const BAD_VALUE = /[\r\n\0]/;

/** True when `name` is a valid header name or method (an RFC 9110 token). */
export function isToken(name: string): boolean {
  return TOKEN.test(name);
}

function checkHeader(scope: Scope, path: string, name: string, value: string): void {
  if (!TOKEN.test(name))
    throw validationError(scope, path, name, 'a header name made of RFC 9110 token characters');
  if (BAD_VALUE.test(value)) {
    throw validationError(
      scope,
      `${path}.${name}`,
      '[value withheld]',
      'a header value without CR, LF or NUL characters',
    );
  }
}

/**
 * Validates `init` and writes it into `target` with lowercase names. Repeated values are joined
 * with `, ` (set-cookie is never a request header). Returns `target`.
 */
export function mergeHeaders(
  scope: Scope,
  path: string,
  target: Record<string, string>,
  init: HeadersInit | undefined,
): Record<string, string> {
  if (init === undefined) return target;
  const put = (name: string, raw: unknown): void => {
    if (typeof name !== 'string') throw validationError(scope, path, name, 'string header names');
    const lower = name.toLowerCase();
    if (raw === undefined) {
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- removing a default header on purpose
      delete target[lower];
      return;
    }
    let value: string;
    if (typeof raw === 'string') value = raw;
    else if (typeof raw === 'number' && Number.isFinite(raw)) value = String(raw);
    else if (Array.isArray(raw) && raw.every((v) => typeof v === 'string')) value = raw.join(', ');
    else
      throw validationError(
        scope,
        `${path}.${name}`,
        raw,
        'a string, a finite number or an array of strings',
      );
    checkHeader(scope, path, name, value);
    target[lower] = value;
  };
  if (Array.isArray(init)) {
    for (const pair of init as readonly unknown[]) {
      if (!Array.isArray(pair) || pair.length !== 2)
        throw validationError(scope, path, pair, '[name, value] pairs');
      put(pair[0] as string, pair[1]);
    }
  } else if (typeof (init as { forEach?: unknown }).forEach === 'function' && !isPlain(init)) {
    (init as { forEach(cb: (value: string, name: string) => void): void }).forEach((value, name) => {
      put(name, value);
    });
  } else if (typeof init === 'object') {
    for (const name of Object.keys(init)) put(name, (init as Record<string, unknown>)[name]);
  } else {
    throw validationError(
      scope,
      path,
      init,
      'an object of header names to values, [name, value] pairs or a Headers instance',
    );
  }
  return target;
}

function isPlain(value: unknown): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
