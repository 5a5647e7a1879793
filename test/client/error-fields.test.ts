/** Every error a call ends with names the call: method, redacted URL and attempts (docs/errors.md). */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { createClient, isBulwarkError } from '../../src/index.js';
import { startServer, type TestServer } from '../helpers/http-server.js';

describe('error fields', () => {
  let server: TestServer;
  before(async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024));
    server = await startServer((req, res) => {
      if (req.url?.startsWith('/bomb')) {
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' });
        res.end(bomb);
        return;
      }
      res.end('ok');
    });
  });
  after(async () => {
    await server.close();
  });

  test('a body too large once decoded: RESPONSE_TOO_LARGE with method, redacted url and attempts', async () => {
    const client = createClient({ baseUrl: server.origin, maxResponseBytes: 1_024, retry: false });
    try {
      const response = await client.get('/bomb', { query: { access_token: 'tok-bomb-secret' } });
      const error = await response.text().then(
        () => assert.fail('resolved'),
        (e: unknown) => e,
      );
      assert.ok(isBulwarkError(error, 'RESPONSE_TOO_LARGE'), String(error));
      assert.equal(error.method, 'GET');
      assert.equal(error.attempts, 1);
      assert.ok(error.url?.startsWith(`${server.origin}/bomb`), error.url);
      assert.doesNotMatch(JSON.stringify(error), /tok-bomb-secret/);
    } finally {
      await client.close();
    }
  });

  test('a closed client: ABORTED with method, redacted url and 0 attempts; nothing sent', async () => {
    const client = createClient({ baseUrl: server.origin });
    await client.close();
    const error = await client.post('/orders', { json: {}, query: { api_key: 'k-closed-secret' } }).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    assert.ok(isBulwarkError(error, 'ABORTED'), String(error));
    assert.equal(error.method, 'POST');
    assert.equal(error.attempts, 0);
    assert.ok(error.url?.startsWith(`${server.origin}/orders`), error.url);
    assert.doesNotMatch(`${error.message} ${error.url}`, /k-closed-secret/);
  });

  test('a blocked destination: BLOCKED_DESTINATION with method and url', async () => {
    const client = createClient({ baseUrl: server.origin, allowedHosts: ['api.example.com'] });
    try {
      const error = await client.get('/x').then(
        () => assert.fail('resolved'),
        (e: unknown) => e,
      );
      assert.ok(isBulwarkError(error, 'BLOCKED_DESTINATION'), String(error));
      assert.equal(error.method, 'GET');
      assert.equal(error.url, `${server.origin}/x`);
    } finally {
      await client.close();
    }
  });

  test("an error from the user's own middleware: NETWORK naming the call, redacted", async () => {
    const client = createClient({
      baseUrl: server.origin,
      use: [
        () => {
          throw new TypeError('middleware broke');
        },
      ],
    });
    try {
      const error = await client.get('/y', { query: { token: 'tok-mw-secret' } }).then(
        () => assert.fail('resolved'),
        (e: unknown) => e,
      );
      assert.ok(isBulwarkError(error), String(error));
      assert.equal(error.method, 'GET');
      assert.doesNotMatch(`${error.message} ${error.url}`, /tok-mw-secret/);
    } finally {
      await client.close();
    }
  });
});
