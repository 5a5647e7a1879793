/**
 * `bulwark:attempt`: a start and an end message per attempt with its duration (Tesla's
 * per-request telemetry), over a loopback server and, for the duration, the virtual clock.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '../../src/index.js';
import type { AttemptMessage } from '../../src/observability/index.js';
import { captureChannel } from '../helpers/channel-capture.js';
import { startServer, type TestServer } from '../helpers/http-server.js';
import { ORIGIN, virtualClient } from '../helpers/virtual-client.js';

const attempts = captureChannel<AttemptMessage>('bulwark:attempt');

describe('bulwark:attempt', () => {
  let server: TestServer;
  let statuses: number[] = [];
  before(async () => {
    server = await startServer((req, res) => {
      if (req.url?.startsWith('/moved') === true) {
        res.writeHead(302, { location: '/x?token=s3cret' });
        res.end();
        return;
      }
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  after(() => server.close());
  afterEach(() => {
    attempts.stop();
    statuses = [];
  });

  test('one start and one end per attempt, numbered, with status, redacted URL and no secret', async () => {
    const client = createClient({
      name: 'svc',
      baseUrl: server.origin,
      retry: { maxRetries: 2, baseDelay: 1, maxDelay: 1 },
    });
    statuses = [503];
    attempts.start();
    try {
      await (await client.get('/x?token=s3cret')).text();
      const seen = attempts.messages.map((m) => [m.type, m.attempt, m.type === 'end' ? m.status : undefined]);
      assert.deepEqual(seen, [
        ['start', 1, undefined],
        ['end', 1, 503],
        ['start', 2, undefined],
        ['end', 2, 200],
      ]);
      const end = attempts.messages[1];
      assert.ok(end?.type === 'end');
      assert.equal(end.client, 'svc');
      assert.equal(end.method, 'GET');
      assert.equal(end.key, server.origin);
      assert.match(end.correlationId, /^req_[0-9a-f]{16}$/);
      assert.equal(end.errorCode, undefined);
      assert.ok(end.durationMs >= 0);
      assert.ok(!JSON.stringify(attempts.messages).includes('s3cret'));
    } finally {
      await client.close();
    }
  });

  test('a redirect hop is reported as its own start/end, and a refused connection as an error code', async () => {
    const client = createClient({ baseUrl: server.origin, retry: false });
    attempts.start();
    try {
      await (await client.get('/moved')).text();
      assert.deepEqual(
        attempts.messages.map((m) => [m.type, m.redirects, m.type === 'end' ? m.status : undefined]),
        [
          ['start', 0, undefined],
          ['end', 0, 302],
          ['start', 1, undefined],
          ['end', 1, 200],
        ],
      );
    } finally {
      await client.close();
    }
    const closed = await startServer(() => undefined);
    const origin = closed.origin;
    await closed.close();
    const refused = createClient({ baseUrl: origin, retry: false, circuitBreaker: false });
    attempts.messages.length = 0;
    try {
      await refused.get('/x').catch(() => undefined);
      const end = attempts.messages.find((m) => m.type === 'end');
      assert.ok(end?.type === 'end');
      assert.equal(end.status, undefined);
      assert.equal(end.errorCode, 'NETWORK');
    } finally {
      await refused.close();
    }
  });

  test('durationMs is the attempt time on the client clock (virtual: exact)', async () => {
    const { clock, mock, client } = virtualClient({ timeout: { attempt: 1_000, total: 5_000 } });
    mock.on('GET', '/slow').reply(200, 'ok', { delay: 120 });
    mock.on('GET', '/stuck').reply(200, 'ok', { delay: 10_000 });
    attempts.start();
    const slow = client.get('/slow');
    await clock.advance(120);
    await (await slow).text();
    const stuck = client.get('/stuck').catch((e: unknown) => e);
    await clock.advance(1_000);
    await stuck;
    const ends = attempts.messages.flatMap((m) =>
      m.type === 'end' ? [[m.url, m.durationMs, m.status, m.errorCode]] : [],
    );
    assert.deepEqual(ends, [
      [`${ORIGIN}/slow`, 120, 200, undefined],
      [`${ORIGIN}/stuck`, 1_000, undefined, 'ATTEMPT_TIMEOUT'],
    ]);
  });
});
