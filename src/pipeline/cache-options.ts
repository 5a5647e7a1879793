/**
 * The cache row of the stage table: the `cache` option (type, keys, parse), a request's `cache`
 * mode, and the cache stage it builds. Off by default; `true` is a private cache in memory.
 */
import { invalidOption, invalidRequest } from '../errors.js';
import { CacheStage } from './cache-stage.js';
import { isCacheStore, type CacheStore } from '../policies/cache-store.js';
import { CacheRules, type CacheMode } from '../policies/http-cache.js';
import { MemoryCacheStore } from '../stores/memory-cache.js';
import type { Clock } from '../clock.js';
import { checkBoolean, checkDuration, checkKeys, checkObject, optionKeys } from '../validate.js';
import type { CacheCallMode } from './call-policies.js';
import { policyRow, type BuiltRow } from './stage-descriptor.js';

/** Options of the HTTP cache (`cache`); `true` takes every default. */
export interface CacheOptions {
  /**
   * Shared-cache semantics (RFC 9111): `s-maxage` counts, `private` answers and answers to
   * requests with `Authorization` are not stored unless the response allows it. A private cache
   * (the default) keys every entry by the request's credentials instead, so one client that
   * forwards many users' tokens never serves one user's answer to another.
   * @default false
   */
  shared?: boolean;
  /**
   * Where entries are kept: a {@link CacheStore}, such as `redisCacheStore` of `bulwark/redis`
   * for a fleet.
   * @default new MemoryCacheStore({ maxEntries, maxBytes })
   */
  store?: CacheStore;
  /** URLs the default memory store keeps. @default 1_000 */
  maxEntries?: number;
  /** Bytes the default memory store keeps (bodies and headers). @default 64 MiB */
  maxBytes?: number;
  /**
   * How long past its freshness a stored answer may stand in for an error or a refusal, ms,
   * beside the response's own `stale-if-error`. Never for an answer marked `no-cache` or
   * `must-revalidate`. Range 1 ms to about 24 days (2³¹ − 1 ms).
   * @default 0 (only the response's own `stale-if-error`)
   * @example cache: { staleIfError: 10 * 60_000 } // ten minutes of last good answers during an outage
   */
  staleIfError?: number;
}

/** A request's `cache`: `false` leaves the cache alone (no read, no write), or a mode. */
export type RequestCacheMode = false | CacheMode;

const CACHE_KEYS = optionKeys<CacheOptions>()(['shared', 'store', 'maxEntries', 'maxBytes', 'staleIfError']);
const MODES: readonly string[] = ['default', 'no-cache', 'force-cache', 'only-if-cached'];
const MODE_TEXT = "false, 'default', 'no-cache', 'force-cache' or 'only-if-cached'";

/** The cache, outermost of the policies (a hit costs no retry, breaker or limiter): off unless configured. */
export const cacheRow = policyRow<'cache', CacheStage, BuiltRow>({
  name: 'cache',
  parse: (options, env) => parseCache(options.cache, env.clock),
  build: (cache) => {
    const stage = {
      name: 'cache',
      middleware: cache.middleware,
      inspect: () => ({ revalidating: cache.revalidating }),
      close: () => cache.close(),
    };
    return { stages: [stage] };
  },
  request: (value, built) => requestCacheMode(value, built !== undefined),
});

/** The cache stage of a client's `cache` option, or undefined when the cache is off. */
function parseCache(value: unknown, clock: Clock): CacheStage | undefined {
  if (value === undefined || value === false) return undefined;
  const raw = value === true ? {} : checkObject('options', 'cache', value);
  if (raw === undefined) throw invalidOption('cache', value, 'true, false or an object of cache options');
  checkKeys('options', 'cache', raw, CACHE_KEYS);
  const shared = checkBoolean('options', 'cache.shared', raw.shared) ?? false;
  const staleIfError =
    (checkDuration('options', 'cache.staleIfError', raw.staleIfError, false) as number | undefined) ?? 0;
  let store: CacheStore;
  if (raw.store !== undefined) {
    if (!isCacheStore(raw.store)) {
      throw invalidOption(
        'cache.store',
        raw.store,
        'a CacheStore (get, set, delete), such as redisCacheStore({ client })',
      );
    }
    if (raw.maxEntries !== undefined || raw.maxBytes !== undefined) {
      throw invalidOption(
        'cache.maxEntries',
        raw.maxEntries ?? raw.maxBytes,
        'unset when cache.store is given (bound the store itself)',
      );
    }
    store = raw.store;
  } else {
    store = new MemoryCacheStore({
      ...(raw.maxEntries === undefined ? {} : { maxEntries: raw.maxEntries as number }),
      ...(raw.maxBytes === undefined ? {} : { maxBytes: raw.maxBytes as number }),
      clock,
    });
  }
  return new CacheStage(new CacheRules({ shared, clock, staleIfError }), store);
}

/** A request's `cache` option, checked: `undefined` is the client's default (`'default'`, or `false` without a cache). */
function requestCacheMode(value: unknown, hasCache: boolean): CacheCallMode {
  if (value === undefined) return hasCache ? 'default' : false;
  if (value !== false && (typeof value !== 'string' || !MODES.includes(value))) {
    throw invalidRequest('cache', value, MODE_TEXT);
  }
  if (!hasCache && value !== false) {
    throw invalidRequest(
      'cache',
      value,
      'false on a client without a cache (set `cache: true` on createClient to use one)',
    );
  }
  return value as RequestCacheMode;
}
