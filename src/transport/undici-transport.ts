// The undici transport: a pool per origin, dispatch with fixed-shape options, lazy bodies, TLS and destination guards.
import { Pool, ProxyAgent, buildConnector, type Dispatcher } from 'undici';
import { checkConnectedSocket, guardedLookup, type DestinationGuardOptions } from './destination-guard.js';
import { contentDecoding, decompressBounded, decompressBuffer } from './decompress.js';
import { BulwarkError } from '../errors.js';
import { BodySource, type BodyProducer } from '../http/body.js';
import { BulwarkResponse } from '../http/response.js';
import { pipeline, type Readable } from 'node:stream';
import { networkError } from './network-error.js';
import { expectPeer, watchPeers } from './peer-info.js';
import {
  closedError,
  type Attempt,
  type AttemptExchange,
  type PoolStats,
  type Transport,
} from './attempt.js';

/** TLS settings for the client's connections. Verification is always on unless turned off here. */
export interface TlsOptions {
  /** Extra CA certificates (PEM). @default Node's bundled CA store */
  ca?: string | Buffer | (string | Buffer)[];
  /** Client certificate (PEM) for mutual TLS. @default none */
  cert?: string | Buffer;
  /** Client key (PEM) for mutual TLS. @default none */
  key?: string | Buffer;
  /** SNI server name. @default the origin's host name */
  servername?: string;
  /**
   * Verify the server's certificate. Turning it off is refused unless set to exactly `false`
   * here; a warning is logged once per client.
   * @default true
   */
  rejectUnauthorized?: boolean;
}

/** Connection settings of one origin (or the default for all). */
export interface OriginPoolOptions {
  /** Connections per origin. @default 50 */
  connections?: number;
  /** Requests pipelined on one HTTP/1.1 connection. @default 1 */
  pipelining?: number;
  /** Idle keep-alive time of a connection, ms. @default 4_000 */
  keepAliveTimeout?: number;
  /** Negotiate HTTP/2 through ALPN. @default false */
  allowH2?: boolean;
  /** Connect timeout, ms. @default 10_000 */
  connectTimeout?: number;
}

/** Settings of the transport. */
export interface UndiciTransportOptions extends OriginPoolOptions {
  origins?: Record<string, OriginPoolOptions>;
  tls?: TlsOptions;
  /** Proxy URL (`http://user:pass@proxy:8080`): every request goes through it. */
  proxy?: string;
  /** Largest response body accepted, bytes. @default 52_428_800 (50 MB) */
  maxResponseBytes: number;
  /** Largest response header section, bytes. @default 16_384 */
  maxHeaderSize?: number;
  /** Destination guard: checked on the resolved address and on the connected socket. */
  guard?: DestinationGuardOptions;
  /** Decode gzip, deflate and br bodies (bounded by `maxResponseBytes`). @default true */
  decompress?: boolean;
  /** Note each attempt's peer and HTTP version (`network.*` telemetry). @default false */
  observePeer?: boolean;
}

/**
 * The production transport: undici `Pool`s the client owns, one per origin, driven through
 * `dispatch` with a plain handler. Skipping `undici.request` saves its option spreading and
 * its eager Readable per response; the body here is a {@link BodySource} that becomes a stream
 * only when asked.
 */
export class UndiciTransport implements Transport {
  readonly #options: UndiciTransportOptions;
  readonly #pools = new Map<string, Dispatcher>();
  #proxy: ProxyAgent | undefined;
  #closed = false;
  /** True once destroy() was called: what fails from then on failed because of it. */
  destroyed = false;
  readonly #observePeer: boolean;
  #unwatchPeers: (() => void) | undefined = undefined;

  constructor(options: UndiciTransportOptions) {
    this.#options = options;
    this.#observePeer = options.observePeer === true;
  }

  /**
   * Whether to note this attempt's peer: only for an attempt with a span or a metric to carry
   * it. The channel is subscribed at the first such attempt, so a client whose telemetry records
   * nothing (the API installed, no SDK) never makes undici publish its `sendHeaders` messages.
   */
  #watchPeer(attempt: Attempt): boolean {
    if (!this.#observePeer || attempt.span === undefined) return false;
    this.#unwatchPeers ??= watchPeers();
    return true;
  }

  send(attempt: Attempt): Promise<BulwarkResponse> {
    if (this.#closed) {
      attempt.finish();
      return Promise.reject(closedError(attempt.ctx));
    }
    return new Promise<BulwarkResponse>((resolve, reject) => {
      const handler = new AttemptHandler(
        attempt,
        resolve,
        reject,
        this.#options.maxResponseBytes,
        this.#options.decompress !== false,
        this,
        this.#watchPeer(attempt),
      );
      if (attempt.aborted !== undefined) {
        // eslint-disable-next-line @typescript-eslint/no-deprecated -- our own handler method
        handler.onError(attempt.aborted);
        return;
      }
      // An attempt timeout bounds the whole exchange, headers and body: undici's own headers and
      // body timers (300 s each, set and cleared on every request) are then off for it.
      const undiciTimeout = attempt.timed ? 0 : null;
      this.#dispatcher(attempt.origin).dispatch(
        {
          origin: attempt.origin,
          path: attempt.path,
          method: attempt.method,
          headers: attempt.headers,
          body: attempt.body as NonNullable<Dispatcher.DispatchOptions['body']>,
          headersTimeout: undiciTimeout,
          bodyTimeout: undiciTimeout,
        },
        handler,
      );
    });
  }

  stats(): Record<string, PoolStats> {
    const out: Record<string, PoolStats> = {};
    for (const [origin, pool] of this.#pools) {
      const s = (pool as unknown as { stats?: PoolStats }).stats;
      if (s !== undefined) {
        out[origin] = {
          connected: s.connected,
          free: s.free,
          pending: s.pending,
          queued: s.queued,
          running: s.running,
          size: s.size,
        };
      }
    }
    return out;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#unwatchPeers?.();
    await Promise.all([...this.#pools.values(), ...(this.#proxy ? [this.#proxy] : [])].map((d) => d.close()));
    this.#pools.clear();
  }

  async destroy(): Promise<void> {
    this.#closed = true;
    this.destroyed = true;
    this.#unwatchPeers?.();
    await Promise.all(
      [...this.#pools.values(), ...(this.#proxy ? [this.#proxy] : [])].map((d) => d.destroy()),
    );
    this.#pools.clear();
  }

  #dispatcher(origin: string): Dispatcher {
    const existing = this.#pools.get(origin);
    if (existing !== undefined) return existing;
    const o = this.#options;
    if (o.proxy !== undefined) {
      this.#proxy ??= new ProxyAgent({
        uri: o.proxy,
        connections: o.connections ?? 50,
        requestTls: this.#tls(),
      });
      return this.#proxy;
    }
    const per = o.origins?.[origin] ?? {};
    const pool = new Pool(origin, {
      connections: per.connections ?? o.connections ?? 50,
      pipelining: per.pipelining ?? o.pipelining ?? 1,
      keepAliveTimeout: per.keepAliveTimeout ?? o.keepAliveTimeout ?? 4_000,
      allowH2: per.allowH2 ?? o.allowH2 ?? false,
      maxHeaderSize: o.maxHeaderSize ?? 16_384,
      connect: this.#connector(per.connectTimeout ?? o.connectTimeout ?? 10_000),
    });
    this.#pools.set(origin, pool);
    return pool;
  }

  #tls(): Record<string, unknown> {
    const t = this.#options.tls ?? {};
    const out: Record<string, unknown> = { rejectUnauthorized: t.rejectUnauthorized !== false };
    if (t.ca !== undefined) out.ca = t.ca;
    if (t.cert !== undefined) out.cert = t.cert;
    if (t.key !== undefined) out.key = t.key;
    if (t.servername !== undefined) out.servername = t.servername;
    return out;
  }

  #connector(timeout: number): buildConnector.connector | Record<string, unknown> {
    const guard = this.#options.guard;
    if (guard === undefined) return { ...this.#tls(), timeout };
    // The lookup refuses private answers before connecting; the socket check catches what a
    // lookup never sees (IP literals) and proves the peer is the address that was allowed.
    const base = buildConnector({ ...this.#tls(), timeout, lookup: guardedLookup(guard) });
    return (options, callback) => {
      base(options, (error, socket) => {
        if (error !== null) {
          callback(error, null);
          return;
        }
        try {
          checkConnectedSocket(socket, guard);
        } catch (refused) {
          callback(refused as Error, null);
          return;
        }
        callback(null, socket);
      });
    };
  }
}

/**
 * undici's dispatch handler for one attempt; also the body's producer. It implements the
 * classic handler methods (onConnect/onHeaders/onData/onComplete/onError), which undici 7
 * calls directly: the newer controller API is routed through a wrapper that allocates two
 * objects and parses every header eagerly per response, and this path keeps headers raw
 * until someone reads them.
 */
/* eslint-disable @typescript-eslint/no-deprecated -- see above */
class AttemptHandler implements Dispatcher.DispatchHandler, BodyProducer, AttemptExchange {
  readonly #attempt: Attempt;
  #resolve: ((response: BulwarkResponse) => void) | undefined;
  readonly #reject: (error: unknown) => void;
  readonly #maxBytes: number;
  readonly #decompress: boolean;
  readonly #transport: { readonly destroyed: boolean };
  readonly #observePeer: boolean;
  #abort: ((error?: Error) => void) | undefined = undefined;
  #resumeFn: (() => void) | undefined = undefined;
  #body: BodySource | undefined = undefined;

  constructor(
    attempt: Attempt,
    resolve: (response: BulwarkResponse) => void,
    reject: (error: unknown) => void,
    maxBytes: number,
    decompress: boolean,
    transport: { readonly destroyed: boolean },
    observePeer: boolean,
  ) {
    this.#attempt = attempt;
    this.#transport = transport;
    this.#observePeer = observePeer;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#maxBytes = maxBytes;
    this.#decompress = decompress;
    attempt.exchange = this;
  }

  onConnect(abort: (error?: Error) => void): void {
    const attempt = this.#attempt;
    if (attempt.aborted !== undefined) {
      abort(attempt.aborted);
      return;
    }
    attempt.sent = true;
    this.#abort = abort;
    if (this.#observePeer) expectPeer(attempt);
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (status < 200) return true;
    const attempt = this.#attempt;
    const encoding = this.#decompress ? contentEncoding(rawHeaders) : undefined;
    if (this.#maxBytes > 0 && encoding === undefined) {
      const declared = contentLength(rawHeaders);
      if (declared !== undefined && declared > this.#maxBytes) {
        this.abort(tooLarge(attempt, declared, this.#maxBytes));
        return false;
      }
    }
    this.#resumeFn = resume;
    const body = new BodySource(this);
    body.whenSettled(attempt);
    this.#body = body;
    const plan = encoding === undefined ? undefined : contentDecoding(encoding);
    const max = this.#maxBytes;
    const response = new BulwarkResponse({
      status,
      statusText,
      url: attempt.origin + attempt.path,
      rawHeaders,
      body,
      ...(plan?.decode === true
        ? {
            decoded: true,
            decode: (bytes: Buffer) => decompressBuffer(bytes, encoding, max),
            decodeStream: (stream: Readable) => decodedStream(stream, encoding, max),
          }
        : {}),
    });
    const resolve = this.#resolve;
    this.#resolve = undefined;
    resolve?.(response);
    return true;
  }

  onData(chunk: Buffer): boolean {
    const body = this.#body;
    if (body === undefined) return true;
    if (this.#maxBytes > 0 && body.bytes + chunk.length > this.#maxBytes) {
      this.abort(tooLarge(this.#attempt, body.bytes + chunk.length, this.#maxBytes));
      return false;
    }
    return body.push(chunk);
  }

  onComplete(): void {
    const body = this.#body;
    if (body !== undefined) body.end();
    else this.#attempt.finish();
  }

  onError(error: Error): void {
    const attempt = this.#attempt;
    // After destroy() every exchange fails because of it: ABORTED, whatever undici says.
    const mapped =
      attempt.aborted ??
      (this.#transport.destroyed
        ? destroyedError(attempt)
        : networkError(error, attempt.method, attemptUrl(attempt), attempt.sent));
    const body = this.#body;
    if (body !== undefined) {
      body.fail(mapped);
      return;
    }
    attempt.finish();
    const resolve = this.#resolve;
    this.#resolve = undefined;
    if (resolve !== undefined) this.#reject(mapped);
  }

  resume(): void {
    this.#resumeFn?.();
  }

  abort(reason: BulwarkError): void {
    const attempt = this.#attempt;
    if (attempt.aborted === undefined) attempt.aborted = reason;
    if (this.#abort !== undefined) {
      // undici calls onError synchronously or soon after; that path settles the caller.
      this.#abort(reason);
      return;
    }
    // Still queued in the pool: settle now; onConnect will abort it before a byte is written.
    this.onError(reason);
  }
}

/* eslint-enable @typescript-eslint/no-deprecated */

/**
 * True when the raw header `name` is `lowerName` (lowercase letters and `-`), compared byte by
 * byte with the case bit set: no string is built for the headers every response is scanned for.
 * Setting the bit maps only the uppercase letter onto each byte of such a name (and CR onto `-`,
 * which the parser never lets into a name).
 */
function isHeaderName(name: Buffer | undefined, lowerName: string): boolean {
  if (name?.length !== lowerName.length) return false;
  for (let i = 0; i < name.length; i++) {
    if (((name[i] ?? 0) | 0x20) !== lowerName.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * The `Content-Encoding` list, every header line of it: RFC 9110 makes repeated lines one
 * comma-separated list, so `gzip` then `br` on two lines is `gzip, br`.
 */
function contentEncoding(raw: Buffer[]): string | undefined {
  let out: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i];
    if (isHeaderName(name, 'content-encoding')) {
      const value = String(raw[i + 1]);
      out = out === undefined ? value : `${out}, ${value}`;
    }
  }
  return out;
}

/**
 * The decoded body stream. `pipeline` rather than `pipe`: a wire error (reset, attempt timeout)
 * fails the decoded stream the caller reads with the same error instead of going unheard (an
 * uncaught `'error'`), and a decoder that fails (over `maxResponseBytes`, corrupt data) or is
 * destroyed by the caller destroys the wire stream, which aborts the exchange and frees the
 * connection. Errors reach the caller through the returned stream; the callback has nothing to add.
 */
function decodedStream(wire: Readable, encoding: string | undefined, maxBytes: number): Readable {
  return pipeline(wire, decompressBounded(encoding, maxBytes), ignore);
}

function ignore(): void {
  // Errors reach the reader through the returned stream.
}

function contentLength(raw: Buffer[]): number | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!isHeaderName(raw[i], 'content-length')) continue;
    // 1 to 15 digits, read off the bytes; anything else declares nothing.
    const value = raw[i + 1];
    if (value === undefined || value.length === 0 || value.length > 15) return undefined;
    let n = 0;
    for (let j = 0; j < value.length; j++) {
      const digit = (value[j] ?? 0) - 0x30;
      if (digit < 0 || digit > 9) return undefined;
      n = n * 10 + digit;
    }
    return n;
  }
  return undefined;
}

/** Where an attempt went (a redirect hop may differ from the call's URL), redacted with the client's lists. */
function attemptUrl(attempt: Attempt): string {
  return attempt.ctx.runtime.events.redactor.url(attempt.origin + attempt.path);
}

function destroyedError(attempt: Attempt): BulwarkError {
  const url = attemptUrl(attempt);
  return new BulwarkError(
    'ABORTED',
    `${attempt.method} ${url}: client "${attempt.ctx.runtime.name}" closed (destroy() was called).`,
    { method: attempt.method, url },
  );
}

function tooLarge(attempt: Attempt, bytes: number, max: number): BulwarkError {
  return new BulwarkError(
    'RESPONSE_TOO_LARGE',
    `Response body of ${attempt.method} ${attemptUrl(attempt)} exceeds maxResponseBytes (${bytes} > ${max}).`,
    { method: attempt.method, url: attemptUrl(attempt) },
  );
}
