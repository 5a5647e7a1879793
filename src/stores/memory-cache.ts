/**
 * The HTTP cache's default store: entries in this process, bounded by count and by bytes, the
 * least recently used evicted first. A Map keeps insertion order, so "used" means deleted and set
 * again: O(1) per get and set, no list of its own.
 */
import { entrySize, type CacheEntry, type CacheStore } from '../policies/cache-store.js';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { checkKeys, isRecord, requireInteger } from '../validate.js';
import { invalidOption } from '../errors.js';

/** Options of {@link MemoryCacheStore}. */
export interface MemoryCacheStoreOptions {
  /** Most URLs kept (each with its `Vary` variants). @default 1_000 */
  maxEntries?: number;
  /** Most bytes kept, bodies and headers counted. @default 64 MiB */
  maxBytes?: number;
  /** Clock for expiry (the client's, in tests the virtual one). @default the system clock */
  clock?: Clock;
}

interface Slot {
  readonly entries: readonly CacheEntry[];
  readonly bytes: number;
  readonly expiresAt: number;
}

const KEYS = ['maxEntries', 'maxBytes', 'clock'];

/** An LRU cache store in memory, bounded by entries and bytes. */
export class MemoryCacheStore implements CacheStore {
  readonly #slots = new Map<string, Slot>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  #clock: Clock;
  #bytes = 0;

  constructor(options: MemoryCacheStoreOptions = {}) {
    const raw: unknown = options;
    if (!isRecord(raw)) throw invalidOption('cache.store', raw, 'an object of MemoryCacheStore options');
    checkKeys('options', 'cache.store', raw, KEYS);
    this.#maxEntries = requireInteger(
      'options',
      'cache.store.maxEntries',
      options.maxEntries ?? 1_000,
      1,
      10_000_000,
    );
    this.#maxBytes = requireInteger(
      'options',
      'cache.store.maxBytes',
      options.maxBytes ?? 64 * 1024 * 1024,
      1,
      2 ** 42,
    );
    this.#clock = options.clock ?? systemClock;
  }

  /** @internal The client hands its clock over when the store was built without one. */
  useClock(clock: Clock): void {
    this.#clock = clock;
  }

  /** URLs stored. */
  get size(): number {
    return this.#slots.size;
  }

  /** Bytes stored. */
  get bytes(): number {
    return this.#bytes;
  }

  get(key: string): readonly CacheEntry[] | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    if (slot.expiresAt <= this.#clock.now()) {
      this.#drop(key, slot);
      return undefined;
    }
    // Most recently used goes last.
    this.#slots.delete(key);
    this.#slots.set(key, slot);
    return slot.entries;
  }

  set(key: string, entries: readonly CacheEntry[], ttlMs: number): void {
    const old = this.#slots.get(key);
    if (old !== undefined) this.#drop(key, old);
    if (entries.length === 0 || ttlMs <= 0) return;
    let bytes = key.length;
    for (const entry of entries) bytes += entrySize(entry);
    // One answer larger than the whole store is not kept (it would evict everything else).
    if (bytes > this.#maxBytes) return;
    this.#slots.set(key, { entries, bytes, expiresAt: this.#clock.now() + ttlMs });
    this.#bytes += bytes;
    this.#evict();
  }

  delete(key: string): void {
    const slot = this.#slots.get(key);
    if (slot !== undefined) this.#drop(key, slot);
  }

  /** Forgets every entry. */
  clear(): void {
    this.#slots.clear();
    this.#bytes = 0;
  }

  #drop(key: string, slot: Slot): void {
    this.#slots.delete(key);
    this.#bytes -= slot.bytes;
  }

  #evict(): void {
    const now = this.#clock.now();
    for (const [key, slot] of this.#slots) {
      if (this.#slots.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) return;
      // Oldest first; an expired one on the way goes too.
      if (slot.expiresAt <= now || this.#slots.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
        this.#drop(key, slot);
      }
    }
  }
}
