/**
 * The in-process rate-limit store: one GCRA timestamp per key in a `Map`, decisions synchronous.
 *
 * A bucket whose TAT has passed is equivalent to a full one, so it can be deleted. Two sweeps do
 * it. With no call at all, a background sweep (one unref'd timer of the clock per store, armed
 * only while it holds buckets, cleared by `close()`) deletes each bucket within `SWEEP_GAP_MS` of
 * its refilling. Between two of those, once the map holds more than `SWEEP_ABOVE` buckets, every
 * `take`/`hold` looks at the next `SWEEP_STEP` buckets of a cursor that walks the map round and
 * round, so a flood of new keys keeps the map near the number of live keys (plus at most about a
 * thousand idle ones). `prune()` sweeps everything at once (e.g. before a heap snapshot).
 */
import { systemClock, type Clock } from '../clock.js';
import { gcraHold, gcraState, gcraTake, intervalMicros, toMicros } from './gcra.js';
import { Housekeeping } from './housekeeping.js';
import type {
  BucketState,
  GcraParams,
  InspectableRateLimitStore,
  RateLimitDecision,
  TakeRequest,
} from './store-contract.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Source of time for every decision. The rate limiter passes its own.
   * @default systemClock
   */
  readonly clock?: Clock;
}

// Buckets visited per call. Two keeps the map bounded by about twice the live keys even when
// every call brings a new key, at a cost of two map-iterator steps.
const SWEEP_STEP = 2;

// Below this many buckets nothing is swept: a few idle buckets cost less than deleting and
// re-creating the bucket of a key used slower than its rate (the common per-origin case).
const SWEEP_ABOVE = 1_024;

// The background sweep runs at most this often (ms), so a refilled bucket lives at most this long
// past its TAT. Each run walks the whole map: 1.2–1.4 ms of CPU for 100,000 live buckets.
const SWEEP_GAP_MS = 1_000;
const SWEEP_GAP_US = SWEEP_GAP_MS * 1000;

// A sweep time in whole clock ms: at that time a bucket whose TAT (µs) was `us` reads as refilled.
const sweepTime = (us: number): number => Math.ceil(us / 1000);

// A mutable holder: the TAT is rewritten in place (no new number boxed per call) and carries its
// key so the sweep can iterate values only.
class Bucket {
  readonly key: string;
  tat: number;
  constructor(key: string, tat: number) {
    this.key = key;
    this.tat = tat;
  }
}

/**
 * The default {@link RateLimitStore}: per-process buckets, synchronous decisions, a bucket freed
 * within a second of refilling, with or without later calls. 100,000 keys take 8.5–8.9 MB, 85–89
 * bytes a key (measured with `--expose-gc` over 100,000 keys; bench/policies.bench.ts fills one).
 * @example
 * const store = new MemoryStore();
 * store.take({ key: 'api.github.com', params: { emissionIntervalMs: 720, burst: 5000 }, maxWaitMs: 0 });
 */
export class MemoryStore implements InspectableRateLimitStore {
  readonly #clock: Clock;
  readonly #buckets = new Map<string, Bucket>();
  #cursor: Iterator<Bucket> | undefined;
  readonly #housekeeping: Housekeeping;

  constructor(options: MemoryStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#housekeeping = new Housekeeping(this.#clock, (now) => this.#sweepAll(now));
  }

  /** Reserves a slot within `maxWaitMs` or refuses; always synchronous. */
  take(request: TakeRequest): RateLimitDecision {
    const nowUs = toMicros(this.#clock.now());
    const bucket = this.#buckets.get(request.key);
    const result = gcraTake(bucket?.tat ?? 0, nowUs, request.params, request.cost ?? 1, request.maxWaitMs);
    if (result.allowed) {
      if (bucket === undefined) this.#add(request.key, result.tat, nowUs);
      else bucket.tat = result.tat;
    }
    this.#sweep(nowUs);
    return result;
  }

  /**
   * Gives back an aborted wait's reservation (`tat` as its decision said) while no later one was
   * made on `key`: the next caller gets the slot the aborted one would have had.
   */
  release(key: string, params: GcraParams, cost: number, tat: number): void {
    const bucket = this.#buckets.get(key);
    if (bucket !== undefined && bucket.tat === tat) bucket.tat = tat - cost * intervalMicros(params);
  }

  /** Grants nothing on `key` before `forMs` from now (a server hint). */
  hold(key: string, params: GcraParams, forMs: number): void {
    const nowUs = toMicros(this.#clock.now());
    const bucket = this.#buckets.get(key);
    const tat = gcraHold(bucket?.tat ?? 0, nowUs, params, forMs);
    if (bucket === undefined) {
      if (tat > nowUs) this.#add(key, tat, nowUs);
    } else bucket.tat = tat;
    this.#sweep(nowUs);
  }

  /**
   * Sets `key`'s bucket to what a shared store last said of it: the TAT, epoch ms of this store's
   * clock (a TAT that has passed is a full bucket). The fallback of a Redis limit keeps its local
   * bucket in step this way, so an outage starts from what this node last knew, not from full.
   */
  seed(key: string, tatMs: number): void {
    const nowUs = toMicros(this.#clock.now());
    const tat = toMicros(tatMs);
    const bucket = this.#buckets.get(key);
    if (bucket !== undefined) {
      // An earlier TAT than the sweep expects: it must not wait for a later sweep.
      if (tat < bucket.tat) this.#watch(tat, nowUs);
      bucket.tat = tat;
    } else if (tat > nowUs) this.#add(key, tat, nowUs);
    this.#sweep(nowUs);
  }

  /** Every live (not yet full) bucket as `params` see it now. */
  buckets(params: GcraParams): BucketState[] {
    const nowUs = toMicros(this.#clock.now());
    const out: BucketState[] = [];
    for (const bucket of this.#buckets.values()) {
      if (bucket.tat <= nowUs) continue;
      const state = gcraState(bucket.tat, nowUs, params);
      out.push({ key: bucket.key, remaining: state.remaining, nextFreeMs: state.nextFreeMs });
    }
    return out;
  }

  /** Number of buckets held, idle ones not yet swept included. */
  size(): number {
    return this.#buckets.size;
  }

  /** Deletes every idle bucket now; returns how many went. */
  prune(): number {
    const nowUs = toMicros(this.#clock.now());
    let removed = 0;
    for (const bucket of this.#buckets.values()) {
      if (bucket.tat <= nowUs) {
        this.#buckets.delete(bucket.key);
        removed++;
      }
    }
    this.#cursor = undefined;
    return removed;
  }

  /** Forgets every bucket and stops the background sweep for good (the client's `close()`). */
  close(): void {
    this.#housekeeping.close();
    this.#buckets.clear();
    this.#cursor = undefined;
  }

  #add(key: string, tat: number, nowUs: number): void {
    this.#buckets.set(key, new Bucket(key, tat));
    this.#watch(tat, nowUs);
  }

  // A TAT only grows while the bucket lives, so the sweep looks again at a bucket only when it is
  // new (or seeded lower): if the armed sweep would free it more than a gap late, sweep sooner.
  #watch(tat: number, nowUs: number): void {
    const due = this.#housekeeping.at;
    if (tat + SWEEP_GAP_US < due * 1000) {
      this.#housekeeping.schedule(sweepTime(Math.max(tat, nowUs + SWEEP_GAP_US)), nowUs / 1000);
    }
  }

  /** The background sweep: deletes every refilled bucket; returns when to look again. */
  #sweepAll(now: number): number | undefined {
    const nowUs = toMicros(now);
    let earliest = Number.POSITIVE_INFINITY;
    for (const bucket of this.#buckets.values()) {
      if (bucket.tat <= nowUs) this.#buckets.delete(bucket.key);
      else if (bucket.tat < earliest) earliest = bucket.tat;
    }
    this.#cursor = undefined;
    if (this.#buckets.size === 0) return undefined;
    return sweepTime(Math.max(earliest, nowUs + SWEEP_GAP_US));
  }

  #sweep(nowUs: number): void {
    if (this.#buckets.size <= SWEEP_ABOVE) {
      // A parked iterator keeps the map's old backing table alive after it shrinks.
      this.#cursor = undefined;
      return;
    }
    for (let i = 0; i < SWEEP_STEP; i++) {
      this.#cursor ??= this.#buckets.values();
      const next = this.#cursor.next();
      if (next.done === true) {
        // Restart on the next call: a fresh iterator on an empty map would spin here.
        this.#cursor = undefined;
        return;
      }
      const bucket = next.value;
      if (bucket.tat <= nowUs) this.#buckets.delete(bucket.key);
    }
  }
}
