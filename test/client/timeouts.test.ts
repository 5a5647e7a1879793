import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  createClient,
  isBulwarkError,
  withDeadline,
  deadlineFromRequest,
  type BulwarkError,
} from '../../src/index.js';
import { createVirtualClock, mockTransport } from '../../src/testing/index.js';
import { assertCode } from '../helpers/assert-error.js';
import { startServer, type TestServer } from '../helpers/http-server.js';

function setup(timeout?: { attempt?: number | false; total?: number | false }) {
  const clock = createVirtualClock();
  const mock = mockTransport();
  const client = createClient({
    baseUrl: 'http://api.test',
    transport: mock,
    retry: false,
    clock,
    ...(timeout ? { timeout } : {}),
  });
  return { clock, mock, client };
}

async function settle<T>(p: Promise<T>): Promise<{ value?: T; error?: BulwarkError }> {
  try {
    return { value: await p };
  } catch (error) {
    return { error: error as BulwarkError };
  }
}

describe('attempt and total timeouts (virtual clock)', () => {
  test('an attempt that hangs fails with ATTEMPT_TIMEOUT exactly at the attempt timeout', async () => {
    const { clock, mock, client } = setup({ attempt: 1_000, total: 5_000 });
    mock.on('GET', '/hang').hang();
    const result = settle(client.get('/hang', { retry: false }));
    await clock.advance(999);
    assert.equal(mock.calls.length, 1);
    let done = false;
    void result.then(() => (done = true));
    await clock.flush();
    assert.equal(done, false, 'still waiting at 999 ms');
    await clock.advance(1);
    const { error } = await result;
    assertCode(error, 'ATTEMPT_TIMEOUT');
    assert.equal(error.timeoutMs, 1_000);
    assert.equal(clock.pending(), 0, 'no timer outlives the call');
  });

  test('the total timeout fails with TIMEOUT and names its budget', async () => {
    const { clock, mock, client } = setup({ attempt: false, total: 2_000 });
    mock.on('GET', '/hang').hang();
    const result = settle(client.get('/hang'));
    await clock.advance(2_000);
    const { error } = await result;
    assertCode(error, 'TIMEOUT');
    assert.equal(error.timeoutMs, 2_000);
    assert.equal(clock.pending(), 0);
  });

  test('timeout covers a body that stalls after the headers', async () => {
    const { clock, mock, client } = setup({ attempt: 500, total: 5_000 });
    mock.on('GET', '/stall').reply(200, 'abcdefgh', { stallBody: true });
    const res = await client.get('/stall');
    assert.equal(res.status, 200);
    const body = settle(res.text());
    await clock.advance(500);
    const { error } = await body;
    assertCode(error, 'ATTEMPT_TIMEOUT');
  });

  test('a finished call clears its timers', async () => {
    const { clock, mock, client } = setup();
    mock.on('GET', '/ok').reply(200, 'fine', { delay: 10 });
    const p = client.get('/ok');
    await clock.advance(10);
    const res = await p;
    assert.equal(await res.text(), 'fine');
    assert.equal(clock.pending(), 0);
  });

  test('the caller signal aborts with ABORTED and keeps the reason as cause', async () => {
    const { clock, mock, client } = setup();
    mock.on('GET', '/hang').hang();
    const controller = new AbortController();
    const result = settle(client.get('/hang', { signal: controller.signal }));
    await clock.advance(100);
    controller.abort(new Error('user left'));
    const { error } = await result;
    assertCode(error, 'ABORTED');
    assert.equal((error.cause as Error).message, 'user left');
    const again = await settle(client.get('/hang', { signal: controller.signal }));
    assertCode(again.error, 'ABORTED');
    assert.equal(mock.calls.length, 1, 'an already-aborted signal sends nothing');
  });

  test('per-request timeout overrides the client', async () => {
    const { clock, mock, client } = setup({ attempt: 10_000, total: 30_000 });
    mock.on('GET', '/hang').hang();
    const result = settle(client.get('/hang', { timeout: { attempt: 50 } }));
    await clock.advance(50);
    assertCode((await result).error, 'ATTEMPT_TIMEOUT');
  });
});

describe('deadlines', () => {
  test('withDeadline bounds the call, keeps the earliest when nested, and travels as a header', async () => {
    const { clock, mock, client } = setup({ attempt: 10_000, total: 30_000 });
    mock.on('GET', '/x').reply(200, 'ok');
    await withDeadline(
      5_000,
      () =>
        withDeadline(
          8_000,
          async () => {
            (await client.get('/x')).dump();
          },
          { clock },
        ),
      { clock },
    );
    assert.equal(mock.calls[0]?.headers.deadline, '5000');
    await withDeadline(
      9_000,
      async () => {
        await clock.advance(1_500);
        (await client.get('/x')).dump();
      },
      { clock },
    );
    assert.equal(mock.calls[1]?.headers.deadline, '7500', 'recomputed from the remaining time');
  });

  test('the deadline header is what this attempt can still use: the attempt timeout when it ends first', async () => {
    const clock = createVirtualClock();
    const mock = mockTransport();
    mock.on('GET', '/x').hang({ once: true }).reply(200, 'ok');
    const client = createClient({
      baseUrl: 'http://api.test',
      transport: mock,
      clock,
      timeout: { attempt: 200, total: 5_000 },
      retry: { maxRetries: 1, baseDelay: 100, maxDelay: 100, jitter: 'none', budget: false },
    });
    const call = client.get('/x');
    await clock.advance(200); // the first attempt times out
    await clock.advance(100); // the backoff
    (await call).dump();
    // 4999 ms would let the downstream work on after this attempt gave up at 200 ms.
    assert.equal(mock.calls[0]?.headers.deadline, '200');
    assert.equal(mock.calls[1]?.headers.deadline, '200');
    const late = withDeadline(
      150,
      async () => {
        mock.on('GET', '/y').reply(200, 'ok');
        (await client.get('/y')).dump();
      },
      { clock },
    );
    await late;
    assert.equal(mock.calls[2]?.headers.deadline, '150', 'a nearer deadline still wins');
    const attemptOnly = createClient({
      baseUrl: 'http://api.test',
      transport: mock,
      clock,
      timeout: { attempt: 300, total: false },
    });
    (await attemptOnly.get('/y')).dump();
    assert.equal(mock.calls[3]?.headers.deadline, '300', 'an attempt timeout alone is a budget too');
  });

  test('an expired deadline sends nothing and fails with DEADLINE_EXCEEDED', async () => {
    const { clock, mock, client } = setup();
    mock.on('GET', '/x').reply(200, 'ok');
    const result = await withDeadline(
      100,
      async () => {
        await clock.advance(100);
        return settle(client.get('/x'));
      },
      { clock },
    );
    assertCode(result.error, 'DEADLINE_EXCEEDED');
    assert.equal(mock.calls.length, 0);
  });

  test('a deadline that passes mid-flight cancels the attempt with DEADLINE_EXCEEDED', async () => {
    const { clock, mock, client } = setup();
    mock.on('GET', '/hang').hang();
    const result = withDeadline(300, () => settle(client.get('/hang')), { clock });
    await clock.advance(300);
    assertCode((await result).error, 'DEADLINE_EXCEEDED');
  });

  test('the request deadline option and the header name are configurable; false sends none', async () => {
    const clock = createVirtualClock();
    const mock = mockTransport();
    mock.on('GET', '/x').reply(200, 'ok');
    const named = createClient({
      baseUrl: 'http://a.test',
      transport: mock,
      clock,
      deadline: { header: 'X-Deadline-Ms' },
    });
    (await named.get('/x', { deadline: 1_234 })).dump();
    assert.equal(mock.calls[0]?.headers['x-deadline-ms'], '1234');
    const none = createClient({ baseUrl: 'http://a.test', transport: mock, clock, deadline: false });
    (await none.get('/x')).dump();
    assert.equal(mock.calls[1]?.headers.deadline, undefined);
  });

  test('deadlineFromRequest continues the budget a server received', () => {
    const clock = createVirtualClock({ now: 1_000_000 });
    const at = deadlineFromRequest({ headers: { deadline: '250' } }, { clock });
    assert.equal(at?.getTime(), 1_000_250);
    assert.equal(deadlineFromRequest({ headers: { deadline: '-5' } }), undefined);
    assert.equal(deadlineFromRequest({ headers: { deadline: 'soon' } }), undefined);
    assert.equal(deadlineFromRequest({ headers: {} }), undefined);
    const fetchLike = { headers: new Headers({ 'x-budget': '10' }) };
    assert.ok(deadlineFromRequest(fetchLike, { header: 'x-budget' }) instanceof Date);
  });
});

describe('real sockets', () => {
  let hanging: TestServer;
  let fast: TestServer;
  before(async () => {
    hanging = await startServer(() => {
      /* never answers */
    });
    fast = await startServer((_req, res) => {
      res.end('fast');
    });
  });
  after(async () => {
    await hanging.close();
    await fast.close();
  });

  test('a hanging upstream times out and the socket is released', async () => {
    const client = createClient({
      baseUrl: hanging.url,
      retry: false,
      timeout: { attempt: 50, total: 2_000 },
    });
    await assert.rejects(client.get('/'), (e: unknown) => isBulwarkError(e, 'ATTEMPT_TIMEOUT'));
    await client.close();
  });

  test('a client whose pool is saturated by a hanging upstream does not delay another client', async () => {
    const slow = createClient({
      baseUrl: hanging.url,
      pool: { connections: 2 },
      timeout: { attempt: 2_000, total: 2_000 },
    });
    const other = createClient({ baseUrl: fast.url });
    const stuck = Array.from({ length: 10 }, () => slow.safe.get('/'));
    // Wait until both connections carry a request (no timing assertion: just poll the pool).
    for (let i = 0; i < 200 && slow.inspect().pools[hanging.url]?.running !== 2; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(slow.inspect().pools[hanging.url]?.pending, 8, 'the slow client has requests queued');
    const res = await other.get('/');
    assert.equal(await res.text(), 'fast');
    assert.equal(
      slow.inspect().pools[hanging.url]?.pending,
      8,
      'answered while the slow pool is still stuck',
    );
    await slow.destroy();
    const results = await Promise.all(stuck);
    assert.ok(results.every((r) => !r.ok));
    await other.close();
  });

  test('a refused connection is NETWORK with sent: false and the socket code kept', async () => {
    const port = (fast.server.address() as { port: number }).port;
    await fast.close();
    const client = createClient({ baseUrl: `http://127.0.0.1:${port}` });
    await assert.rejects(client.get('/'), (e: unknown) => {
      assertCode(e, 'NETWORK');
      assert.equal(e.sent, false);
      assert.equal((e.cause as { code?: string }).code, 'ECONNREFUSED');
      return true;
    });
    await client.close();
    fast = await startServer((_req, res) => {
      res.end('fast');
    });
  });
});
