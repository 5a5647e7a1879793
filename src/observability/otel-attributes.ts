/**
 * Pure helpers that turn a request into stable HTTP semantic-convention values: the normalised
 * method, the span name, `server.address`/`server.port`, a credential-free `url.full` and
 * `error.type`. No dependency on `@opentelemetry/api`, so they cost nothing to import.
 */

import { isAbortError, isBulwarkError } from '../errors.js';

/**
 * The methods the HTTP semantic conventions know (RFC 9110's, PATCH, and QUERY from
 * draft-ietf-httpbis-safe-method-w-body); anything else is reported as `_OTHER`.
 */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'QUERY',
  'TRACE',
]);

/**
 * `http.request.method`: the method when it is one of the nine known ones (case-sensitive, as the
 * semantic conventions require), else `_OTHER` (the caller then records `http.request.method_original`).
 */
export function normaliseMethod(method: string): string {
  return KNOWN_METHODS.has(method) ? method : '_OTHER';
}

/**
 * The span name the conventions prescribe for a client: `{method} {url.template}`, or `{method}`
 * alone when there is no template; an unknown method is written `HTTP`.
 */
export function spanName(normalisedMethod: string, urlTemplate: string | undefined): string {
  const method = normalisedMethod === '_OTHER' ? 'HTTP' : normalisedMethod;
  return urlTemplate === undefined || urlTemplate === '' ? method : `${method} ${urlTemplate}`;
}

/** `server.address` and `server.port` read from an origin such as `https://[::1]:8443`. */
export interface ServerEndpoint {
  readonly address: string;
  readonly port: number;
}

/** Splits `scheme://host[:port]` into address (IPv6 without brackets) and port (scheme default when absent). */
export function parseOrigin(origin: string): ServerEndpoint {
  const schemeEnd = origin.indexOf('://');
  const scheme = schemeEnd === -1 ? 'http' : origin.slice(0, schemeEnd).toLowerCase();
  let host = schemeEnd === -1 ? origin : origin.slice(schemeEnd + 3);
  const slash = host.indexOf('/');
  if (slash !== -1) host = host.slice(0, slash);
  const at = host.lastIndexOf('@');
  if (at !== -1) host = host.slice(at + 1);
  const defaultPort = scheme === 'https' || scheme === 'wss' ? 443 : 80;
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    const port = host.charCodeAt(close + 1) === 58 ? Number(host.slice(close + 2)) : defaultPort;
    return { address: host.slice(1, close), port: Number.isInteger(port) ? port : defaultPort };
  }
  const colon = host.lastIndexOf(':');
  if (colon === -1) return { address: host, port: defaultPort };
  const port = Number(host.slice(colon + 1));
  return { address: host.slice(0, colon), port: Number.isInteger(port) && port > 0 ? port : defaultPort };
}

/**
 * Query parameters whose values never reach a span: the semantic conventions' default list
 * (AWSAccessKeyId, Signature, sig, X-Goog-Signature) plus the usual bearer-style names.
 * Compared lowercase. The pipeline should pass URLs already redacted; this is the backstop.
 */
const SECRET_QUERY_KEYS: ReadonlySet<string> = new Set([
  'awsaccesskeyid',
  'signature',
  'sig',
  'x-goog-signature',
  'x-goog-credential',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'access_token',
  'refresh_token',
  'id_token',
  'api_key',
  'apikey',
  'api-key',
  'token',
  'client_secret',
  'password',
  'secret',
]);

/**
 * `scheme://REDACTED:REDACTED@host/...`: what the conventions ask `url.full` to show for a URL
 * that carried credentials (bulwark takes them out of the URL before any of this runs).
 */
export function withRedactedUserinfo(url: string): string {
  const authority = url.indexOf('://');
  return authority === -1
    ? url
    : `${url.slice(0, authority + 3)}REDACTED:REDACTED@${url.slice(authority + 3)}`;
}

/**
 * A URL safe for `url.full`: userinfo replaced by `REDACTED:REDACTED` (as the conventions ask),
 * the fragment dropped, and the values of secret query parameters replaced by `REDACTED`.
 * Everything else, percent-encoding included, is kept byte for byte.
 * @example sanitizeUrl('https://u:p@h/x?sig=abc&a=1#t') // 'https://REDACTED:REDACTED@h/x?sig=REDACTED&a=1'
 */
export function sanitizeUrl(url: string): string {
  const hash = url.indexOf('#');
  let out = hash === -1 ? url : url.slice(0, hash);
  const schemeEnd = out.indexOf('://');
  if (schemeEnd !== -1 && out.includes('@')) {
    const authorityStart = schemeEnd + 3;
    let authorityEnd = out.length;
    for (let i = authorityStart; i < out.length; i++) {
      const c = out.charCodeAt(i);
      if (c === 47 || c === 63) {
        authorityEnd = i;
        break;
      }
    }
    const at = out.lastIndexOf('@', authorityEnd - 1);
    if (at >= authorityStart) {
      const userinfo = out.slice(authorityStart, at);
      const masked = userinfo.includes(':') ? 'REDACTED:REDACTED' : 'REDACTED';
      out = out.slice(0, authorityStart) + masked + out.slice(at);
    }
  }
  const query = out.indexOf('?');
  if (query === -1) return out;
  const pairs = out.slice(query + 1).split('&');
  let changed = false;
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i] ?? '';
    const eq = pair.indexOf('=');
    if (eq === -1) continue;
    if (SECRET_QUERY_KEYS.has(decodeKey(pair.slice(0, eq)))) {
      pairs[i] = `${pair.slice(0, eq)}=REDACTED`;
      changed = true;
    }
  }
  return changed ? `${out.slice(0, query)}?${pairs.join('&')}` : out;
}

const URL_IN_TEXT = /\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'<>]+/g;

/**
 * `text` with every URL in it passed through `redactUrl`: for error messages and stacks, which
 * embed the request's URL (a lower layer may have kept its query string or userinfo).
 * @example sanitizeText('GET https://h/x?token=abc failed', sanitizeUrl) // 'GET https://h/x?token=REDACTED failed'
 */
export function sanitizeText(text: string, redactUrl: (url: string) => string): string {
  return text.includes('://') ? text.replace(URL_IN_TEXT, (url) => redactUrl(url)) : text;
}

function decodeKey(key: string): string {
  if (!key.includes('%') && !key.includes('+')) return key.toLowerCase();
  try {
    return decodeURIComponent(key.replaceAll('+', ' ')).toLowerCase();
  } catch {
    return key.toLowerCase();
  }
}

/** True for a cancellation by the caller (or a hedge loser): not a failure of the server. */
export { isAbortError } from '../errors.js';

/**
 * `error.type` for a finished call or attempt, following the conventions: the bulwark error code
 * for failures, the status code as a string for a 4xx/5xx answer (also for `HTTP_STATUS` errors),
 * `undefined` for success and for the caller's abort. Foreign errors report their `name`, or
 * `_OTHER` when it is the generic `Error`.
 */
export function errorType(status: number | undefined, error: unknown): string | undefined {
  if (error !== undefined && error !== null) {
    if (isAbortError(error)) return undefined;
    if (isBulwarkError(error)) {
      return error.code === 'HTTP_STATUS' && status !== undefined ? String(status) : error.code;
    }
    const name = (error as { name?: unknown }).name;
    return typeof name === 'string' && name !== '' && name !== 'Error' ? name : '_OTHER';
  }
  return status !== undefined && status >= 400 ? String(status) : undefined;
}
