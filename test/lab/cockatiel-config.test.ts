import { test, describe, after } from 'node:test';
import { strict as assert } from 'node:assert';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from '../../src/index.js';
import { loadClientConfig } from '../../lab/engine/files.js';

/** A loopback API answering the statuses of `script` in turn, then 200. */
async function api(
  script: number[],
): Promise<{ url: string; received: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = createServer((_req, res) => {
    const status = script[n++] ?? 200;
    res.writeHead(status, { 'content-type': 'text/plain' }).end(String(status));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => n,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('the cockatiel comparison configuration (lab/configs/cockatiel.ts)', () => {
  const closing: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closing) await close();
  });

  test('loads as a factory: fresh options (and policies) for every run, bulwark retry and breaker off', async () => {
    const config = await loadClientConfig('lab/configs/cockatiel.ts');
    assert.equal(config.name, 'cockatiel');
    assert.equal(config.options['retry'], false);
    assert.equal(config.options['circuitBreaker'], false);
    const [a, b] = [config.create!(), config.create!()];
    assert.notEqual((a['use'] as unknown[])[0], (b['use'] as unknown[])[0]);
  });

  test('retries 5xx through `use` and returns the success; its attempts count every try', async () => {
    const server = await api([503, 500]);
    closing.push(server.close);
    const config = await loadClientConfig('lab/configs/cockatiel.ts');
    const client = createClient({ ...config.create!(), baseUrl: server.url });
    closing.push(() => client.close());
    const res = await client.request({ path: '/x' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '200');
    assert.equal(server.received(), 3);
  });

  test('out of attempts, the caller gets the last failed answer; 5 failures in a row open its breaker', async () => {
    const server = await api(Array.from({ length: 20 }, () => 500));
    closing.push(server.close);
    const config = await loadClientConfig('lab/configs/cockatiel.ts');
    const client = createClient({ ...config.create!(), baseUrl: server.url });
    closing.push(() => client.close());
    const first = await client.request({ path: '/x' });
    assert.equal(first.status, 500);
    assert.equal(server.received(), 4, 'a try and three retries');
    // One more failure makes five in a row: the breaker opens, and what is left sends nothing.
    const broken = (e: unknown): boolean =>
      e instanceof Error && e.cause instanceof Error && /circuit breaker is open/.test(e.cause.message);
    await assert.rejects(client.request({ path: '/x' }), broken);
    const sent = server.received();
    assert.equal(sent, 5);
    await assert.rejects(client.request({ path: '/x' }), broken);
    assert.equal(server.received(), sent);
  });
});
