import type { Readable } from 'node:stream';
import { isBulwarkError } from '../errors.js';
import { nameTheCall } from '../pipeline/cancel.js';
import type { CallContext } from '../pipeline/types.js';
import { BodySource } from './body.js';

/** Response headers: lowercase names; repeated headers become arrays (set-cookie). */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** Turns undici's raw header pairs into an object, only when someone reads `headers`. */
export function parseRawHeaders(raw: readonly Buffer[] | readonly string[]): ResponseHeaders {
  const out: ResponseHeaders = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = String(raw[i]).toLowerCase();
    const value = String(raw[i + 1]);
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = name === 'set-cookie' ? [prev, value] : `${prev}, ${value}`;
  }
  return out;
}

/** Options of {@link BulwarkResponse}'s constructor (internal: responses come from the transport). */
export interface ResponseInit {
  status: number;
  statusText?: string;
  url: string;
  headers?: ResponseHeaders;
  rawHeaders?: readonly Buffer[] | readonly string[];
  body: BodySource;
  /** Turns a compressed body into its decoded bytes (bounded); absent = identity. */
  decode?: ((bytes: Buffer) => Promise<Buffer>) | undefined;
  decodeStream?: ((stream: Readable) => Readable) | undefined;
  /** The body is decoded: `content-encoding` and `content-length` describe the wire, so they are dropped. */
  decoded?: boolean;
}

/**
 * An HTTP response. Any status resolves (unless `throwHttpErrors`). The body is read once,
 * through `text()`, `json()`, `arrayBuffer()` or the `body` stream; an unread body is
 * released when its attempt ends, so it never holds a connection.
 */
export class BulwarkResponse {
  /** The status code. */
  readonly status: number;
  /** The reason phrase, when the server sent one. */
  readonly statusText: string;
  /** The final URL (after redirects). */
  url: string;
  /** How many attempts were made for this call (1 = no retry). */
  attempts = 1;
  // The call that produced this response (private: it holds the request's headers, which must
  // never show when a response is logged).
  #call: CallContext | undefined = undefined;
  /** How many redirects were followed. */
  redirects = 0;
  /** @internal */
  readonly source: BodySource;
  #headers: ResponseHeaders | undefined;
  #raw: readonly Buffer[] | readonly string[] | undefined;
  readonly #decode: ResponseInit['decode'];
  readonly #decodeStream: ResponseInit['decodeStream'];
  readonly #decoded: boolean;

  constructor(init: ResponseInit) {
    this.status = init.status;
    this.statusText = init.statusText ?? '';
    this.url = init.url;
    this.#headers = init.headers;
    this.#raw = init.rawHeaders;
    this.source = init.body;
    this.#decode = init.decode;
    this.#decodeStream = init.decodeStream;
    this.#decoded = init.decoded === true;
  }

  /** True for 2xx statuses. */
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** Response headers, lowercase names. */
  get headers(): ResponseHeaders {
    if (this.#headers === undefined) {
      const headers = this.#raw === undefined ? {} : parseRawHeaders(this.#raw);
      if (this.#decoded) {
        delete headers['content-encoding'];
        delete headers['content-length'];
      }
      this.#headers = headers;
      this.#raw = undefined;
    }
    return this.#headers;
  }

  /**
   * @internal True when a header name starts with one of `prefixes` (lowercase), checked on the
   * raw headers so a stage can look for a hint without parsing every response's headers.
   */
  hasHeaderPrefix(prefixes: readonly string[]): boolean {
    const raw = this.#raw;
    if (raw === undefined) {
      return Object.keys(this.headers).some((name) => prefixes.some((p) => name.startsWith(p)));
    }
    for (let i = 0; i < raw.length; i += 2) {
      const entry = raw[i];
      if (entry === undefined) continue;
      const first = typeof entry === 'string' ? entry.charCodeAt(0) : entry[0];
      // Cheap first-letter filter before building a string: every hint starts with r or x.
      if (first !== 0x72 && first !== 0x52 && first !== 0x78 && first !== 0x58) continue;
      const name = entry.toString().toLowerCase();
      if (prefixes.some((p) => name.startsWith(p))) return true;
    }
    return false;
  }

  /** The body as a Node Readable (decoded when compressed). Made on first access. */
  get body(): Readable {
    const stream = this.source.stream();
    return this.#decodeStream === undefined ? stream : this.#decodeStream(stream);
  }

  /** True once the body was read, streamed or discarded. */
  get bodyUsed(): boolean {
    return this.source.used;
  }

  /** The body as a UTF-8 string. */
  async text(): Promise<string> {
    return (await this.#bytes()).toString('utf8');
  }

  /** The body parsed as JSON (an empty body is a SyntaxError, as in fetch). */
  async json<T = unknown>(): Promise<T> {
    return JSON.parse((await this.#bytes()).toString('utf8')) as T;
  }

  /** The body as an ArrayBuffer. */
  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.#bytes();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  /**
   * @internal Ties the response to its call, so that a body error (decoding, size) carries the
   * call's method, redacted URL and attempts like every other error of the call.
   */
  bindCall(call: CallContext): void {
    this.#call = call;
  }

  /** Throws the body away and frees the connection. Safe to call more than once. */
  dump(): void {
    if (!this.source.used) this.source.discard();
  }

  async #bytes(): Promise<Buffer> {
    try {
      const raw = await this.source.read();
      const bytes = this.#decode === undefined ? raw : await this.#decode(raw);
      this.#call?.runtime.events.responseBody(this.#call, this, bytes);
      return bytes;
    } catch (error) {
      if (this.#call !== undefined && isBulwarkError(error)) nameTheCall(error, this.#call, this.attempts);
      throw error;
    }
  }
}
