/** `createClient` and the `Client`: its construction from the stage table, the verbs, inspect and close. */
import { asError, BulwarkError, bulwarkError, isBulwarkError, type BulwarkErrorOf } from '../errors.js';
import { clearParkedTimers } from '../clock.js';
import { compose } from '../pipeline/compose.js';
import { createAttemptStage } from '../pipeline/attempt-stage.js';
import { hasLiveAttempt, nameTheCall } from '../pipeline/cancel.js';
import { InFlightCalls } from './in-flight.js';
import type { BuiltStage, CircuitControl } from '../pipeline/stage-descriptor.js';
import { assembleStages } from '../pipeline/stage-table.js';
import type { CallContext, CallPolicies, ClientRuntime, StageNext } from '../pipeline/types.js';
import type { PoolStats, Transport } from '../transport/attempt.js';
import type { CircuitSnapshot } from '../policies/circuit-breaker.js';
import type { ConcurrencySnapshot } from '../policies/concurrency/index.js';
import type { RateLimiterSnapshot } from '../policies/rate-limiter.js';
import { UndiciTransport } from '../transport/undici-transport.js';
import { testModeTransport } from '../transport/test-mode.js';
import { buildContext } from './build-context.js';
import { mergeHeaders } from './headers.js';
import type { ClientOptions } from './options.js';
import type { RequestOptions, UrlVerbOptions, VerbOptions } from './request-options.js';
import { resolveClientOptions, type ResolvedClient } from './resolve-options.js';
import type { BulwarkResponse } from '../http/response.js';
import { checkBoolean, checkKeys, checkNumber, checkObject, isRecord } from '../validate.js';
import { circuitHandle, type CircuitHandle } from './circuit-handle.js';
import { CallEvents } from '../pipeline/events.js';
import { traceRefusedRequest } from '../pipeline/observe-stage.js';
import { correlationId } from '../observability/correlation.js';
import { withRedirects, type RedirectSettings } from '../transport/redirect-transport.js';
import { validateHostPatterns, type DestinationGuardOptions } from '../transport/destination-guard.js';
import { defaultRedactor, REDACTOR_OPTION_KEYS, Redactor } from '../observability/redact.js';
import { createTelemetry, type TelemetryOptions } from '../observability/otel.js';
import { NOOP_TELEMETRY, type Telemetry } from '../observability/telemetry.js';
import { parseLogLevel, type Logger } from '../observability/logger.js';
import { invalidOption } from '../errors.js';

/** The result of a `safe.*` call: it never rejects. */
export type SafeResult = { ok: true; response: BulwarkResponse } | { ok: false; error: BulwarkErrorOf };

/** Verbs that never reject. */
export interface SafeVerbs {
  request(options: RequestOptions): Promise<SafeResult>;
  get(path: string, options?: VerbOptions): Promise<SafeResult>;
  get(options: UrlVerbOptions): Promise<SafeResult>;
  head(path: string, options?: VerbOptions): Promise<SafeResult>;
  head(options: UrlVerbOptions): Promise<SafeResult>;
  options(path: string, options?: VerbOptions): Promise<SafeResult>;
  options(options: UrlVerbOptions): Promise<SafeResult>;
  delete(path: string, options?: VerbOptions): Promise<SafeResult>;
  delete(options: UrlVerbOptions): Promise<SafeResult>;
  post(path: string, options?: VerbOptions): Promise<SafeResult>;
  post(options: UrlVerbOptions): Promise<SafeResult>;
  put(path: string, options?: VerbOptions): Promise<SafeResult>;
  put(options: UrlVerbOptions): Promise<SafeResult>;
  patch(path: string, options?: VerbOptions): Promise<SafeResult>;
  patch(options: UrlVerbOptions): Promise<SafeResult>;
}

/** The retry section of `inspect()`. */
export interface RetryInspection {
  /** False on a client with `retry: false` (shown when hedging is on). */
  readonly enabled: boolean;
  /** The retry budget of each live key, in tokens (retries it can still pay for). */
  readonly budgets: readonly { readonly key: string; readonly balance: number }[];
}

/**
 * What `inspect()` reports. A policy's section is present only when the policy is on (`retry` and
 * `circuits` by default, `rateLimit` and `concurrency` when configured).
 */
export interface ClientInspection {
  readonly name: string;
  readonly closed: boolean;
  /** Connection statistics per origin. */
  readonly pools: Record<string, PoolStats>;
  /** Whether retries are on, and the retry budget of each key. */
  readonly retry?: RetryInspection;
  /** Every circuit breaker, by key. */
  readonly circuits?: readonly CircuitSnapshot[];
  /** The rate limit and its buckets that are not full. */
  readonly rateLimit?: RateLimiterSnapshot;
  /** The concurrency limit, requests in flight and queued. */
  readonly concurrency?: ConcurrencySnapshot;
  /** The HTTP cache (`cache` option): revalidations running in the background. */
  readonly cache?: { readonly revalidating: number };
}

/**
 * A client with its own connection pools and policies. Create one per upstream service with
 * {@link createClient}.
 */
export class Client implements AsyncDisposable {
  readonly name: string;
  readonly safe: SafeVerbs;
  readonly #options: ClientOptions;
  readonly #resolved: ResolvedClient;
  readonly #runtime: ClientRuntime;
  readonly #transport: Transport;
  readonly #stages: readonly BuiltStage[];
  readonly #chain: StageNext;
  readonly #events: CallEvents;
  readonly #policies: (o: RequestOptions) => CallPolicies;
  readonly #circuits: CircuitControl | undefined;
  #closed = false;
  /** Calls between `request()` and their settling: what close() and destroy() end. */
  readonly #calls = new InFlightCalls();
  #shutdown: Promise<void> | undefined = undefined;
  #destroying: Promise<void> | undefined = undefined;

  constructor(options: ClientOptions = {}) {
    const resolved = resolveClientOptions(options);
    const raw = options as Record<string, unknown>;
    this.#options = options;
    this.#resolved = resolved;
    this.name = resolved.name;
    const events = buildEvents(raw, resolved);
    this.#events = events;
    this.#runtime = {
      name: resolved.name,
      clock: resolved.clock,
      random: resolved.random,
      events,
      closed: false,
    };
    // Every row parses its own section of the options and builds its stage once, here.
    const assembled = assembleStages(
      raw,
      {
        name: resolved.name,
        clock: resolved.clock,
        random: resolved.random,
        events,
        deadlineHeader: resolved.deadlineHeader,
        requestIdHeader: resolved.requestIdHeader,
        origin: resolved.base?.origin,
        use: resolved.use,
        gates: [],
        wakers: [],
      },
      resolved.throwHttpErrors,
    );
    this.#stages = assembled.stages;
    this.#circuits = assembled.circuits;
    this.#policies = assembled.policies;
    const safety = guardOf(raw);
    let transport: Transport =
      resolved.transport ??
      new UndiciTransport({ ...resolved.transportOptions, ...safety, observePeer: events.telemetry.enabled });
    if (resolved.testMode) {
      if (resolved.transport === undefined) transport = testModeTransport(transport);
      else resolved.transport.blockNetwork?.();
    }
    this.#transport = withRedirects(transport, redirectSettings(raw, safety.guard, events.redactor));
    const terminal = createAttemptStage(this.#transport, { deadlineHeader: resolved.deadlineHeader });
    this.#chain = compose(assembled.middleware, terminal);
    this.safe = makeSafe(this);
    // Once every option is known to be valid: a client that is never made warns of nothing.
    if (resolved.transport === undefined && resolved.transportOptions.tls?.rejectUnauthorized === false) {
      events.tlsVerificationOff();
    }
  }

  /** Sends a request. Resolves with any status unless `throwHttpErrors`; rejects with a `BulwarkError`. */
  async request(options: RequestOptions): Promise<BulwarkResponse> {
    let ctx: CallContext;
    try {
      ctx = buildContext(this.#resolved, this.#runtime, options, this.#policies);
    } catch (error) {
      throw await traceRefusedRequest(refusedFields(this.#resolved, this.#runtime, options), error);
    }
    if (this.#closed) {
      throw new BulwarkError('ABORTED', `Client "${this.name}" is closed.`, {
        method: ctx.method,
        url: ctx.runtime.events.url(ctx),
        attempts: 0,
      });
    }
    let response: BulwarkResponse;
    this.#calls.add(ctx);
    try {
      response = await this.#chain(ctx);
    } catch (error) {
      throw finalError(ctx, error);
    } finally {
      this.#calls.settled(ctx);
    }
    response.attempts = ctx.attempts;
    response.bindCall(ctx);
    if (ctx.policies.throwHttpErrors && response.status >= 400) {
      // The final URL (after redirects), redacted like every URL an error carries.
      const url = ctx.runtime.events.redactor.url(response.url);
      throw bulwarkError('HTTP_STATUS', `${ctx.method} ${url} answered ${response.status}.`, {
        method: ctx.method,
        url,
        response,
        attempts: ctx.attempts,
      });
    }
    return response;
  }

  get(path: string, options?: VerbOptions): Promise<BulwarkResponse>;
  get(options: UrlVerbOptions): Promise<BulwarkResponse>;
  get(target: string | UrlVerbOptions, options?: VerbOptions): Promise<BulwarkResponse> {
    return this.request(verb('GET', target, options));
  }
  head(path: string, options?: VerbOptions): Promise<BulwarkResponse>;
  head(options: UrlVerbOptions): Promise<BulwarkResponse>;
  head(target: string | UrlVerbOptions, options?: VerbOptions): Promise<BulwarkResponse> {
    return this.request(verb('HEAD', target, options));
  }
  options(path: string, options?: VerbOptions): Promise<BulwarkResponse>;
  options(options: UrlVerbOptions): Promise<BulwarkResponse>;
  options(target: string | UrlVerbOptions, options?: VerbOptions): Promise<BulwarkResponse> {
    return this.request(verb('OPTIONS', target, options));
  }
  delete(path: string, options?: VerbOptions): Promise<BulwarkResponse>;
  delete(options: UrlVerbOptions): Promise<BulwarkResponse>;
  delete(target: string | UrlVerbOptions, options?: VerbOptions): Promise<BulwarkResponse> {
    return this.request(verb('DELETE', target, options));
  }
  post(path: string, options?: VerbOptions): Promise<BulwarkResponse>;
  post(options: UrlVerbOptions): Promise<BulwarkResponse>;
  post(target: string | UrlVerbOptions, options?: VerbOptions): Promise<BulwarkResponse> {
    return this.request(verb('POST', target, options));
  }
  put(path: string, options?: VerbOptions): Promise<BulwarkResponse>;
  put(options: UrlVerbOptions): Promise<BulwarkResponse>;
  put(target: string | UrlVerbOptions, options?: VerbOptions): Promise<BulwarkResponse> {
    return this.request(verb('PUT', target, options));
  }
  patch(path: string, options?: VerbOptions): Promise<BulwarkResponse>;
  patch(options: UrlVerbOptions): Promise<BulwarkResponse>;
  patch(target: string | UrlVerbOptions, options?: VerbOptions): Promise<BulwarkResponse> {
    return this.request(verb('PATCH', target, options));
  }

  /**
   * A new client with `overrides` merged deeply over this one's options (headers merged, `use`
   * appended). It gets pools and policy state of its own: clients never share pools.
   */
  extend(overrides: ClientOptions): Client {
    return new Client(mergeOptions(this.#options, overrides));
  }

  /** Circuits, limits, budgets and pool statistics, for dashboards and health checks. */
  inspect(): ClientInspection {
    const out: Record<string, unknown> = {
      name: this.name,
      closed: this.#closed,
      pools: this.#transport.stats(),
    };
    // Each stage's section is named after the stage and typed in ClientInspection.
    for (const stage of this.#stages) if (stage.inspect !== undefined) out[stage.name] = stage.inspect();
    return out as unknown as ClientInspection;
  }

  /**
   * The circuit of `key` (the client's default circuit when omitted: `circuitBreaker.key` when it
   * is a string, else the `baseUrl`'s origin), to read its state, `isolate()` it or `reset()` it.
   * @throws BulwarkError `INVALID_REQUEST` without a breaker, or without a key and no default.
   * @example
   * const payments = client.circuit(); // https://api.stripe.com
   * payments.isolate();                // every call fails fast with CIRCUIT_OPEN
   * await payments.reset();            // back to closed, window emptied
   */
  circuit(key?: string): CircuitHandle {
    return circuitHandle(this.#circuits, key);
  }

  /**
   * Closes the client gracefully. New calls fail `ABORTED` at once. An attempt already on the
   * wire finishes, its body included, and its answer is the call's answer: nothing is retried
   * or hedged after close(). A call that has nothing on the wire (waiting to retry, for a
   * rate-limit slot or in the concurrency queue) ends `ABORTED` without sending anything. Resolves
   * once those calls have settled, every body has ended and every connection and timer of the
   * client is gone. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.#shutdown ??= this.#closeGracefully();
    return this.#shutdown;
  }

  /**
   * Ends the client now: every call in flight, and every body being read, fails `ABORTED`
   * (whatever the retry settings), and every connection is destroyed. Also ends a close() in
   * progress; calling it again returns the same promise.
   */
  destroy(): Promise<void> {
    this.#destroying ??= this.#destroyNow();
    this.#shutdown = this.#destroying;
    return this.#destroying;
  }

  async #closeGracefully(): Promise<void> {
    this.#stop();
    // Only what has nothing on the wire: an attempt in flight finishes (and is not retried).
    await this.#calls.end(
      (ctx) => !hasLiveAttempt(ctx),
      (ctx) => closedError(ctx, 'close() was called before it sent an attempt'),
    );
    await this.#transport.close();
    await Promise.all(this.#stages.map(async (s) => s.close?.()));
    clearParkedTimers(this.#resolved.clock);
  }

  async #destroyNow(): Promise<void> {
    this.#stop();
    const ended = this.#calls.end(
      () => true,
      (ctx) => closedError(ctx, 'destroy() was called'),
    );
    await this.#transport.destroy();
    await ended;
    await Promise.all(this.#stages.map(async (s) => s.close?.()));
    clearParkedTimers(this.#resolved.clock);
  }

  #stop(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#runtime.closed = true;
    this.#events.close();
  }

  /** `await using client = createClient(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Creates a client with its own connection pools and policies.
 * @example
 * const github = createClient({ name: 'github', baseUrl: 'https://api.github.com' });
 * const res = await github.get('/repos/:owner/:repo', { params: { owner, repo } });
 */
export function createClient(options: ClientOptions = {}): Client {
  return new Client(options);
}

function buildEvents(raw: Record<string, unknown>, resolved: ResolvedClient): CallEvents {
  const l = checkObject('options', 'logging', raw.logging) ?? {};
  checkKeys('options', 'logging', l, ['logger', 'level', 'logHeaders', 'logBody', 'bodyLimit', 'redact']);
  const redactOptions = checkObject('options', 'logging.redact', l.redact);
  if (redactOptions !== undefined) {
    checkKeys('options', 'logging.redact', redactOptions, REDACTOR_OPTION_KEYS);
  }
  const redactor = redactOptions === undefined ? defaultRedactor : new Redactor(redactOptions);
  let telemetry: Telemetry = NOOP_TELEMETRY;
  if (raw.telemetry !== false) {
    const t = checkObject('options', 'telemetry', raw.telemetry) ?? {};
    checkKeys('options', 'telemetry', t, [
      'propagate',
      'tracerProvider',
      'meterProvider',
      'spanName',
      'okStatuses',
      'successStatus',
    ]);
    telemetry = createTelemetry({
      clientName: resolved.name,
      ...(t as Omit<TelemetryOptions, 'clientName'>),
      redactUrl: (url) => redactor.url(url),
      clock: resolved.clock,
    });
  }
  const logger = l.logger as Logger | undefined;
  if (
    logger !== undefined &&
    (typeof logger !== 'object' || typeof (logger as Partial<Logger>).info !== 'function')
  ) {
    throw invalidOption(
      'logging.logger',
      logger,
      'a pino-compatible logger (info, warn, error, debug... methods)',
    );
  }
  return new CallEvents(resolved.name, telemetry, redactor, {
    logger,
    level: l.level === undefined ? (logger === undefined ? 'silent' : 'info') : parseLogLevel(l.level),
    logHeaders: checkBoolean('options', 'logging.logHeaders', l.logHeaders) ?? false,
    logBody: checkBoolean('options', 'logging.logBody', l.logBody) ?? false,
    bodyLimit: checkNumber('options', 'logging.bodyLimit', l.bodyLimit, 0, 1_048_576, true) ?? 4_096,
  });
}

function guardOf(raw: Record<string, unknown>): { guard?: DestinationGuardOptions; decompress: boolean } {
  const decompress = checkBoolean('options', 'decompress', raw.decompress) ?? true;
  const blockPrivateIps = checkBoolean('options', 'blockPrivateIps', raw.blockPrivateIps) ?? false;
  const allowedHosts =
    raw.allowedHosts === undefined ? undefined : validateHostPatterns('allowedHosts', raw.allowedHosts);
  if (!blockPrivateIps && allowedHosts === undefined) return { decompress };
  return { guard: { blockPrivateIps, ...(allowedHosts === undefined ? {} : { allowedHosts }) }, decompress };
}

function redirectSettings(
  raw: Record<string, unknown>,
  guard: DestinationGuardOptions | undefined,
  redactor: Redactor,
): RedirectSettings {
  return {
    maxRedirects: checkNumber('options', 'maxRedirects', raw.maxRedirects, 0, 20, true) ?? 5,
    allowDowngrade: checkBoolean('options', 'allowDowngrade', raw.allowDowngrade) ?? false,
    guard,
    // Every header a log line would hide is a secret a redirect must not carry to another origin.
    isSecretHeader: (name) => redactor.isSecretHeader(name),
  };
}

/** `get(path, options)` or `get({ url, ...options })`: the request options of a verb helper. */
function verb(
  method: string,
  target: string | UrlVerbOptions,
  options: VerbOptions | undefined,
): RequestOptions {
  if (typeof target === 'object' && options === undefined) return { ...target, method };
  if (options === undefined) return { method, path: target as string };
  return { ...options, method, path: target as string };
}

/** What the channel can say of a request whose options were refused: never more than the redactor lets through. */
function refusedFields(
  resolved: ResolvedClient,
  runtime: ClientRuntime,
  options: unknown,
): { client: string; correlationId: string; method: string; url: string } {
  const o = isRecord(options) ? options : {};
  const method = typeof o.method === 'string' ? o.method.toUpperCase() : 'GET';
  let url = '';
  try {
    if (typeof o.url === 'string' || o.url instanceof URL) url = new URL(o.url).href;
    else if (typeof o.path === 'string' && resolved.base !== undefined)
      url = new URL(resolved.base.origin + resolved.base.prefix + (o.path.split('?')[0] ?? '')).href;
    else if (typeof o.path === 'string') url = new URL(o.path).href;
  } catch {
    url = '';
  }
  return {
    client: runtime.name,
    correlationId: correlationId(),
    method,
    url: url === '' ? '' : runtime.events.redactor.url(url),
  };
}

/** `ABORTED` for a call the client's close() or destroy() ended. */
function closedError(ctx: CallContext, why: string): BulwarkError {
  const url = ctx.runtime.events.url(ctx);
  return new BulwarkError('ABORTED', `${ctx.method} ${url}: client "${ctx.runtime.name}" closed (${why}).`, {
    method: ctx.method,
    url,
    attempts: ctx.attempts,
  });
}

/** Every error a call rejects with names the call: method, redacted URL and attempts. */
function finalError(ctx: CallContext, error: unknown): BulwarkError {
  const err = ctx.cancelled ?? error;
  if (isBulwarkError(err)) return nameTheCall(err, ctx, ctx.attempts);
  const url = ctx.runtime.events.url(ctx);
  return bulwarkError('NETWORK', `${ctx.method} ${url} failed: ${String(err)}`, {
    cause: asError(err),
    // Thrown outside the transport (a middleware, a hook): whether bytes left is unknown once an
    // attempt started, so only a call that made none is known unsent.
    sent: ctx.attempts > 0,
    method: ctx.method,
    url,
    attempts: ctx.attempts,
  });
}

function makeSafe(client: Client): SafeVerbs {
  const wrap = (p: () => Promise<BulwarkResponse>): Promise<SafeResult> =>
    p().then(
      (response) => ({ ok: true, response }),
      (error: unknown) => ({ ok: false, error: isBulwarkError(error) ? error : finalErrorOf(error) }),
    );
  return {
    request: (o) => wrap(() => client.request(o)),
    get: (p: string | UrlVerbOptions, o?: VerbOptions) => wrap(() => client.request(verb('GET', p, o))),
    head: (p: string | UrlVerbOptions, o?: VerbOptions) => wrap(() => client.request(verb('HEAD', p, o))),
    options: (p: string | UrlVerbOptions, o?: VerbOptions) =>
      wrap(() => client.request(verb('OPTIONS', p, o))),
    delete: (p: string | UrlVerbOptions, o?: VerbOptions) => wrap(() => client.request(verb('DELETE', p, o))),
    post: (p: string | UrlVerbOptions, o?: VerbOptions) => wrap(() => client.request(verb('POST', p, o))),
    put: (p: string | UrlVerbOptions, o?: VerbOptions) => wrap(() => client.request(verb('PUT', p, o))),
    patch: (p: string | UrlVerbOptions, o?: VerbOptions) => wrap(() => client.request(verb('PATCH', p, o))),
  };
}

function finalErrorOf(error: unknown): BulwarkErrorOf<'NETWORK'> {
  return bulwarkError('NETWORK', error instanceof Error ? error.message : String(error), {
    cause: asError(error),
    sent: false,
  });
}

/** Deep merge for `extend`: objects merge, arrays and other values replace; `use` appends. */
export function mergeOptions(base: ClientOptions, overrides: ClientOptions): ClientOptions {
  const out = deepMerge(base as Record<string, unknown>, overrides as Record<string, unknown>);
  if (base.use !== undefined && overrides.use !== undefined) out.use = [...base.use, ...overrides.use];
  if (base.headers !== undefined && overrides.headers !== undefined) {
    // Validated and lowercased like any headers; `undefined` in the overrides removes one.
    const merged: Record<string, string | undefined> = mergeHeaders(
      'options',
      'headers',
      mergeHeaders('options', 'headers', {}, base.headers),
      overrides.headers,
    );
    // A removal stays one (a default such as user-agent would otherwise come back).
    for (const name of [...removedHeaders(base.headers), ...removedHeaders(overrides.headers)])
      if (!(name in merged)) merged[name] = undefined;
    out.headers = merged;
  }
  return out;
}

/** Names a plain headers object maps to `undefined` (removed), lowercase. */
function removedHeaders(init: ClientOptions['headers']): string[] {
  const headers: unknown = init;
  if (!isRecord(headers) || isSpecial(headers)) return [];
  return Object.keys(headers)
    .filter((name) => headers[name] === undefined)
    .map((name) => name.toLowerCase());
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const prev = out[key];
    out[key] =
      isRecord(prev) && isRecord(value) && !isSpecial(prev) && !isSpecial(value)
        ? deepMerge(prev, value)
        : value;
  }
  return out;
}

function isSpecial(value: Record<string, unknown>): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto !== Object.prototype && proto !== null;
}
