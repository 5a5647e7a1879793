/**
 * No sink ever sees a secret: calls carrying credentials in headers, cookies, the URL's
 * userinfo and query, and a JSON body with a password and card numbers, through a real client
 * with every sink on at once: pino with `logHeaders` and `logBody` at trace level, the real
 * OpenTelemetry SDK, and a subscriber on every bulwark diagnostics channel. Each payload is
 * serialised whole and searched for every secret.
 */
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import fc from 'fast-check';
import { pino } from 'pino';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { createClient, type Client } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { CHANNEL_NAMES } from '../../src/observability/channels.js';
import { json, startServer, type TestServer } from '../helpers/http-server.js';
import { spanCapture } from '../helpers/span-capture.js';

const { exporter, provider } = spanCapture();

/** Every payload published on a bulwark channel, serialised when it was published and at the end. */
const published: unknown[] = [];
const record = (message: unknown): void => {
  published.push(message);
};
const tracing = diagnostics_channel.tracingChannel(CHANNEL_NAMES.request);
const tracingHandlers = { start: record, end: record, asyncStart: record, asyncEnd: record, error: record };
const pointChannels = Object.values(CHANNEL_NAMES).filter((name) => name !== CHANNEL_NAMES.request);

before(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  for (const name of pointChannels) diagnostics_channel.subscribe(name, record);
  tracing.subscribe(tracingHandlers);
});

after(async () => {
  for (const name of pointChannels) diagnostics_channel.unsubscribe(name, record);
  tracing.unsubscribe(tracingHandlers);
  await provider.shutdown();
  trace.disable();
  propagation.disable();
  context.disable();
});

/** Luhn-valid test card numbers (Visa, Mastercard, Amex). */
const CARDS = ['4111111111111111', '5555555555554444', '378282246310005'];

const SECRETS = {
  bearer: 'sk_live_AUTHZ0123456789',
  cookie: 'COOKIEsess10n99887766',
  setCookie: 'SETc00kieVALUE445566',
  apiKeyHeader: 'XAPIKEY-77aa88bb99cc',
  password: 'P@ssw0rd-Sup3rSecret',
  cvv: '9731',
  queryKey: 'QRYapikey-5566778899',
  queryToken: 'QRYtoken-abcdef012345',
  userinfoPass: 'uSerPaSS-31415926',
} as const;

/** Every string that must never appear, including encodings a sink could produce. */
const FORBIDDEN = [
  ...Object.values(SECRETS),
  ...CARDS,
  '4111 1111 1111 1111',
  Buffer.from(`alice:${SECRETS.userinfoPass}`).toString('base64'),
];

/**
 * Where `secret` stands in `text`, or -1. A short all-digit secret (the CVV) counts only as a
 * token of its own: inside a duration (3.97314 ms), a port or a hex id it is chance, not a leak.
 */
function leakAt(text: string, secret: string): number {
  if (!/^\d{1,6}$/.test(secret)) return text.indexOf(secret);
  return new RegExp(`(?<![0-9a-fA-F.])${secret}(?![0-9a-fA-F])`).exec(text)?.index ?? -1;
}

function assertClean(where: string, text: string): void {
  for (const secret of FORBIDDEN) {
    const at = leakAt(text, secret);
    assert.ok(at === -1, `${where} leaked ${secret}:\n${text.slice(Math.max(0, at - 300), at + 100)}`);
  }
}

/**
 * Serialises what reached a sink: JSON for values, errors with their message and stack. The
 * `result` of a `bulwark:request` context is skipped: Node's TracingChannel puts there the very
 * response the caller receives, whose `url` is the real one (documented as such).
 */
function serialise(values: readonly unknown[]): string {
  return JSON.stringify(values, (key, value: unknown) => {
    if (key === 'result') return '[the caller’s response]';
    if (!(value instanceof Error)) return value;
    const fields = (value as { toJSON?: () => unknown }).toJSON?.() ?? {};
    return { fields, message: value.message, stack: value.stack };
  });
}

let server: TestServer;
let script: number[] = [];
let client: Client | undefined;
let raw: string[] = [];

before(async () => {
  server = await startServer((_req, res) => {
    const status = script.shift() ?? 200;
    json(res, status, { ok: true }, { 'set-cookie': `srv=${SECRETS.setCookie}; HttpOnly` });
  });
});

after(async () => {
  await server.close();
});

beforeEach(() => {
  script = [];
  raw = [];
  published.length = 0;
  exporter.reset();
  server.received.length = 0;
});

afterEach(async () => {
  await client?.destroy();
  client = undefined;
});

function make(options: ClientOptions = {}): Client {
  const logger = pino({ level: 'trace' }, { write: (s: string) => raw.push(s) });
  client = createClient({
    name: 'payments',
    baseUrl: server.origin,
    random: () => 0,
    headers: {
      authorization: `Bearer ${SECRETS.bearer}`,
      cookie: `session=${SECRETS.cookie}; theme=dark`,
      'x-api-key': SECRETS.apiKeyHeader,
    },
    logging: { logger, level: 'trace', logHeaders: true, logBody: true },
    ...options,
  });
  return client;
}

const paymentBody = {
  customer: { id: 'cus_42', password: SECRETS.password },
  payment: { card_number: CARDS[0], cvv: SECRETS.cvv, exp: '12/30' },
  note: `backup card 4111 1111 1111 1111 then ${CARDS[1] ?? ''}`,
  items: [{ sku: 'A1', memo: `amex ${CARDS[2] ?? ''}` }],
};

/** Asserts the call really carried the secrets (else the test proves nothing) and no sink shows them. */
function assertNoSinkLeaked(sinks: { channels: boolean } = { channels: true }): void {
  assert.ok(raw.length > 0, 'the logger wrote lines');
  assert.ok(published.length > 0, 'the channels published');
  assert.ok(exporter.getFinishedSpans().length > 0, 'spans were recorded');
  assertClean('the log', raw.join(''));
  assertClean(
    'the spans',
    serialise(
      exporter
        .getFinishedSpans()
        .map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })),
    ),
  );
  if (sinks.channels) assertClean('the channel payloads', serialise(published));
}

/**
 * Errors built below the client's redactor (the transport's NETWORK error, a stage's
 * CIRCUIT_OPEN) carry a URL redacted only by the placeholder `redactUrlString` (userinfo only),
 * so its query secrets reach `error.url`, `error.message`, the `bulwark:request` context's
 * `error` and the `bulwark:circuit` rejection's `url`. Spans and logs re-redact and are clean.
 */
async function openBreakerScenario(): Promise<unknown> {
  script = [500, 500];
  const payments = make({
    retry: false,
    circuitBreaker: { failureThreshold: 2, failureRatio: false, openDuration: 60_000 },
  });
  for (let i = 0; i < 2; i++)
    await (await payments.get('/balance', { query: { api_key: SECRETS.queryKey } })).text();
  const refused = await payments.safe.get('/balance', { query: { api_key: SECRETS.queryKey } });
  assert.equal(refused.ok ? 'ok' : refused.error.code, 'CIRCUIT_OPEN');
  return refused.ok ? undefined : refused.error;
}

async function networkFailureScenario(): Promise<unknown> {
  const gone = await startServer(() => undefined);
  const url = `${gone.origin}/charges?token=${SECRETS.queryToken}`;
  await gone.close();
  const payments = make({ retry: false });
  const result = await payments.safe.request({ url, method: 'POST', json: paymentBody });
  assert.equal(result.ok ? 'ok' : result.error.code, 'NETWORK');
  return result.ok ? undefined : result.error;
}

describe('secrets never reach a log line, a span or a channel payload', () => {
  test('a POST with credentials, cookies, a card payment body and api_key in the query, retried once', async () => {
    script = [503];
    const payments = make({ retry: { throttledBaseDelay: 1 } });
    const res = await payments.post('/charges/:id', {
      params: { id: 'ch_1' },
      query: { api_key: SECRETS.queryKey, token: SECRETS.queryToken, page: 1 },
      json: paymentBody,
      idempotent: true,
    });
    assert.equal(res.status, 200);
    await res.text();

    const sent = server.received[0];
    assert.ok(sent);
    assert.equal(
      sent.headers.authorization,
      `Bearer ${SECRETS.bearer}`,
      'the server got the real credentials',
    );
    assert.ok(sent.url.includes(SECRETS.queryKey));
    assert.ok(sent.body.includes(SECRETS.password) && sent.body.includes(CARDS[0] ?? '-'));
    assertNoSinkLeaked();

    const lines = raw.map((s) => JSON.parse(s) as Record<string, unknown>);
    const request = lines.find((l) => l.event === 'request');
    assert.ok(request);
    const headers = request.headers as Record<string, string>;
    assert.equal(headers.authorization, '[REDACTED]');
    assert.equal(headers['x-api-key'], '[REDACTED]');
    assert.match(String(headers.cookie), /REDACTED/);
    assert.match(
      String(request.url),
      /api_key=(\[REDACTED\]|REDACTED)&token=(\[REDACTED\]|REDACTED)&page=1$/,
    );
    const body = (
      typeof request.body === 'string' ? JSON.parse(request.body) : request.body
    ) as typeof paymentBody;
    assert.equal(body.customer.id, 'cus_42', 'what is not secret stays readable');
    assert.equal(body.customer.password, '[REDACTED]');
    assert.equal(body.payment.exp, '12/30');
    const response = lines.find((l) => l.event === 'response');
    assert.match(JSON.stringify(response?.headers), /set-cookie/);
  });

  test('URL userinfo given through `url` leaks nowhere', async () => {
    const payments = make({ retry: false });
    const origin = new URL(server.origin);
    const res = await payments.request({
      url: `http://alice:${SECRETS.userinfoPass}@${origin.host}/me?access_token=${SECRETS.queryToken}`,
    });
    await res.text();
    assertNoSinkLeaked();
  });

  test('an open breaker refusing a call with api_key in its query: logs and spans', async () => {
    await openBreakerScenario();
    assertNoSinkLeaked({ channels: false });
  });

  test('a network failure with a token in the query: logs and spans', async () => {
    await networkFailureScenario();
    assertNoSinkLeaked({ channels: false });
  });

  test('the same two failures: channel payloads and the error the caller gets', async () => {
    const refused = await openBreakerScenario();
    await client?.destroy();
    const errors = [refused, await networkFailureScenario()];
    assertClean('the caller’s errors', serialise(errors));
    assertClean('the channel payloads', serialise(published));
  });
});

/** A Luhn-valid number of `length` digits starting with `prefix`. */
function luhnNumber(prefix: string, digits: readonly number[], length: number): string {
  let body = prefix;
  for (let i = 0; body.length < length - 1; i++) body += String(digits[i % digits.length] ?? 0);
  let sum = 0;
  for (let i = body.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = Number(body[i]) * (double ? 2 : 1);
    if (d > 9) d -= 9;
    sum += d;
  }
  return body + String((10 - (sum % 10)) % 10);
}

const SECRET_KEYS = [
  'password',
  'Password',
  'api_key',
  'apiKey',
  'API-KEY',
  'token',
  'access_token',
  'client_secret',
  'cvv',
  'card_number',
  'cardNumber',
  'ssn',
];

/** A secret value: a distinctive prefix plus random characters, so finding it is never a coincidence. */
const secretValue = fc
  .string({
    unit: fc.constantFrom(...'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'.split('')),
    minLength: 10,
    maxLength: 24,
  })
  .map((s) => `Zq${s}`);

const cardNumber = fc
  .tuple(
    fc.constantFrom('4', '51', '55', '37', '6011'),
    fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 4, maxLength: 4 }),
    fc.constantFrom(15, 16),
  )
  .map(([prefix, digits, length]) => luhnNumber(prefix, digits, prefix === '37' ? 15 : length));

/** A plant: a secret field somewhere, or a card number inside free text. */
type Plant = { kind: 'field'; key: string; value: string } | { kind: 'card'; card: string; before: string };

const plant: fc.Arbitrary<Plant> = fc.oneof(
  fc.record({
    kind: fc.constant('field' as const),
    key: fc.constantFrom(...SECRET_KEYS),
    value: secretValue,
  }),
  fc.record({
    kind: fc.constant('card' as const),
    card: cardNumber,
    before: fc.constantFrom('paid with ', 'card: ', '', 'ref '),
  }),
);

/** Puts `p` into `value` at a random depth; returns the new value and the secret to look for. */
function insert(value: unknown, p: Plant, path: readonly number[]): unknown {
  const leaf = p.kind === 'field' ? { [p.key]: p.value } : { memo: `${p.before}${p.card} ok` };
  if (path.length === 0 || value === null || typeof value !== 'object') {
    return Array.isArray(value)
      ? [...(value as unknown[]), leaf]
      : { ...(value !== null && typeof value === 'object' ? value : { v: value }), ...leaf };
  }
  const [step = 0, ...rest] = path;
  if (Array.isArray(value)) {
    if (value.length === 0) return [leaf];
    const at = step % value.length;
    return value.map((v: unknown, i) => (i === at ? insert(v, p, rest) : v));
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return leaf;
  const key = keys[step % keys.length] ?? '';
  return {
    ...(value as Record<string, unknown>),
    [key]: insert((value as Record<string, unknown>)[key], p, rest),
  };
}

describe('property: random JSON bodies with planted secrets, logged with logBody', () => {
  test('no planted secret ever appears in the log stream', async () => {
    const payments = make({ retry: false, circuitBreaker: false, telemetry: false });
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue({ maxDepth: 4 }),
        fc.array(fc.tuple(plant, fc.array(fc.nat(), { maxLength: 5 })), { minLength: 1, maxLength: 4 }),
        async (base, plants) => {
          let body: unknown = base;
          for (const [p, path] of plants) body = insert(body, p, path);
          raw = [];
          const res = await payments.post('/ingest', { json: body });
          await res.text();
          const log = raw.join('');
          assert.ok(log.includes('"event":"request"'), 'the request line was written');
          for (const [p] of plants) {
            const secret = p.kind === 'field' ? p.value : p.card;
            assert.ok(!log.includes(secret), `leaked ${secret} from ${JSON.stringify(body)}:\n${log}`);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
