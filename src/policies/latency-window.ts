/**
 * A sliding window of the most recent latencies, for a hedging delay of "p95 of what we saw"
 * (The Tail at Scale). Recording is one array write; the quantile sorts a copy of at most `size`
 * numbers, only when asked and only if something was recorded since the last time.
 */
import { requireInteger } from '../validate.js';

/** Options of {@link LatencyWindow}. */
export interface LatencyWindowOptions {
  /**
   * How many recent samples are kept, from 2 to 10_000.
   * @default 100
   */
  size?: number;
  /**
   * Fewer samples than this give no quantile (`undefined`): a p95 of three calls is noise.
   * @default 20
   */
  minSamples?: number;
}

/**
 * A fixed ring buffer of latencies (ms) with quantiles on demand.
 * @example
 * const window = new LatencyWindow();
 * window.record(42);
 * const delay = window.p95() ?? 2_000;
 */
export class LatencyWindow {
  readonly #samples: Float64Array;
  readonly #minSamples: number;
  #next = 0;
  #count = 0;
  #sorted: Float64Array | undefined;

  /** @throws BulwarkError `INVALID_OPTIONS` naming `<path>.size` or `<path>.minSamples`. */
  constructor(options: LatencyWindowOptions = {}, path = 'hedging.window') {
    const { size = 100, minSamples = 20 } = options;
    requireInteger('options', `${path}.size`, size, 2, 10_000, 'an integer from 2 to 10_000');
    requireInteger(
      'options',
      `${path}.minSamples`,
      minSamples,
      1,
      size,
      `an integer from 1 to size (${size})`,
    );
    this.#samples = new Float64Array(size);
    this.#minSamples = minSamples;
  }

  /** Adds one latency in ms; negative or non-finite values are ignored. */
  record(ms: number): void {
    if (!(ms >= 0 && ms < Number.POSITIVE_INFINITY)) return;
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#samples.length;
    if (this.#count < this.#samples.length) this.#count++;
    this.#sorted = undefined;
  }

  /** Samples held (at most `size`). */
  get count(): number {
    return this.#count;
  }

  /**
   * The `q` quantile (nearest rank) of the samples held, or `undefined` with fewer than
   * `minSamples` or a `q` outside [0, 1].
   */
  quantile(q: number): number | undefined {
    if (this.#count < this.#minSamples || !(q >= 0 && q <= 1)) return undefined;
    this.#sorted ??= this.#samples.slice(0, this.#count).sort();
    const rank = Math.max(1, Math.ceil(q * this.#count));
    return this.#sorted[rank - 1];
  }

  /** The 95th percentile, or `undefined` with fewer than `minSamples`. */
  p95(): number | undefined {
    return this.quantile(0.95);
  }

  /** Forgets every sample. */
  clear(): void {
    this.#next = 0;
    this.#count = 0;
    this.#sorted = undefined;
  }
}
