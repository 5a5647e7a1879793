// Attempt: one attempt of a call as the transport sends it, the narrow call it reads, and the Transport contract.
import { DueEntry, dueListOf, type Clock } from '../clock.js';
import { BulwarkError } from '../errors.js';
import type { RequestBody } from '../http/body.js';
import type { BulwarkResponse } from '../http/response.js';
import type { AttemptSpan, NetworkPeer } from '../observability/telemetry.js';

/** The handle through which timeouts and cancellation abort an attempt in flight. */
export interface AttemptControl {
  /** Aborts the attempt; the transport rejects or errors the body with `reason`. */
  abort(reason: BulwarkError): void;
  /** Next live attempt of the same call (hedging runs several). */
  nextLive: AttemptControl | undefined;
}

/** The exchange in flight for an attempt, as the transport registers it: what aborting it does. */
export interface AttemptExchange {
  /** Ends the exchange with `reason`: the transport rejects, or errors the body. */
  abort(reason: BulwarkError): void;
}

/**
 * What an attempt and the transport read of the call the attempt belongs to. The pipeline's
 * call context is one; the transport stands below the pipeline and knows only this much.
 */
export interface AttemptCall {
  readonly method: string;
  readonly origin: string;
  readonly path: string;
  readonly urlTemplate: string | undefined;
  readonly userinfo?: boolean;
  readonly body: RequestBody;
  readonly bodyReplayable: boolean;
  readonly correlationId: string;
  readonly cancelled: BulwarkError | undefined;
  live: AttemptControl | undefined;
  readonly runtime: { readonly name: string; readonly clock: Clock; readonly events: AttemptEvents };
}

/** What the transport reports of its attempts, and how it redacts what it shows (the client's events). */
export interface AttemptEvents {
  readonly redactor: { url(url: string): string };
  readonly observeAttempts: boolean;
  attemptStart(attempt: Attempt): AttemptSpan | undefined;
  attemptEnd(
    attempt: Attempt,
    span: AttemptSpan | undefined,
    response: BulwarkResponse | undefined,
    error: unknown,
  ): void;
  redirect(
    call: AttemptCall,
    from: string,
    status: number,
    location: string,
    count: number,
    droppedHeaders: readonly string[],
  ): void;
}

/**
 * One attempt of a call: what the transport sends, and the handle through which timeouts and
 * cancellation abort it. The transport sets `exchange` and calls `finish()` exactly once, when
 * the response body has ended or the attempt failed.
 */
export class Attempt<Call extends AttemptCall = AttemptCall> implements AttemptControl {
  readonly ctx: Call;
  /** 1-based attempt number. */
  readonly number: number;
  /** Headers of this attempt (the call's plus propagation headers). */
  headers: Record<string, string>;
  /** Where this attempt is going (a redirect changes it). */
  origin: string;
  path: string;
  method: string;
  /** The body of this attempt (a redirect may drop it). */
  body: RequestBody;
  /** Redirects followed so far in this attempt. */
  redirects = 0;
  /** Clock time when the attempt started. */
  readonly startedAt: number;
  /** Set when the attempt was aborted. */
  aborted: BulwarkError | undefined = undefined;
  /** True once bytes of the request reached the wire. */
  sent = false;
  nextLive: AttemptControl | undefined = undefined;
  /**
   * Set by the transport: the exchange in flight, which an abort ends. The undici transport
   * registers its dispatch handler itself: when it stored a closure made in the handler's
   * constructor here instead, Node 22 kept every call's objects alive past a young-generation
   * collection (2 MB promoted per scavenge at 16 in flight against 0.16 MB, a major collection
   * every ~0.4 s), 3 µs of CPU a call.
   */
  exchange: AttemptExchange | undefined = undefined;
  /** The connection this hop went over, when the transport watches peers (telemetry on). */
  network: NetworkPeer | undefined = undefined;
  /** This hop's CLIENT span (and duration metric), when attempts are observed. */
  span: AttemptSpan | undefined = undefined;
  /** The next hop, once a redirect was followed from this one. */
  hopped: Attempt<Call> | undefined = undefined;
  #timeout: AttemptTimeout | undefined = undefined;
  #finished = false;

  /** `startedAt`: the clock's time now, when the caller has just read it (one read per attempt). */
  constructor(
    ctx: Call,
    number: number,
    headers: Record<string, string>,
    startedAt = ctx.runtime.clock.now(),
  ) {
    this.ctx = ctx;
    this.number = number;
    this.headers = headers;
    this.origin = ctx.origin;
    this.path = ctx.path;
    this.method = ctx.method;
    this.body = ctx.body;
    this.startedAt = startedAt;
    linkLive(ctx, this);
    if (ctx.cancelled !== undefined) this.aborted = ctx.cancelled;
  }

  /**
   * Arms the attempt timeout of `timeoutMs`, due at `due` (a redirect hop's is its first hop's):
   * once due, the attempt is aborted with `error(this, timeoutMs)`. It shares the clock's timer
   * with every other timeout of that length: no timer of its own.
   */
  arm(clock: Clock, timeoutMs: number, error: AttemptTimeoutError, due = clock.now() + timeoutMs): void {
    const timeout = new AttemptTimeout(this, timeoutMs, error);
    this.#timeout = timeout;
    dueListOf(clock, timeoutMs).add(timeout, due);
  }

  /** True when {@link arm} gave this attempt a timeout: it bounds the whole exchange. */
  get timed(): boolean {
    return this.#timeout !== undefined;
  }

  /**
   * The next hop of a redirect: a new attempt (same number) to `url`, whose timeout is what is
   * left of this one's. This attempt's own body is being discarded by the caller.
   */
  hop(url: URL, method: string, headers: Record<string, string>, dropBody: boolean): Attempt<Call> {
    const next = new Attempt<Call>(this.ctx, this.number, headers);
    next.origin = url.origin;
    next.path = url.pathname + url.search;
    next.method = method;
    next.body = dropBody ? null : this.body;
    next.redirects = this.redirects + 1;
    next.sent = false;
    this.hopped = next;
    const timeout = this.#timeout;
    if (timeout !== undefined) next.arm(this.ctx.runtime.clock, timeout.ms, timeout.error, timeout.due);
    return next;
  }

  abort(reason: BulwarkError): void {
    if (this.aborted !== undefined || this.#finished) return;
    this.aborted = reason;
    this.exchange?.abort(reason);
  }

  /** Ends the attempt: clears its timer and unlinks it from the call. Idempotent. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    // Disarmed but kept: a redirect's next hop, made after this hop's body ended, inherits it.
    this.#timeout?.list?.remove(this.#timeout);
    this.exchange = undefined;
    unlinkLive(this.ctx, this);
  }

  /** Its response body settled: the attempt is over ({@link finish}). */
  settled(): void {
    this.finish();
  }

  /** The hop this attempt ended on: itself, or the last redirect it followed. */
  get lastHop(): Attempt<Call> {
    return this.hopped === undefined ? this : this.hopped.lastHop;
  }

  /** The call's path template, for telemetry. */
  get urlTemplate(): string | undefined {
    return this.ctx.urlTemplate;
  }

  /** True when this attempt goes where the caller's `url` named credentials (its own origin). */
  get userinfo(): boolean {
    return this.ctx.userinfo === true && this.origin === this.ctx.origin;
  }

  get finished(): boolean {
    return this.#finished;
  }
}

/** The error an attempt timeout aborts its attempt with; one function per client, not per call. */
export type AttemptTimeoutError = (attempt: Attempt, timeoutMs: number) => BulwarkError;

/** An armed attempt timeout: what to abort, and with what, once it is due. */
class AttemptTimeout extends DueEntry {
  readonly attempt: Attempt;
  readonly ms: number;
  readonly error: AttemptTimeoutError;

  constructor(attempt: Attempt, ms: number, error: AttemptTimeoutError) {
    super();
    this.attempt = attempt;
    this.ms = ms;
    this.error = error;
  }

  expire(): void {
    this.attempt.abort(this.error(this.attempt, this.ms));
  }
}

function linkLive(ctx: AttemptCall, control: AttemptControl): void {
  control.nextLive = ctx.live;
  ctx.live = control;
}

function unlinkLive(ctx: AttemptCall, control: AttemptControl): void {
  if (ctx.live === control) {
    ctx.live = control.nextLive;
    return;
  }
  let prev = ctx.live;
  while (prev !== undefined && prev.nextLive !== control) prev = prev.nextLive;
  if (prev !== undefined) prev.nextLive = control.nextLive;
}

/** The seam between the pipeline and the network: undici pools, the mock transport, a cassette. */
export interface Transport {
  /** Sends one attempt; resolves at response headers. Must call `attempt.finish()` exactly once. */
  send(attempt: Attempt): Promise<BulwarkResponse>;
  /** Connection pool statistics per origin (for `inspect()`). */
  stats(): Record<string, PoolStats>;
  /** Waits for in-flight requests, then closes every connection. */
  close(): Promise<void>;
  /** Closes every connection now; requests in flight fail. */
  destroy(): Promise<void>;
  /**
   * Test mode (`testMode: true` on the client): from now on every request this transport would
   * send over the real network fails with `TEST_MODE_BLOCKED` (a recording cassette blocks its
   * recorder). Transports that never reach the network themselves (mocks, a replaying cassette)
   * leave it out.
   */
  blockNetwork?(): void;
}

/** Connection pool statistics of one origin. */
export interface PoolStats {
  connected: number;
  free: number;
  pending: number;
  queued: number;
  running: number;
  size: number;
}

/** The error a caller sees when a transport is used after `close()`. */
export function closedError(ctx: AttemptCall): BulwarkError {
  return new BulwarkError('ABORTED', `Client "${ctx.runtime.name}" is closed.`, { method: ctx.method });
}
