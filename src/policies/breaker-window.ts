/**
 * The sliding windows a circuit breaker counts outcomes in: time buckets (Polly, resilience4j's
 * TIME_BASED) or a ring of the last N calls (HTTPower, resilience4j's COUNT_BASED). Both keep
 * running totals and subtract what leaves the window, so recording and reading cost O(1) and no
 * allocation.
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
 * least `ms − ms / buckets` and less than `ms`.
 */
export class TimeWindow implements HealthWindow {
  calls = 0;
  failures = 0;
  readonly #bucketMs: number;
  readonly #calls: Int32Array;
  readonly #failures: Int32Array;
  #origin = 0;
  #head = 0;

  constructor(ms: number, buckets: number, now: number) {
    this.#bucketMs = ms / buckets;
    this.#calls = new Int32Array(buckets);
    this.#failures = new Int32Array(buckets);
    this.reset(now);
  }

  record(failure: boolean, now: number): void {
    this.read(now);
    const slot = this.#head % this.#calls.length;
    this.#calls[slot] = at(this.#calls, slot) + 1;
    this.calls++;
    if (failure) {
      this.#failures[slot] = at(this.#failures, slot) + 1;
      this.failures++;
    }
  }

  read(now: number): void {
    const index = Math.floor((now - this.#origin) / this.#bucketMs);
    if (index <= this.#head) return;
    const size = this.#calls.length;
    const steps = Math.min(index - this.#head, size);
    for (let s = 1; s <= steps; s++) {
      const slot = (this.#head + s) % size;
      this.calls -= at(this.#calls, slot);
      this.failures -= at(this.#failures, slot);
      this.#calls[slot] = 0;
      this.#failures[slot] = 0;
    }
    this.#head = index;
  }

  reset(now: number): void {
    this.#calls.fill(0);
    this.#failures.fill(0);
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
  // 0 = empty slot, 1 = success, 2 = failure.
  readonly #ring: Uint8Array;
  #next = 0;

  constructor(size: number) {
    this.#ring = new Uint8Array(size);
  }

  record(failure: boolean): void {
    const old = at(this.#ring, this.#next);
    if (old !== 0) {
      this.calls--;
      if (old === 2) this.failures--;
    }
    this.#ring[this.#next] = failure ? 2 : 1;
    this.#next = (this.#next + 1) % this.#ring.length;
    this.calls++;
    if (failure) this.failures++;
  }

  read(): void {
    // Nothing leaves a count window with time.
  }

  reset(): void {
    this.#ring.fill(0);
    this.#next = 0;
    this.calls = 0;
    this.failures = 0;
  }
}
