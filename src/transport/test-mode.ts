import { BulwarkError, invalidOption } from '../errors.js';
import type { Transport } from './attempt.js';

const ON = new Set(['1', 'true', 'yes', 'on']);
const OFF = new Set(['', '0', 'false', 'no', 'off']);

/**
 * Whether `BULWARK_TEST_MODE` turns test mode on: `1`, `true`, `yes` or `on` (any case) do;
 * unset, empty, `0`, `false`, `no` and `off` do not. Anything else is refused rather than
 * guessed: a misspelt switch must not let a forgotten mock reach the network.
 */
export function testModeFromEnv(value: string | undefined = process.env.BULWARK_TEST_MODE): boolean {
  if (value === undefined) return false;
  const word = value.trim().toLowerCase();
  if (ON.has(word)) return true;
  if (OFF.has(word)) return false;
  throw invalidOption(
    'BULWARK_TEST_MODE',
    value,
    'one of 1, true, yes, on (test mode) or 0, false, no, off (the environment variable)',
  );
}

/**
 * Wraps the real transport so that any attempt fails with `TEST_MODE_BLOCKED` before a socket
 * is opened. Used when `testMode: true` or `BULWARK_TEST_MODE` is on (`1`, `true`, `yes`); a mock transport or a
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
