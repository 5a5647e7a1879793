/**
 * The Redis Cluster hash slot of a key (CRC16/XMODEM of its hash tag, modulo 16384): the client's
 * slot map then says which master a decision goes to (neither client library exports its own
 * slot function), and a batch sent per slot never mixes slots (`CROSSSLOT`).
 */

const TABLE = new Uint16Array(256);
for (let byte = 0; byte < 256; byte++) {
  let crc = byte << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
  TABLE[byte] = crc & 0xffff;
}

function crc16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++)
    crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ (bytes[i] ?? 0)) & 0xff] ?? 0);
  return crc;
}

const encoder = new TextEncoder();

/**
 * The slot Redis Cluster assigns to `key`: when the key holds `{tag}` with a non-empty tag (the
 * first `{` and the first `}` after it), only the tag is hashed.
 * @example keySlot('bulwark:{api.example.com}:rl') === keySlot('api.example.com')
 */
export function keySlot(key: string): number {
  const bytes = encoder.encode(key);
  let start = 0;
  let end = bytes.length;
  const open = bytes.indexOf(0x7b);
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  return crc16(bytes, start, end) & 0x3fff;
}
