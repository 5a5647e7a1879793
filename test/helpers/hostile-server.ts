/**
 * Hostile loopback upstreams for the chaos suite: each fault a real server can inflict, on
 * 127.0.0.1, port 0. Raw `node:net` where HTTP itself must be broken, `node:http` where only
 * the content is hostile. Every server tracks its sockets and timers; `close()` destroys them,
 * so a test never hangs on a stalled connection.
 *
 * `requests` counts request heads received (a raw server reads up to the blank line).
 * HTTP-level servers also keep `received`: method, path and headers of each request, so a
 * test can assert what reached the wire (credentials stripped, a POST sent once).
 */
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';

/** A running hostile upstream. */
export interface HostileServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Request heads received so far. */
  readonly requests: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Destroys every socket and timer and stops listening. Safe to call twice. */
  close(): Promise<void>;
}

/** One request as an HTTP-level server saw it. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  /** Body length in bytes. */
  readonly bodyBytes: number;
}

/** A server built on `node:http`, with what it received. */
export interface RecordingServer extends HostileServer {
  readonly received: readonly RecordedRequest[];
}

interface Tracker {
  requests: number;
  connections: number;
  readonly sockets: Set<Socket>;
  readonly timers: Set<NodeJS.Timeout>;
}

function newTracker(): Tracker {
  return { requests: 0, connections: 0, sockets: new Set(), timers: new Set() };
}

async function start<T extends object>(
  server: Server,
  tracker: Tracker,
  extra: T,
): Promise<HostileServer & T> {
  server.on('connection', (socket: Socket) => {
    tracker.connections++;
    tracker.sockets.add(socket);
    socket.on('close', () => tracker.sockets.delete(socket));
    socket.on('error', () => undefined); // resets are the point here, not failures
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('hostile-server: no port');
  let closing: Promise<void> | undefined;
  const base = {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    get requests() {
      return tracker.requests;
    },
    get connections() {
      return tracker.connections;
    },
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of tracker.timers) clearInterval(timer);
        tracker.timers.clear();
        for (const socket of tracker.sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      });
      return closing;
    },
  };
  return Object.assign(base, extra);
}

/**
 * A raw TCP server that waits for each request head (up to the blank line), counts it, and
 * hands the socket to `onRequest`. Bytes after the head (a request body) are ignored.
 */
function rawServer(onRequest: (socket: Socket, tracker: Tracker) => void): Promise<HostileServer> {
  const tracker = newTracker();
  const server = createNetServer((socket) => {
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      if (head.endsWith('\r\n\r\n')) return;
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      head = '\r\n\r\n';
      tracker.requests++;
      onRequest(socket, tracker);
    });
  });
  return start(server, tracker, {});
}

/** A port nothing listens on: connecting gets `ECONNREFUSED`. (Bound, then released.) */
export async function refusedPort(): Promise<{ port: number; url: string }> {
  const server = createNetServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('hostile-server: no port');
  return { port: address.port, url: `http://127.0.0.1:${address.port}` };
}

/** Reads the request, then resets the connection (RST) before any response byte. */
export function resetBeforeHeaders(): Promise<HostileServer> {
  return rawServer((socket) => socket.resetAndDestroy());
}

/** Sends a 200 head (`content-length: 1000`) and `bodyBytes` of body, then resets. */
export function resetAfterHeaders(options: { bodyBytes?: number } = {}): Promise<HostileServer> {
  const bodyBytes = options.bodyBytes ?? 0;
  return rawServer((socket) => {
    socket.write(
      `HTTP/1.1 200 OK\r\ncontent-length: 1000\r\ncontent-type: text/plain\r\n\r\n${'x'.repeat(bodyBytes)}`,
      () => socket.resetAndDestroy(),
    );
  });
}

/**
 * Sends a head announcing `contentLength` bytes (under the header name `lengthHeader`, any case),
 * then `sendBytes` of them, then nothing, forever.
 */
export function stallMidBody(
  options: { contentLength?: number; sendBytes?: number; lengthHeader?: string } = {},
): Promise<HostileServer> {
  const { contentLength = 1000, sendBytes = 100, lengthHeader = 'content-length' } = options;
  return rawServer((socket) => {
    socket.write(`HTTP/1.1 200 OK\r\n${lengthHeader}: ${contentLength}\r\n\r\n${'x'.repeat(sendBytes)}`);
  });
}

/** Drips a never-ending response head, one byte every `intervalMs` (a slowloris upstream). */
export function slowlorisHeaders(options: { intervalMs?: number } = {}): Promise<HostileServer> {
  const intervalMs = options.intervalMs ?? 50;
  const head = 'HTTP/1.1 200 OK\r\nx-drip: ';
  return rawServer((socket, tracker) => {
    let sent = 0;
    const timer = setInterval(() => {
      if (socket.destroyed) {
        clearInterval(timer);
        tracker.timers.delete(timer);
        return;
      }
      socket.write(sent < head.length ? (head[sent] ?? 'a') : 'a');
      sent++;
    }, intervalMs);
    tracker.timers.add(timer);
  });
}

/** A chunked body that ends without the final `0` chunk: the socket just closes (FIN). */
export function truncatedChunked(): Promise<HostileServer> {
  return rawServer((socket) => {
    socket.end('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n');
  });
}

/** Answers with bytes that are not HTTP, then closes. */
export function invalidHttp(): Promise<HostileServer> {
  return rawServer((socket) => {
    socket.end(Buffer.from('\x00\x01\x02 this is not HTTP \xff\xfe\r\n\r\n', 'latin1'));
  });
}

/** Announces `content-length: 100`, sends 10 bytes, closes. */
export function shortContentLength(): Promise<HostileServer> {
  return rawServer((socket) => {
    socket.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789');
  });
}

/** Accepts and reads the request, never answers (a blackhole behind a listening port). */
export function acceptNeverAnswer(): Promise<HostileServer> {
  return rawServer(() => undefined);
}

function recordingServer(
  handle: (req: IncomingMessage, res: ServerResponse, n: number) => void,
  extra: object = {},
): Promise<RecordingServer> {
  const tracker = newTracker();
  const received: RecordedRequest[] = [];
  const server = createHttpServer((req, res) => {
    tracker.requests++;
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
    req.on('end', () => {
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, bodyBytes });
      handle(req, res, tracker.requests);
    });
  });
  return start(server, tracker, { received, ...extra });
}

/** Compressed size of the bomb a {@link gzipBomb} server sends. */
export interface BombServer extends RecordingServer {
  readonly compressedBytes: number;
  readonly decodedBytes: number;
}

/** Serves `decodedBytes` (default 10 MiB) of zeros compressed with `encoding` (~10 KB for gzip). */
export async function gzipBomb(
  options: { decodedBytes?: number; encoding?: 'gzip' | 'br' | 'deflate' } = {},
): Promise<BombServer> {
  const { decodedBytes = 10 * 1024 * 1024, encoding = 'gzip' } = options;
  const zeros = Buffer.alloc(decodedBytes);
  const body =
    encoding === 'gzip'
      ? gzipSync(zeros)
      : encoding === 'br'
        ? brotliCompressSync(zeros)
        : deflateSync(zeros);
  const server = await recordingServer(
    (_req, res) => {
      res.writeHead(200, {
        'content-encoding': encoding,
        'content-length': body.length,
        'content-type': 'text/plain',
      });
      res.end(body);
    },
    { compressedBytes: body.length, decodedBytes },
  );
  return server as BombServer;
}

/** A 200 whose head carries `count` headers of `valueBytes` each (default one 64 KiB header). */
export function hugeHeaders(options: { count?: number; valueBytes?: number } = {}): Promise<RecordingServer> {
  const { count = 1, valueBytes = 64 * 1024 } = options;
  const value = 'a'.repeat(valueBytes);
  return recordingServer((_req, res) => {
    for (let i = 0; i < count; i++) res.setHeader(`x-huge-${i}`, value);
    res.end('ok');
  });
}

/** Redirects every request to `location` (a string, or computed per request). */
export function redirectTo(
  location: string | ((req: IncomingMessage, n: number) => string),
  status = 302,
): Promise<RecordingServer> {
  return recordingServer((req, res, n) => {
    res.writeHead(status, { location: typeof location === 'string' ? location : location(req, n) });
    res.end();
  });
}

/** A {@link countingServer}: requests counted per `METHOD path`. */
export interface CountingServer extends RecordingServer {
  /** Requests seen for `method` and `path` (path with its query). */
  count(method: string, path: string): number;
  readonly counts: ReadonlyMap<string, number>;
}

/**
 * Counts requests per method and path and answers through `respond` (default `200 ok`); `n`
 * is the count for this method and path so far, so `(req, res, n) => n <= 2 ? 503 : 200`
 * sequences are easy. Used to prove a POST reached the server exactly once.
 */
export async function countingServer(
  respond: (req: IncomingMessage, res: ServerResponse, n: number) => void = (_req, res) => res.end('ok'),
): Promise<CountingServer> {
  const counts = new Map<string, number>();
  const server = await recordingServer((req, res) => {
    const key = `${req.method ?? ''} ${req.url ?? ''}`;
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    respond(req, res, n);
  });
  return Object.assign(server, {
    counts,
    count: (method: string, path: string): number => counts.get(`${method.toUpperCase()} ${path}`) ?? 0,
  });
}

/** A coding the {@link compressedBody} server applies. */
export type WireCoding = 'gzip' | 'br' | 'deflate';

function encodeWith(coding: WireCoding, data: Buffer): Buffer {
  if (coding === 'gzip') return gzipSync(data);
  if (coding === 'br') return brotliCompressSync(data);
  return deflateSync(data);
}

/** Bytes that barely compress (a fixed pseudo-random sequence), so a cut body is cut mid-stream. */
export function noise(bytes: number, seed = 1): Buffer {
  const out = Buffer.alloc(bytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A {@link compressedBody} server, with the bytes it encodes and puts on the wire. */
export interface CompressedServer extends HostileServer {
  /** The decoded body. */
  readonly plain: Buffer;
  /** The body as encoded (all of it, whether or not all is sent). */
  readonly wire: Buffer;
  /** Resets (RST) every open connection: a body cut at a moment the test chooses. */
  reset(): void;
}

/**
 * A raw server answering `200` with `plain` encoded by each coding of `codings` in turn (the
 * order of the `Content-Encoding` list). `sendBytes` of the encoded body are written (all by
 * default, and then the body ends); with fewer, or with `hold`, the body never ends and the
 * connection is held open and silent (a stall) until the test calls `reset()`. With `headerLines: 'split'` each coding gets a
 * `Content-Encoding` line of its own. The body is chunked unless `contentLength` is set.
 */
export async function compressedBody(options: {
  plain: Buffer;
  codings: readonly WireCoding[];
  sendBytes?: number;
  hold?: boolean;
  headerLines?: 'one' | 'split';
  contentLength?: boolean;
}): Promise<CompressedServer> {
  const { plain, codings, headerLines = 'one' } = options;
  let wire = plain;
  for (const coding of codings) wire = encodeWith(coding, wire);
  const sent = wire.subarray(0, options.sendBytes ?? wire.length);
  const complete = sent.length === wire.length && options.hold !== true;
  const encodingLines =
    headerLines === 'one'
      ? `content-encoding: ${codings.join(', ')}\r\n`
      : codings.map((c) => `content-encoding: ${c}\r\n`).join('');
  const chunked = options.contentLength !== true;
  const framing = chunked ? 'transfer-encoding: chunked\r\n' : `content-length: ${wire.length}\r\n`;
  const sockets = new Set<Socket>();
  const server = await rawServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.write(`HTTP/1.1 200 OK\r\n${encodingLines}${framing}content-type: text/plain\r\n\r\n`);
    if (!chunked) {
      socket.write(sent);
      return;
    }
    // Small chunks, so the reader sees decoded bytes before the cut.
    for (let at = 0; at < sent.length; at += 16_384) {
      const piece = sent.subarray(at, at + 16_384);
      socket.write(`${piece.length.toString(16)}\r\n`);
      socket.write(piece);
      socket.write('\r\n');
    }
    if (complete) socket.write('0\r\n\r\n');
  });
  const reset = (): void => {
    for (const socket of sockets) socket.resetAndDestroy();
  };
  return Object.assign(server, { plain, wire, reset });
}
