// createVirtualClock: a Clock whose time moves only when a test advances it.
import { sleepWith, type Clock, type TimerHandle } from '../clock.js';

interface ScheduledTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cleared: boolean;
}

/** A clock that moves only when told to: drive every timing rule without waiting. */
export interface VirtualClock extends Clock {
  /**
   * Moves time forward by `ms`, firing due timers in order. Between timers it lets pending
   * promise callbacks run, so code awaiting a sleep continues before the next timer fires.
   */
  advance(ms: number): Promise<void>;
  /** Moves time to the next pending timer and fires it; resolves false when none is pending. */
  next(): Promise<boolean>;
  /** Fires timers until none is pending or `limit` have fired. */
  runAll(limit?: number): Promise<void>;
  /** Lets pending promise callbacks run without moving time. */
  flush(): Promise<void>;
  /** The delays of timers scheduled so far, in order (like ky's `withCapturedTimeouts`). */
  readonly scheduled: readonly number[];
  /** Number of timers not yet fired or cleared. */
  pending(): number;
}

/** Options of {@link createVirtualClock}. */
export interface VirtualClockOptions {
  /**
   * The starting time, epoch ms.
   * @default 1_700_000_000_000
   */
  now?: number;
}

// setImmediate lets the microtask queue drain fully, including promise chains several links deep.
const macrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Creates a virtual clock.
 * @example
 * const clock = createVirtualClock();
 * const p = clock.sleep(100);
 * await clock.advance(100); // p has resolved
 */
export function createVirtualClock(options: VirtualClockOptions = {}): VirtualClock {
  let current = options.now ?? 1_700_000_000_000;
  let seq = 0;
  const timers: ScheduledTimer[] = [];
  const scheduled: number[] = [];

  const popDue = (limit: number): ScheduledTimer | undefined => {
    let best: ScheduledTimer | undefined;
    let bestIndex = -1;
    for (let i = 0; i < timers.length; i++) {
      const t = timers[i];
      if (t === undefined || t.cleared) continue;
      if (t.at > limit) continue;
      if (best === undefined || t.at < best.at || (t.at === best.at && t.seq < best.seq)) {
        best = t;
        bestIndex = i;
      }
    }
    if (best !== undefined) timers.splice(bestIndex, 1);
    return best;
  };

  const clock: VirtualClock = {
    now: () => current,
    setTimeout(fn: () => void, ms: number): TimerHandle {
      const delay = Math.max(0, Number.isFinite(ms) ? ms : 0);
      scheduled.push(delay);
      const timer: ScheduledTimer = { at: current + delay, seq: seq++, fn, cleared: false };
      timers.push(timer);
      return {
        clear: () => {
          timer.cleared = true;
        },
      };
    },
    sleep: (ms, signal) => sleepWith(clock, ms, signal),
    async advance(ms: number): Promise<void> {
      const target = current + ms;
      await macrotask();
      for (;;) {
        const timer = popDue(target);
        if (timer === undefined) break;
        current = Math.max(current, timer.at);
        timer.fn();
        await macrotask();
      }
      current = target;
      await macrotask();
    },
    async next(): Promise<boolean> {
      await macrotask();
      const timer = popDue(Number.POSITIVE_INFINITY);
      if (timer === undefined) return false;
      current = Math.max(current, timer.at);
      timer.fn();
      await macrotask();
      return true;
    },
    async runAll(limit = 10_000): Promise<void> {
      for (let i = 0; i < limit; i++) {
        if (!(await clock.next())) return;
      }
    },
    flush: macrotask,
    get scheduled() {
      return scheduled;
    },
    pending: () => timers.filter((t) => !t.cleared).length,
  };
  return clock;
}
