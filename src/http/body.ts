// Bodies: the request body a call may send, and the response body source the transport fills and a response reads once.
import { Readable } from 'node:stream';
import { BulwarkError } from '../errors.js';

/** A request body bulwark can send. Strings, buffers and typed arrays can be replayed; streams cannot. */
export type RequestBody = string | Uint8Array | NodeJS.ReadableStream | AsyncIterable<Uint8Array> | null;

/** Bytes buffered for a consumer that has not asked for them yet before the socket is paused. */
const HIGH_WATER_MARK = 1024 * 1024;
/** Bytes of a discarded body read and dropped before the connection is closed instead. */
const DISCARD_LIMIT = 256 * 1024;

/** Where the transport delivers a response body. */
export interface BodyProducer {
  /** Resumes a paused transport. */
  resume(): void;
  /** Aborts the exchange (releases the socket). */
  abort(reason: BulwarkError): void;
}

type Waiter = (error: Error | undefined) => void;

/**
 * What runs once a body settled: a function, or an object whose `settled()` runs (an attempt, a
 * call's budget), so the transport and the deadline need no closure per call.
 */
export type SettleHook = (() => void) | { settled(): void };

function runHook(hook: SettleHook): void {
  if (typeof hook === 'function') hook();
  else hook.settled();
}

/**
 * A response body that is not a stream until someone asks for one. Chunks are kept as they
 * arrive; `text()` and `json()` read them directly, so the common case never builds a Readable.
 */
export class BodySource {
  chunks: Buffer[] = [];
  bytes = 0;
  done = false;
  error: Error | undefined = undefined;
  #settleHooks: SettleHook | SettleHook[] | undefined = undefined;
  #settled = false;
  #producer: BodyProducer | undefined;
  #paused = false;
  #consumed = false;
  #discarding = false;
  #discarded = 0;
  #waiter: Waiter | undefined = undefined;
  #stream: Readable | undefined = undefined;

  constructor(producer: BodyProducer | undefined) {
    this.#producer = producer;
  }

  /** True once a consumer took the body (read, streamed or discarded). */
  get used(): boolean {
    return this.#consumed;
  }

  /** From the transport. Returns false when the transport should pause. */
  push(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    if (this.#discarding) {
      this.#discarded += chunk.length;
      if (this.#discarded > DISCARD_LIMIT) this.#producer?.abort(abortedByConsumer(null));
      return true;
    }
    if (this.#stream !== undefined) {
      if (!this.#stream.push(chunk)) {
        this.#paused = true;
        return false;
      }
      return true;
    }
    this.chunks.push(chunk);
    if (this.#waiter === undefined && this.bytes > HIGH_WATER_MARK) {
      this.#paused = true;
      return false;
    }
    return true;
  }

  /** From the transport: the body is complete. */
  end(): void {
    if (this.done) return;
    this.done = true;
    if (this.#stream !== undefined) this.#stream.push(null);
    this.#wake(undefined);
    this.#settle();
  }

  /** From the transport: the body failed mid-way. */
  fail(error: Error): void {
    if (this.done) return;
    this.done = true;
    this.error = error;
    if (this.#stream !== undefined) this.#stream.destroy(error);
    this.#wake(error);
    this.#settle();
  }

  /** Reads the whole body into one Buffer. */
  async read(): Promise<Buffer> {
    this.#take();
    if (!this.done) {
      await new Promise<void>((resolve, reject) => {
        this.#waiter = (error) => {
          if (error === undefined) resolve();
          else reject(error);
        };
        this.#resume();
      });
    }
    if (this.error !== undefined) throw this.error;
    return this.#collect();
  }

  /**
   * The whole body at once when it has already arrived whole, taken as {@link read} takes it
   * (most answers arrive in the packet of their head, before anyone asks); `undefined` when it
   * has not, or failed, or was taken: nothing is taken then, and `read()` says why or waits.
   */
  readArrived(): Buffer | undefined {
    if (!this.done || this.error !== undefined || this.#consumed) return undefined;
    this.#consumed = true;
    return this.#collect();
  }

  #collect(): Buffer {
    const chunks = this.chunks;
    this.chunks = [];
    if (chunks.length === 1) return chunks[0] as Buffer;
    return Buffer.concat(chunks, this.bytes);
  }

  /** A Readable of the body (made once, on first use). */
  stream(): Readable {
    if (this.#stream !== undefined) return this.#stream;
    this.#take();
    const stream = new Readable({
      read: () => {
        this.#resume();
      },
      destroy: (error, callback) => {
        if (!this.done) this.#producer?.abort(abortedByConsumer(error));
        callback(error);
      },
    });
    for (const chunk of this.chunks) stream.push(chunk);
    this.chunks = [];
    if (this.error !== undefined) stream.destroy(this.error);
    else if (this.done) stream.push(null);
    this.#stream = stream;
    return stream;
  }

  /**
   * Throws the body away so the connection can be reused. A body still arriving is read and
   * dropped; past `limit` more bytes the exchange is aborted instead (the socket is closed).
   */
  discard(abortWith?: BulwarkError): void {
    if (this.#stream !== undefined) {
      if (!this.done) this.#stream.destroy();
      return;
    }
    this.#consumed = true;
    this.#discarding = true;
    this.chunks = [];
    if (this.done) return;
    if (abortWith !== undefined) {
      this.#producer?.abort(abortWith);
      return;
    }
    this.#resume();
  }

  #take(): void {
    if (this.#consumed) throw new TypeError('Body has already been consumed.');
    this.#consumed = true;
  }

  #resume(): void {
    if (this.#paused) {
      this.#paused = false;
      this.#producer?.resume();
    }
  }

  #wake(error: Error | undefined): void {
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter(error);
    }
  }

  /** Runs `hook` once the body has ended or failed (at once if it already has). */
  whenSettled(hook: SettleHook): void {
    if (this.#settled) {
      runHook(hook);
      return;
    }
    const hooks = this.#settleHooks;
    if (hooks === undefined) this.#settleHooks = hook;
    else if (Array.isArray(hooks)) hooks.push(hook);
    else this.#settleHooks = [hooks, hook];
  }

  #settle(): void {
    this.#settled = true;
    this.#producer = undefined;
    const hooks = this.#settleHooks;
    this.#settleHooks = undefined;
    if (hooks === undefined) return;
    if (Array.isArray(hooks)) for (const hook of hooks) runHook(hook);
    else runHook(hooks);
  }
}

function abortedByConsumer(error: Error | null): BulwarkError {
  return new BulwarkError('ABORTED', 'Response body was discarded before it ended.', {
    cause: error ?? undefined,
  });
}
