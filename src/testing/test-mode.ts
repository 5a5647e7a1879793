import { BulwarkError } from '../errors.js';
import type { Transport } from '../transport/attempt.js';

/**
 * Wraps the real transport so that any attempt fails with `TEST_MODE_BLOCKED` before a socket
 * is opened. Used when `testMode: true` or `BULWARK_TEST_MODE=1`; a mock transport or a
 * cassette in replay mode is unaffected.
 */
export function testModeTransport(real: Transport): Transport {
  return {
    send(attempt) {
      attempt.finish();
      const url = `${attempt.origin}${attempt.path.split('?')[0] ?? ''}`;
      return Promise.reject(
        new BulwarkError(
          'TEST_MODE_BLOCKED',
          `Test mode blocked a real request: ${attempt.method} ${url}. Use mockTransport() or a cassette, or unset BULWARK_TEST_MODE.`,
          { method: attempt.method, url },
        ),
      );
    },
    stats: () => real.stats(),
    close: () => real.close(),
    destroy: () => real.destroy(),
  };
}
