import assert from 'node:assert/strict';
import { isBulwarkError, type BulwarkError, type BulwarkErrorCode } from '../../src/index.js';

/** Asserts `value` is a BulwarkError with `code`, narrowing it for the lines after. */
export function assertCode(value: unknown, code: BulwarkErrorCode): asserts value is BulwarkError {
  assert.ok(isBulwarkError(value), `expected a BulwarkError ${code}, got ${String(value)}`);
  assert.equal(value.code, code, value.message);
}
