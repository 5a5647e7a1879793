/**
 * The background timer that frees idle per-key state (closed breakers nobody asks for, buckets
 * that have refilled) when no call comes to do it: one timer per map, armed only while the map
 * holds something, unref'd, and cleared for good by `close()`. Calls never touch it but to arm it
 * when a map gains its first entry (or one due sooner than the timer), so it costs the hot path
 * nothing.
 */
import { setBackgroundTimeout, type Clock, type TimerHandle } from '../clock.js';

/**
 * One sweep: frees what is idle and returns the clock time (ms) of the next sweep, or `undefined`
 * when nothing is left to watch (the timer then stays off until {@link Housekeeping.schedule}).
 */
export type Sweep = (now: number) => number | undefined;

/** A sweep on a background timer of the clock. */
export class Housekeeping {
  readonly #clock: Clock;
  readonly #sweep: Sweep;
  #timer: TimerHandle | undefined;
  /** Clock time the armed timer fires at; infinite while none is. */
  #at = Number.POSITIVE_INFINITY;
  #closed = false;

  readonly #run = (): void => {
    this.#timer = undefined;
    this.#at = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    const next = this.#sweep(now);
    if (next !== undefined) this.schedule(next, now);
  };

  constructor(clock: Clock, sweep: Sweep) {
    this.#clock = clock;
    this.#sweep = sweep;
  }

  /** Whether a sweep is due (a timer is armed). */
  get armed(): boolean {
    return this.#timer !== undefined;
  }

  /** Clock time of the next sweep; infinite while none is due. */
  get at(): number {
    return this.#at;
  }

  /** Sweeps at clock time `at` (`now` is the clock's time), unless a sweep is due by then anyway. */
  schedule(at: number, now: number): void {
    if (this.#closed || at >= this.#at) return;
    this.#timer?.clear();
    this.#at = at;
    this.#timer = setBackgroundTimeout(this.#clock, this.#run, Math.max(0, at - now));
  }

  /** Clears the timer; nothing arms it again. */
  close(): void {
    this.#closed = true;
    this.#timer?.clear();
    this.#timer = undefined;
    this.#at = Number.POSITIVE_INFINITY;
  }
}
