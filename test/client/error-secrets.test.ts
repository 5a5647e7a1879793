/**
 * Errors and responses never show a secret, however they are logged: `JSON.stringify`, real
 * pino (`logger.error({ err })`, `logger.info({ res })`), `util.inspect` and a real `Console`
 * (`console.error(err)`), which is what the docs tell users to do with an error. And no error
 * message echoes a credential the caller passed by mistake (docs/faults.md).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { pino } from 'pino';
import { createClient, isBulwarkError, type BulwarkError, type Client } from '../../src/index.js';
import { startServer, type TestServer } from '../helpers/http-server.js';

const SECRETS = {
  apiKey: 'QRY-apikey-0a1b2c3d',
  partnerRef: 'PARTNER-ref-998877',
  cookie: 'SETCOOKIE-5f6e7d8c',
  body: 'BODY-secret-44332211',
  bearer: 'sk_live_BEARER-1234',
} as const;

/** The body bytes as a Buffer would print them: hex and JSON's decimal list. */
const BODY_TEXT = `{"token":"${SECRETS.body}"}`;
const BODY_FORMS = [
  Buffer.from(BODY_TEXT).toString('hex').slice(0, 24),
  Buffer.from(BODY_TEXT)
    .subarray(0, 8)
    .reduce((list, byte) => `${list},${byte}`, '')
    .slice(1),
];

function assertClean(where: string, text: string): void {
  for (const secret of [...Object.values(SECRETS), ...BODY_FORMS]) {
    assert.ok(!text.includes(secret), `${where} shows ${secret}:\n${text}`);
  }
}

/** Everything a real pino logger writes, as text. */
function pinoCapture(): { logger: ReturnType<typeof pino>; text: () => string } {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out += chunk.toString();
      done();
    },
  });
  return { logger: pino({ level: 'trace' }, sink), text: () => out };
}

/** Everything a real Console writes to its streams, as text. */
function consoleCapture(): { console: Console; text: () => string } {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out += chunk.toString();
      done();
    },
  });
  return { console: new Console({ stdout: sink, stderr: sink }), text: () => out };
}

describe('an HTTP_STATUS error and its response serialise redacted', () => {
  let server: TestServer;
  let client: Client;
  before(async () => {
    server = await startServer((_req, res) => {
      res.writeHead(401, {
        'content-type': 'application/json',
        'set-cookie': `session=${SECRETS.cookie}`,
        'x-request-cost': '3',
      });
      res.end(BODY_TEXT);
    });
    client = createClient({
      baseUrl: server.origin,
      throwHttpErrors: true,
      retry: false,
      headers: { authorization: `Bearer ${SECRETS.bearer}` },
      logging: { redact: { queryParams: ['partner_ref'] } },
    });
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  async function refused(): Promise<BulwarkError> {
    const error = await client
      .get('/account', { query: { api_key: SECRETS.apiKey, partner_ref: SECRETS.partnerRef, page: '2' } })
      .then(
        () => assert.fail('resolved'),
        (e: unknown) => e,
      );
    assert.ok(isBulwarkError(error, 'HTTP_STATUS'), String(error));
    return error;
  }

  test('pino: logger.error({ err }) shows status and the redacted URL, never the body or a secret', async () => {
    const err = await refused();
    const { logger, text } = pinoCapture();
    logger.error({ err }, 'call failed');
    const line = JSON.parse(text()) as { err: { code: string; response: Record<string, unknown> } };
    assert.equal(line.err.code, 'HTTP_STATUS');
    assert.equal(line.err.response.status, 401);
    assert.match(
      String(line.err.response.url),
      /\/account\?api_key=\[REDACTED\]&partner_ref=\[REDACTED\]&page=2$/,
    );
    assert.equal((line.err.response.headers as Record<string, string>)['set-cookie'], '[REDACTED]');
    assert.equal((line.err.response.headers as Record<string, string>)['x-request-cost'], '3');
    assertClean('pino', text());
  });

  test('util.inspect and console.error(err) show the response redacted, at any depth', async () => {
    const err = await refused();
    for (const options of [{}, { depth: Infinity }, { depth: Infinity, showHidden: true }, { depth: 0 }]) {
      const shown = inspect(err, options);
      assertClean(`inspect ${JSON.stringify(options)}`, shown);
    }
    assert.match(inspect(err), /response: BulwarkResponse \{\s+status: 401/);
    const { console, text } = consoleCapture();
    console.error(err);
    console.log('%o', err);
    console.dir(err, { depth: 10 });
    assert.match(text(), /HTTP_STATUS/);
    assertClean('console', text());
  });

  test('JSON.stringify(err) and err.toJSON() carry the response summary, never the body', async () => {
    const err = await refused();
    const json = JSON.stringify(err);
    assert.equal((JSON.parse(json) as { response: { status: number } }).response.status, 401);
    assertClean('JSON.stringify(err)', json);
    assertClean('err.toJSON()', inspect(err.toJSON(), { depth: Infinity }));
  });

  test('a resolved response logged as it is: pino { res }, JSON.stringify, inspect', async () => {
    const lenient = createClient({ baseUrl: server.origin, retry: false });
    try {
      const res = await lenient.get('/account', { query: { api_key: SECRETS.apiKey } });
      const { logger, text } = pinoCapture();
      logger.info({ res }, 'answer');
      assertClean('pino { res }', text());
      assertClean('JSON.stringify(res)', JSON.stringify(res));
      assertClean('inspect(res)', inspect(res, { depth: Infinity, showHidden: true }));
      assert.match(inspect(res), /^BulwarkResponse \{/);
      // The response itself is untouched: the caller still reads its URL and body.
      assert.ok(res.url.includes(SECRETS.apiKey));
      assert.equal(await res.text(), BODY_TEXT);
    } finally {
      await lenient.close();
    }
  });
});

describe('no error message echoes a credential the caller passed by mistake', () => {
  const TOKEN = 'sk_live_ECHO-5566778899';

  /** Every way the error can be read: message, stack, JSON, inspect, pino. */
  function assertNoEcho(
    where: string,
    error: unknown,
    code: 'INVALID_OPTIONS' | 'INVALID_REQUEST',
    path: string,
  ): void {
    assert.ok(isBulwarkError(error, code), `${where}: ${String(error)}`);
    assert.equal(error.path, path, where);
    const { logger, text } = pinoCapture();
    logger.error({ err: error });
    for (const shown of [error.message, String(error.stack), JSON.stringify(error), inspect(error), text()]) {
      assert.ok(
        !shown.includes(TOKEN) && !shown.includes('ECHO-5566'),
        `${where} echoes the secret: ${shown}`,
      );
    }
  }

  const thrown = (fn: () => unknown): unknown => {
    try {
      fn();
    } catch (error) {
      return error;
    }
    return assert.fail('did not throw');
  };

  test('an unknown client option ({ apiKey }) names the option and the kind of value only', () => {
    const error = thrown(() => createClient({ apiKey: TOKEN } as never));
    assertNoEcho('client apiKey', error, 'INVALID_OPTIONS', 'apiKey');
    assert.match((error as Error).message, /`apiKey`: got a string \(not shown\), expected a known option/);
    const nested = thrown(() => createClient({ retry: { authorization: `Bearer ${TOKEN}` } } as never));
    assertNoEcho('nested unknown option', nested, 'INVALID_OPTIONS', 'retry.authorization');
  });

  test('an unparsable baseUrl with userinfo or a secret query is shown redacted', () => {
    for (const baseUrl of [
      `http://user:${TOKEN}@[bad/`,
      `ftp://user:${TOKEN}@host/`,
      `https://h/?token=${TOKEN}`,
    ]) {
      const error = thrown(() => createClient({ baseUrl }));
      assertNoEcho(baseUrl, error, 'INVALID_OPTIONS', 'baseUrl');
    }
  });

  describe('request options', () => {
    let client: Client;
    let bare: Client;
    before(() => {
      client = createClient({ baseUrl: 'http://127.0.0.1:9', retry: false });
      bare = createClient({ retry: false });
    });
    after(async () => {
      await client.close();
      await bare.close();
    });

    test('an unknown request option ({ authorization }) names the option, not its value', async () => {
      const error = await client
        .request({ path: '/x', authorization: `Bearer ${TOKEN}` } as never)
        .catch((e: unknown) => e);
      assertNoEcho('request authorization', error, 'INVALID_REQUEST', 'authorization');
      assert.match((error as Error).message, /`authorization`: got a string \(not shown\)/);
    });

    test('an unparsable url with user:pass@ is shown redacted', async () => {
      for (const url of [`http://user:${TOKEN}@[bad/x`, `http://user:${TOKEN}@ho st/x`]) {
        const error = await client.request({ url }).catch((e: unknown) => e);
        assertNoEcho(url, error, 'INVALID_REQUEST', 'url');
        assert.match((error as Error).message, /http:\/\/\[REDACTED\]@/);
      }
    });

    test('a refused path carrying ?token= is shown redacted', async () => {
      const cases: [Client, string][] = [
        [client, `https://evil.test/x?token=${TOKEN}`],
        [client, `//evil.test/x?token=${TOKEN}`],
        [client, `/in valid?token=${TOKEN}`],
        [bare, `/relative?api_key=${TOKEN}`],
      ];
      for (const [c, path] of cases) {
        const error = await c.get(path).catch((e: unknown) => e);
        assertNoEcho(path, error, 'INVALID_REQUEST', 'path');
      }
    });

    test('a parameter the path does not use is named, its value withheld', async () => {
      const error = await client
        .get('/users/:id', { params: { id: '7', session: TOKEN } })
        .catch((e: unknown) => e);
      assertNoEcho('params.session', error, 'INVALID_REQUEST', 'params.session');
    });
  });
});
