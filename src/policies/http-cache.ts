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
const STALE_WHILE_REVALIDATE: CacheDecision = { use: 'stale-while-revalidate' };

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

/** Statuses the rules understand (those `http-cache-semantics` stores): the others are never stored. */
const UNDERSTOOD_STATUSES = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501]);

/** How long past its life a stale answer stays in the store for a 304, `max-stale` or `force-cache`. */
const KEEP_STALE_MS = 24 * 3600_000;

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
 * One stored answer with what never changes about it worked out once: its freshness lifetime,
 * directives, headers, `Vary` fields and birth time. A hit then reads the clock once and
 * compares numbers; it parses nothing.
 */
export class StoredAnswer {
  /** The library's policy (storability, revalidation headers, serialisation). */
  readonly policy: CachePolicy;
  /** Freshness lifetime, seconds (`max-age`, `s-maxage`, `Expires` or heuristic). */
  readonly lifetime: number;
  /** The response's `Cache-Control` directives. */
  readonly directives: Readonly<Record<string, string | true | undefined>>;
  /** Stored response headers, without `age`. */
  readonly headers: Readonly<Record<string, string | string[]>>;
  /** The same as name/value pairs, which a response parses only when its headers are read. */
  readonly rawHeaders: readonly string[];
  /** The `Vary` field names (lowercase), when the answer has one. */
  readonly vary: ReadonlySet<string> | undefined;
  /** True when the answer names a validator (`ETag`, `Last-Modified`). */
  readonly hasValidator: boolean;
  /** Clock time (ms) at which the answer's age was 0. */
  readonly bornAt: number;
  readonly #stored: StoredPolicy;
  /** The headers with the last `age` served: hits within the same second share one array. */
  #withAge: { readonly age: number; readonly raw: readonly string[] } | undefined = undefined;

  constructor(policy: CachePolicy, now: number) {
    this.policy = policy;
    const stored = policy.toObject();
    this.#stored = stored;
    this.lifetime = policy.maxAge();
    this.directives = stored.rescc;
    const headers: Record<string, string | string[]> = {};
    const raw: string[] = [];
    for (const [name, value] of Object.entries(stored.resh)) {
      if (value === undefined || name === 'age') continue;
      headers[name] = value;
      for (const one of Array.isArray(value) ? value : [value]) raw.push(name, one);
    }
    this.headers = headers;
    this.rawHeaders = raw;
    this.vary = varyNames(stored.resh.vary);
    this.hasValidator = stored.resh.etag !== undefined || stored.resh['last-modified'] !== undefined;
    this.bornAt = now - policy.age() * 1000;
  }

  /** Age in seconds at `now` (fractional). */
  age(now: number): number {
    return (now - this.bornAt) / 1000;
  }

  /**
   * The stored headers as name/value pairs with `age` last. Responses only read the array, so
   * hits within the same second share one (a hit copies no headers).
   */
  rawHeadersAt(age: number): readonly string[] {
    const last = this.#withAge;
    if (last?.age === age) return last.raw;
    const raw = [...this.rawHeaders, 'age', String(age)];
    this.#withAge = { age, raw };
    return raw;
  }

  /** The JSON-safe form a store keeps. */
  toObject(): StoredPolicy {
    return this.#stored;
  }
}

/**
 * The cache's rules for one client: builds answers on the client's clock and judges them
 * against new requests.
 */
export class CacheRules {
  readonly shared: boolean;
  readonly #staleIfErrorMs: number;
  readonly #clock: Clock;
  readonly #Policy: typeof CachePolicy;

  constructor(options: CacheRulesOptions) {
    this.shared = options.shared === true;
    this.#staleIfErrorMs = options.staleIfError ?? 0;
    const clock = options.clock;
    this.#clock = clock;
    // The library reads time through `now()`; a subclass per client puts it on the injected clock
    // (a closure, since the constructor already asks for the time).
    this.#Policy = class extends CachePolicy {
      now(): number {
        return clock.now();
      }
    };
  }

  /** The rules of an answer just received for `request`. */
  policyOf(request: CacheRequest, response: CacheResponse): StoredAnswer {
    const policy = new this.#Policy(
      describe(request, varyNames(response.headers.vary)),
      storedResponse(response),
      { shared: this.shared },
    );
    return new StoredAnswer(policy, this.#clock.now());
  }

  /** Rules read back from a store. */
  revive(stored: StoredPolicy): StoredAnswer {
    return new StoredAnswer(this.#Policy.fromObject(stored), this.#clock.now());
  }

  /** True when the stored answer was given for a request like this one (its `Vary` fields match). */
  matches(answer: StoredAnswer, request: CacheRequest): boolean {
    const names = answer.vary;
    if (names === undefined) return true;
    const reqh = answer.toObject().reqh;
    for (const name of names) {
      if (name === '*') return false;
      const mine = request.headers[name];
      const theirs = reqh?.[name];
      if (mine === undefined || theirs === undefined) {
        if (mine !== theirs) return false;
        continue;
      }
      if (theirs !== (CLEAR_REQUEST_HEADERS.has(name) ? mine : digest(mine))) return false;
    }
    return true;
  }

  /** What a request may do with a matching stored answer. */
  decide(
    answer: StoredAnswer,
    request: CacheRequest,
    mode: CacheMode,
    now = this.#clock.now(),
  ): CacheDecision {
    const age = answer.age(now);
    const lifetime = answer.lifetime;
    const fresh = lifetime > age;
    if (mode === 'force-cache' || mode === 'only-if-cached') return fresh ? FRESH : STALE;
    if (mode === 'no-cache') return REVALIDATE;
    const rescc = answer.directives;
    // no-cache on the answer: never reused without a successful validation (§5.2.2.4).
    if (rescc['no-cache'] !== undefined) return REVALIDATE;
    const cc = request.headers['cache-control'];
    const pragma = request.headers.pragma;
    if (cc === undefined && (pragma === undefined || !/no-cache/i.test(pragma))) {
      // The common case: the request says nothing about caching.
      if (fresh) return FRESH;
      return this.#staleUse(answer, age, undefined);
    }
    const reqcc = parseDirectives(cc);
    if (reqcc.has('no-cache') || (pragma !== undefined && /no-cache/i.test(pragma))) return REVALIDATE;
    const maxAge = numeric(reqcc.get('max-age'));
    // max-age=0 asks for a validated answer: even one of age 0 (the same millisecond) is not reused.
    if (maxAge !== undefined && (age > maxAge || maxAge === 0)) return REVALIDATE;
    const minFresh = numeric(reqcc.get('min-fresh'));
    if (minFresh !== undefined && lifetime - age < minFresh) return REVALIDATE;
    if (fresh) return FRESH;
    return this.#staleUse(answer, age, reqcc);
  }

  /**
   * The conditional headers that revalidate the stored answer (`If-None-Match`, `If-Modified-Since`),
   * none the caller set already; empty when the answer has no validator.
   */
  validators(answer: StoredAnswer, request: CacheRequest): Record<string, string> {
    return conditionalHeaders(answer.policy, describe(request, answer.vary));
  }

  /**
   * True when the stored answer may stand in for an error (RFC 5861 §4): within its own
   * `stale-if-error` window or the client's, and never when the answer forbids stale use.
   */
  mayServeOnError(answer: StoredAnswer): boolean {
    const rescc = answer.directives;
    if (rescc['no-cache'] !== undefined || this.#mustRevalidate(rescc)) return false;
    const staleFor = answer.age(this.#clock.now()) - answer.lifetime;
    const own = numeric(rescc['stale-if-error']) ?? 0;
    return staleFor < Math.max(own, this.#staleIfErrorMs / 1000);
  }

  /**
   * The rules after a 304: the stored headers updated with the 304's (RFC 9111 §3.2, §4.3.4), the
   * age counted from now. The 304's `Age` counts; the stored one does not carry over.
   */
  refreshed(answer: StoredAnswer, request: CacheRequest, notModified: CacheResponse): StoredAnswer {
    const headers: Record<string, string | string[] | undefined> = { ...answer.headers };
    for (const [name, value] of Object.entries(notModified.headers)) {
      if (value === undefined || NOT_UPDATED_BY_304.has(name) || UNSTORED_RESPONSE_HEADERS.has(name))
        continue;
      headers[name] = value;
    }
    if (notModified.headers.age !== undefined) headers.age = String(notModified.headers.age);
    return this.policyOf(request, { status: answer.toObject().st, headers });
  }

  /** True when RFC 9111 lets this answer be stored at all. */
  storable(answer: StoredAnswer): boolean {
    return answer.policy.storable();
  }

  /** The answer's age at `now` (the clock's time), in whole seconds (its `Age` header). */
  ageOf(answer: StoredAnswer, now = this.#clock.now()): number {
    return Math.max(0, Math.floor(answer.age(now)));
  }

  /**
   * How long a store should keep the entry, ms: its fresh life plus the longest stale window
   * (its own `stale-while-revalidate` / `stale-if-error`, or the client's), and at least a day past
   * its life: a 304 can make it fresh again, and `max-stale`, `force-cache` and `only-if-cached`
   * accept it stale. The store's bounds evict it sooner when room is short.
   */
  keepFor(answer: StoredAnswer): number {
    const rescc = answer.directives;
    const left = (answer.lifetime - answer.age(this.#clock.now())) * 1000;
    const stale =
      1000 * Math.max(numeric(rescc['stale-while-revalidate']) ?? 0, numeric(rescc['stale-if-error']) ?? 0);
    return Math.max(0, left + Math.max(stale, this.#staleIfErrorMs, KEEP_STALE_MS));
  }

  /** A stale answer: served as is, while revalidating, or only after asking the origin. */
  #staleUse(answer: StoredAnswer, age: number, reqcc: Map<string, string | true> | undefined): CacheDecision {
    // must-revalidate (and proxy-revalidate in a shared cache) forbid any stale use.
    if (this.#mustRevalidate(answer.directives)) return REVALIDATE;
    if (reqcc?.has('max-stale') === true) {
      const limit = numeric(reqcc.get('max-stale'));
      if (limit === undefined || age - answer.lifetime <= limit) return STALE;
    }
    const swr = numeric(answer.directives['stale-while-revalidate']) ?? 0;
    if (swr > 0 && age < answer.lifetime + swr) return STALE_WHILE_REVALIDATE;
    return REVALIDATE;
  }

  #mustRevalidate(rescc: Readonly<Record<string, string | true | undefined>>): boolean {
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
  const perHop = connectionNames(response.headers.connection);
  for (const [name, value] of Object.entries(response.headers)) {
    if (value === undefined || UNSTORED_RESPONSE_HEADERS.has(name) || perHop?.has(name) === true) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const cc = headers['cache-control'];
  if (cc !== undefined) headers['cache-control'] = normaliseDirectives(cc, response.status);
  const age = validAge(response.headers.age);
  if (age !== undefined) headers.age = age;
  return { status: response.status, headers };
}

/** Headers the `Connection` field names belong to one hop (RFC 9110 §7.6.1): never stored. */
function connectionNames(connection: string | string[] | undefined): Set<string> | undefined {
  if (connection === undefined) return undefined;
  return varyNames(connection);
}

/**
 * Directive names are case-insensitive (RFC 9111 §5.2): lowercased for the library, which matches
 * them exactly. `must-understand` with a status the cache understands lifts `no-store` (§5.2.2.3).
 */
function normaliseDirectives(cc: string, status: number): string {
  const parts = cc.split(',').map((part) => {
    const at = part.indexOf('=');
    return at === -1 ? part.trim().toLowerCase() : `${part.slice(0, at).trim().toLowerCase()}=${part.slice(at + 1).trim()}`;
  });
  if (!parts.includes('must-understand') || !UNDERSTOOD_STATUSES.has(status)) return parts.join(', ');
  return parts.filter((part) => part !== 'no-store').join(', ');
}

/** The first `Age` value when it is a non-negative integer (RFC 9111 §5.1); anything else is ignored. */
function validAge(age: string | string[] | undefined): string | undefined {
  if (age === undefined) return undefined;
  const first = (Array.isArray(age) ? age[0] : age)?.split(',')[0]?.trim();
  return first !== undefined && /^\d+$/.test(first) ? first : undefined;
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
