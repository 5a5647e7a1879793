import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { createClient, isBulwarkError } from '../../src/index.js';
import type { RetryMessage } from '../../src/observability/index.js';
import { captureChannel } from '../helpers/channel-capture.js';
import { createVirtualClock, mockTransport } from '../../src/testing/index.js';
import { startServer, type TestServer } from '../helpers/http-server.js';
import { assertCode } from '../helpers/assert-error.js';

const fixed = (): number => 0.5;

function setup(extra: Record<string, unknown> = {}) {
  const clock = createVirtualClock();
  const mock = mockTransport();
  const client = createClient({
    baseUrl: 'http://api.test',
    transport: mock,
    clock,
    random: fixed,
    circuitBreaker: false,
    ...extra,
  } as never);
  return { clock, mock, client };
}

describe('retry through the client (virtual clock)', () => {
  test('503, 503, 200: retried with full-jitter backoff delays, res.attempts = 3', async () => {
    const { clock, mock, client } = setup();
    mock.on('GET', '/x').sequence([503, 503, { status: 200, body: 'ok' }]);
    const p = client.get('/x');
    await clock.runAll();
    const res = await p;
    assert.equal(res.status, 200);
    assert.equal(res.attempts, 3);
    assert.equal(await res.text(), 'ok');
    // A 503 without a hint waits on the ordinary base (100 ms): random 0.5 → 50 ms, then 100 ms.
    assert.deepEqual(
      clock.scheduled.filter((d) => d < 10_000),
      [50, 100],
    );
  });

  test('a 429 without a hint waits on the throttled base (1 s): a quota needs longer than a blip', async () => {
    const { clock, mock, client } = setup();
    mock.on('GET', '/x').sequence([429, { status: 200 }]);
    const p = client.get('/x');
    await clock.runAll();
    assert.equal((await p).attempts, 2);
    assert.deepEqual(
      clock.scheduled.filter((d) => d < 10_000),
      [500],
    );
  });

  test('a 503 is retried while rare; once a fifth of recent attempts shed, it comes back at once', async () => {
    const { clock, mock, client } = setup({ retry: { budget: { minPerSecond: 100 } } });
    mock.on('GET', '/ok').reply(200);
    mock.on('GET', '/x').sequence([503, 200]);
    for (let i = 0; i < 9; i++) await client.get('/ok');
    const rare = client.get('/x');
    await clock.runAll();
    assert.equal((await rare).attempts, 2, '1 load signal in 10 attempts: retried');
    mock.on('GET', '/shed').reply(503);
    const shed: number[] = [];
    for (let i = 0; i < 4; i++) {
      const p = client.get('/shed');
      await clock.runAll();
      shed.push((await p).attempts);
    }
    // 11 attempts, 2 signals; the next 503 makes 3 of 12 = 0.25 ≥ 0.2: no more retries.
    assert.deepEqual(shed, [2, 1, 1, 1]);
    await clock.advance(2_000);
    for (let i = 0; i < 9; i++) await client.get('/ok');
    mock.on('GET', '/later').sequence([503, 200]);
    const later = client.get('/later');
    await clock.runAll();
    assert.equal((await later).attempts, 2, 'two seconds later the shedding is forgotten');
  });

  test('a 429 is retried when it is the only one of late: a quota spent again and again is not', async () => {
    const { clock, mock, client } = setup({ retry: { budget: { minPerSecond: 100 } } });
    mock.on('GET', '/ok').reply(200);
    for (let i = 0; i < 30; i++) await client.get('/ok');
    mock
      .on('GET', '/q')
      .sequence([
        { status: 429, headers: { 'retry-after': '1' } },
        200,
        { status: 429, headers: { 'retry-after': '1' } },
      ]);
    const first = client.get('/q');
    await clock.runAll();
    assert.equal((await first).attempts, 2, 'an isolated 429 waits for the reset and is retried');
    const second = client.get('/q');
    await clock.runAll();
    const answer = await second;
    assert.equal(answer.status, 429, 'the second 429 within two seconds comes back at once');
    assert.equal(answer.attempts, 1);
  });

  test('Retry-After wins over the backoff', async () => {
    const { clock, mock, client } = setup();
    mock.on('GET', '/x').sequence([{ status: 429, headers: { 'retry-after': '3' } }, { status: 200 }]);
    const p = client.get('/x');
    await clock.runAll();
    assert.equal((await p).status, 200);
    assert.ok(clock.scheduled.includes(3_000));
  });

  test('a hint longer than maxRetryAfter returns the response at once', async () => {
    const { clock, mock, client } = setup({ retry: { maxRetryAfter: 1_000 } });
    mock.on('GET', '/x').sequence([{ status: 503, headers: { 'retry-after': '120' } }, { status: 200 }]);
    const p = client.get('/x');
    await clock.runAll();
    const res = await p;
    assert.equal(res.status, 503);
    assert.equal(res.attempts, 1);
  });

  test('a hint beyond 366 days (seconds, a far HTTP-date, a RateLimit reset) returns at once, never retried', async () => {
    const hints: Record<string, string>[] = [
      { 'retry-after': String(366 * 86_400 + 1) },
      { 'retry-after': '9'.repeat(30) },
      { 'retry-after': 'Fri, 31 Dec 9999 23:59:59 GMT' },
      { ratelimit: `"default";r=0;t=${400 * 86_400}` },
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(400 * 86_400) },
    ];
    for (const headers of hints) {
      const { clock, mock, client } = setup();
      mock.on('GET', '/x').sequence([{ status: 429, headers }, { status: 200 }]);
      const p = client.get('/x');
      await clock.runAll();
      const res = await p;
      assert.equal(res.status, 429, JSON.stringify(headers));
      assert.equal(res.attempts, 1, JSON.stringify(headers));
      assert.equal(mock.calls.length, 1);
      assert.deepEqual(
        clock.scheduled.filter((d) => d < 10_000),
        [],
        JSON.stringify(headers),
      );
    }
  });

  test('a POST is never resent after it reached the wire; idempotent: true or an Idempotency-Key allows it', async () => {
    const { clock, mock, client } = setup();
    mock.on('POST', '/charge').reply(503);
    const first = client.post('/charge', { json: { amount: 1 } });
    await clock.runAll();
    assert.equal((await first).attempts, 1);
    assert.equal(mock.calls.length, 1);
    const keyed = client.post('/charge', { json: {}, headers: { 'idempotency-key': 'k1' } });
    await clock.runAll();
    assert.equal((await keyed).attempts, 4);
    const marked = client.post('/charge', { json: {}, idempotent: true, retry: { maxRetries: 1 } });
    await clock.runAll();
    assert.equal((await marked).attempts, 2);
  });

  test('a POST that never left (connection refused) is retried; a reset one is not', async () => {
    const { clock, mock, client } = setup();
    mock.on('POST', '/refused').sequence([{ kind: 'error', code: 'ECONNREFUSED' }, { status: 201 }]);
    mock.on('POST', '/reset').networkError('ECONNRESET');
    const ok = client.post('/refused', { body: 'x' });
    await clock.runAll();
    assert.equal((await ok).status, 201);
    const reset = client.post('/reset', { body: 'x' }).catch((e: unknown) => e);
    await clock.runAll();
    const error = await reset;
    assertCode(error, 'NETWORK');
    assert.equal(error.attempts, 1);
    assert.equal(mock.callsTo('POST', '/reset').length, 1);
  });

  test('a stream body is not replayed', async () => {
    const { clock, mock, client } = setup();
    mock.on('PUT', '/up').reply(503);
    const p = client.put('/up', { body: Readable.from([Buffer.from('x')]) });
    await clock.runAll();
    assert.equal((await p).attempts, 1);
  });

  test('the retry that cannot fit before the deadline is not started', async () => {
    const { clock, mock, client } = setup({ timeout: { attempt: 1_000, total: 1_200 } });
    mock.on('GET', '/x').reply(429);
    const p = client.get('/x');
    await clock.runAll();
    const res = await p;
    assert.equal(res.status, 429);
    assert.equal(res.attempts, 2, 'the 500 ms retry fits, the 1000 ms one does not');
  });

  test('shouldRetry overrides the decision', async () => {
    const { clock, mock, client } = setup({
      retry: {
        shouldRetry: (o: { response?: { status: number } }) =>
          o.response?.status === 418 ? true : undefined,
      },
    });
    mock.on('GET', '/tea').sequence([418, 200]);
    const p = client.get('/tea');
    await clock.runAll();
    assert.equal((await p).attempts, 2);
  });

  test("a request's own statuses and shouldRetry replace the client's for that call only", async () => {
    const { clock, mock, client } = setup({ retry: { maxRetries: 2 } });
    // An eventually consistent read: this call retries a 404, the client does not.
    mock.on('GET', '/fresh').sequence([404, 404, { status: 200, body: 'there' }]);
    const fresh = client.get('/fresh', { retry: { statuses: [404] } });
    await clock.runAll();
    assert.equal((await fresh).attempts, 3);
    mock.on('GET', '/plain').sequence([404, 200]);
    const plain = client.get('/plain');
    await clock.runAll();
    assert.equal((await plain).status, 404, 'the client still returns a 404 at once');
    // shouldRetry for one call: stop on the first 503.
    mock.on('GET', '/once').reply(503);
    const once = client.get('/once', { retry: { shouldRetry: () => false } });
    await clock.runAll();
    assert.equal((await once).attempts, 1);
    // Statuses with the client's other settings kept (maxRetries 2 → 3 attempts at most).
    mock.on('GET', '/gone').reply(410);
    const gone = client.get('/gone', { retry: { statuses: [410] } });
    await clock.runAll();
    assert.equal((await gone).attempts, 3);
  });

  test('a request brings a retry of its own to a client with retry: false (no budget)', async () => {
    const { clock, mock, client } = setup({ retry: false });
    mock.on('GET', '/x').reply(503);
    const plain = client.get('/x');
    await clock.runAll();
    assert.equal((await plain).attempts, 1);
    const retried = client.get('/x', { retry: { maxRetries: 2 } });
    await clock.runAll();
    assert.equal((await retried).attempts, 3);
    // Still never a non-idempotent request sent twice.
    mock.on('POST', '/charge').reply(503);
    const charge = client.post('/charge', { json: {}, retry: { maxRetries: 2 } });
    await clock.runAll();
    assert.equal((await charge).attempts, 1);
  });

  test('bad per-request statuses or shouldRetry: INVALID_REQUEST naming the option, nothing sent', async () => {
    const { mock, client } = setup();
    mock.on('GET', '/x').reply(200);
    for (const [retry, path] of [
      [{ statuses: [99] }, 'retry.statuses'],
      [{ statuses: '503' }, 'retry.statuses'],
      [{ shouldRetry: 'yes' }, 'retry.shouldRetry'],
      [{ budget: false }, 'retry'],
    ] as const) {
      const error = await client.get('/x', { retry } as never).catch((e: unknown) => e);
      assertCode(error, 'INVALID_REQUEST');
      assert.ok(isBulwarkError(error) && error.message.includes(path), String(error));
    }
    assert.equal(mock.calls.length, 0);
  });

  test('CIRCUIT_OPEN and the caller abort are never retried', async () => {
    const { clock, mock, client } = setup({ circuitBreaker: { failureThreshold: 1, failureRatio: false } });
    mock.on('GET', '/x').reply(500);
    const p = client.get('/x', { retry: { maxRetries: 5 } });
    await clock.runAll();
    assert.equal(
      (await p).status,
      500,
      'the open circuit would refuse the retry: the 500 comes back at once',
    );
    const error = await client.get('/x', { retry: { maxRetries: 5 } }).catch((e: unknown) => e);
    assertCode(error, 'CIRCUIT_OPEN');
    assert.equal(mock.callsTo('GET', '/x').length, 1, 'CIRCUIT_OPEN itself is not retried');
    const controller = new AbortController();
    mock.on('GET', '/hang').hang();
    const hang = client.get('/hang', { signal: controller.signal, key: 'other' }).catch((e: unknown) => e);
    await clock.advance(10);
    controller.abort();
    assertCode(await hang, 'ABORTED');
    assert.equal(mock.callsTo('GET', '/hang').length, 1);
  });

  test('every scheduled retry is published on bulwark:retry with its delay and reason', async () => {
    const { clock, mock, client } = setup();
    mock.on('GET', '/x').sequence([502, 200]);
    const capture = captureChannel<RetryMessage>('bulwark:retry');
    capture.start();
    try {
      const p = client.get('/x');
      await clock.runAll();
      await p;
      assert.equal(capture.messages.length, 1);
      const [message] = capture.messages;
      assert.ok(message);
      assert.equal(message.status, 502);
      assert.equal(message.delayMs, 50);
      assert.equal(message.delaySource, 'backoff');
    } finally {
      capture.stop();
    }
  });

  test("delaySource says which header set the delay: 'retry-after' or 'rate-limit-reset'", async () => {
    const { clock, mock, client } = setup();
    mock.on('GET', '/after').sequence([{ status: 503, headers: { 'retry-after': '2' } }, 200]);
    mock
      .on('GET', '/reset')
      .sequence([{ status: 429, headers: { 'ratelimit-remaining': '0', 'ratelimit-reset': '3' } }, 200]);
    mock
      .on('GET', '/x-reset')
      .sequence([{ status: 429, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '4' } }, 200]);
    const capture = captureChannel<RetryMessage>('bulwark:retry');
    capture.start();
    try {
      for (const path of ['/after', '/reset', '/x-reset']) {
        const p = client.get(path);
        await clock.runAll();
        assert.equal((await p).status, 200);
      }
      assert.deepEqual(
        capture.messages.map((m) => [m.delaySource, m.delayMs]),
        [
          ['retry-after', 2_000],
          ['rate-limit-reset', 3_000],
          ['rate-limit-reset', 4_000],
        ],
      );
    } finally {
      capture.stop();
    }
  });

  test('the retry budget stops a storm: attempts stay under 1.2 × calls + 10/s', async () => {
    const { clock, mock, client } = setup({ retry: { maxRetries: 3 } });
    mock.on('GET', '/down').reply(503);
    const seconds = 10;
    const calls = 1_000;
    for (let i = 0; i < calls; i++) {
      const p = client.get('/down');
      await clock.advance((seconds * 1_000) / calls);
      void p;
    }
    await clock.runAll();
    assert.ok(mock.calls.length <= 1.2 * calls + 10 * seconds, `${mock.calls.length} attempts`);
    assert.ok(mock.calls.length > calls);
  });
});

describe('retry against a real server', () => {
  let server: TestServer;
  let count = 0;
  before(async () => {
    server = await startServer((req, res) => {
      count++;
      if (req.url === '/flaky' && count % 3 !== 0) {
        res.statusCode = 503;
        res.setHeader('retry-after', '0');
        res.end('busy');
        return;
      }
      if (req.url === '/retry-after-1' && count === 1) {
        res.writeHead(503, { 'retry-after': '1' });
        res.end();
        return;
      }
      if (req.url === '/ratelimit' && count === 1) {
        res.writeHead(429, { 'ratelimit-policy': '"default";q=10;w=60', ratelimit: '"default";r=0;t=1' });
        res.end();
        return;
      }
      if (req.url === '/reset-after-headers') {
        res.writeHead(200, { 'content-length': '100' });
        res.write('partial');
        setTimeout(() => res.socket?.destroy(), 30);
        return;
      }
      res.end('fine');
    });
  });
  after(() => server.close());

  test('"503, 503, 200" over loopback: the client sees the 200 after 3 attempts', async () => {
    count = 0;
    const client = createClient({ baseUrl: server.url });
    const res = await client.get('/flaky');
    assert.equal(res.status, 200);
    assert.equal(res.attempts, 3);
    assert.equal(await res.text(), 'fine');
    await client.close();
  });

  test('Retry-After: 1 and a 429 with RateLimit t=1 are honoured over loopback', async () => {
    // One client each: a second 429 within two seconds on one client would not be retried.
    for (const path of ['/retry-after-1', '/ratelimit']) {
      const client = createClient({ baseUrl: server.url, circuitBreaker: false });
      count = 0;
      const res = await client.get(path);
      assert.equal(res.status, 200, path);
      assert.equal(res.attempts, 2, path);
      assert.equal(await res.text(), 'fine');
      await client.close();
    }
  });

  test('a POST answered 503 over loopback reached the server exactly once', async () => {
    count = 0;
    const client = createClient({ baseUrl: server.url });
    const res = await client.post('/flaky', { json: { charge: 1 } });
    assert.equal(res.status, 503);
    assert.equal(res.attempts, 1);
    assert.equal(count, 1);
    res.dump();
    await client.close();
  });

  test('a body cut after the headers surfaces as NETWORK on read', async () => {
    const client = createClient({ baseUrl: server.url });
    const res = await client.get('/reset-after-headers');
    await assert.rejects(res.text(), (e: unknown) => isBulwarkError(e, 'NETWORK'));
    await client.close();
  });
});
