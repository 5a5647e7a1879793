// The fixed limit algorithm: a bulkhead whose limit never moves.
import { requireInteger } from '../../validate.js';
import { MAX_LIMIT, type LimitAlgorithm, type LimitSample } from './limit.js';

/**
 * A limit that never moves: a bulkhead. Samples are accepted and ignored, so the limiter's
 * completion protocol stays the same whichever algorithm is configured.
 * @example
 * const limiter = new ConcurrencyLimiter({ algorithm: new FixedLimit(10), maxQueue: 100 });
 */
export class FixedLimit implements LimitAlgorithm {
  /** The limit, an integer from 1 to 100000. */
  readonly limit: number;

  constructor(limit: number) {
    this.limit = requireInteger('options', 'concurrency.initialLimit', limit, 1, MAX_LIMIT);
  }

  onSample(_sample: LimitSample): void {
    // A fixed limit learns nothing.
  }
}
