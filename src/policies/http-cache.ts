/**
 * The rules of an HTTP cache (RFC 9111, RFC 5861): what may be stored, when a stored answer may be
 * reused, revalidated or served stale. Parsing, freshness lifetime, `Vary` and validators come from
 * `http-cache-semantics` (the library got and npm use); the reuse decision is ours, because that
 * library treats `must-revalidate` as "always revalidate" even while fresh, and lets
 * `stale-if-error` override `no-cache`, which RFC 9111 §5.2.2.2 and §5.2.2.4 forbid.
 * Pure: no HTTP client, no store; time comes from the injected clock.
 */
import CachePolicy from 'http-cache-semantics';
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';

/** A stored answer's rules, as a store keeps them (plain JSON). */
export type StoredPolicy = CachePolicy.CachePolicyObject;

/** How one call may use the cache (the request's `cache` option). */
export type CacheMode = 'default' | 'no-cache' | 'force-cache' | 'only-if-cached';

/** What the cache can do for a request with a matching stored answer. */
export type CacheDecision =
  /** Fresh: serve it, send nothing. */
  | { readonly use: 'fresh' }
  /** Stale, but the request accepts it as is (`force-cache`, `only-if-cached`, `max-stale`). */
  | { readonly use: 'stale' }
  /** Stale within `stale-while-revalidate`: serve it and revalidate in the background. */
  | { readonly use: 'stale-while-revalidate' }
  /** Ask the origin first, with these conditional headers (may be empty: no validator). */
  | { readonly use: 'revalidate' };

const REVALIDATE: CacheDecision = { use: 'revalidate' };
const FRESH: CacheDecision = { use: 'fresh' };
const STALE: CacheDecision = { use: 'stale' };

/** Request headers the rules read in the clear; every other value they keep is a digest. */
const CLEAR_REQUEST_HEADERS = new Set(['host', 'cache-control', 'pragma']);
/** Response headers never stored: they belong to one exchange, or to one user. */
export const UNSTORED_RESPONSE_HEADERS = new Set([
  'set-cookie',
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'age',
]);
/** Response headers a 304 does not replace (RFC 9111 §3.2: they describe the stored body). */
const NOT_UPDATED_BY_304 = new Set([
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'content-range',
]);

/** What the rules read of a request. */
export interface CacheRequest {
  readonly method: string;
  /** Origin and path with query (no fragment). */
  readonly url: string;
  /** Lowercase names to values. */
  readonly headers: Readonly<Record<string, string>>;
}

/** What the rules read of a response. */
export interface CacheResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** Options of {@link CacheRules}. */
export interface CacheRulesOptions {
  /** Shared-cache semantics (`s-maxage`, `private`, `Authorization`, RFC 9111 §3.5). @default false */
  readonly shared?: boolean;
  /** The clock every age is measured with. */
  readonly clock: Clock;
  /** Longest a stale answer may stand in for an error, ms, beside the response's own `stale-if-error`. @default 0 */
  readonly staleIfError?: number;
}

/**
 * The cache's rules for one client: builds policies on the client's clock and judges stored
 * answers against new requests.
 */
export class CacheRules {
  readonly shared: boolean;
  readonly #staleIfErrorMs: number;
  readonly #Policy: typeof CachePolicy;

  constructor(options: CacheRulesOptions) {
    this.shared = options.shared === true;
    this.#staleIfErrorMs = options.staleIfError ?? 0;
    const clock = options.clock;
    // The library reads time through `now()`; a subclass per client puts it on the injected clock
    // (a closure, since the constructor already asks for the time).
    this.#Policy = class extends CachePolicy {
      now(): number {
        return clock.now();
      }
    };
  }

  /** The rules of an answer just received for `request`. */
  policyOf(request: CacheRequest, response: CacheResponse): CachePolicy {
    return new this.#Policy(describe(request, varyNames(response.headers.vary)), storedResponse(response), {
      shared: this.shared,
    });
  }

  /** Rules read back from a store. */
  revive(stored: StoredPolicy): CachePolicy {
    return this.#Policy.fromObject(stored);
  }

  /** True when the stored answer was given for a request like this one (its `Vary` fields match). */
  matches(policy: CachePolicy, request: CacheRequest): boolean {
    return varyMatches(policy, request);
  }

  /** What a request may do with a matching stored answer. */
  decide(policy: CachePolicy, request: CacheRequest, mode: CacheMode): CacheDecision {
    if (mode === 'force-cache' || mode === 'only-if-cached') {
      return policy.maxAge() > policy.age() ? FRESH : STALE;
    }
    if (mode === 'no-cache') return REVALIDATE;
    const rescc = directives(policy);
    const reqcc = parseDirectives(request.headers['cache-control']);
    if (reqcc.has('no-cache') || /no-cache/i.test(request.headers.pragma ?? '')) {
      return REVALIDATE;
    }
    // no-cache on the answer: never reused without a successful validation (§5.2.2.4).
    if (rescc['no-cache'] !== undefined) return REVALIDATE;
    const age = policy.age();
    const lifetime = policy.maxAge();
    const fresh = lifetime > age;
    const maxAge = numeric(reqcc.get('max-age'));
    if (maxAge !== undefined && age > maxAge) return REVALIDATE;
    const minFresh = numeric(reqcc.get('min-fresh'));
    if (minFresh !== undefined && lifetime - age < minFresh) return REVALIDATE;
    if (fresh) return FRESH;
    // Stale from here: must-revalidate (and proxy-revalidate in a shared cache) forbid any stale use.
    if (this.#mustRevalidate(rescc)) return REVALIDATE;
    if (reqcc.has('max-stale')) {
      const limit = numeric(reqcc.get('max-stale'));
      if (limit === undefined || age - lifetime <= limit) return STALE;
    }
    const swr = numeric(rescc['stale-while-revalidate']) ?? 0;
    if (swr > 0 && age < lifetime + swr) return { use: 'stale-while-revalidate' };
    return REVALIDATE;
  }

  /**
   * The conditional headers that revalidate the stored answer (`If-None-Match`, `If-Modified-Since`),
   * none the caller set already; empty when the answer has no validator.
   */
  validators(policy: CachePolicy, request: CacheRequest): Record<string, string> {
    return conditionalHeaders(policy, describe(request, varyNames(policy.toObject().resh.vary)));
  }

  /**
   * True when the stored answer may stand in for an error (RFC 5861 §4): within its own
   * `stale-if-error` window or the client's, and never when the answer forbids stale use.
   */
  mayServeOnError(policy: CachePolicy): boolean {
    const rescc = directives(policy);
    if (rescc['no-cache'] !== undefined || this.#mustRevalidate(rescc)) return false;
    const staleFor = policy.age() - policy.maxAge();
    const own = numeric(rescc['stale-if-error']) ?? 0;
    return staleFor < Math.max(own, this.#staleIfErrorMs / 1000);
  }

  /**
   * The rules after a 304: the stored headers updated with the 304's (RFC 9111 §3.2, §4.3.4), the
   * age counted from now. The 304's `Age` counts; the stored one does not carry over.
   */
  refreshed(policy: CachePolicy, request: CacheRequest, notModified: CacheResponse): CachePolicy {
    const stored = policy.toObject();
    const headers: Record<string, string | string[] | undefined> = { ...stored.resh };
    delete headers.age;
    for (const [name, value] of Object.entries(notModified.headers)) {
      if (value === undefined || NOT_UPDATED_BY_304.has(name) || UNSTORED_RESPONSE_HEADERS.has(name))
        continue;
      headers[name] = value;
    }
    if (notModified.headers.age !== undefined) headers.age = String(notModified.headers.age);
    return this.policyOf(request, { status: stored.st, headers });
  }

  /** True when RFC 9111 lets this answer be stored at all. */
  storable(policy: CachePolicy): boolean {
    return policy.storable();
  }

  /** Headers for the answer served from the cache (`age` updated, the rest as stored). */
  servedHeaders(policy: CachePolicy): Record<string, string | string[]> {
    return servedHeaders(policy);
  }

  /**
   * How long a store should keep the entry, ms: its fresh life plus the longest stale window
   * (its own `stale-while-revalidate` / `stale-if-error`, or the client's), or a day past its
   * life when it has a validator (a 304 makes it fresh again). Past that it is useless.
   */
  keepFor(policy: CachePolicy): number {
    const rescc = directives(policy);
    const left = (policy.maxAge() - policy.age()) * 1000;
    const stale =
      1000 * Math.max(numeric(rescc['stale-while-revalidate']) ?? 0, numeric(rescc['stale-if-error']) ?? 0);
    // An answer with a validator is worth keeping past its life: a 304 makes it fresh again.
    const revalidatable = hasValidator(policy) ? 24 * 3600_000 : 0;
    return Math.max(0, left + Math.max(stale, this.#staleIfErrorMs, revalidatable));
  }

  #mustRevalidate(rescc: Record<string, string | true | undefined>): boolean {
    return rescc['must-revalidate'] !== undefined || (this.shared && rescc['proxy-revalidate'] !== undefined);
  }
}

/**
 * The request as the library sees it: the URL and every header value it keeps as a digest
 * (they may reach a shared store), except the few it must parse. `names`: the `Vary` fields.
 */
function describe(request: CacheRequest, names: ReadonlySet<string> | undefined): CachePolicy.Request {
  const headers: Record<string, string> = { host: hostOf(request.url) };
  for (const name of CLEAR_REQUEST_HEADERS) {
    const value = request.headers[name];
    if (value !== undefined && name !== 'host') headers[name] = value;
  }
  // Read by the rules to apply RFC 9111 §3.5 (only whether there is one).
  const auth = request.headers.authorization;
  if (auth !== undefined) headers.authorization = digest(auth);
  if (names !== undefined) {
    for (const name of names) {
      const value = request.headers[name];
      if (value !== undefined && !CLEAR_REQUEST_HEADERS.has(name)) headers[name] = digest(value);
    }
  }
  // The URL is the store's key already; the rules keep only its digest (a query may hold a token).
  return {
    url: digest(pathOf(request.url)),
    method: request.method === 'HEAD' ? 'GET' : request.method,
    headers,
  };
}

function hostOf(url: string): string {
  const start = url.indexOf('://') + 3;
  const end = url.indexOf('/', start);
  return end === -1 ? url.slice(start) : url.slice(start, end);
}

function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('://') + 3);
  return start === -1 ? '/' : url.slice(start);
}

function storedResponse(response: CacheResponse): CachePolicy.Response {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value === undefined || UNSTORED_RESPONSE_HEADERS.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  if (response.headers.age !== undefined) headers.age = String(response.headers.age);
  return { status: response.status, headers };
}

function servedHeaders(policy: CachePolicy): Record<string, string | string[]> {
  const stored = policy.toObject().resh as Record<string, string>;
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(stored)) out[name] = value;
  out.age = String(Math.max(0, Math.floor(policy.age())));
  return out;
}

function varyNames(vary: string | string[] | undefined): Set<string> | undefined {
  if (vary === undefined) return undefined;
  const text = Array.isArray(vary) ? vary.join(',') : vary;
  return new Set(
    text
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s.length > 0),
  );
}

function varyMatches(policy: CachePolicy, request: CacheRequest): boolean {
  const stored = policy.toObject();
  const names = varyNames(stored.resh.vary);
  if (names === undefined) return true;
  for (const name of names) {
    if (name === '*') return false;
    const mine = request.headers[name];
    const theirs = stored.reqh?.[name];
    if (mine === undefined || theirs === undefined) {
      if (mine !== theirs) return false;
      continue;
    }
    if (theirs !== (CLEAR_REQUEST_HEADERS.has(name) ? mine : digest(mine))) return false;
  }
  return true;
}

function conditionalHeaders(policy: CachePolicy, probe: CachePolicy.Request): Record<string, string> {
  const headers = policy.revalidationHeaders(probe);
  const out: Record<string, string> = {};
  const etag = headers['if-none-match'];
  const since = headers['if-modified-since'];
  if (typeof etag === 'string' && probe.headers['if-none-match'] === undefined) out['if-none-match'] = etag;
  if (typeof since === 'string' && probe.headers['if-modified-since'] === undefined) {
    out['if-modified-since'] = since;
  }
  return out;
}

function hasValidator(policy: CachePolicy): boolean {
  const resh = policy.toObject().resh;
  return resh.etag !== undefined || resh['last-modified'] !== undefined;
}

function directives(policy: CachePolicy): Record<string, string | true | undefined> {
  return policy.toObject().rescc;
}

function parseDirectives(header: string | undefined): Map<string, string | true> {
  const out = new Map<string, string | true>();
  if (header === undefined) return out;
  for (const part of header.split(',')) {
    const [rawName, ...rest] = part.split('=');
    const name = rawName?.trim().toLowerCase();
    if (name === undefined || name === '') continue;
    const value = rest.join('=').trim().replace(/^"|"$/g, '');
    out.set(name, rest.length === 0 ? true : value);
  }
  return out;
}

function numeric(value: string | true | undefined): number | undefined {
  if (value === undefined || value === true) return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function digest(value: string): string {
  return `sha256:${createHash('sha256').update(value).digest('base64url')}`;
}
