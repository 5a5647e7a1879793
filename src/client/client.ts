import { BulwarkError, invalidRequest, isBulwarkError } from '../errors.js';
import { compose } from '../pipeline/compose.js';
import { createAttemptStage } from '../pipeline/attempt-stage.js';
import { nameTheCall } from '../pipeline/cancel.js';
import { deadlineStage } from '../pipeline/deadline-stage.js';
import type { CallContext, CallPolicies, ClientRuntime, Middleware, Next } from '../pipeline/types.js';
import type { PoolStats, Transport } from '../transport/attempt.js';
import { UndiciTransport } from '../transport/undici-transport.js';
import { testModeTransport } from '../testing/test-mode.js';
import { buildContext } from './build-context.js';
import { mergeHeaders } from './headers.js';
import type { ClientOptions } from './options.js';
import type { RequestOptions, VerbOptions } from './request-options.js';
import { resolveClientOptions, type ResolvedClient } from './resolve-options.js';
import type { BulwarkResponse } from './response.js';
import { checkBoolean, checkFunction, checkKeys, checkNumber, checkObject, isRecord } from '../validate.js';
import { buildPolicies } from './policies.js';
import { circuitHandle, type CircuitControl, type CircuitHandle } from './circuit-handle.js';
import { CallEvents } from '../pipeline/events.js';
import { createObserveStage } from '../pipeline/observe-stage.js';
import { withRedirects, type RedirectSettings } from '../transport/redirect-transport.js';
import { validateHostPatterns, type DestinationGuardOptions } from '../transport/destination-guard.js';
import { defaultRedactor, REDACTOR_OPTION_KEYS, Redactor } from '../observability/redact.js';
import { createTelemetry, type TelemetryOptions } from '../observability/otel.js';
import { NOOP_TELEMETRY, type Telemetry } from '../observability/telemetry.js';
import { parseLogLevel, type Logger } from '../observability/logger.js';
import { invalidOption } from '../errors.js';

/** The result of a `safe.*` call: it never rejects. */
export type SafeResult = { ok: true; response: BulwarkResponse } | { ok: false; error: BulwarkError };

/** Verbs that never reject. */
export interface SafeVerbs {
  request(options: RequestOptions): Promise<SafeResult>;
  get(path: string, options?: VerbOptions): Promise<SafeResult>;
  head(path: string, options?: VerbOptions): Promise<SafeResult>;
  options(path: string, options?: VerbOptions): Promise<SafeResult>;
  delete(path: string, options?: VerbOptions): Promise<SafeResult>;
  post(path: string, options?: VerbOptions): Promise<SafeResult>;
  put(path: string, options?: VerbOptions): Promise<SafeResult>;
  patch(path: string, options?: VerbOptions): Promise<SafeResult>;
}

/** What `inspect()` reports. */
export interface ClientInspection {
  name: string;
  closed: boolean;
  pools: Record<string, PoolStats>;
  [section: string]: unknown;
}

/** A policy plugged into the pipeline by the client (breaker, retry, limiters...). */
export interface PolicyStage {
  readonly name: string;
  readonly middleware: Middleware;
  inspect?(): unknown;
  close?(): void | Promise<void>;
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
  readonly #stages: readonly PolicyStage[];
  readonly #chain: Next;
  readonly #events: CallEvents;
  readonly #policies: (o: RequestOptions) => CallPolicies;
  readonly #circuits: CircuitControl | undefined;
  #closed = false;

  constructor(options: ClientOptions = {}) {
    const resolved = resolveClientOptions(options);
    const raw = options as Record<string, unknown>;
    this.#options = options;
    this.#resolved = resolved;
    this.name = resolved.name;
    const events = buildEvents(raw, resolved);
    this.#events = events;
    this.#runtime = { name: resolved.name, clock: resolved.clock, random: resolved.random, events };
    const built = buildPolicies(raw, resolved, events);
    const safety = guardOf(raw);
    let transport: Transport =
      resolved.transport ?? new UndiciTransport({ ...resolved.transportOptions, ...safety });
    if (resolved.testMode) {
      if (resolved.transport === undefined) transport = testModeTransport(transport);
      else resolved.transport.blockNetwork?.();
    }
    this.#transport = withRedirects(transport, redirectSettings(raw, safety.guard));
    this.#stages = built.stages;
    this.#circuits = built.circuits;
    const terminal = createAttemptStage(this.#transport, { deadlineHeader: resolved.deadlineHeader });
    const [dedupe, rest] = splitDedupe(built.stages);
    this.#chain = compose(
      [...resolved.use, createObserveStage(), ...dedupe, deadlineStage, ...rest.map((s) => s.middleware)],
      terminal,
    );
    this.#policies = policiesOf(resolved, built.retryFor);
    this.safe = makeSafe(this);
  }

  /** Sends a request. Resolves with any status unless `throwHttpErrors`; rejects with a `BulwarkError`. */
  async request(options: RequestOptions): Promise<BulwarkResponse> {
    const ctx = buildContext(this.#resolved, this.#runtime, options, this.#policies);
    if (this.#closed) {
      throw new BulwarkError('ABORTED', `Client "${this.name}" is closed.`, {
        method: ctx.method,
        url: ctx.runtime.events.url(ctx),
        attempts: 0,
      });
    }
    let response: BulwarkResponse;
    try {
      response = await this.#chain(ctx);
    } catch (error) {
      throw finalError(ctx, error);
    }
    response.attempts = ctx.attempts;
    response.bindCall(ctx);
    if (ctx.policies.throwHttpErrors && response.status >= 400) {
      // The final URL (after redirects), redacted like every URL an error carries.
      const url = ctx.runtime.events.redactor.url(response.url);
      throw new BulwarkError('HTTP_STATUS', `${ctx.method} ${url} answered ${response.status}.`, {
        method: ctx.method,
        url,
        response,
        attempts: ctx.attempts,
      });
    }
    return response;
  }

  get(path: string, options?: VerbOptions): Promise<BulwarkResponse> {
    return this.request(verb('GET', path, options));
  }
  head(path: string, options?: VerbOptions): Promise<BulwarkResponse> {
    return this.request(verb('HEAD', path, options));
  }
  options(path: string, options?: VerbOptions): Promise<BulwarkResponse> {
    return this.request(verb('OPTIONS', path, options));
  }
  delete(path: string, options?: VerbOptions): Promise<BulwarkResponse> {
    return this.request(verb('DELETE', path, options));
  }
  post(path: string, options?: VerbOptions): Promise<BulwarkResponse> {
    return this.request(verb('POST', path, options));
  }
  put(path: string, options?: VerbOptions): Promise<BulwarkResponse> {
    return this.request(verb('PUT', path, options));
  }
  patch(path: string, options?: VerbOptions): Promise<BulwarkResponse> {
    return this.request(verb('PATCH', path, options));
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
    const out: ClientInspection = { name: this.name, closed: this.#closed, pools: this.#transport.stats() };
    for (const stage of this.#stages) if (stage.inspect !== undefined) out[stage.name] = stage.inspect();
    return out;
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

  /** Lets requests in flight finish, then closes every connection and timer. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#events.close();
    await this.#transport.close();
    await Promise.all(this.#stages.map(async (s) => s.close?.()));
  }

  /** Closes every connection now; requests in flight fail. */
  async destroy(): Promise<void> {
    this.#closed = true;
    this.#events.close();
    await this.#transport.destroy();
    await Promise.all(this.#stages.map(async (s) => s.close?.()));
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

function policiesOf(
  resolved: ResolvedClient,
  retryFor: (override: unknown) => unknown,
): (o: RequestOptions) => CallPolicies {
  const defaults: CallPolicies = {
    retry: undefined,
    circuitBreaker: undefined,
    rateLimit: undefined,
    throwHttpErrors: resolved.throwHttpErrors,
  };
  return (o) => {
    if (
      o.throwHttpErrors === undefined &&
      o.retry === undefined &&
      o.circuitBreaker === undefined &&
      o.rateLimit === undefined
    ) {
      return defaults;
    }
    const circuitBreaker = requestOverride('circuitBreaker', o.circuitBreaker, ['isFailure']);
    if (isRecord(circuitBreaker))
      checkFunction('request', 'circuitBreaker.isFailure', circuitBreaker.isFailure);
    const rateLimit = requestOverride('rateLimit', o.rateLimit, ['key', 'cost', 'strategy', 'maxWait']);
    if (
      isRecord(rateLimit) &&
      rateLimit.key !== undefined &&
      (typeof rateLimit.key !== 'string' || rateLimit.key === '')
    ) {
      throw invalidRequest('rateLimit.key', rateLimit.key, 'a non-empty string');
    }
    return {
      retry: retryFor(o.retry),
      circuitBreaker,
      rateLimit,
      throwHttpErrors:
        checkBoolean('request', 'throwHttpErrors', o.throwHttpErrors) ?? defaults.throwHttpErrors,
    };
  };
}

function requestOverride(path: string, value: unknown, keys: readonly string[]): unknown {
  if (value === undefined || value === false) return value;
  if (!isRecord(value)) throw invalidRequest(path, value, 'an object or false');
  checkKeys('request', path, value, keys);
  return value;
}

function splitDedupe(stages: readonly PolicyStage[]): [Middleware[], readonly PolicyStage[]] {
  const dedupe = stages.filter((s) => s.name === 'dedupe');
  return [dedupe.map((s) => s.middleware), stages.filter((s) => s.name !== 'dedupe')];
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
): RedirectSettings {
  return {
    maxRedirects: checkNumber('options', 'maxRedirects', raw.maxRedirects, 0, 20, true) ?? 5,
    allowDowngrade: checkBoolean('options', 'allowDowngrade', raw.allowDowngrade) ?? false,
    guard,
  };
}

function verb(method: string, path: string, options: VerbOptions | undefined): RequestOptions {
  if (options === undefined) return { method, path };
  return { ...options, method, path };
}

/** Every error a call rejects with names the call: method, redacted URL and attempts. */
function finalError(ctx: CallContext, error: unknown): BulwarkError {
  const err = ctx.cancelled ?? error;
  if (isBulwarkError(err)) return nameTheCall(err, ctx, ctx.attempts);
  const url = ctx.runtime.events.url(ctx);
  return new BulwarkError('NETWORK', `${ctx.method} ${url} failed: ${String(err)}`, {
    cause: err,
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
    get: (p, o) => wrap(() => client.get(p, o)),
    head: (p, o) => wrap(() => client.head(p, o)),
    options: (p, o) => wrap(() => client.options(p, o)),
    delete: (p, o) => wrap(() => client.delete(p, o)),
    post: (p, o) => wrap(() => client.post(p, o)),
    put: (p, o) => wrap(() => client.put(p, o)),
    patch: (p, o) => wrap(() => client.patch(p, o)),
  };
}

function finalErrorOf(error: unknown): BulwarkError {
  return new BulwarkError('NETWORK', error instanceof Error ? error.message : String(error), {
    cause: error,
  });
}

/** Deep merge for `extend`: objects merge, arrays and other values replace; `use` appends. */
export function mergeOptions(base: ClientOptions, overrides: ClientOptions): ClientOptions {
  const out = deepMerge(base as Record<string, unknown>, overrides as Record<string, unknown>);
  if (base.use !== undefined && overrides.use !== undefined) out.use = [...base.use, ...overrides.use];
  if (base.headers !== undefined && overrides.headers !== undefined) {
    // Validated and lowercased like any headers; `undefined` in the overrides removes one.
    out.headers = mergeHeaders(
      'options',
      'headers',
      mergeHeaders('options', 'headers', {}, base.headers),
      overrides.headers,
    );
  }
  return out;
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
