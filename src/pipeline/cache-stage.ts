/**
 * The HTTP cache stage: inside telemetry and logging, outside dedupe, the deadline and every
 * policy. A fresh answer is served without sending anything (no token, no slot, no breaker
 * outcome, no retry budget); a stale one stands in for an error or a policy's refusal when
 * RFC 5861's `stale-if-error` (or the client's own window) allows it.
 */
import { createHash } from 'node:crypto';
import { BodySource } from '../http/body.js';
import { BulwarkResponse } from '../http/response.js';
import { correlationId } from '../observability/correlation.js';
import type { CacheStatus } from '../observability/channels.js';
import type { CacheEntry, CacheStore } from '../policies/cache-store.js';
import type { CacheMode, CacheRequest, CacheRules, StoredAnswer } from '../policies/http-cache.js';
import { asError, ERROR_TRAITS, isBulwarkError } from '../errors.js';
import { isPromiseLike } from '../policies/store-contract.js';
import type { CallContext, Next } from './types.js';

/** What a call asks of the cache: its mode, or `false` to leave it alone. */
export type CacheCallMode = CacheMode | false;

/** Statuses a stale answer may stand in for: RFC 5861's 5xx, and a throttling 429. */
const STALE_FOR_STATUS = new Set([429, 500, 502, 503, 504]);
/** Methods that never change a resource; any other invalidates what is stored for its target. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

const NONE: readonly CacheEntry[] = [];

interface Found {
  readonly entry: CacheEntry;
  readonly policy: StoredAnswer;
}

/** The cache stage of one client, with its store and background revalidations. */
export class CacheStage {
  readonly #rules: CacheRules;
  readonly #store: CacheStore;
  readonly #revalidating = new Map<string, Promise<void>>();
  readonly #closer = new AbortController();
  /** Rules revived from an entry, kept while the entry lives: a hit parses nothing. */
  readonly #revived = new WeakMap<CacheEntry, StoredAnswer>();

  constructor(rules: CacheRules, store: CacheStore) {
    this.#rules = rules;
    this.#store = store;
  }

  /** The middleware. */
  readonly middleware = (ctx: CallContext, next: Next): Promise<BulwarkResponse> => {
    const mode = ctx.policies.cache as CacheCallMode;
    if (mode === false) return next(ctx);
    if (!SAFE.has(ctx.method)) return this.#unsafe(ctx, next);
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || ctx.body !== null) return next(ctx);
    if (callerConditional(ctx.headers)) return next(ctx);
    return this.#lookup(ctx, next, mode);
  };

  /** Stops background revalidations and waits for them. */
  async close(): Promise<void> {
    this.#closer.abort();
    await Promise.all(this.#revalidating.values());
  }

  /** Revalidations in flight (for `inspect()`). */
  get revalidating(): number {
    return this.#revalidating.size;
  }

  /** Reads the store (without a promise when it answers synchronously) and judges what it holds. */
  #lookup(ctx: CallContext, next: Next, mode: CacheMode): Promise<BulwarkResponse> {
    const url = ctx.origin + ctx.path;
    const key = `GET ${url}`;
    try {
      const read = this.#read(key);
      if (isPromiseLike(read))
        return read.then((variants) => this.#answer(ctx, next, mode, key, url, variants));
      return this.#answer(ctx, next, mode, key, url, read);
    } catch (error) {
      // Whatever goes wrong is the call's rejection, never a synchronous throw out of the stage.
      return Promise.reject(asError(error));
    }
  }

  #answer(
    ctx: CallContext,
    next: Next,
    mode: CacheMode,
    key: string,
    url: string,
    variants: readonly CacheEntry[],
  ): Promise<BulwarkResponse> {
    const request: CacheRequest = { method: ctx.method, url, headers: ctx.headers };
    const found = variants.length === 0 ? undefined : this.#pick(variants, request, ctx);
    const cc = ctx.headers['cache-control'];
    const onlyIfCached = mode === 'only-if-cached' || (cc !== undefined && /only-if-cached/i.test(cc));
    if (found === undefined) {
      if (onlyIfCached) return Promise.resolve(this.#gatewayTimeout(ctx));
      return this.#fetch(ctx, next, key, variants, undefined, request);
    }
    const now = ctx.runtime.clock.now();
    const decision = this.#rules.decide(found.policy, request, onlyIfCached ? 'only-if-cached' : mode, now);
    if (decision.use === 'fresh') return Promise.resolve(this.#serve(ctx, found, 'hit', undefined, now));
    if (decision.use === 'stale') {
      const reason = onlyIfCached ? 'only-if-cached' : mode;
      return Promise.resolve(this.#serve(ctx, found, 'stale', reason, now));
    }
    if (decision.use === 'stale-while-revalidate') {
      this.#background(ctx, next, key, found, this.#rules.validators(found.policy, request));
      return Promise.resolve(this.#serve(ctx, found, 'stale', 'stale-while-revalidate', now));
    }
    Object.assign(ctx.headers, this.#rules.validators(found.policy, request));
    return this.#fetch(ctx, next, key, variants, found, request);
  }

  async #fetch(
    ctx: CallContext,
    next: Next,
    key: string,
    variants: readonly CacheEntry[],
    found: Found | undefined,
    request: CacheRequest,
  ): Promise<BulwarkResponse> {
    let response: BulwarkResponse;
    try {
      response = await next(ctx);
    } catch (error) {
      if (found !== undefined && isBulwarkError(error) && ERROR_TRAITS[error.code].servesStale) {
        if (this.#rules.mayServeOnError(found.policy)) return this.#serve(ctx, found, 'stale', error.code);
      }
      throw error;
    }
    if (found !== undefined && response.status === 304) {
      response.dump();
      const policy = this.#rules.refreshed(found.policy, request, { status: 304, headers: response.headers });
      const entry: CacheEntry = { ...found.entry, policy: policy.toObject() };
      this.#revived.set(entry, policy);
      await this.#write(key, replace(variants, found.entry, entry), policy);
      return this.#serve(ctx, { entry, policy }, 'revalidated', undefined);
    }
    if (
      found !== undefined &&
      STALE_FOR_STATUS.has(response.status) &&
      this.#rules.mayServeOnError(found.policy)
    ) {
      response.dump();
      return this.#serve(ctx, found, 'stale', String(response.status));
    }
    return this.#keep(ctx, key, variants, found, request, response);
  }

  async #keep(
    ctx: CallContext,
    key: string,
    variants: readonly CacheEntry[],
    found: Found | undefined,
    request: CacheRequest,
    response: BulwarkResponse,
  ): Promise<BulwarkResponse> {
    response.cache = 'miss';
    if (ctx.method !== 'GET' || response.status === 206) return this.#missed(ctx, response);
    const policy = this.#rules.policyOf(request, { status: response.status, headers: response.headers });
    if (!this.#rules.storable(policy)) {
      // A fresh answer that may not be stored replaces nothing, but a stored one it contradicts goes.
      if (found !== undefined) await this.#write(key, replace(variants, found.entry, undefined), undefined);
      return this.#missed(ctx, response);
    }
    const body = Buffer.from(await response.arrayBuffer());
    const owner = this.#owner(ctx);
    const entry: CacheEntry = {
      policy: policy.toObject(),
      statusText: response.statusText,
      url: response.url,
      body,
      ...(owner === undefined ? {} : { owner }),
    };
    this.#revived.set(entry, policy);
    const others = variants.filter((v) => v !== found?.entry && !this.#sameVariant(v, request, owner));
    await this.#write(key, [entry, ...others], policy);
    const copy = this.#respond(ctx, entry, { headers: response.headers }, 'miss', 0);
    copy.attempts = response.attempts;
    copy.redirects = response.redirects;
    return copy;
  }

  #missed(ctx: CallContext, response: BulwarkResponse): BulwarkResponse {
    ctx.runtime.events.cache(ctx, 'miss', 0, undefined);
    return response;
  }

  /** A method that may change the resource: on success, what is stored for it (and where it moved) goes. */
  async #unsafe(ctx: CallContext, next: Next): Promise<BulwarkResponse> {
    const response = await next(ctx);
    if (response.status >= 200 && response.status < 400) {
      const targets = [ctx.origin + ctx.path];
      for (const name of ['location', 'content-location']) {
        const value = response.headers[name];
        if (typeof value !== 'string') continue;
        try {
          const url = new URL(value, ctx.origin + ctx.path);
          // Only on the same origin (RFC 9111 §4.4): another origin's entries are not ours to drop.
          if (url.origin === ctx.origin) targets.push(url.origin + url.pathname + url.search);
        } catch {
          // An unparsable Location invalidates nothing more.
        }
      }
      for (const target of targets) await this.#forget(`GET ${target}`);
    }
    return response;
  }

  #pick(variants: readonly CacheEntry[], request: CacheRequest, ctx: CallContext): Found | undefined {
    const owner = this.#owner(ctx);
    for (const entry of variants) {
      if (entry.owner !== owner) continue;
      const policy = this.#policyOf(entry);
      if (policy !== undefined && this.#rules.matches(policy, request)) return { entry, policy };
    }
    return undefined;
  }

  /** The entry a new answer for this request and owner replaces (an unreadable one goes too). */
  #sameVariant(entry: CacheEntry, request: CacheRequest, owner: string | undefined): boolean {
    if (entry.owner !== owner) return false;
    const policy = this.#policyOf(entry);
    return policy === undefined || this.#rules.matches(policy, request);
  }

  /** Whose entries this call may use: undefined in a shared cache, or for a call without credentials. */
  #owner(ctx: CallContext): string | undefined {
    return this.#rules.shared ? undefined : ownerOf(ctx);
  }

  #policyOf(entry: CacheEntry): StoredAnswer | undefined {
    let policy = this.#revived.get(entry);
    if (policy === undefined) {
      try {
        policy = this.#rules.revive(entry.policy);
      } catch {
        // An entry another version (or something else) wrote: not ours to use.
        return undefined;
      }
      this.#revived.set(entry, policy);
    }
    return policy;
  }

  #serve(
    ctx: CallContext,
    found: Found,
    status: CacheStatus,
    reason: string | undefined,
    now = ctx.runtime.clock.now(),
  ): BulwarkResponse {
    const age = this.#rules.ageOf(found.policy, now);
    return this.#respond(
      ctx,
      found.entry,
      { rawHeaders: found.policy.rawHeadersAt(age) },
      status,
      age,
      reason,
    );
  }

  #respond(
    ctx: CallContext,
    entry: CacheEntry,
    headers: { rawHeaders: readonly string[] } | { headers: Record<string, string | string[] | undefined> },
    status: CacheStatus,
    age: number,
    reason?: string,
  ): BulwarkResponse {
    const body = new BodySource(undefined);
    if (ctx.method !== 'HEAD' && entry.body.length > 0) body.push(entry.body);
    body.end();
    const response = new BulwarkResponse({
      status: entry.policy.st,
      statusText: entry.statusText,
      // A shared store keeps no URL (it may carry a secret): the request's stands in.
      url: entry.url === '' ? ctx.origin + ctx.path : entry.url,
      ...headers,
      body,
    });
    response.cache = status;
    ctx.runtime.events.cache(ctx, status, age, reason);
    return response;
  }

  #gatewayTimeout(ctx: CallContext): BulwarkResponse {
    // RFC 9111 §5.2.1.7: only-if-cached with nothing stored answers 504, without the network.
    const body = new BodySource(undefined);
    body.end();
    const response = new BulwarkResponse({
      status: 504,
      statusText: 'Gateway Timeout',
      url: ctx.origin + ctx.path,
      headers: {},
      body,
    });
    response.cache = 'miss';
    ctx.attempts = 0;
    ctx.runtime.events.cache(ctx, 'miss', 0, 'only-if-cached');
    return response;
  }

  /** stale-while-revalidate: one revalidation per key at a time, off the caller's path and budget. */
  #background(
    ctx: CallContext,
    next: Next,
    key: string,
    found: Found,
    validators: Record<string, string>,
  ): void {
    if (this.#revalidating.has(key) || this.#closer.signal.aborted) return;
    const now = ctx.runtime.clock.now();
    const total = ctx.totalTimeoutMs;
    const background: CallContext = {
      ...ctx,
      headers: { ...ctx.headers, ...validators },
      signal: this.#closer.signal,
      correlationId: correlationId(),
      startedAt: now,
      deadline: total > 0 ? now + total : Number.POSITIVE_INFINITY,
      deadlineSource: total > 0 ? 'timeout' : 'none',
      attempts: 0,
      span: undefined,
      cancelled: undefined,
      live: undefined,
    };
    const request: CacheRequest = { method: 'GET', url: ctx.origin + ctx.path, headers: background.headers };
    const run = (async (): Promise<void> => {
      try {
        const variants = await Promise.resolve(this.#read(`GET ${request.url}`));
        const response = await this.#fetch(background, next, key, variants, found, request);
        response.dump();
      } catch {
        // The caller already has its answer; a failed revalidation leaves the entry as it was.
      } finally {
        this.#revalidating.delete(key);
      }
    })();
    this.#revalidating.set(key, run);
  }

  /** The variants under `key`; synchronous when the store is (the memory store: no await on a hit). */
  #read(key: string): readonly CacheEntry[] | Promise<readonly CacheEntry[]> {
    let got: ReturnType<CacheStore['get']>;
    try {
      got = this.#store.get(key);
    } catch {
      // A store that fails is a miss, never a failed call.
      return NONE;
    }
    if (!isPromiseLike(got)) return got ?? NONE;
    return Promise.resolve(got).then(
      (entries) => entries ?? NONE,
      () => NONE,
    );
  }

  async #write(key: string, entries: readonly CacheEntry[], policy: StoredAnswer | undefined): Promise<void> {
    try {
      if (entries.length === 0) {
        await this.#store.delete(key);
        return;
      }
      let keep = policy === undefined ? 0 : this.#rules.keepFor(policy);
      for (const entry of entries) {
        const p = this.#policyOf(entry);
        if (p !== undefined) keep = Math.max(keep, this.#rules.keepFor(p));
      }
      await this.#store.set(key, entries, keep);
    } catch {
      // Not stored: the next call asks the origin again.
    }
  }

  async #forget(key: string): Promise<void> {
    try {
      await this.#store.delete(key);
    } catch {
      // The entry expires by itself.
    }
  }
}

/**
 * True when the caller made its own conditional or partial request: passed through untouched.
 * Named reads, not a loop over names: this runs on every call that reaches the cache.
 */
function callerConditional(headers: Readonly<Record<string, string>>): boolean {
  return (
    headers['if-none-match'] !== undefined ||
    headers['if-modified-since'] !== undefined ||
    headers['if-match'] !== undefined ||
    headers['if-unmodified-since'] !== undefined ||
    headers.range !== undefined
  );
}

/**
 * A private cache answers one user: an entry belongs to the credentials it was fetched with, so a
 * client that forwards many users' tokens never hands one user's answer to another.
 */
function ownerOf(ctx: CallContext): string | undefined {
  const auth = ctx.headers.authorization;
  const cookie = ctx.headers.cookie;
  if (auth === undefined && cookie === undefined) return undefined;
  const hash = createHash('sha256');
  hash.update(auth ?? '');
  hash.update('\n');
  hash.update(cookie ?? '');
  return hash.digest('base64url');
}

function replace(
  variants: readonly CacheEntry[],
  old: CacheEntry,
  entry: CacheEntry | undefined,
): readonly CacheEntry[] {
  const out = variants.filter((v) => v !== old);
  return entry === undefined ? out : [entry, ...out];
}
