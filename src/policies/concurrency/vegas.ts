// The Vegas limit algorithm: keeps the queue estimated from RTT inflation between alpha and beta.
import { systemRandom, type RandomSource } from '../../clock.js';
import { checkFunction, requireFinite, requireInteger } from '../../validate.js';
import { checkOptionKeys, clamp, hasLatency, resolveBounds } from './limit.js';
import type { LimitAlgorithm, LimitBounds, LimitSample } from './limit.js';
import { SampleWindow, type WindowOptions } from './window.js';

/** Options of {@link VegasLimit}. */
export interface VegasOptions extends LimitBounds {
  /**
   * Weight of each new estimate, in (0, 1].
   * @default 1
   */
  smoothing?: number;
  /**
   * The no-load RTT is re-measured every `probeMultiplier · limit` samples (times a jitter in
   * [0.5, 1)), so a baseline taken in a quiet moment does not pin the limit down for ever.
   * @default 30
   */
  probeMultiplier?: number;
  /**
   * Source of the probe jitter.
   * @default systemRandom
   */
  random?: RandomSource;
  /**
   * How samples are grouped into one update (the RTT is a window's average, the no-load RTT the
   * lowest window average); `false` reacts to every sample as Netflix's `VegasLimit` does, which
   * suits only servers with steady latency: a single fast outlier becomes the no-load RTT and every
   * ordinary sample then reads as a queue.
   * @default { minMs: 1_000, maxMs: 1_000, minSamples: 10 }
   */
  window?: WindowOptions | false;
}

const KEYS = [
  'initialLimit',
  'minLimit',
  'maxLimit',
  'smoothing',
  'probeMultiplier',
  'random',
  'window',
] as const;

/**
 * TCP Vegas applied to requests (Netflix's `VegasLimit`): estimates how many requests are queued
 * at the server from the RTT inflation over the no-load RTT (the lowest seen since the last probe),
 * and keeps that queue between `alpha` and `beta`.
 *
 * ```
 * queue = ceil(limit · (1 − rttNoLoad / rtt))
 * L = max(1, floor(log10(limit)));  alpha = 3L, beta = 6L, threshold = L
 * dropped            → limit − L
 * inflight·2 < limit → unchanged (not enough load to learn from)
 * queue ≤ threshold  → limit + beta
 * queue < alpha      → limit + L
 * queue > beta       → limit − L
 * ```
 *
 * Two departures from Netflix: samples are windowed by default (see `window`), and a dropped
 * sample does not move the no-load RTT (a fast 503 is not a fast server).
 * @example
 * const limiter = new ConcurrencyLimiter({ algorithm: new VegasLimit({ smoothing: 0.5 }) });
 */
export class VegasLimit implements LimitAlgorithm {
  readonly #minLimit: number;
  readonly #maxLimit: number;
  readonly #smoothing: number;
  readonly #probeMultiplier: number;
  readonly #random: RandomSource;
  readonly #window: SampleWindow | undefined;
  #estimate: number;
  #rttNoLoad = 0;
  #probeCount = 0;
  #probeJitter: number;

  constructor(options: VegasOptions = {}) {
    checkOptionKeys('concurrency', options, KEYS);
    const bounds = resolveBounds(options);
    this.#minLimit = bounds.minLimit;
    this.#maxLimit = bounds.maxLimit;
    this.#estimate = bounds.initialLimit;
    this.#smoothing = requireFinite(
      'options',
      'concurrency.smoothing',
      options.smoothing ?? 1,
      (n) => n > 0 && n <= 1,
      'a number in (0, 1]',
    );
    this.#probeMultiplier = requireInteger(
      'options',
      'concurrency.probeMultiplier',
      options.probeMultiplier ?? 30,
      1,
      1_000_000,
    );
    const random = options.random ?? systemRandom;
    checkFunction('options', 'concurrency.random', random, 'a function returning a number in [0, 1)');
    this.#random = random;
    this.#window = options.window === false ? undefined : new SampleWindow(options.window);
    this.#probeJitter = this.#jitter();
  }

  /** The current limit. */
  get limit(): number {
    return Math.floor(this.#estimate);
  }

  /** The RTT taken as "no queue", ms (0 before the first sample). */
  get rttNoLoadMs(): number {
    return this.#rttNoLoad;
  }

  onSample(sample: LimitSample): void {
    const s = this.#window === undefined ? sample : this.#window.add(sample);
    if (s === undefined) return;
    const estimate = this.#estimate;
    const step = log10Step(estimate);
    if (s.dropped) {
      this.#apply(estimate - step);
      return;
    }
    const rtt = s.rttMs;
    if (!hasLatency(rtt)) return;

    this.#probeCount++;
    if (this.#probeJitter * this.#probeMultiplier * estimate <= this.#probeCount) {
      this.#probeJitter = this.#jitter();
      this.#probeCount = 0;
      this.#rttNoLoad = rtt;
      return;
    }
    if (this.#rttNoLoad === 0 || rtt < this.#rttNoLoad) {
      this.#rttNoLoad = rtt;
      return;
    }
    if (s.inflight * 2 < estimate) return;

    const queue = Math.ceil(estimate * (1 - this.#rttNoLoad / rtt));
    if (queue <= step) this.#apply(estimate + 6 * step);
    else if (queue < 3 * step) this.#apply(estimate + step);
    else if (queue > 6 * step) this.#apply(estimate - step);
  }

  #apply(next: number): void {
    const bounded = clamp(next, this.#minLimit, this.#maxLimit);
    this.#estimate = (1 - this.#smoothing) * this.#estimate + this.#smoothing * bounded;
  }

  #jitter(): number {
    const r = this.#random();
    return 0.5 + 0.5 * (r >= 0 && r < 1 ? r : 0);
  }
}

/** `max(1, floor(log10(floor(limit))))`: the unit step of every Vegas threshold. */
function log10Step(limit: number): number {
  const l = Math.floor(Math.log10(Math.floor(limit)));
  return l > 1 ? l : 1;
}
