// The Gradient2 limit algorithm: shrinks the limit as short-term RTT rises above the long-term average.
import { requireFinite, requireInteger } from '../../validate.js';
import { checkOptionKeys, clamp, hasLatency, resolveBounds } from './limit.js';
import type { LimitAlgorithm, LimitBounds, LimitSample } from './limit.js';
import { SampleWindow, type WindowOptions } from './window.js';

/** Options of {@link Gradient2Limit}. */
export interface Gradient2Options extends LimitBounds {
  /**
   * How much slower than the long-term RTT the short-term RTT may be before the limit shrinks.
   * @default 1.5
   */
  tolerance?: number;
  /**
   * Weight of each new estimate, in (0, 1]: lower is steadier and slower.
   * @default 0.2
   */
  smoothing?: number;
  /**
   * Headroom added to the limit on each update, a number or a function of the current limit.
   * It is what lets the limit grow while latency stays flat.
   * @default 4
   */
  queueSize?: number | ((limit: number) => number);
  /**
   * Length of the long-term RTT average, in updates (windows): an exponential moving average
   * with factor 2/(n+1) after a plain mean over the first 10.
   * @default 600
   */
  longWindow?: number;
  /**
   * How samples are grouped into one update (the short-term RTT is a window's average);
   * `false` updates on every sample as Netflix's bare `Gradient2Limit` does.
   * @default { minMs: 1_000, maxMs: 1_000, minSamples: 10 }
   */
  window?: WindowOptions | false;
}

const KEYS = [
  'initialLimit',
  'minLimit',
  'maxLimit',
  'tolerance',
  'smoothing',
  'queueSize',
  'longWindow',
  'window',
] as const;

const WARMUP = 10;

/**
 * Netflix's Gradient2: compares the short-term RTT with a long-term average and shrinks the
 * limit by their ratio (never below half per update) when the short one exceeds the long one
 * by more than `tolerance`, growing it by `queueSize` while they agree.
 *
 * ```
 * gradient = clamp(tolerance · longRtt / shortRtt, 0.5, 1)
 * limit    = (1 − smoothing) · limit + smoothing · (gradient · limit + queueSize)
 * ```
 *
 * The long average is cut by 5% whenever it is twice the short one, so it recovers quickly after
 * overload. Updates are skipped while fewer than half the limit are in flight (nothing learnt
 * about capacity). Two departures from Netflix, both because HTTP is not RPC: a dropped window
 * (timeout, 429, 503) counts as the steepest gradient, `×(1 − smoothing/2)`, where Netflix ignores
 * drops (a fast 503 would otherwise read as good latency and grow the limit); and samples are
 * windowed by default (see {@link WindowOptions}).
 *
 * Under sustained overload the long-term average slowly follows the latency the limit lets through,
 * so the limit creeps up (as Netflix's does); with one-second windows and a 600-window average
 * the creep takes minutes, and `maxLimit` bounds it.
 * @example
 * const limiter = new ConcurrencyLimiter({ algorithm: new Gradient2Limit({ tolerance: 2 }) });
 */
export class Gradient2Limit implements LimitAlgorithm {
  readonly #minLimit: number;
  readonly #maxLimit: number;
  readonly #tolerance: number;
  readonly #smoothing: number;
  readonly #queueSize: (limit: number) => number;
  readonly #longFactor: number;
  readonly #window: SampleWindow | undefined;
  #estimate: number;
  #longRtt = 0;
  #longCount = 0;
  #shortRtt = 0;

  constructor(options: Gradient2Options = {}) {
    checkOptionKeys('concurrency', options, KEYS);
    const bounds = resolveBounds(options);
    this.#minLimit = bounds.minLimit;
    this.#maxLimit = bounds.maxLimit;
    this.#estimate = bounds.initialLimit;
    this.#tolerance = requireFinite(
      'options',
      'concurrency.tolerance',
      options.tolerance ?? 1.5,
      (n) => n >= 1 && n <= 100,
      'a number from 1 to 100',
    );
    this.#smoothing = requireFinite(
      'options',
      'concurrency.smoothing',
      options.smoothing ?? 0.2,
      (n) => n > 0 && n <= 1,
      'a number in (0, 1]',
    );
    const queueSize = options.queueSize ?? 4;
    if (typeof queueSize === 'function') this.#queueSize = queueSize;
    else {
      const fixed = requireFinite(
        'options',
        'concurrency.queueSize',
        queueSize,
        (n) => n >= 0 && n <= 10_000,
        'a number from 0 to 10000 or a function',
      );
      this.#queueSize = () => fixed;
    }
    this.#longFactor =
      2 / (requireInteger('options', 'concurrency.longWindow', options.longWindow ?? 600, 1, 1_000_000) + 1);
    this.#window = options.window === false ? undefined : new SampleWindow(options.window);
  }

  /** The current limit. */
  get limit(): number {
    return Math.floor(this.#estimate);
  }

  /** The long-term RTT average, ms (0 before the first update). */
  get longRttMs(): number {
    return this.#longRtt;
  }

  /** The short-term RTT of the last update, ms (0 before the first update). */
  get shortRttMs(): number {
    return this.#shortRtt;
  }

  onSample(sample: LimitSample): void {
    const s = this.#window === undefined ? sample : this.#window.add(sample);
    if (s !== undefined) this.#update(s);
  }

  #update(sample: LimitSample): void {
    const estimate = this.#estimate;
    if (sample.dropped) {
      this.#estimate = clamp(estimate * (1 - this.#smoothing / 2), this.#minLimit, this.#maxLimit);
      return;
    }
    const rtt = sample.rttMs;
    if (!hasLatency(rtt)) return;
    this.#shortRtt = rtt;
    let longRtt: number;
    if (this.#longCount < WARMUP) {
      this.#longCount++;
      longRtt = this.#longRtt + (rtt - this.#longRtt) / this.#longCount;
    } else {
      longRtt = this.#longRtt * (1 - this.#longFactor) + rtt * this.#longFactor;
    }
    // Latency back to normal after a long overload: pull the baseline down faster than the EMA would.
    this.#longRtt = longRtt / rtt > 2 ? longRtt * 0.95 : longRtt;

    if (sample.inflight < estimate / 2) return;

    const gradient = clamp((this.#tolerance * longRtt) / rtt, 0.5, 1);
    const queueSize = this.#queueSize(Math.floor(estimate));
    const target = estimate * gradient + (queueSize >= 0 ? queueSize : 0);
    this.#estimate = clamp(
      estimate * (1 - this.#smoothing) + target * this.#smoothing,
      this.#minLimit,
      this.#maxLimit,
    );
  }
}
