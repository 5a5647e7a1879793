/**
 * HTTPower's `log_body` and the client's name on every line, end to end: a loopback server, a
 * real pino logger writing JSON lines to memory, and what lands in the log pipeline.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createClient, isBulwarkError } from '../../src/index.js';
import { startServer, type TestServer } from '../helpers/http-server.js';

interface Line {
  client?: string;
  event: string;
  msg: string;
  body?: unknown;
  bytes?: number;
  status?: number;
  [field: string]: unknown;
}

function memoryLogger(): { logger: pino.Logger; raw: string[]; lines: () => Line[] } {
  const raw: string[] = [];
  const logger = pino(
    { level: 'trace', base: null, timestamp: false },
    { write: (s: string) => raw.push(s) },
  );
  return { logger, raw, lines: () => raw.map((s) => JSON.parse(s) as Line) };
}

const SECRET_BODY = {
  user: 'ada',
  password: 'hunter2-secret',
  drivers_license: 'D1234-5678-9012',
  nested: { card: '4111 1111 1111 1111' },
};

describe('logging.logBody and the client name on every line', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer((req, res) => {
      if (req.url === '/big') {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            password: 'p4ss-word',
            items: Array.from({ length: 2_000 }, (_, i) => `item-${i}`),
          }),
        );
        return;
      }
      if (req.url === '/fail') {
        res.statusCode = 500;
        res.end();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(SECRET_BODY));
    });
  });
  after(() => server.close());

  test('the response body is logged redacted once read, with its size; drivers_license is a default field', async () => {
    const { logger, raw, lines } = memoryLogger();
    const client = createClient({
      name: 'accounts',
      baseUrl: server.origin,
      logging: { logger, logBody: true },
    });
    try {
      const res = await client.post('/users', {
        json: { name: 'ada', drivers_license: 'X99-SECRET-LICENSE' },
      });
      assert.deepEqual(await res.json(), SECRET_BODY, 'the caller gets the body untouched');
      const all = lines();
      const request = all.find((l) => l.event === 'request');
      assert.equal(request?.body, '{"name":"ada","drivers_license":"[REDACTED]"}');
      const body = all.find((l) => l.event === 'body');
      assert.ok(body !== undefined, 'a body line');
      assert.equal(body.msg, `← 200 body (${JSON.stringify(SECRET_BODY).length} bytes)`);
      assert.equal(body.bytes, JSON.stringify(SECRET_BODY).length);
      assert.equal(body.status, 200);
      assert.deepEqual(JSON.parse(body.body as string), {
        user: 'ada',
        password: '[REDACTED]',
        drivers_license: '[REDACTED]',
        nested: { card: '[REDACTED]' },
      });
      const text = raw.join('');
      for (const secret of ['hunter2', 'D1234', 'X99-SECRET', '4111 1111']) {
        assert.ok(!text.includes(secret), `${secret} reached the log`);
      }
    } finally {
      await client.close();
    }
  });

  test('bodyLimit bounds the logged body after redaction and says how much was cut', async () => {
    const { logger, lines } = memoryLogger();
    const client = createClient({
      name: 'big',
      baseUrl: server.origin,
      logging: { logger, logBody: true, bodyLimit: 200 },
    });
    try {
      const full = await (await client.get('/big')).text();
      const body = lines().find((l) => l.event === 'body');
      const logged = body?.body as string;
      assert.equal(body?.bytes, full.length);
      assert.ok(logged.startsWith('{"password":"[REDACTED]","items":["item-0"'), logged.slice(0, 60));
      assert.match(logged, /…\[truncated \d+ chars\]$/);
      assert.ok(logged.length < 240, `bounded: ${logged.length} chars`);
    } finally {
      await client.close();
    }
  });

  test('off by default; a streamed body is not logged', async () => {
    const quiet = memoryLogger();
    const a = createClient({ baseUrl: server.origin, logging: { logger: quiet.logger } });
    const streamed = memoryLogger();
    const b = createClient({ baseUrl: server.origin, logging: { logger: streamed.logger, logBody: true } });
    try {
      await (await a.get('/x')).text();
      assert.ok(quiet.lines().every((l) => l.event !== 'body' && l.body === undefined));
      const res = await b.get('/x');
      let streamedBytes = 0;
      for await (const chunk of res.body) streamedBytes += (chunk as Buffer).length;
      assert.ok(streamedBytes > 0);
      assert.ok(streamed.lines().every((l) => l.event !== 'body'));
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("every line of a call, and the breaker's, carries the client's name", async () => {
    const { logger, lines } = memoryLogger();
    const client = createClient({
      name: 'billing',
      baseUrl: server.origin,
      retry: { maxRetries: 1, baseDelay: 1, maxDelay: 1 },
      circuitBreaker: { failureThreshold: 2, failureRatio: false },
      logging: { logger, logBody: true },
    });
    try {
      await client.get('/fail'); // request, response, retry, request, response; the breaker opens
      await assert.rejects(client.get('/fail'), (e: unknown) => isBulwarkError(e, 'CIRCUIT_OPEN'));
      await (await client.get('/x', { circuitBreaker: false })).text();
      const all = lines();
      const events = new Set(all.map((l) => l.event));
      for (const event of ['request', 'response', 'retry', 'circuit', 'rejected', 'body']) {
        assert.ok(events.has(event), `a ${event} line`);
      }
      assert.deepEqual(
        all.filter((l) => l.client !== 'billing').map((l) => l.event),
        [],
        'no line without the client name',
      );
    } finally {
      await client.close();
    }
  });

  test('bad bodyLimit is refused, naming the option', () => {
    for (const bodyLimit of [-1, 1.5, '4k', 2_000_000]) {
      assert.throws(
        () => createClient({ logging: { bodyLimit } } as never),
        (e: unknown) => isBulwarkError(e, 'INVALID_OPTIONS') && e.path === 'logging.bodyLimit',
      );
    }
  });
});
