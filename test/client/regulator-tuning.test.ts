import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, isBulwarkError, type Client } from '../../src/index.js';
import type { AttemptOutcome } from '../../src/pipeline/outcome.js';
import type { ConcurrencySnapshot } from '../../src/policies/concurrency/index.js';
import { startServer, type TestServer } from '../helpers/http-server.js';

/** Hardhat's Regulator tuning through `concurrency`: `backoffRatio` for AIMD and `isDropped`. */
describe('concurrency.backoffRatio and concurrency.isDropped over a loopback server', () => {
  let server: TestServer;
  let clients: Client[] = [];
  const statuses: number[] = [];
  const client = (concurrency: Record<string, unknown>): Client => {
    const c = createClient({ baseUrl: server.origin, retry: false, circuitBreaker: false, concurrency });
    clients.push(c);
    return c;
  };
  const limit = (c: Client): number => (c.inspect().concurrency as ConcurrencySnapshot).limit;
  const send = async (c: Client, status: number): Promise<void> => {
    statuses.push(status);
    await (await c.get('/x')).text();
  };
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
    clients = [];
  });

  test('backoffRatio 0.5 halves the AIMD limit on each drop; the default takes 10 %', async () => {
    server = await startServer((_req, res) => {
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
    const halving = client({ algorithm: 'aimd', initialLimit: 20, backoffRatio: 0.5 });
    await send(halving, 503);
    assert.equal(limit(halving), 10);
    await send(halving, 503);
    assert.equal(limit(halving), 5);
    const standard = client({ algorithm: 'aimd', initialLimit: 20 });
    await send(standard, 503);
    assert.equal(limit(standard), 18);
    const floored = client({ algorithm: 'aimd', initialLimit: 4, minLimit: 3, backoffRatio: 0.5 });
    await send(floored, 503);
    assert.equal(limit(floored), 3, 'the bounds still hold');
  });

  test('isDropped decides which outcomes lower the limit (a 500 yes, a 503 no)', async () => {
    server = await startServer((_req, res) => {
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
    const seen: AttemptOutcome[] = [];
    const c = client({
      algorithm: 'aimd',
      initialLimit: 20,
      backoffRatio: 0.5,
      isDropped: (o: AttemptOutcome) => {
        seen.push(o);
        return o.error !== undefined || o.response.status === 500;
      },
    });
    await send(c, 503);
    assert.equal(limit(c), 20, 'a 503 the predicate clears is a plain sample');
    await send(c, 500);
    assert.equal(limit(c), 10, 'a 500 the predicate calls a drop backs off');
    assert.equal(seen.length, 2);
    const second = seen[1];
    assert.ok(second !== undefined);
    assert.equal(second.response?.status, 500);
    assert.equal(second.method, 'GET');
    assert.equal(second.url, `${server.origin}/x`);
  });

  test('a refused connection reaches isDropped as an error outcome', async () => {
    server = await startServer((_req, res) => void res.end());
    const origin = server.origin;
    await server.close();
    server = await startServer((_req, res) => void res.end()); // for afterEach
    let judged: AttemptOutcome | undefined;
    const c = createClient({
      baseUrl: origin,
      retry: false,
      circuitBreaker: false,
      concurrency: {
        algorithm: 'aimd',
        initialLimit: 20,
        isDropped: (o: AttemptOutcome) => {
          judged = o;
          return false;
        },
      },
    });
    clients.push(c);
    await assert.rejects(c.get('/x'), (e: unknown) => isBulwarkError(e, 'NETWORK'));
    assert.equal(judged?.error?.code, 'NETWORK');
    assert.equal(limit(c), 20, 'an error the predicate clears carries no sample');
  });

  test('bad tuning is refused, naming the option', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ backoffRatio: 0.5 }, /concurrency\.backoffRatio.*unless `concurrency\.algorithm` is 'aimd'/],
      [{ algorithm: 'gradient2', backoffRatio: 0.5 }, /concurrency\.backoffRatio/],
      [{ algorithm: 'aimd', backoffRatio: 0.2 }, /concurrency\.backoffRatio.*\[0\.5, 1\)/],
      [{ algorithm: 'aimd', backoffRatio: 1 }, /concurrency\.backoffRatio/],
      [{ algorithm: 'aimd', isDropped: true }, /concurrency\.isDropped/],
      [{ algorithm: 'aimd', backoffRatio: 0.5, initialLimit: 0 }, /concurrency\.initialLimit/],
    ];
    for (const [concurrency, message] of cases) {
      assert.throws(
        () => createClient({ concurrency }),
        (e: unknown) => isBulwarkError(e, 'INVALID_OPTIONS') && message.test(e.message),
        JSON.stringify(concurrency),
      );
    }
  });
});
