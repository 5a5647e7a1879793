/**
 * The redirect decision: given a response and the request that got it, whether and how to
 * follow. Pure (no I/O), so every rule is tested on its own and the transport only executes it.
 *
 * Rules (DESIGN.md §2 "Redirects"):
 * - Followed: 301, 302, 303, 307, 308. Not followed: 300 (a list of choices, not an order),
 *   304 and every other status. `maxRedirects: 0` hands every 3xx back.
 * - A 3xx without `Location` (or with an empty one) is handed back as it is, as the Fetch
 *   standard does: the caller sees the real answer. A `Location` that does not parse as a URL
 *   relative to the current one is an error: the server asked for something impossible.
 * - Only `http:` and `https:` targets; `https:` to `http:` is refused unless `allowDowngrade`.
 * - 303 turns any method but GET/HEAD into GET; 301/302 turn POST into GET (what every client
 *   does). Either way the body and every `content-*` header are dropped.
 * - 307/308 (and 301/302 of a method other than POST) keep method and body; a body that cannot
 *   be replayed (a stream) is refused rather than sent empty or partial.
 * - `authorization`, `cookie`, `proxy-authorization`, `sensitiveHeaders` and every header
 *   `isSecretHeader` names (the redactor's list: `x-api-key`, `api-key`, `x-auth-token`, names
 *   with `token` or `secret` in them, configured ones) are dropped when the origin (scheme,
 *   host, port) changes, whatever the status: http→https on one host included.
 * - `host` is always dropped: the transport derives it from the next URL.
 * - Userinfo in `Location` is removed: a server cannot plant credentials in the next hop.
 */
import { BulwarkError, describeValue } from '../errors.js';
import { redactUrlString } from './url-redaction.js';

/** What {@link nextRedirect} needs to know about the response and the request that got it. */
export interface RedirectInput {
  /** Status of the response. */
  status: number;
  /** Its `Location` header, if any. */
  location: string | undefined;
  /** Method of the request that got the response (upper case). */
  method: string;
  /** URL of the request that got the response. */
  url: URL;
  /** Headers of that request, keys in lower case. Never mutated. */
  headers: Record<string, string>;
  /** Whether the request body can be sent again (string, bytes, a body factory; not a stream). */
  bodyReplayable: boolean;
  /** Whether the request has a body at all. */
  hasBody: boolean;
  /** Redirects already followed for this call. */
  redirectCount: number;
  /**
   * Redirects allowed per call; 0 hands every 3xx back to the caller.
   * @default 5
   */
  maxRedirects?: number;
  /**
   * Allow a redirect from `https:` to `http:`.
   * @default false
   */
  allowDowngrade: boolean;
  /**
   * Extra header names (lower case) dropped on a cross-origin hop, on top of
   * `authorization`, `cookie` and `proxy-authorization` (e.g. `x-api-key`).
   * @default []
   */
  sensitiveHeaders?: readonly string[];
  /**
   * True for a header that carries a secret and never crosses an origin (the client passes its
   * redactor's judgement, so every header a log would hide is also kept from another origin).
   * @default only {@link CREDENTIAL_HEADERS} and `sensitiveHeaders`
   */
  isSecretHeader?: (name: string) => boolean;
}

/** Why a response is handed back instead of followed. */
export type RedirectSkipReason = 'not-a-redirect' | 'no-location' | 'disabled';

/** The decision: hand the response back, or send the next request as described. */
export type RedirectDecision =
  | { readonly follow: false; readonly reason: RedirectSkipReason }
  | {
      readonly follow: true;
      /** The next URL, resolved against the current one. */
      readonly url: URL;
      /** The next method. */
      readonly method: string;
      /** True when the next request must go without a body (it became a GET). */
      readonly dropBody: boolean;
      /** The next request's headers (a new object). */
      readonly headers: Record<string, string>;
      /** True when the origin changed (credentials were dropped; re-check destination guards). */
      readonly crossOrigin: boolean;
    };

/** The statuses that are followed. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** Headers that carry credentials and never cross an origin. */
export const CREDENTIAL_HEADERS: readonly string[] = ['authorization', 'cookie', 'proxy-authorization'];

/** Default for `maxRedirects`. */
export const DEFAULT_MAX_REDIRECTS = 5;

function refuse(input: RedirectInput, why: string): BulwarkError {
  const url = redactUrlString(input.url.href);
  return new BulwarkError('REDIRECT', `${input.method} ${url} got ${input.status}: ${why}`, {
    method: input.method,
    url,
  });
}

/** True when header `name` (lower case) must not follow a redirect to another origin. */
export function isCrossOriginSecret(
  name: string,
  input: Pick<RedirectInput, 'sensitiveHeaders' | 'isSecretHeader'>,
): boolean {
  if (CREDENTIAL_HEADERS.includes(name)) return true;
  const extra = input.sensitiveHeaders;
  if (extra !== undefined && extra.some((h) => h.toLowerCase() === name)) return true;
  return input.isSecretHeader?.(name) === true;
}

/**
 * Decides whether to follow a response and builds the next request's URL, method and headers.
 * @throws BulwarkError `REDIRECT` when the redirect is refused: too many hops, an unparsable
 *   `Location`, a scheme other than http(s), an https→http downgrade without `allowDowngrade`,
 *   or a method-keeping redirect of a body that cannot be replayed.
 */
export function nextRedirect(input: RedirectInput): RedirectDecision {
  const { status, method } = input;
  if (!REDIRECT_STATUSES.has(status)) return { follow: false, reason: 'not-a-redirect' };
  const max = input.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  if (max === 0) return { follow: false, reason: 'disabled' };
  const location = input.location?.trim();
  if (location === undefined || location === '') return { follow: false, reason: 'no-location' };
  if (input.redirectCount >= max) throw refuse(input, `too many redirects (maxRedirects is ${max}).`);

  let next: URL;
  try {
    next = new URL(location, input.url);
  } catch {
    throw refuse(input, `Location ${describeValue(redactUrlString(location))} is not a valid URL.`);
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw refuse(input, `redirect to a ${next.protocol} URL refused: only http: and https: are followed.`);
  }
  if (input.url.protocol === 'https:' && next.protocol === 'http:' && !input.allowDowngrade) {
    throw refuse(
      input,
      `redirect from https to ${redactUrlString(next.href)} refused (set allowDowngrade to follow it).`,
    );
  }
  next.username = '';
  next.password = '';
  if (next.hash === '' && input.url.hash !== '') next.hash = input.url.hash;

  const toGet =
    (status === 303 && method !== 'GET' && method !== 'HEAD') || (status <= 302 && method === 'POST');
  if (!toGet && input.hasBody && !input.bodyReplayable) {
    throw refuse(
      input,
      `cannot follow to ${redactUrlString(next.href)}: the request body is a stream and cannot be sent again ` +
        '(pass a string, bytes or a body factory to allow it).',
    );
  }

  const crossOrigin = next.origin !== input.url.origin;
  // Null prototype: a header named `__proto__` stays a header.
  const headers = Object.create(null) as Record<string, string>;
  for (const [key, value] of Object.entries(input.headers)) {
    const name = key.toLowerCase(); // keys should already be lower case; credentials must not slip by on case
    if (name === 'host') continue;
    if (toGet && name.startsWith('content-')) continue;
    if (crossOrigin && isCrossOriginSecret(name, input)) continue;
    headers[name] = value;
  }
  return {
    follow: true,
    url: next,
    method: toGet ? 'GET' : method,
    dropBody: toGet,
    headers,
    crossOrigin,
  };
}
