/**
 * Logging end to end: a real client, a loopback server and a real pino instance writing JSON
 * lines to memory. Asserts what lands in a log pipeline: levels, events, correlation ids, the
 * `→`/`←` messages, and the `x-request-id` the server receives.
 */
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createClient, type Client } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { isBulwarkError } from '../../src/errors.js';
import { json, startServer, type TestServer } from '../helpers/http-server.js';

/** One pino line, parsed. */
interface Line {
  level: number;
  msg: string;
  event: string;
  correlationId: string;
  method?: string;
  url?: string;
  status?: number;
  durationMs?: number;
  attempt?: number;
  key?: string;
  code?: string;
  delayMs?: number;
  [field: string]: unknown;
}

const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

/** A pino logger writing into an array: `raw` keeps the exact text, `lines` the parsed records. */
function memoryLogger(level = 'trace'): { logger: pino.Logger; raw: string[]; lines: () => Line[] } {
  const raw: string[] = [];
  const logger = pino({ level, base: null, timestamp: false }, { write: (s: string) => raw.push(s) });
  return { logger, raw, lines: () => raw.map((s) => JSON.parse(s) as Line) };
}

let server: TestServer;
let script: number[] = [];
let client: Client | undefined;

before(async () => {
  server = await startServer((_req, res) => {
    const status = script.shift() ?? 200;
    json(res, status, { status });
  });
});

after(async () => {
  await server.close();
});

beforeEach(() => {
  script = [];
  server.received.length = 0;
});

afterEach(async () => {
  await client?.destroy();
  client = undefined;
});

function make(options: ClientOptions): Client {
  client = createClient({ name: 'orders', baseUrl: server.origin, random: () => 0, ...options });
  return client;
}

describe('without a logger', () => {
  test('nothing is written anywhere: silent by default', async () => {
    const written: string[] = [];
    const stdout = process.stdout.write.bind(process.stdout);
    const stderr = process.stderr.write.bind(process.stderr);
    // The test runner reports through stdout in binary frames (Buffers): text is what a stray
    // console.log or a default logger would write.
    const capture = (chunk: unknown): boolean => {
      if (typeof chunk === 'string') written.push(chunk);
      return true;
    };
    process.stdout.write = capture;
    process.stderr.write = capture;
    try {
      script = [503];
      const orders = make({ retry: { throttledBaseDelay: 1 } });
      await (await orders.get('/orders/1')).text();
    } finally {
      process.stdout.write = stdout;
      process.stderr.write = stderr;
    }
    assert.deepEqual(written, []);
    assert.match(
      String(server.received[0]?.headers['x-request-id']),
      /^req_[0-9a-f]{16}$/,
      'the id is still sent',
    );
  });

  test("level 'silent' with a logger writes nothing", async () => {
    const { logger, raw } = memoryLogger();
    const orders = make({ logging: { logger, level: 'silent' } });
    await (await orders.get('/orders/1')).text();
    assert.deepEqual(raw, []);
  });
});

describe('with a pino logger', () => {
  test('a call logs → and ← lines at info, each with correlationId and event; the id is the x-request-id sent', async () => {
    const { logger, lines } = memoryLogger();
    const orders = make({ logging: { logger } });
    const res = await orders.get('/orders/:id', { params: { id: '42' } });
    await res.text();

    const out = lines();
    assert.deepEqual(
      out.map((l) => [l.level, l.event]),
      [
        [LEVEL.info, 'request'],
        [LEVEL.info, 'response'],
      ],
    );
    const [request, response] = out as [Line, Line];
    const sent = server.received[0]?.headers['x-request-id'];
    for (const line of out) {
      assert.match(line.correlationId, /^req_[0-9a-f]{16}$/);
      assert.equal(line.correlationId, sent);
      assert.equal(line.method, 'GET');
      assert.equal(line.url, `${server.origin}/orders/42`);
      assert.equal(line.attempt, 1);
      assert.equal(line.key, server.origin);
    }
    assert.equal(request.msg, `→ GET ${server.origin}/orders/42`);
    assert.match(response.msg, /^← 200 \(\d+ms\)$/);
    assert.equal(response.status, 200);
    assert.equal(response.msg, `← 200 (${response.durationMs ?? NaN}ms)`);
  });

  test('two calls get two different correlation ids', async () => {
    const { logger, lines } = memoryLogger();
    const orders = make({ logging: { logger } });
    await (await orders.get('/a')).text();
    await (await orders.get('/b')).text();
    const ids = new Set(lines().map((l) => l.correlationId));
    assert.equal(ids.size, 2);
  });

  test("the caller's x-request-id is reused as the correlation id and sent unchanged", async () => {
    const { logger, lines } = memoryLogger();
    const orders = make({ logging: { logger } });
    await (await orders.get('/orders/1', { headers: { 'X-Request-Id': 'upstream-7f3a' } })).text();
    assert.equal(server.received[0]?.headers['x-request-id'], 'upstream-7f3a');
    assert.deepEqual(new Set(lines().map((l) => l.correlationId)), new Set(['upstream-7f3a']));
  });

  test('requestIdHeader false sends no id header; lines still carry a generated correlationId', async () => {
    const { logger, lines } = memoryLogger();
    const orders = make({ requestIdHeader: false, logging: { logger } });
    await (await orders.get('/orders/1')).text();
    assert.equal(server.received[0]?.headers['x-request-id'], undefined);
    const ids = new Set(lines().map((l) => l.correlationId));
    assert.equal(ids.size, 1);
    assert.match([...ids][0] ?? '', /^req_[0-9a-f]{16}$/);
  });

  test('requestIdHeader renames the header', async () => {
    const { logger, lines } = memoryLogger();
    const orders = make({ requestIdHeader: 'x-correlation-id', logging: { logger } });
    await (await orders.get('/orders/1')).text();
    assert.equal(server.received[0]?.headers['x-request-id'], undefined);
    assert.equal(server.received[0]?.headers['x-correlation-id'], lines()[0]?.correlationId);
  });

  test('a retry is logged at warn between the attempts, with the reason and the delay', async () => {
    script = [503];
    const { logger, lines } = memoryLogger();
    const orders = make({ retry: { throttledBaseDelay: 1 }, logging: { logger } });
    await (await orders.get('/orders/1')).text();

    const out = lines();
    assert.deepEqual(
      out.map((l) => `${l.level} ${l.event} ${l.attempt ?? ''}`),
      ['30 request 1', '30 response 1', '40 retry 1', '30 request 2', '30 response 2'],
    );
    const retry = out[2] as Line;
    assert.equal(retry.status, 503);
    assert.equal(retry.delayMs, 0);
    assert.equal(retry.msg, '↻ retry 1 in 0ms (503)');
    assert.equal(new Set(out.map((l) => l.correlationId)).size, 1, 'one call, one id across attempts');
    assert.equal(server.received[0]?.headers['x-request-id'], server.received[1]?.headers['x-request-id']);
  });

  test("level 'warn' keeps the retry and the refusal, drops the info lines", async () => {
    script = [500, 500];
    const { logger, lines } = memoryLogger();
    const orders = make({
      retry: { maxRetries: 1 },
      circuitBreaker: { failureThreshold: 2, failureRatio: false, openDuration: 60_000 },
      logging: { logger, level: 'warn' },
    });
    await (await orders.get('/orders/1')).text();
    await assert.rejects(orders.get('/orders/2'), (e: unknown) => isBulwarkError(e, 'CIRCUIT_OPEN'));

    const out = lines();
    assert.ok(
      out.every((l) => l.level >= LEVEL.warn),
      'nothing below warn',
    );
    assert.deepEqual(
      out.map((l) => l.event),
      ['retry', 'circuit', 'rejected'],
    );
    const rejected = out.find((l) => l.event === 'rejected');
    assert.ok(rejected);
    assert.equal(rejected.code, 'CIRCUIT_OPEN');
    assert.equal(rejected.level, LEVEL.warn);
    assert.match(rejected.correlationId, /^req_[0-9a-f]{16}$/);
    assert.equal(rejected.msg, `✕ CIRCUIT_OPEN GET ${server.origin}/orders/2`);
    assert.equal(server.received.length, 2, 'the refused call sent nothing');
  });

  test('a network failure is logged at error with the code; the caller aborting only at debug', async () => {
    const gone = await startServer(() => undefined);
    const url = `${gone.origin}/x`;
    await gone.close();
    const { logger, lines } = memoryLogger();
    const orders = make({ retry: false, logging: { logger } });
    await assert.rejects(orders.request({ url }), (e: unknown) => isBulwarkError(e, 'NETWORK'));
    const error = lines().find((l) => l.event === 'error');
    assert.ok(error);
    assert.equal(error.level, LEVEL.error);
    assert.equal(error.code, 'NETWORK');
    assert.match(error.msg, /^← NETWORK \(\d+ms\)$/);
    assert.equal((error.err as { code?: string } | undefined)?.code, 'NETWORK');
  });

  test('a logger at info with logging.level debug still follows the logger: no debug line', async () => {
    const { logger, lines } = memoryLogger('info');
    const orders = make({ logging: { logger, level: 'debug' } });
    const controller = new AbortController();
    const pending = orders.get('/orders/1', { signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, (e: unknown) => isBulwarkError(e, 'ABORTED'));
    assert.ok(lines().every((l) => l.level >= LEVEL.info));
  });

  test('a pino child logger keeps its bindings on bulwark lines', async () => {
    const { logger, lines } = memoryLogger();
    const orders = make({ logging: { logger: logger.child({ component: 'orders-client' }) } });
    await (await orders.get('/orders/1')).text();
    assert.ok(lines().length > 0);
    assert.ok(lines().every((l) => l.component === 'orders-client'));
  });

  test('a logger that throws never fails the call', async () => {
    const broken = pino(
      { level: 'info' },
      {
        write: () => {
          throw new Error('disk full');
        },
      },
    );
    const orders = make({ logging: { logger: broken } });
    const res = await orders.get('/orders/1');
    assert.equal(res.status, 200);
    await res.text();
  });

  test('logging options are validated with the option path', () => {
    assert.throws(() => make({ logging: { logger: Object.create(null) as pino.Logger } }), /logging\.logger/);
    assert.throws(() => make({ logging: { level: 'loud' as 'info' } }), /logging\.level/);
    assert.throws(
      () => make({ logging: { logHeaders: 'yes' as unknown as boolean } }),
      /logging\.logHeaders/,
    );
  });
});
