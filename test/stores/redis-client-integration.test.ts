import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { createClient } from '../../src/index.js';
import { redisCircuitStore, redisStore } from '../../src/stores/redis.js';
import { startServer, type TestServer } from '../helpers/http-server.js';
import { assertCode } from '../helpers/assert-error.js';
import { redisTestOptions, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

describe('two clients (two nodes) sharing Redis through createClient', redisTestOptions(), () => {
  let redis: RedisServer;
  let upstream: TestServer;
  let failing = true;
  const connections: Redis[] = [];
  before(async () => {
    redis = await startRedisServer();
    upstream = await startServer((_req, res) => {
      res.statusCode = failing ? 500 : 200;
      res.end(failing ? 'down' : 'up');
    });
  });
  after(async () => {
    for (const c of connections) c.disconnect();
    await upstream.close();
    await redis.stop();
  });
  const connect = (): Redis => {
    const c = new Redis({ port: redis.port, lazyConnect: false, maxRetriesPerRequest: 1 });
    connections.push(c);
    return c;
  };
  // On a loaded machine a connection can take longer than a test's decisions: a store whose
  // client is not ready yet decides locally (by design), which is not what these tests are about.
  const ready = async (c: Redis): Promise<Redis> => {
    if (c.status !== 'ready') await once(c, 'ready');
    return c;
  };

  test('an open circuit on one node is seen by the other at its next decision, and one probe closes it for both', async () => {
    const prefix = `cb${Date.now()}`;
    const options = {
      baseUrl: upstream.url,
      retry: false as const,
      circuitBreaker: {
        failureThreshold: 2,
        failureRatio: false as const,
        openDuration: 1_000,
        maxOpenDuration: 1_000,
        store: redisCircuitStore({ client: await ready(connect()), prefix }),
      },
    };
    const nodeA = createClient({ ...options, name: 'a' });
    const nodeB = createClient({
      ...options,
      name: 'b',
      circuitBreaker: {
        ...options.circuitBreaker,
        store: redisCircuitStore({ client: await ready(connect()), prefix }),
      },
    });
    (await nodeA.get('/')).dump();
    (await nodeA.get('/')).dump();
    // Node A reports its trip to Redis without holding up its own call: wait until it is there.
    const watcher = await ready(connect());
    for (let i = 0; i < 200 && (await watcher.keys(`${prefix}*`)).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const before = upstream.received.length;
    const onB = await nodeB.safe.get('/');
    assert.ok(!onB.ok);
    assertCode(onB.error, 'CIRCUIT_OPEN');
    assert.equal(upstream.received.length, before, 'node B refused without sending');
    failing = false;
    await new Promise((r) => setTimeout(r, 1_100));
    const probe = await nodeB.get('/');
    assert.equal(probe.status, 200);
    probe.dump();
    const onA = await nodeA.get('/');
    assert.equal(onA.status, 200, 'the shared circuit closed for node A too');
    onA.dump();
    await nodeA.close();
    await nodeB.close();
  });

  test('a global rate limit through createClient: two clients share one bucket', async () => {
    const prefix = `rl${Date.now()}`;
    const make = async (name: string) => {
      const client = await ready(connect());
      return createClient({
        name,
        baseUrl: upstream.url,
        retry: false,
        circuitBreaker: false,
        rateLimit: {
          requests: 5,
          per: 'minute',
          strategy: 'error',
          store: redisStore({ client, prefix }),
        },
      });
    };
    const a = await make('a');
    const b = await make('b');
    failing = false;
    let admitted = 0;
    let refused = 0;
    for (let i = 0; i < 8; i++) {
      for (const c of [a, b]) {
        const r = await c.safe.get('/');
        if (r.ok) {
          admitted++;
          r.response.dump();
        } else {
          assertCode(r.error, 'RATE_LIMITED');
          refused++;
        }
      }
    }
    assert.equal(admitted, 5);
    assert.equal(refused, 11);
    await a.close();
    await b.close();
  });
});
