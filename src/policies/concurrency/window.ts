/**
 * Aggregates samples into windows before a control law sees them (Netflix's `WindowedLimit`,
 * Regulator's one-second buffer). A latency law updated on every single sample chases noise
 * and lets its long-term baseline follow the queue it is meant to detect; one update per window,
 * on the window's average RTT, keeps the baseline stable.
 */

import { requireFinite, requireInteger } from '../../validate.js';
import { checkOptionKeys, type LimitSample } from './limit.js';

/** How samples are grouped into windows. */
export interface WindowOptions {
  /**
   * The shortest window, ms. A window lasts twice the fastest RTT it saw, within [minMs, maxMs]
   * (with the defaults, always one second, as Netflix's `WindowedLimit` and Regulator).
   * @default 1_000
   */
  minMs?: number;
  /**
   * The longest window, ms.
   * @default 1_000
   */
  maxMs?: number;
  /**
   * A window closes only once it holds this many samples, however long that takes.
   * @default 10
   */
  minSamples?: number;
}

/** Defaults of {@link WindowOptions}. */
export const DEFAULT_WINDOW = { minMs: 1_000, maxMs: 1_000, minSamples: 10 } as const;

const WINDOW_KEYS = ['minMs', 'maxMs', 'minSamples'] as const;

/**
 * Collects samples and hands back one aggregate per closed window: the average RTT of the
 * samples that were not dropped, the highest inflight, and `dropped` if any sample was.
 * Time comes from the samples themselves (`startTime + rttMs`), so no clock is needed.
 */
export class SampleWindow {
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #minSamples: number;
  #closesAt = Number.NaN;
  #count = 0;
  #rttSum = 0;
  #rttCount = 0;
  #minRtt = Number.POSITIVE_INFINITY;
  #maxInflight = 0;
  #dropped = false;

  /** `path` prefixes option names in validation errors. */
  constructor(options: WindowOptions = {}, path = 'concurrency.window') {
    checkOptionKeys(path, options, WINDOW_KEYS);
    const positive = (n: number): boolean => n > 0 && n <= 3_600_000;
    this.#minMs = requireFinite(
      'options',
      `${path}.minMs`,
      options.minMs ?? DEFAULT_WINDOW.minMs,
      positive,
      'ms > 0, at most 1 hour',
    );
    this.#maxMs = requireFinite(
      'options',
      `${path}.maxMs`,
      options.maxMs ?? Math.max(DEFAULT_WINDOW.maxMs, this.#minMs),
      (n) => n >= this.#minMs && n <= 3_600_000,
      `ms >= minMs (${this.#minMs}), at most 1 hour`,
    );
    this.#minSamples = requireInteger(
      'options',
      `${path}.minSamples`,
      options.minSamples ?? DEFAULT_WINDOW.minSamples,
      1,
      100_000,
    );
  }

  /** Adds a sample; returns the aggregate when this sample closes the window, else undefined. */
  add(sample: LimitSample): LimitSample | undefined {
    const rtt = sample.rttMs;
    this.#count++;
    if (sample.inflight > this.#maxInflight) this.#maxInflight = sample.inflight;
    if (rtt < this.#minRtt) this.#minRtt = rtt;
    if (sample.dropped) this.#dropped = true;
    else if (rtt >= 0 && rtt < Number.POSITIVE_INFINITY) {
      this.#rttSum += rtt;
      this.#rttCount++;
    }
    const endTime = sample.startTime + rtt;
    // The first window also spans minMs: a baseline taken from its first few samples would be noise.
    if (Number.isNaN(this.#closesAt)) this.#closesAt = endTime + this.#minMs;
    if (!(endTime >= this.#closesAt) || this.#count < this.#minSamples) return undefined;

    const aggregate: LimitSample = {
      startTime: sample.startTime,
      rttMs: this.#rttCount === 0 ? 0 : this.#rttSum / this.#rttCount,
      inflight: this.#maxInflight,
      dropped: this.#dropped,
    };
    const candidate = 2 * this.#minRtt;
    // Written so that a NaN candidate falls back to the shortest window.
    this.#closesAt = endTime + (candidate > this.#minMs ? Math.min(candidate, this.#maxMs) : this.#minMs);
    this.#count = 0;
    this.#rttSum = 0;
    this.#rttCount = 0;
    this.#minRtt = Number.POSITIVE_INFINITY;
    this.#maxInflight = 0;
    this.#dropped = false;
    return aggregate;
  }
}
