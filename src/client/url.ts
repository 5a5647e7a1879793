// Request URLs: the base URL, path parameters, query strings and the refusal of an absolute path under a baseUrl.
import { invalidOption, invalidRequest, withheld } from '../errors.js';
import type { Redactor } from '../observability/redact.js';
import { redactUrlString } from '../transport/url-redaction.js';
import { isRecord } from '../validate.js';

/** Query values: arrays repeat the key; `undefined` skips it. */
export type QueryInit =
  | Record<string, string | number | boolean | null | undefined | readonly (string | number | boolean)[]>
  | URLSearchParams;

/** Path parameters: `:name` in the path is replaced by the encoded value. */
export type PathParams = Record<string, string | number | boolean>;

/** A parsed `baseUrl`. */
export interface BaseUrl {
  /** `scheme://host[:port]` */
  readonly origin: string;
  /** Path prefix without a trailing slash (`''` for none). */
  readonly prefix: string;
}

const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;
// Control characters and spaces in a request target are how smuggling starts.
const BAD_PATH = /[\0-\x20\x7f]/;
// A placeholder starts a path segment (`/users/:id`); a colon inside one (`/v1/things:batchGet`,
// Google's custom methods) is literal.
const PARAM = /(?<=\/):([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * Parses and checks `baseUrl` (http or https, no query or fragment). An error shows the value
 * redacted (userinfo, secret query values), whether or not it parses.
 */
export function parseBaseUrl(value: string | URL): BaseUrl {
  let url: URL;
  const shown = (): string => redactUrlString(String(value));
  try {
    url = new URL(value);
  } catch {
    throw invalidOption('baseUrl', shown(), 'an absolute http(s) URL such as "https://api.example.com/v1"');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidOption('baseUrl', shown(), 'an http: or https: URL');
  }
  if (url.search !== '' || url.hash !== '') {
    throw invalidOption('baseUrl', shown(), 'a URL without query string or fragment (use `query`)');
  }
  if (url.username !== '' || url.password !== '') {
    throw invalidOption(
      'baseUrl',
      '[credentials withheld]',
      'a URL without credentials (use `headers.authorization`)',
    );
  }
  const prefix = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
  return { origin: url.origin, prefix };
}

/** Where a request goes. */
export interface Target {
  origin: string;
  path: string;
  template: string | undefined;
  /** Basic credentials found in `url` (sent as an authorization header, never kept in the URL). */
  credentials: string | undefined;
}

/**
 * Resolves `path` against the base, or `url` on its own. With a base, an absolute `path` or one
 * starting with `//` is refused, so default credentials never follow a caller-controlled URL to
 * another host: passing `url` is how a call leaves the base on purpose. Without a base there is
 * nothing to leave, so an absolute `path` is the URL (as in ky, got and axios). A refused `path`
 * or `url` is shown redacted by `redactor` (the client's lists), so no error echoes a credential.
 */
export function resolveTarget(
  base: BaseUrl | undefined,
  path: unknown,
  url: unknown,
  params: unknown,
  query: unknown,
  redactor?: Redactor,
): Target {
  const shown = (value: unknown): unknown =>
    typeof value !== 'string' ? value : redactor === undefined ? redactUrlString(value) : redactor.url(value);
  const field = url === undefined ? 'path' : 'url';
  if (url === undefined && typeof path !== 'string')
    throw invalidRequest('path', path, 'a string path such as "/users/:id"');
  if (url !== undefined && path !== undefined)
    throw invalidRequest('url', '[url]', 'either `url` or `path`, not both');
  const absolute = url ?? (base === undefined && SCHEME.test(path as string) ? path : undefined);
  let origin: string;
  let target: string;
  let credentials: string | undefined;
  if (absolute !== undefined) {
    const parsed = parseAbsolute(field, absolute, shown);
    credentials = basicCredentials(parsed);
    origin = parsed.origin;
    target = parsed.pathname + parsed.search;
  } else {
    if (base === undefined) refuseRelative(path as string, shown);
    origin = base.origin;
    target = underBase(base, path as string, shown);
  }
  const template = params === undefined ? undefined : target;
  target = params === undefined ? refuseForgottenParams(target) : fillParams(target, params);
  if (BAD_PATH.test(target)) throw invalidRequest(field, shown(target), 'no spaces or control characters');
  if (query !== undefined) target = appendQuery(target, query);
  return { origin, path: target, template, credentials };
}

/** The userinfo of an absolute URL as a Basic authorization value (it is never kept in the URL). */
function basicCredentials(parsed: URL): string | undefined {
  if (parsed.username === '' && parsed.password === '') return undefined;
  const pair = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
  return `Basic ${Buffer.from(pair).toString('base64')}`;
}

function refuseRelative(relative: string, shown: (value: unknown) => unknown): never {
  throw invalidRequest(
    'path',
    shown(relative),
    'an absolute URL such as "https://api.example.com/users", or a `baseUrl` on the client for relative paths',
  );
}

/** `relative` under the base's prefix; an absolute or protocol-relative one is refused. */
function underBase(base: BaseUrl, relative: string, shown: (value: unknown) => unknown): string {
  if (SCHEME.test(relative) || relative.startsWith('//') || relative.startsWith('\\')) {
    throw invalidRequest(
      'path',
      shown(relative),
      'a path relative to baseUrl (pass `url` to call another origin on purpose)',
    );
  }
  // A fragment names a part of the answer for the client; it is never sent (RFC 9110 §7.1).
  const hash = relative.indexOf('#');
  const local = hash === -1 ? relative : relative.slice(0, hash);
  const target = local.startsWith('/') ? base.prefix + local : `${base.prefix}/${local}`;
  return target === '' ? '/' : target;
}

/** `target` as it is, unless it holds a placeholder: sent as is, `/users/:id` would reach the server literally. */
function refuseForgottenParams(target: string): string {
  const name = /(?<=\/):([A-Za-z_][A-Za-z0-9_]*)/.exec(pathPart(target))?.[1];
  if (name === undefined) return target;
  throw invalidRequest(
    `params.${name}`,
    undefined,
    `a value for \`:${name}\` in "${pathPart(target)}": pass \`params: { ${name}: ... }\` (a literal colon is %3A)`,
  );
}

function parseAbsolute(field: 'path' | 'url', value: unknown, shown: (value: unknown) => unknown): URL {
  let parsed: URL;
  try {
    parsed = value instanceof URL ? value : new URL(typeof value === 'string' ? value : '');
  } catch {
    throw invalidRequest(field, shown(value), 'an absolute http(s) URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw invalidRequest(field, `${parsed.protocol}//…`, 'an http: or https: URL');
  }
  return parsed;
}

/** The part of a request target before its query string. */
function pathPart(target: string): string {
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}

function fillParams(target: string, params: unknown): string {
  if (!isRecord(params)) throw invalidRequest('params', params, 'an object of path parameter values');
  const used = new Set<string>();
  const path = pathPart(target);
  const filled = path.replace(PARAM, (_match, name: string) => {
    const value = params[name];
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw invalidRequest(
        `params.${name}`,
        value,
        `a string, number or boolean for \`:${name}\` in "${path}"`,
      );
    }
    used.add(name);
    const text = String(value);
    // encodeURIComponent leaves `.` alone, and servers normalise `%2E` like `.` anyway: a
    // segment of just `.` or `..` would move the request to another path.
    if (text === '.' || text === '..') {
      throw invalidRequest(
        `params.${name}`,
        text,
        `a value other than "." or ".." for \`:${name}\` (a dot-segment would change the path the server sees)`,
      );
    }
    return encodeURIComponent(text);
  });
  for (const name of Object.keys(params)) {
    if (!used.has(name))
      throw invalidRequest(
        `params.${name}`,
        withheld(params[name]),
        `a parameter that appears in the path "${path}"`,
      );
  }
  return filled + target.slice(path.length);
}

function appendQuery(path: string, query: unknown): string {
  let encoded: string;
  if (query instanceof URLSearchParams) encoded = query.toString();
  else if (isRecord(query)) {
    const parts: string[] = [];
    for (const key of Object.keys(query)) {
      const value = query[key];
      if (value === undefined) continue;
      const values: readonly unknown[] = Array.isArray(value) ? value : [value];
      for (const v of values) {
        if (v === null) {
          parts.push(encodeURIComponent(key));
          continue;
        }
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
          throw invalidRequest(`query.${key}`, v, 'a string, number, boolean, null, or an array of those');
        }
        parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(v))}`);
      }
    }
    encoded = parts.join('&');
  } else throw invalidRequest('query', query, 'an object or URLSearchParams');
  if (encoded === '') return path;
  return path.includes('?') ? `${path}&${encoded}` : `${path}?${encoded}`;
}
