/**
 * Deadlines around store calls. Redis clients queue commands while reconnecting (ioredis retries
 * each up to 20 times, node-redis keeps an offline queue), so without a deadline of its own a
 * limiter would hang with Redis. A late reply is observed and dropped: it never becomes an
 * unhandled rejection.
 *
 * Every call of one store has the same timeout, so deadlines expire in the order calls were made.
 * The calls in flight sit in a linked list, oldest first (a call that settles is unlinked at once,
 * so only calls in flight are ever held) and one timer watches its oldest entry: a decision
 * allocates no timer and retains nothing once answered. (An insertion-ordered Set did the same
 * with less code, but under 100k decisions a second its churn made every scavenge 5× slower.)
 */
import { unlinkNode, type Clock, type ListEnds } from '../clock.js';
import { asError } from '../errors.js';

/** Raised when a store call outlives its deadline. */
export class StoreTimeoutError extends Error {
  override readonly name = 'StoreTimeoutError';
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`store call took longer than ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** A call whose clock runs (from {@link DeadlineQueue.track}). */
export interface PendingCall {
  readonly at: number;
}

// A node of the list of calls in flight, oldest first. Unlinked (and emptied) as soon as the call
// settles or expires, so nothing holds a settled call's closures.
interface Pending extends PendingCall {
  expire: (() => void) | undefined;
  prev: Pending | undefined;
  next: Pending | undefined;
}

// Kept alive (ref'd): it lives at most `timeoutMs`, and an unref'd one would let a process whose
// only pending work is a decision from a silent Redis exit in the middle of an await.
const refTimer = (fn: () => void, ms: number): void => {
  setTimeout(fn, ms);
};

/** Runs promises against one fixed timeout. */
export class DeadlineQueue {
  readonly #timeoutMs: number;
  readonly #clock: Clock | undefined;
  readonly #ends: ListEnds<Pending> = { head: undefined, tail: undefined };
  #size = 0;
  #armed = false;

  /** @param clock a test clock; Node's own timers and `performance.now()` when undefined */
  constructor(timeoutMs: number, clock?: Clock) {
    this.#timeoutMs = timeoutMs;
    this.#clock = clock;
  }

  /** Calls in flight (for tests and inspection). */
  get size(): number {
    return this.#size;
  }

  /** Settles like `promise`, or rejects with {@link StoreTimeoutError} after the timeout; a late answer is dropped. */
  run<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending = this.track(() => {
        reject(new StoreTimeoutError(this.#timeoutMs));
      });
      promise.then(
        (value) => {
          if (this.finish(pending)) resolve(value);
        },
        (error: unknown) => {
          if (this.finish(pending)) reject(asError(error));
        },
      );
    });
  }

  /**
   * Starts the clock of one call: `onTimeout` runs once the timeout passes, unless {@link finish}
   * came first. For callers that settle through callbacks rather than a promise.
   */
  track(onTimeout: () => void): PendingCall {
    const entry: Pending = {
      at: this.#now() + this.#timeoutMs,
      expire: onTimeout,
      prev: this.#ends.tail,
      next: undefined,
    };
    const ends = this.#ends;
    if (ends.tail === undefined) ends.head = entry;
    else ends.tail.next = entry;
    ends.tail = entry;
    this.#size++;
    if (!this.#armed) this.#schedule(this.#timeoutMs);
    return entry;
  }

  /** Stops the clock of `call`: true when it was still running (the answer counts), false when it had timed out. */
  finish(call: PendingCall): boolean {
    const entry = call as Pending;
    if (entry.expire === undefined) return false;
    this.#unlink(entry);
    return true;
  }

  #unlink(entry: Pending): void {
    unlinkNode(this.#ends, entry);
    entry.expire = undefined;
    this.#size--;
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
    for (let entry = this.#ends.head; entry !== undefined; entry = this.#ends.head) {
      if (entry.at > now) {
        this.#schedule(Math.max(1, entry.at - now));
        return;
      }
      const expire = entry.expire;
      this.#unlink(entry);
      expire?.();
    }
  };
}
