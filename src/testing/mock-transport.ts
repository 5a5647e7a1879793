// mockTransport: a transport answering from declared routes, for tests without sockets.
import { BodySource } from '../http/body.js';
import { BulwarkResponse, type ResponseHeaders } from '../http/response.js';
import { bulwarkError, type BulwarkError } from '../errors.js';
import type { Attempt, Transport } from '../transport/attempt.js';
import { networkError } from '../transport/network-error.js';

/** A canned response. */
export interface MockReply {
  status?: number;
  headers?: ResponseHeaders;
  /** A string or bytes body. */
  body?: string | Uint8Array;
  /** A value sent as JSON (sets content-type). */
  json?: unknown;
  /** Delay before the headers, ms on the client's clock (the virtual clock in tests). */
  delay?: number;
  /** Send half the body, then stall forever (an attempt timeout must end it). */
  stallBody?: boolean;
}

/** A step of a route: a reply, a simulated network error, or a hang. */
export type MockStep =
  | ({ kind?: 'reply' } & MockReply)
  | { kind: 'error'; code: string; delay?: number; message?: string }
  | { kind: 'hang' };

/** A request as the mock saw it. */
export interface MockCall {
  method: string;
  url: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
  attempt: number;
}

type Matcher = string | RegExp | ((call: MockCall) => boolean);

/** Configures one route. */
export interface MockRoute {
  /** Replies to every matching request. */
  reply(status: number, body?: unknown, init?: Omit<MockReply, 'status' | 'body' | 'json'>): MockRoute;
  /** Replies to the next matching request only (queue several for a sequence). */
  replyOnce(status: number, body?: unknown, init?: Omit<MockReply, 'status' | 'body' | 'json'>): MockRoute;
  /** Plays `steps` in order, one per request; once used up, later routes or the fallback answer. */
  sequence(steps: readonly (MockStep | number)[]): MockRoute;
  /**
   * Fails with a simulated network error carrying a real socket code (`ECONNREFUSED`,
   * `ECONNRESET`, `ETIMEDOUT`, `ENOTFOUND`, `UND_ERR_SOCKET`...). Refused and DNS errors count
   * as never sent, like real ones.
   */
  networkError(code: string, options?: { once?: boolean }): MockRoute;
  /** Never answers (only a timeout, deadline or abort ends the attempt). */
  hang(options?: { once?: boolean }): MockRoute;
  /** Answers with a function of the request. */
  handle(fn: (call: MockCall) => MockStep | Promise<MockStep>): MockRoute;
}

/** The mock transport of `bulwark/testing`. */
export interface MockTransport extends Transport {
  /** Declares a route: `on('GET', '/users/:id')`; the method may be '*'. */
  on(method: string, path: Matcher): MockRoute;
  /** Every request received, in order. */
  readonly calls: readonly MockCall[];
  /** Calls matching a method and path (string paths match exactly or as a `:param` template). */
  callsTo(method: string, path: Matcher): MockCall[];
  /** Forgets routes and calls. */
  reset(): void;
}

interface Route {
  method: string;
  match: (call: MockCall) => boolean;
  once: MockStep[];
  always: ((call: MockCall) => MockStep | Promise<MockStep>) | undefined;
}

/**
 * Creates a mock transport: pass it as `createClient({ transport })`. Every policy runs as with
 * the network (retries, breaker, limiters, timeouts on the client's clock), so they can be
 * tested without sockets. An unmatched request fails with a clear error naming it.
 * @example
 * const mock = mockTransport();
 * mock.on('GET', '/users/:id').sequence([503, 503, { status: 200, json: { id: 1 } }]);
 */
export function mockTransport(): MockTransport {
  const routes: Route[] = [];
  const calls: MockCall[] = [];
  return {
    on(method, path) {
      const route: Route = {
        method: method.toUpperCase(),
        match: matcher(path),
        once: [],
        always: undefined,
      };
      routes.push(route);
      return routeBuilder(route);
    },
    get calls() {
      return calls;
    },
    callsTo(method, path) {
      const m = matcher(path);
      return calls.filter((c) => (method === '*' || c.method === method.toUpperCase()) && m(c));
    },
    reset() {
      routes.length = 0;
      calls.length = 0;
    },
    async send(attempt) {
      const call = await callOf(attempt);
      calls.push(call);
      const route = routes.find(
        (r) =>
          (r.method === '*' || r.method === call.method) &&
          r.match(call) &&
          (r.once.length > 0 || r.always !== undefined),
      );
      if (route === undefined) throw noRoute(attempt, call);
      const queued = route.once.shift();
      const step = queued ?? (await (route.always as (c: MockCall) => MockStep | Promise<MockStep>)(call));
      return play(attempt, step);
    },
    stats: () => ({}),
    close: () => Promise.resolve(),
    destroy: () => Promise.resolve(),
  };
}

/** The step a `reply(status, body, init)` declares: a string or bytes as the body, anything else as JSON. */
function stepOf(
  status: number,
  body: unknown,
  init: Omit<MockReply, 'status' | 'body' | 'json'> | undefined,
): MockStep {
  if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) {
    return { ...init, status, ...(body === undefined ? {} : { body }) };
  }
  return { ...init, status, json: body };
}

/** What `mock.on(...)` returns: each method adds steps to `route` and returns the same builder. */
function routeBuilder(route: Route): MockRoute {
  const onceOrAlways = (step: MockStep, once: boolean | undefined): MockRoute => {
    if (once === true) route.once.push(step);
    else route.always = () => step;
    return api;
  };
  const api: MockRoute = {
    reply: (status, body, init) => onceOrAlways(stepOf(status, body, init), false),
    replyOnce: (status, body, init) => onceOrAlways(stepOf(status, body, init), true),
    sequence(steps) {
      for (const s of steps) route.once.push(typeof s === 'number' ? { status: s } : s);
      return api;
    },
    networkError: (code, options) => onceOrAlways({ kind: 'error', code }, options?.once),
    hang: (options) => onceOrAlways({ kind: 'hang' }, options?.once),
    handle(fn) {
      route.always = fn;
      return api;
    },
  };
  return api;
}

/** The call as tests read it back (`mock.calls`): a copy of the headers, the body as text. */
async function callOf(attempt: Attempt): Promise<MockCall> {
  return {
    method: attempt.method,
    url: attempt.origin + attempt.path,
    path: attempt.path,
    headers: { ...attempt.headers },
    body: await bodyText(attempt.ctx.body),
    attempt: attempt.number,
  };
}

/** The `NETWORK` error of a request no route answers (nothing was sent, so retry rules apply as for a refusal). */
function noRoute(attempt: Attempt, call: MockCall): BulwarkError {
  attempt.finish();
  const url = attempt.ctx.runtime.events.redactor.url(call.url);
  return bulwarkError(
    'NETWORK',
    `mockTransport: no route for ${call.method} ${url}. Declare it with mock.on().`,
    {
      cause: Object.assign(new Error(`no route for ${call.method} ${url}`), { code: 'MOCK_NO_ROUTE' }),
      method: call.method,
      url,
      sent: false,
    },
  );
}

function play(attempt: Attempt, step: MockStep): Promise<BulwarkResponse> {
  const clock = attempt.ctx.runtime.clock;
  return new Promise<BulwarkResponse>((resolve, reject) => {
    let timer: { clear(): void } | undefined;
    let body: BodySource | undefined;
    let settled = false;
    const exchange = {
      abort(reason: BulwarkError): void {
        timer?.clear();
        if (body !== undefined) {
          body.fail(reason);
          return;
        }
        settled = true;
        attempt.finish();
        reject(reason);
      },
    };
    attempt.exchange = exchange;
    if (attempt.aborted !== undefined) {
      exchange.abort(attempt.aborted);
      return;
    }
    attempt.sent = true;
    if (step.kind === 'hang') return;
    const deliver = (): void => {
      if (settled) return;
      if (step.kind === 'error') {
        const mapped = simulatedFailure(attempt, step);
        settled = true;
        attempt.finish();
        reject(mapped);
        return;
      }
      const { headers, bytes } = replyParts(step);
      body = new BodySource({
        resume: () => undefined,
        abort: (reason) => {
          attempt.abort(reason);
        },
      });
      body.whenSettled(attempt);
      settled = true;
      resolve(
        new BulwarkResponse({
          status: step.status ?? 200,
          url: attempt.origin + attempt.path,
          headers,
          body,
        }),
      );
      feed(body, bytes, step.stallBody === true);
    };
    const delay = step.delay ?? 0;
    if (delay > 0) timer = clock.setTimeout(deliver, delay);
    else deliver();
  });
}

type ErrorStep = Extract<MockStep, { kind: 'error' }>;
type ReplyStep = Exclude<MockStep, { kind: 'error' } | { kind: 'hang' }>;

/** The `NETWORK` error a simulated socket failure maps to, as the real transport maps one. */
function simulatedFailure(attempt: Attempt, step: ErrorStep): BulwarkError {
  const error = Object.assign(new Error(step.message ?? `simulated ${step.code}`), { code: step.code });
  const url = attempt.ctx.runtime.events.redactor.url(attempt.origin + attempt.path);
  const mapped = networkError(error, attempt.method, url, true);
  attempt.sent = mapped.sent === true;
  return mapped;
}

/** A reply's headers and body bytes: JSON gets its content-type, a whole body its content-length. */
function replyParts(step: ReplyStep): { headers: ResponseHeaders; bytes: Buffer | undefined } {
  const headers: ResponseHeaders = { ...step.headers };
  let bytes: Buffer | undefined;
  if (step.json !== undefined) {
    bytes = Buffer.from(JSON.stringify(step.json));
    headers['content-type'] ??= 'application/json';
  } else if (step.body !== undefined) bytes = Buffer.from(step.body);
  if (bytes !== undefined && step.stallBody !== true) headers['content-length'] ??= String(bytes.length);
  return { headers, bytes };
}

/** Pushes the body; a stalled one stops after its first half and never ends. */
function feed(body: BodySource, bytes: Buffer | undefined, stall: boolean): void {
  if (bytes !== undefined && bytes.length > 0) {
    if (stall) {
      body.push(bytes.subarray(0, Math.ceil(bytes.length / 2)));
      return;
    }
    body.push(bytes);
  }
  body.end();
}

function matcher(path: Matcher): (call: MockCall) => boolean {
  if (typeof path === 'function') return path;
  if (path instanceof RegExp) return (call) => path.test(call.path);
  if (path === '*') return () => true;
  const pattern = new RegExp(
    `^${path
      .split(/(:[A-Za-z_][A-Za-z0-9_]*)/)
      .map((part) => (part.startsWith(':') ? '[^/?]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('')}(\\?.*)?$`,
  );
  return (call) => pattern.test(call.path) || pattern.test(call.url);
}

async function bodyText(body: unknown): Promise<string | undefined> {
  if (body === null || body === undefined) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  // A stream is read whole, as a server would, so tests can assert what was sent.
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array | string>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}
