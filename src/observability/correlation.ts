/**
 * Correlation ids: `req_` + 16 lowercase hex characters (8 random bytes), one per call, sent
 * as `x-request-id` and stamped on every log line of the call.
 */
import { randomFillSync } from 'node:crypto';

/** Random bytes drawn from the OS in one call and spent 8 at a time: 512 ids per refill. */
const POOL_BYTES = 4096;
const ID_HEX_CHARS = 16;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let hex = '';
let offset = 0;

/**
 * A fresh correlation id, e.g. `req_3f9c0a7d12e4b658`.
 * @example headers['x-request-id'] = correlationId();
 */
export function correlationId(): string {
  if (offset === hex.length) {
    randomFillSync(pool);
    hex = pool.toString('hex');
    offset = 0;
  }
  const id = 'req_' + hex.slice(offset, offset + ID_HEX_CHARS);
  offset += ID_HEX_CHARS;
  return id;
}

/** Longest caller-supplied id reused. */
export const MAX_CORRELATION_ID_LENGTH = 128;

/**
 * True when `value` is safe to reuse as a correlation id: 1 to 128 visible ASCII characters
 * (`!` to `~`), so it cannot split a header (CR/LF), smuggle control characters into logs,
 * or grow without bound.
 */
export function isValidCorrelationId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= MAX_CORRELATION_ID_LENGTH &&
    /^[\x21-\x7e]+$/.test(value)
  );
}

/**
 * The id to use for a call: the caller's (an incoming `x-request-id`, say) when it passes
 * {@link isValidCorrelationId}, a fresh {@link correlationId} otherwise. With several
 * values (a repeated header), the first is considered.
 */
export function correlationIdFrom(incoming: string | readonly string[] | null | undefined): string {
  const candidate = typeof incoming === 'string' ? incoming : incoming?.[0];
  return isValidCorrelationId(candidate) ? candidate : correlationId();
}
