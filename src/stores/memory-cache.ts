/**
 * The HTTP cache's default store: entries in this process, bounded by count and by bytes, the
 * least recently used evicted first. A Map keeps insertion order; a hit only marks its slot
 * (moving it would cost two Map writes per hit), and eviction gives a marked slot a second
 * chance at the young end (the CLOCK approximation of LRU that page caches use).
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
  /** Read since it last reached the old end: spared once by eviction. */
  used: boolean;
}

const KEYS = ['maxEntries', 'maxBytes', 'clock'];

/** An LRU cache store in memory, bounded by entries and bytes. */
export class MemoryCacheStore implements CacheStore {
  readonly #slots = new Map<string, Slot>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #clock: Clock;
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
    slot.used = true;
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
    this.#slots.set(key, { entries, bytes, expiresAt: this.#clock.now() + ttlMs, used: false });
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
    // Each slot is spared at most once per call, so this ends within two passes.
    let spared = 0;
    while (this.#slots.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      const oldest = this.#slots.entries().next();
      if (oldest.done === true) return;
      const [key, slot] = oldest.value;
      this.#slots.delete(key);
      if (slot.used && slot.expiresAt > now && spared < this.#slots.size + 1) {
        slot.used = false;
        spared++;
        this.#slots.set(key, slot);
      } else {
        this.#bytes -= slot.bytes;
      }
    }
  }
}
