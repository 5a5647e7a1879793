/**
 * Time and randomness are injected: every policy takes a {@link Clock} and a {@link RandomSource},
 * so tests drive them to the millisecond with the virtual clock of `bulwark/testing`.
 */

/** A scheduled callback that can be cancelled. */
export interface TimerHandle {
  clear(): void;
}

/** The source of time for every policy. */
export interface Clock {
  /** Milliseconds since the epoch. Monotonic for the system clock (never steps back). */
  now(): number;
  /**
   * Runs `fn` after `ms`. Every timer bulwark sets belongs to a call in progress (a timeout, a
   * backoff, a queue wait) and is cleared when the call ends, so system timers are ref'd: a
   * script awaiting a retry must not exit while it waits.
   */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Resolves after `ms`; rejects with `signal.reason` if the signal aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Returns a number in [0, 1). */
export type RandomSource = () => number;

const origin = performance.timeOrigin;

class SystemTimer implements TimerHandle {
  #timer: NodeJS.Timeout;
  constructor(fn: () => void, ms: number) {
    // Never early: Node truncates a fractional delay (a deadline's remaining 29999.87 ms) and
    // counts from the event loop's cached time, which can lag by a millisecond under load, so a
    // timer may fire before its delay. One that does is set again for what is left.
    const due = performance.now() + ms;
    const fire = (): void => {
      const left = due - performance.now();
      if (left > 0) this.#timer = setTimeout(fire, Math.ceil(left));
      else fn();
    };
    this.#timer = setTimeout(fire, Math.ceil(ms));
  }
  clear(): void {
    clearTimeout(this.#timer);
  }
}

/** The real clock: `performance.timeOrigin + performance.now()` and Node timers. */
export const systemClock: Clock = {
  now: () => origin + performance.now(),
  setTimeout: (fn, ms) => new SystemTimer(fn, ms),
  sleep: (ms, signal) => sleepWith(systemClock, ms, signal),
};

/** `Math.random`, the default random source. */
export const systemRandom: RandomSource = Math.random;

/** A `sleep` built on any clock's `setTimeout`, honouring an abort signal without leaking its listener. */
export function sleepWith(clock: Pick<Clock, 'setTimeout'>, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
  if (ms <= 0 && signal === undefined) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      timer.clear();
      reject(signal?.reason as Error);
    };
    const timer = clock.setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
