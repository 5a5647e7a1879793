/**
 * Deadlines around store calls. Redis clients queue commands while reconnecting (ioredis retries
 * each up to 20 times, node-redis keeps an offline queue), so without a deadline of its own a
 * limiter would hang with Redis. A late reply is observed and dropped: it never becomes an
 * unhandled rejection.
 *
 * Every call of one store has the same timeout, so deadlines expire in the order calls were made:
 * a FIFO queue and one timer for its head replace a timer per call (a decision allocates no timer).
 */
import type { Clock } from '../clock.js';

/** Raised when a store call outlives its deadline. */
export class StoreTimeoutError extends Error {
  override readonly name = 'StoreTimeoutError';
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`store call took longer than ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

interface Pending {
  readonly at: number;
  done: boolean;
  readonly reject: (error: Error) => void;
}

// Kept alive (ref'd): it lives at most `timeoutMs`, and an unref'd one would let a process whose
// only pending work is a decision from a silent Redis exit in the middle of an await.
const refTimer = (fn: () => void, ms: number): void => {
  setTimeout(fn, ms);
};

const COMPACT_AT = 1_024;

/** Runs promises against one fixed timeout. */
export class DeadlineQueue {
  readonly #timeoutMs: number;
  readonly #clock: Clock | undefined;
  #queue: Pending[] = [];
  #head = 0;
  #armed = false;

  /** @param clock a test clock; Node's own timers and `performance.now()` when undefined */
  constructor(timeoutMs: number, clock?: Clock) {
    this.#timeoutMs = timeoutMs;
    this.#clock = clock;
  }

  /** Settles like `promise`, or rejects with {@link StoreTimeoutError} after the timeout. */
  run<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { at: this.#now() + this.#timeoutMs, done: false, reject };
      this.#queue.push(entry);
      if (!this.#armed) this.#schedule(this.#timeoutMs);
      promise.then(
        (value) => {
          if (entry.done) return;
          entry.done = true;
          resolve(value);
        },
        (error: unknown) => {
          if (entry.done) return;
          entry.done = true;
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  #now(): number {
    return this.#clock === undefined ? performance.now() : this.#clock.now();
  }

  #schedule(ms: number): void {
    this.#armed = true;
    // Timers run before sockets are read in each turn of the event loop: after a stall (a busy
    // or descheduled process) the reply may already be waiting, so expire after the poll phase.
    const fire = (): void => void setImmediate(this.#expire);
    if (this.#clock === undefined) refTimer(fire, ms);
    else this.#clock.setTimeout(fire, ms);
  }

  readonly #expire = (): void => {
    this.#armed = false;
    const now = this.#now();
    const queue = this.#queue;
    let head = this.#head;
    while (head < queue.length) {
      const entry = queue[head];
      if (entry === undefined) break;
      if (!entry.done) {
        if (entry.at > now) break;
        entry.done = true;
        entry.reject(new StoreTimeoutError(this.#timeoutMs));
      }
      head++;
    }
    if (head >= queue.length) {
      this.#queue = [];
      this.#head = 0;
      return;
    }
    if (head >= COMPACT_AT) {
      this.#queue = queue.slice(head);
      head = 0;
    }
    this.#head = head;
    this.#schedule(Math.max(1, (this.#queue[head]?.at ?? now) - now));
  };
}
