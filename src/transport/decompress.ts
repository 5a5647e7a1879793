/**
 * Bounded response decoding. undici's `maxResponseSize` counts wire bytes, i.e. compressed
 * ones; 10 KB of gzip can decode to 10 MB and 1 MB to 1 GB. So the limit is applied again to
 * the decoded output, for every codec, and decoding stops as soon as it is passed: zlib honours
 * backpressure inside a chunk, so nothing beyond the limit (plus one 16 KiB zlib block per
 * stage) is ever produced.
 *
 * Codings: gzip, x-gzip, deflate (zlib-wrapped as RFC 9110 says, or raw as some servers send
 * it, told apart by the first byte), br. A `Content-Encoding` list is decoded last-applied
 * first. An unknown coding (zstd, compress...) or a list longer than {@link MAX_CODINGS} is not
 * decoded at all: the body passes through untouched, still bounded, and the caller keeps the
 * `Content-Encoding` header to see what it got. Decoding errors (corrupt or truncated data)
 * become `NETWORK` errors with the zlib error as `cause`.
 */
import { constants as bufferConstants } from 'node:buffer';
import { Duplex, PassThrough, type Readable, type Writable } from 'node:stream';
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { asError, BulwarkError, bulwarkError } from '../errors.js';

/** The codings bulwark decodes. */
export type ContentCoding = 'gzip' | 'deflate' | 'br';

/** The default `accept-encoding` while decompression is on: exactly the codings decoded here. */
export const ACCEPT_ENCODING = ['gzip', 'deflate', 'br'] satisfies readonly ContentCoding[];

/** How a `Content-Encoding` value will be handled. */
export type DecodingPlan =
  | {
      readonly decode: true;
      /** In decoding order (the reverse of the header). */
      readonly codings: readonly ContentCoding[];
    }
  | {
      readonly decode: false;
      readonly reason: 'identity' | 'unknown-coding' | 'too-many-codings';
      readonly coding?: string;
    };

/** Longest `Content-Encoding` list decoded (undici's limit); longer ones pass through. */
export const MAX_CODINGS = 5;

const KNOWN: Readonly<Record<string, ContentCoding>> = {
  gzip: 'gzip',
  'x-gzip': 'gzip',
  deflate: 'deflate',
  br: 'br',
};

/**
 * Reads a `Content-Encoding` header into a plan: which decoders to run, in which order, or
 * why the body passes through untouched.
 * @example contentDecoding('deflate, gzip') // { decode: true, codings: ['gzip', 'deflate'] }
 */
export function contentDecoding(encoding: string | undefined): DecodingPlan {
  if (encoding === undefined) return { decode: false, reason: 'identity' };
  const names = encoding
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '' && s !== 'identity');
  if (names.length === 0) return { decode: false, reason: 'identity' };
  if (names.length > MAX_CODINGS) return { decode: false, reason: 'too-many-codings' };
  const codings: ContentCoding[] = [];
  for (let i = names.length - 1; i >= 0; i--) {
    const name = names[i] ?? '';
    const coding = Object.hasOwn(KNOWN, name) ? KNOWN[name] : undefined;
    if (coding === undefined) return { decode: false, reason: 'unknown-coding', coding: name };
    codings.push(coding);
  }
  return { decode: true, codings };
}

function tooLarge(maxBytes: number, plan: DecodingPlan): BulwarkError {
  const how = plan.decode ? ` once decoded (${plan.codings.join(', ')})` : '';
  return new BulwarkError(
    'RESPONSE_TOO_LARGE',
    `Response body exceeds maxResponseBytes (${maxBytes} bytes)${how}.`,
  );
}

function decodeFailed(coding: string, cause: unknown): BulwarkError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return bulwarkError('NETWORK', `Response body could not be decoded (${coding}): ${detail}`, {
    cause: asError(cause),
    sent: true,
  });
}

/** A zlib-wrapped deflate stream starts with CM = 8 and CINFO ≤ 7; a raw one practically never does. */
function isZlibWrapped(firstByte: number): boolean {
  return (firstByte & 0x0f) === 8 && firstByte >> 4 <= 7;
}

/**
 * A Duplex in front of a chain of streams built on the first chunk, relaying the chain's
 * output with backpressure: when the consumer is full the tail pauses, the pipes inside stop,
 * and the writes into the head wait.
 */
class Relay extends Duplex {
  readonly #open: (first: Buffer) => (Writable & Readable)[];
  #stages: (Writable & Readable)[] = [];
  #tail: Readable | undefined;
  #finish: (() => void) | undefined;

  constructor(open: (first: Buffer) => (Writable & Readable)[]) {
    super();
    this.#open = open;
  }

  /** Turns an error of stage `index` into the error the relay is destroyed with. */
  protected mapError(_index: number, error: Error): Error {
    return error;
  }

  /** Sees every output chunk before it is passed on; false drops it (the relay was destroyed). */
  protected accept(_chunk: Buffer): boolean {
    return true;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const head = this.#stages[0] ?? this.#start(chunk);
    // On a stage error the relay is destroyed from the 'error' listener; the callback is moot.
    head.write(chunk, (error) => {
      if (error == null) callback();
    });
  }

  #start(first: Buffer): Writable {
    const stages = this.#open(first);
    for (let i = 0; i + 1 < stages.length; i++) stages[i]?.pipe(stages[i + 1] as Writable);
    stages.forEach((stage, index) => {
      stage.on('error', (error: Error) => {
        this.destroy(this.mapError(index, error));
      });
    });
    const tail = stages[stages.length - 1] as Readable;
    tail.on('data', (chunk: Buffer) => {
      if (this.destroyed || !this.accept(chunk)) return;
      if (!this.push(chunk)) tail.pause();
    });
    tail.on('end', () => {
      this.push(null);
      this.#finish?.();
    });
    this.#stages = stages;
    this.#tail = tail;
    return stages[0] as Writable;
  }

  override _read(): void {
    if (this.#tail?.isPaused() === true) this.#tail.resume();
  }

  override _final(callback: (error?: Error | null) => void): void {
    const head = this.#stages[0];
    if (head === undefined) {
      this.push(null);
      callback();
      return;
    }
    this.#finish = callback;
    head.end();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    for (const stage of this.#stages) stage.destroy();
    callback(error);
  }
}

function createDecoder(coding: ContentCoding): Writable & Readable {
  if (coding === 'gzip') return zlib.createGunzip();
  if (coding === 'br') return zlib.createBrotliDecompress();
  return new Relay((first) => [
    isZlibWrapped(first[0] ?? 0) ? zlib.createInflate() : zlib.createInflateRaw(),
  ]);
}

/** The decoder {@link decompressBounded} returns. */
export class BoundedDecoder extends Relay {
  /** False when the body passes through undecoded (identity, unknown or too many codings). */
  readonly decoded: boolean;
  /** The plan from `Content-Encoding`. */
  readonly plan: DecodingPlan;
  readonly #maxBytes: number;
  #bytesOut = 0;

  constructor(plan: DecodingPlan, maxBytes: number) {
    super(() => (plan.decode ? plan.codings.map(createDecoder) : [new PassThrough()]));
    this.plan = plan;
    this.decoded = plan.decode;
    this.#maxBytes = maxBytes;
  }

  /** Bytes produced so far (decoded bytes when decoding). */
  get bytesOut(): number {
    return this.#bytesOut;
  }

  protected override mapError(index: number, error: Error): Error {
    // Name the failing coding; zlib's own error (and its Z_* code) stays as the cause.
    return this.plan.decode ? decodeFailed(this.plan.codings[index] ?? 'content', error) : error;
  }

  protected override accept(chunk: Buffer): boolean {
    this.#bytesOut += chunk.length;
    if (this.#bytesOut <= this.#maxBytes) return true;
    this.destroy(tooLarge(this.#maxBytes, this.plan));
    return false;
  }
}

/**
 * A streaming decoder for a response body: write the wire bytes in, read the decoded bytes out.
 * Errors with `RESPONSE_TOO_LARGE` as soon as the output passes `maxBytes`, and stops decoding
 * there. With nothing to decode it passes bytes through, still bounded by `maxBytes`.
 * @param encoding The `Content-Encoding` header value.
 * @param maxBytes Largest output accepted, bytes (the client's `maxResponseBytes`).
 * @example pipeline(rawBody, decompressBounded(headers['content-encoding'], 50 * 1024 * 1024), sink)
 */
export function decompressBounded(encoding: string | undefined, maxBytes: number): BoundedDecoder {
  return new BoundedDecoder(contentDecoding(encoding), maxBytes);
}

type OneShot = (input: Buffer, options: zlib.ZlibOptions | zlib.BrotliOptions) => Promise<Buffer>;
const oneShot: Readonly<Record<'gzip' | 'inflate' | 'inflateRaw' | 'br', OneShot>> = {
  gzip: promisify(zlib.gunzip),
  inflate: promisify(zlib.inflate),
  inflateRaw: promisify(zlib.inflateRaw),
  br: promisify(zlib.brotliDecompress),
};

/**
 * Decodes a buffered body (what `text()`/`json()`/`arrayBuffer()` read) in one go per coding,
 * with zlib's `maxOutputLength` so a bomb stops at the limit instead of filling memory.
 * @throws BulwarkError `RESPONSE_TOO_LARGE` past `maxBytes`; `NETWORK` on corrupt or truncated data.
 */
export async function decompressBuffer(
  chunks: readonly Uint8Array[] | Uint8Array,
  encoding: string | undefined,
  maxBytes: number,
): Promise<Buffer> {
  const single = chunks instanceof Uint8Array ? chunks : chunks.length === 1 ? chunks[0] : undefined;
  const input =
    single === undefined
      ? Buffer.concat(chunks as readonly Uint8Array[])
      : Buffer.from(single.buffer, single.byteOffset, single.byteLength);
  const plan = contentDecoding(encoding);
  if (!plan.decode || input.length === 0) {
    if (input.length > maxBytes) throw tooLarge(maxBytes, plan);
    return input;
  }
  const maxOutputLength = Math.min(maxBytes, bufferConstants.MAX_LENGTH);
  let data = input;
  for (const coding of plan.codings) {
    const fn =
      coding === 'deflate'
        ? isZlibWrapped(data[0] ?? 0)
          ? oneShot.inflate
          : oneShot.inflateRaw
        : oneShot[coding];
    try {
      data = await fn(data, { maxOutputLength });
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(maxBytes, plan);
      throw decodeFailed(coding, error);
    }
  }
  return data;
}
