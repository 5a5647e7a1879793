/**
 * The sliding windows a circuit breaker counts outcomes in: time buckets (Polly, resilience4j's
 * TIME_BASED) or a ring of the last N calls (HTTPower, resilience4j's COUNT_BASED). Both keep
 * running totals and subtract what leaves the window, so recording and reading cost O(1) and no
 * allocation once the window has its array.
 *
 * The array comes late: while every call in the window succeeded, a count window is only its
 * totals, and a time window is its totals while those successes all fall in one bucket. The
 * array is made (from those numbers, exactly) at the first failure or the second bucket, so a
 * key that only ever sees successes costs a few numbers, not arrays (see docs/load-protection.md).
 */

/** Calls and failures currently in a window. */
export interface HealthWindow {
  /** Calls in the window after the last `record`/`read`. */
  readonly calls: number;
  /** Failures in the window after the last `record`/`read`. */
  readonly failures: number;
  /** Counts one outcome at `now`. */
  record(failure: boolean, now: number): void;
  /** Drops what has left the window by `now`, so `calls`/`failures` are current. */
  read(now: number): void;
  /** Empties the window; time buckets restart at `now`. */
  reset(now: number): void;
}

// Typed arrays read as `number | undefined` under noUncheckedIndexedAccess; every index here is in range.
const at = (counts: Int32Array | Uint8Array, index: number): number => counts[index] ?? 0;

/**
 * `buckets` buckets of `ms / buckets` each, aligned on the time of the last reset. At time t the
 * window holds the current bucket and the `buckets − 1` before it, so an outcome counts for at
 * least `ms − ms / buckets` and less than `ms`. One array holds both counts: calls of bucket i at
 * i, failures at `buckets + i`.
 */
export class TimeWindow implements HealthWindow {
  calls = 0;
  failures = 0;
  readonly #bucketMs: number;
  readonly #size: number;
  // Undefined while the window holds only successes of bucket `#head` (`calls` of them).
  #counts: Int32Array | undefined;
  #origin = 0;
  #head = 0;

  constructor(ms: number, buckets: number, now: number) {
    this.#bucketMs = ms / buckets;
    this.#size = buckets;
    this.reset(now);
  }

  record(failure: boolean, now: number): void {
    let counts = this.#counts;
    if (counts === undefined) {
      this.read(now);
      const index = Math.floor((now - this.#origin) / this.#bucketMs);
      if (!failure && (index === this.#head || this.calls === 0)) {
        this.#head = index;
        this.calls++;
        return;
      }
      // The array, made from the successes so far. Inline, not a private method: a class with
      // one gives each instance a slot for its brand, 8 bytes a key.
      counts = new Int32Array(this.#size * 2);
      counts[this.#head % this.#size] = this.calls;
      this.#counts = counts;
    }
    this.read(now);
    const slot = this.#head % this.#size;
    counts[slot] = at(counts, slot) + 1;
    this.calls++;
    if (failure) {
      counts[this.#size + slot] = at(counts, this.#size + slot) + 1;
      this.failures++;
    }
  }

  read(now: number): void {
    const index = Math.floor((now - this.#origin) / this.#bucketMs);
    if (index <= this.#head) return;
    const size = this.#size;
    const counts = this.#counts;
    if (counts === undefined) {
      // Successes of one bucket: they leave together once `size` buckets have passed it.
      if (index - this.#head >= size) {
        this.calls = 0;
        this.#head = index;
      }
      return;
    }
    const steps = Math.min(index - this.#head, size);
    for (let s = 1; s <= steps; s++) {
      const slot = (this.#head + s) % size;
      this.calls -= at(counts, slot);
      this.failures -= at(counts, size + slot);
      counts[slot] = 0;
      counts[size + slot] = 0;
    }
    this.#head = index;
  }

  reset(now: number): void {
    this.#counts = undefined;
    this.calls = 0;
    this.failures = 0;
    this.#origin = now;
    this.#head = 0;
  }
}

/** The last `size` outcomes, whenever they happened. */
export class CountWindow implements HealthWindow {
  calls = 0;
  failures = 0;
  readonly #size: number;
  // 0 = empty slot, 1 = success, 2 = failure. Undefined while every recorded call succeeded.
  #ring: Uint8Array | undefined;
  #next = 0;

  constructor(size: number) {
    this.#size = size;
  }

  record(failure: boolean): void {
    let ring = this.#ring;
    if (ring === undefined) {
      if (!failure) {
        if (this.calls < this.#size) this.calls++;
        this.#next = (this.#next + 1) % this.#size;
        return;
      }
      // Every slot written so far holds a success; the unwritten ones (from `calls` on) are empty.
      ring = new Uint8Array(this.#size);
      ring.fill(1, 0, this.calls);
      this.#ring = ring;
    }
    const old = at(ring, this.#next);
    if (old !== 0) {
      this.calls--;
      if (old === 2) this.failures--;
    }
    ring[this.#next] = failure ? 2 : 1;
    this.#next = (this.#next + 1) % this.#size;
    this.calls++;
    if (failure) this.failures++;
  }

  read(): void {
    // Nothing leaves a count window with time.
  }

  reset(): void {
    this.#ring = undefined;
    this.#next = 0;
    this.calls = 0;
    this.failures = 0;
  }
}
