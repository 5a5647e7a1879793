// The queue of callers waiting for a concurrency slot, each its own abort listener.
import type { TimerHandle } from '../../clock.js';

/**
 * One caller waiting for a slot. It is its own abort listener (`handleEvent`), so queueing a
 * waiter with a signal allocates no closure for it, and an abort takes it out of the queue at once.
 */
export class Waiter<T> {
  prev: Waiter<T> | undefined = undefined;
  next: Waiter<T> | undefined = undefined;
  timer: TimerHandle | undefined = undefined;
  /** Why the wait ended early, for the error the owner builds: the queue timeout or the deadline. */
  readonly cause: 'timeout' | 'deadline';
  readonly #queue: WaitQueue<T>;
  readonly #signal: AbortSignal | undefined;
  readonly #resolve: (value: T) => void;
  readonly #reject: (reason: unknown) => void;

  constructor(
    queue: WaitQueue<T>,
    signal: AbortSignal | undefined,
    cause: 'timeout' | 'deadline',
    resolve: (value: T) => void,
    reject: (reason: unknown) => void,
  ) {
    this.#queue = queue;
    this.#signal = signal;
    this.cause = cause;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /** The abort listener. */
  handleEvent(): void {
    this.#queue.remove(this);
    this.#reject(this.#signal?.reason);
  }

  /** Leaves the queue (if still in it) and rejects. */
  fail(reason: unknown): void {
    this.#queue.remove(this);
    this.#reject(reason);
  }

  /** Called by the queue once the waiter is unlinked: drops the listener and the timer. */
  detach(): void {
    this.timer?.clear();
    this.timer = undefined;
    this.#signal?.removeEventListener('abort', this);
  }

  /** Admits a waiter that {@link WaitQueue.shift} returned. */
  admit(value: T): void {
    this.#resolve(value);
  }
}

/** A FIFO of {@link Waiter}s with O(1) removal from anywhere (aborts, timeouts). */
export class WaitQueue<T> {
  #head: Waiter<T> | undefined = undefined;
  #tail: Waiter<T> | undefined = undefined;
  #size = 0;

  /** Number of waiters. */
  get size(): number {
    return this.#size;
  }

  /**
   * Queues a waiter at the back and returns its promise. The caller arms `waiter.timer`; the
   * signal, if any, must not be aborted yet.
   */
  push(
    signal: AbortSignal | undefined,
    cause: 'timeout' | 'deadline',
  ): { waiter: Waiter<T>; promise: Promise<T> } {
    let resolve!: (value: T) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const waiter = new Waiter<T>(this, signal, cause, resolve, reject);
    waiter.prev = this.#tail;
    if (this.#tail === undefined) this.#head = waiter;
    else this.#tail.next = waiter;
    this.#tail = waiter;
    this.#size++;
    signal?.addEventListener('abort', waiter, { once: true });
    return { waiter, promise };
  }

  /** Takes the front waiter out, listener and timer released; undefined when empty. */
  shift(): Waiter<T> | undefined {
    const waiter = this.#head;
    if (waiter !== undefined) this.remove(waiter);
    return waiter;
  }

  /** Unlinks `waiter`; a no-op if it already left. */
  remove(waiter: Waiter<T>): void {
    if (waiter.prev === undefined && this.#head !== waiter) return;
    if (waiter.prev === undefined) this.#head = waiter.next;
    else waiter.prev.next = waiter.next;
    if (waiter.next === undefined) this.#tail = waiter.prev;
    else waiter.next.prev = waiter.prev;
    waiter.prev = undefined;
    waiter.next = undefined;
    this.#size--;
    waiter.detach();
  }
}
