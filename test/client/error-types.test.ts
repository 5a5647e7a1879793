/**
 * The fields a code promises in its type are there at run time, and `instanceof BulwarkError`
 * holds for an error made by another copy of the package.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BulwarkError, createClient, isBulwarkError } from '../../src/index.js';
import { VERSION } from '../../src/version.js';
import { mockTransport } from '../../src/testing/index.js';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('error types at run time', () => {
  test('instanceof BulwarkError and isBulwarkError hold across two copies of the package', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-copy-'));
    try {
      const copy = join(dir, 'errors.ts');
      copyFileSync(new URL('../../src/errors.ts', import.meta.url), copy);
      const other = (await import(pathToFileURL(copy).href)) as typeof import('../../src/errors.js');
      assert.notEqual(other.BulwarkError, BulwarkError, 'a second copy of the class');
      const foreign: unknown = new other.BulwarkError('ABORTED', 'from the other copy');
      assert.ok(foreign instanceof BulwarkError);
      assert.ok(isBulwarkError(foreign, 'ABORTED'));
      const ours: unknown = new BulwarkError('TIMEOUT', 'ours', { timeoutMs: 5 });
      assert.ok(ours instanceof other.BulwarkError);
      assert.ok(!(new Error('plain') instanceof BulwarkError));
      assert.ok(!(Object.create(null) instanceof BulwarkError));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('CIRCUIT_OPEN carries a numeric retryAfterMs and its key', async () => {
    const mock = mockTransport();
    mock.on('GET', '/down').reply(500);
    const client = createClient({
      baseUrl: 'http://api.test',
      transport: mock,
      retry: false,
      circuitBreaker: { failureThreshold: 1, failureRatio: false },
    });
    await (await client.get('/down')).text();
    const r = await client.safe.get('/down');
    assert.ok(!r.ok);
    switch (r.error.code) {
      case 'CIRCUIT_OPEN':
        assert.equal(typeof r.error.retryAfterMs, 'number');
        assert.ok(r.error.retryAfterMs > 0);
        assert.equal(r.error.key, 'http://api.test');
        break;
      default:
        assert.fail(`expected CIRCUIT_OPEN, got ${r.error.code}`);
    }
    await client.close();
  });

  test('NETWORK carries an Error cause with its socket code, and sent', async () => {
    const port = await closedPort();
    await using client = createClient({ baseUrl: `http://127.0.0.1:${port}`, retry: false });
    const r = await client.safe.get('/x');
    assert.ok(!r.ok && r.error.code === 'NETWORK', String(!r.ok && r.error.code));
    assert.ok(r.error.cause instanceof Error);
    assert.equal(r.error.cause.code, 'ECONNREFUSED');
    assert.equal(r.error.sent, false);
  });

  test('HTTP_STATUS carries the response', async () => {
    const mock = mockTransport();
    mock.on('GET', '/missing').reply(404, { error: 'nope' });
    const client = createClient({ baseUrl: 'http://api.test', transport: mock, throwHttpErrors: true });
    const error = await client.get('/missing').then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    assert.ok(isBulwarkError(error, 'HTTP_STATUS'));
    assert.equal(error.response.status, 404);
    assert.deepEqual(await error.response.json(), { error: 'nope' });
    await client.close();
  });

  test('the version in the default user-agent is the package version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    assert.equal(VERSION, pkg.version);
  });
});
