// The AIMD limit algorithm: additive increase, multiplicative decrease on a drop (Netflix's AIMDLimit).
import { requireFinite } from '../../validate.js';
import { checkOptionKeys, resolveBounds } from './limit.js';
import type { LimitAlgorithm, LimitBounds, LimitSample } from './limit.js';
import { SampleWindow, type WindowOptions } from './window.js';

/** Options of {@link AimdLimit}. */
export interface AimdOptions extends LimitBounds {
  /**
   * The limit is multiplied by this on a drop, in [0.5, 1).
   * @default 0.9
   */
  backoffRatio?: number;
  /**
   * A sample slower than this (ms) counts as a drop.
   * @default 5_000
   */
  timeout?: number;
  /**
   * Group samples into windows first (the average RTT, the highest inflight, any drop), as
   * Regulator does once a second; `false` reacts to every sample as Netflix's `AIMDLimit` does.
   * @default false
   */
  window?: WindowOptions | false;
}

const KEYS = ['initialLimit', 'minLimit', 'maxLimit', 'backoffRatio', 'timeout', 'window'] as const;

/**
 * Additive increase, multiplicative decrease (Netflix's `AIMDLimit`): loss-driven, blind to
 * latency below `timeout`.
 *
 * ```
 * if dropped or rtt > timeout:  limit = floor(limit · backoffRatio)
 * elif inflight · 2 ≥ limit:    limit = limit + 1
 * ```
 *
 * The increase needs the limit to be at least half used, so an idle client does not inflate it.
 * Use it when the server signals overload explicitly (429, 503, timeouts); with a server that only
 * slows down, prefer {@link Gradient2Limit}.
 * @example
 * const limiter = new ConcurrencyLimiter({ algorithm: new AimdLimit({ timeout: 2_000 }) });
 */
export class AimdLimit implements LimitAlgorithm {
  readonly #minLimit: number;
  readonly #maxLimit: number;
  readonly #backoffRatio: number;
  readonly #timeout: number;
  readonly #window: SampleWindow | undefined;
  #limit: number;

  constructor(options: AimdOptions = {}) {
    checkOptionKeys('concurrency', options, KEYS);
    const bounds = resolveBounds(options);
    this.#minLimit = bounds.minLimit;
    this.#maxLimit = bounds.maxLimit;
    this.#limit = bounds.initialLimit;
    this.#backoffRatio = requireFinite(
      'options',
      'concurrency.backoffRatio',
      options.backoffRatio ?? 0.9,
      (n) => n >= 0.5 && n < 1,
      'a number in [0.5, 1)',
    );
    this.#timeout = requireFinite(
      'options',
      'concurrency.timeout',
      options.timeout ?? 5_000,
      (n) => n > 0,
      'ms > 0',
    );
    this.#window =
      options.window === undefined || options.window === false ? undefined : new SampleWindow(options.window);
  }

  /** The current limit. */
  get limit(): number {
    return this.#limit;
  }

  onSample(sample: LimitSample): void {
    const s = this.#window === undefined ? sample : this.#window.add(sample);
    if (s === undefined) return;
    if (s.dropped || s.rttMs > this.#timeout) {
      const next = Math.floor(this.#limit * this.#backoffRatio);
      this.#limit = next < this.#minLimit ? this.#minLimit : next;
    } else if (s.inflight * 2 >= this.#limit && this.#limit < this.#maxLimit) {
      this.#limit++;
    }
  }
}
