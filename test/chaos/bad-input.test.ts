/**
 * Hostile input from the caller: header, method and path injection are refused before a byte
 * is sent, and credentials in a URL never surface in an error or a log line.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  createClient,
  isBulwarkError,
  type BulwarkError,
  type Client,
  type ClientOptions,
} from '../../src/index.js';
import {
  acceptNeverAnswer,
  countingServer,
  refusedPort,
  type CountingServer,
} from '../helpers/hostile-server.js';
import { assertCode } from '../helpers/assert-error.js';
import { failOnUnhandledRejections } from '../helpers/unhandled.js';
import { BAD_INPUT_CASES } from './fixtures/bad-input-cases.js';
import { ATTEMPT_MS } from './fixtures/fault-cases.js';
import { chaosClient, holdEventLoop } from './fixtures/chaos.js';

failOnUnhandledRejections();

let server: CountingServer;
const clients: Client[] = [];
function client(options: ClientOptions = {}): Client {
  const c = chaosClient(server.url, options);
  clients.push(c);
  return c;
}

before(async () => {
  server = await countingServer((req, res) => {
    if (req.url?.split('?')[0] === '/500') res.statusCode = 500;
    if (req.url === '/big') res.end('x'.repeat(5_000));
    else if (req.url === '/ftp') {
      res.writeHead(302, { location: 'ftp://127.0.0.1/' });
      res.end();
    } else res.end('ok');
  });
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server.close();
});

describe('injection is refused before anything is sent', () => {
  for (const c of BAD_INPUT_CASES) {
    test(`${c.name}: ${c.outcome.refused ? `INVALID_REQUEST (${c.outcome.path})` : 'sent encoded'}`, async () => {
      const before = server.requests;
      // A breaker that opens on the first failure: a refusal must not count against the upstream.
      const cl = client({ circuitBreaker: { failureThreshold: 1 } });
      const result = await cl.safe.request({ path: '/in', ...c.request });
      if (c.outcome.refused) {
        assert.equal(result.ok, false, 'refused');
        assertCode(result.error, 'INVALID_REQUEST');
        assert.equal(result.error.path, c.outcome.path);
        assert.ok((result.error.attempts ?? 0) <= 1, 'never retried');
        assert.equal(server.requests, before, 'nothing reached the server');
        const next = await cl.get('/in');
        assert.equal(next.status, 200, 'the circuit stayed closed');
        await next.text();
      } else {
        assert.equal(result.ok, true);
        await result.response.text();
        assert.equal(server.received.at(-1)?.path, c.outcome.seenPath);
        assert.equal(server.requests, before + 1);
      }
    });
  }

  test('a bad default header fails createClient with INVALID_OPTIONS naming it', () => {
    assert.throws(
      () => createClient({ baseUrl: server.url, headers: { 'x-default': 'v\r\nx-injected: 1' } }),
      (e: unknown) => isBulwarkError(e, 'INVALID_OPTIONS') && e.path === 'headers.x-default',
    );
  });

  test('the offending header value is withheld from the message', async () => {
    const result = await client().safe.get('/in', { headers: { 'x-token': 'secret-value\r\n' } });
    assert.equal(result.ok, false);
    assert.ok(!result.error.message.includes('secret-value'), result.error.message);
  });

  test('CR LF in a url is stripped by the URL parser, never sent as a header', async () => {
    const res = await client().request({ url: `${server.url}/in\r\nx-injected: 1` });
    await res.text();
    const last = server.received.at(-1);
    assert.ok(last);
    assert.equal(last.headers['x-injected'], undefined);
    assert.ok(!/[\r\n ]/.test(last.path), last.path);
  });
});

/** A pino-shaped logger that keeps every line as JSON. */
function capturingLogger(): {
  lines: string[];
  logger: NonNullable<NonNullable<ClientOptions['logging']>['logger']>;
} {
  const lines: string[] = [];
  const write =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push(
        JSON.stringify({ level, ...obj, msg }, (_k, v: unknown) =>
          v instanceof Error ? { message: v.message, stack: v.stack } : v,
        ),
      );
    };
  const logger = {
    level: 'trace',
    trace: write('trace'),
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    fatal: write('fatal'),
    child: () => logger,
  };
  return { lines, logger };
}

/** Everything an error exposes as text: message, stack, url, and its cause chain. */
function errorText(error: BulwarkError): string {
  const parts: string[] = [String(error), error.stack ?? '', error.url ?? ''];
  let cause: unknown = error.cause;
  for (let i = 0; i < 5 && cause instanceof Error; i++) {
    parts.push(String(cause), cause.stack ?? '');
    cause = cause.cause;
  }
  return parts.join('\n');
}

describe('credentials in a URL', () => {
  const user = 'alice-user';
  const password = 'pw-8c1f-not-for-logs';
  const basic = Buffer.from(`${user}:${password}`).toString('base64');
  const token = 'tok-5ec7e7-not-for-logs';
  const leaks = (text: string): string[] => [user, password, basic, token].filter((s) => text.includes(s));

  test('are sent as Basic auth but never appear in an error message or a log line', async () => {
    const { lines, logger } = capturingLogger();
    const hole = await acceptNeverAnswer();
    const refused = await refusedPort();
    const release = holdEventLoop();
    const withCreds = (base: string, path: string): string => {
      const u = new URL(path, base);
      u.username = user;
      u.password = password;
      return u.href;
    };
    try {
      const c = client({
        logging: { logger, level: 'trace', logHeaders: true },
        allowedHosts: ['127.0.0.1'],
        maxResponseBytes: 1_000,
      });
      const ok = await c.request({ url: withCreds(server.url, '/in?token=abc') });
      assert.equal(await ok.text(), 'ok');
      assert.equal(
        server.received.at(-1)?.headers.authorization,
        `Basic ${basic}`,
        'the credentials were used',
      );

      // Thunks: each call starts only when awaited, so no rejection waits unobserved.
      const failures: [BulwarkError['code'], () => Promise<unknown>][] = [
        ['NETWORK', () => c.request({ url: withCreds(refused.url, `/down?access_token=${token}`) })],
        [
          'ATTEMPT_TIMEOUT',
          () =>
            c.request({ url: withCreds(hole.url, '/hole'), retry: false, timeout: { attempt: ATTEMPT_MS } }),
        ],
        ['REDIRECT', () => c.request({ url: withCreds(server.url, '/ftp') })],
        ['RESPONSE_TOO_LARGE', () => c.request({ url: withCreds(server.url, '/big') })],
        [
          'HTTP_STATUS',
          () =>
            c.request({
              url: withCreds(server.url, `/500?access_token=${token}`),
              throwHttpErrors: true,
              retry: false,
            }),
        ],
        [
          'BLOCKED_DESTINATION',
          () => c.request({ url: withCreds(server.url.replace('127.0.0.1', 'localhost'), '/x') }),
        ],
        [
          'INVALID_REQUEST',
          () => c.request({ url: withCreds(server.url, '/in'), headers: { 'x-a': 'v\x01' } }),
        ],
        [
          'INVALID_REQUEST',
          () => c.request({ url: withCreds(server.url, '/in'), headers: { 'x-a': 'v\r\n' } }),
        ],
      ];
      for (const [code, call] of failures) {
        const error = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        assertCode(error, code);
        assert.deepEqual(leaks(errorText(error)), [], `${code} leaks: ${errorText(error)}`);
      }
      assert.ok(lines.length >= 8, `the logger was used (${lines.length} lines)`);
      assert.ok(
        lines.some((l) => l.includes('"event":"error"')),
        'failures were logged',
      );
      for (const line of lines) assert.deepEqual(leaks(line), [], `log line leaks: ${line}`);
    } finally {
      release();
      await hole.close();
    }
  });
});
