import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(8 * 512);
let offset = pool.length;

/** `req_` + 16 lowercase hex characters, from a pooled random buffer. */
export function correlationId(): string {
  if (offset + 8 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('hex', offset, offset + 8);
  offset += 8;
  return `req_${id}`;
}
