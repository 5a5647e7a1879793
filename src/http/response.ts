// BulwarkResponse: status, headers (parsed lazily), the body read once, and redacted serialisation.
import type { Readable } from 'node:stream';
import { inspect, type InspectOptionsStylized } from 'node:util';
import { asError, bulwarkError, isBulwarkError, type BulwarkError } from '../errors.js';
import { BodySource } from './body.js';

declare module '../errors.js' {
  interface BulwarkErrorDetails {
    /** The refused response, its body unread (`throwHttpErrors`). */
    HTTP_STATUS: { readonly response: BulwarkResponse };
    /** The response whose body could not be read as asked (its status and headers). */
    INVALID_RESPONSE: { readonly response: BulwarkResponse };
  }
}

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

/** How a response shows its URL and headers in logs: the client's redactor is one. */
export interface ResponseRedactor {
  url(url: string): string;
  headers(headers: ResponseHeaders): Record<string, string | string[]>;
}

/**
 * What a response asks of the call that produced it (the pipeline's call context is
 * one): its method, and the client-wide reporter that redacts and hears the body. The reporter
 * is one object per client, so binding a response to its call allocates nothing.
 */
export interface ResponseCall {
  readonly method: string;
  readonly runtime: { readonly events: ResponseReporter };
}

/** The client-wide side of {@link ResponseCall}. */
export interface ResponseReporter {
  readonly redactor: ResponseRedactor;
  /** The call's URL as errors show it (redacted). */
  url(call: ResponseCall): string;
  /** Hears a body that was read whole. */
  responseBody(call: ResponseCall, response: BulwarkResponse, bytes: Buffer): void;
}

// The redactor of a response that no call is bound to. This floor sits below the redactor's
// module, which registers its defaults here when it loads; until then nothing is shown.
let unboundRedactor: ResponseRedactor | undefined;

/** @internal Sets how a response with no call shows its URL and headers (the default redactor). */
export function setUnboundResponseRedactor(redactor: ResponseRedactor): void {
  unboundRedactor = redactor;
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
  // The URL and the body are private, behind getters on the prototype: an inspection that skips
  // `inspect.custom` (`console.log('%o', res)`) sees neither a raw query nor body bytes.
  readonly #url: string;
  /** How many attempts were made for this call (1 = no retry). */
  attempts = 1;
  // The call that produced this response (private: it holds the request's headers, which must
  // never show when a response is logged).
  #call: ResponseCall | undefined = undefined;
  /** How many redirects were followed. */
  redirects = 0;
  /**
   * How the HTTP cache answered (`cache` option): `'hit'` fresh from the cache, nothing sent;
   * `'stale'` a stale answer (while revalidating, or in place of an error); `'revalidated'` the
   * stored answer confirmed by a 304; `'miss'` from the origin. `undefined` when the client has no cache.
   */
  cache: 'hit' | 'stale' | 'revalidated' | 'miss' | undefined = undefined;
  readonly #source: BodySource;
  #headers: ResponseHeaders | undefined;
  #raw: readonly Buffer[] | readonly string[] | undefined;
  readonly #decode: ResponseInit['decode'];
  readonly #decodeStream: ResponseInit['decodeStream'];
  readonly #decoded: boolean;
  #stream: Readable | undefined = undefined;

  constructor(init: ResponseInit) {
    this.status = init.status;
    this.statusText = init.statusText ?? '';
    this.#url = init.url;
    this.#headers = init.headers;
    this.#raw = init.rawHeaders;
    this.#source = init.body;
    this.#decode = init.decode;
    this.#decodeStream = init.decodeStream;
    this.#decoded = init.decoded === true;
  }

  /** The final URL (after redirects), as sent: logs and `toJSON()` show it redacted. */
  get url(): string {
    return this.#url;
  }

  /** @internal The body's bytes as they arrive. */
  get source(): BodySource {
    return this.#source;
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
    if (this.#stream === undefined) {
      const stream = this.#source.stream();
      this.#stream = this.#decodeStream === undefined ? stream : this.#decodeStream(stream);
    }
    return this.#stream;
  }

  /** True once the body was read, streamed or discarded. */
  get bodyUsed(): boolean {
    return this.#source.used;
  }

  /** The body as a UTF-8 string. */
  async text(): Promise<string> {
    return (this.#arrived() ?? (await this.#bytes())).toString('utf8');
  }

  /**
   * The body parsed as JSON. A body that is not JSON (an empty one included, as in fetch) rejects
   * with `INVALID_RESPONSE`, naming the method, the redacted URL and the status; the parser's
   * SyntaxError is its `cause`, and no part of the body is in its message.
   */
  async json<T = unknown>(): Promise<T> {
    const text = (this.#arrived() ?? (await this.#bytes())).toString('utf8');
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw this.#notJson(error);
    }
  }

  /** The body as an ArrayBuffer. */
  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.#arrived() ?? (await this.#bytes());
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  /**
   * @internal Ties the response to its call, so that a body error (decoding, size) carries the
   * call's method, redacted URL and attempts like every other error of the call.
   */
  bindCall(call: ResponseCall): void {
    this.#call = call;
  }

  /** Throws the body away and frees the connection. Safe to call more than once. */
  dump(): void {
    if (!this.#source.used) this.#source.discard();
  }

  /**
   * What `JSON.stringify`, pino and every JSON logger show: status, the redacted URL and
   * headers, attempts and redirects; never the body, never a secret query value or cookie.
   * Redacted by the client's `logging.redact` lists (the defaults for a response of no call).
   */
  toJSON(): Record<string, unknown> {
    const redactor = this.#call?.runtime.events.redactor ?? unboundRedactor;
    return {
      status: this.status,
      statusText: this.statusText,
      url: redactor === undefined ? '[REDACTED]' : redactor.url(this.#url),
      headers: redactor === undefined ? {} : redactor.headers(this.headers),
      attempts: this.attempts,
      redirects: this.redirects,
    };
  }

  /** What `console.log`, `util.inspect` and the REPL show: the same as {@link toJSON}. */
  [inspect.custom](depth: number, options: InspectOptionsStylized, show: typeof inspect): string {
    if (depth < 0) return options.stylize('[BulwarkResponse]', 'special');
    return `BulwarkResponse ${show(this.toJSON(), { ...options, depth: depth - 1 })}`;
  }

  #notJson(cause: unknown): BulwarkError {
    const call = this.#call;
    const type = this.headers['content-type'];
    const what = type === undefined ? 'no content-type' : `content-type ${String(type)}`;
    const fields = { cause: asError(cause), response: this };
    const text = `answered ${this.status} with a body that is not JSON (${what}); text() reads it as it is.`;
    if (call === undefined) return bulwarkError('INVALID_RESPONSE', `The response ${text}`, fields);
    const url = call.runtime.events.redactor.url(this.url);
    return bulwarkError('INVALID_RESPONSE', `${call.method} ${url} ${text}`, {
      ...fields,
      method: call.method,
      url,
      attempts: this.attempts,
    });
  }

  /**
   * The body when it has already arrived whole and needs no decoding, taken and heard as
   * {@link #bytes} does it, with no wait (no frame to suspend, no turn of the microtask queue);
   * `undefined` sends the reader to `#bytes()`, which waits, decodes and decorates errors.
   */
  #arrived(): Buffer | undefined {
    if (this.#decode !== undefined) return undefined;
    const bytes = this.#source.readArrived();
    if (bytes !== undefined) this.#call?.runtime.events.responseBody(this.#call, this, bytes);
    return bytes;
  }

  async #bytes(): Promise<Buffer> {
    try {
      const raw = await this.#source.read();
      const bytes = this.#decode === undefined ? raw : await this.#decode(raw);
      this.#call?.runtime.events.responseBody(this.#call, this, bytes);
      return bytes;
    } catch (error) {
      const call = this.#call;
      if (call !== undefined && isBulwarkError(error)) {
        error.method ??= call.method;
        error.url ??= call.runtime.events.url(call);
        error.attempts ??= this.attempts;
      }
      throw error;
    }
  }
}
