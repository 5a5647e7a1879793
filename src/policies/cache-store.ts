/**
 * The contract between the HTTP cache and where it keeps answers: in memory by default
 * (`MemoryCacheStore`), in Redis for a fleet (`redisCacheStore` of `bulwark/redis`), or anything
 * that keeps a few values by key.
 */
import type { StoredPolicy } from './http-cache.js';

/** One stored answer: its rules, its status line and its decoded body. */
export interface CacheEntry {
  /** The rules and headers of the answer (JSON-safe: what `http-cache-semantics` serialises). */
  readonly policy: StoredPolicy;
  readonly statusText: string;
  /** The final URL of the answer (after redirects), as the response's `url` reports it. */
  readonly url: string;
  /** The body as received, decoded (no `content-encoding`). */
  readonly body: Buffer;
  /**
   * In a private cache, a digest of the credentials (`authorization`, `cookie`) the answer was
   * fetched with: only a request with the same credentials is answered from it.
   */
  readonly owner?: string;
}

/**
 * Where the cache keeps its entries. A key holds every variant of one URL (`Vary`), newest first.
 * Methods may answer synchronously or with a promise; a store that fails is a miss, never a
 * failed call.
 */
export interface CacheStore {
  /** The variants stored under `key`, or undefined. */
  get(key: string): readonly CacheEntry[] | undefined | Promise<readonly CacheEntry[] | undefined>;
  /** Replaces the variants under `key`, kept for at most `ttlMs`. */
  set(key: string, entries: readonly CacheEntry[], ttlMs: number): void | Promise<void>;
  /** Forgets `key` (an unsafe method changed the resource). */
  delete(key: string): void | Promise<void>;
}

/**
 * Bytes an entry costs in memory, measured rather than guessed: its body, the length of its
 * rules as JSON and of its URL, and about 760 bytes of objects around them (the rules' parsed
 * forms, the slot, the Map entry, the Buffer). For 300-byte bodies the estimate is 1,410 bytes
 * an entry; 100,000 entries measured 1,310 bytes each on Node 20 (heap and buffers), so a
 * `maxBytes` bound holds.
 */
export function entrySize(entry: CacheEntry): number {
  return entry.body.length + JSON.stringify(entry.policy).length + entry.url.length + 760;
}

/** True for a value shaped like a {@link CacheStore}. */
export function isCacheStore(value: unknown): value is CacheStore {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.get === 'function' && typeof v.set === 'function' && typeof v.delete === 'function';
}
