/**
 * Dedupe: callers share one upstream request, but each waits under its own signal, timeout and
 * deadline. The first caller's abort or budget fails only that caller; a follower's shorter
 * deadline is enforced to the millisecond (virtual clock); the request stops when the last
 * caller leaves (real loopback server: its connection is closed).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, type BulwarkError, type BulwarkResponse } from '../../src/index.js';
import { createVirtualClock, mockTransport } from '../../src/testing/index.js';
import { assertCode } from '../helpers/assert-error.js';
import { acceptNeverAnswer } from '../helpers/hostile-server.js';
import { eventually, poolTotals } from '../chaos/fixtures/chaos.js';

type Outcome = { at: number; response?: BulwarkResponse; error?: BulwarkError };

function setup(
  timeout: { attempt?: number | false; total?: number | false } = { attempt: 5_000, total: 10_000 },
) {
  const clock = createVirtualClock();
  const mock = mockTransport();
  const client = createClient({
    baseUrl: 'http://api.test',
    transport: mock,
    clock,
    dedupe: true,
    retry: false,
    timeout,
  });
  const t0 = clock.now();
  // `at`: ms since the test started, on the virtual clock.
  const settle = (p: Promise<BulwarkResponse>): Promise<Outcome> =>
    p.then(
      (response) => ({ at: clock.now() - t0, response }),
      (error: unknown) => ({ at: clock.now() - t0, error: error as BulwarkError }),
    );
  return { clock, mock, client, settle };
}

describe('each caller keeps its own signal and budget', () => {
  test("the first caller's abort fails only the first caller", async () => {
    const { clock, mock, client, settle } = setup();
    mock.on('GET', '/same').reply(200, 'shared', { delay: 100 });
    const controller = new AbortController();
    const leader = settle(client.get('/same', { signal: controller.signal }));
    const follower = settle(client.get('/same'));
    await clock.advance(10);
    controller.abort();
    await clock.advance(90);
    const [l, f] = await Promise.all([leader, follower]);
    assertCode(l.error, 'ABORTED');
    assert.equal(l.at, 10);
    assert.equal(f.error, undefined, String(f.error));
    assert.equal(await f.response?.text(), 'shared');
    assert.equal(mock.calls.length, 1, 'one upstream request');
  });

  test("the first caller's shorter deadline ends its wait, not the shared request", async () => {
    const { clock, mock, client, settle } = setup();
    mock.on('GET', '/same').reply(200, 'shared', { delay: 100 });
    const leader = settle(client.get('/same', { deadline: 50 }));
    const follower = settle(client.get('/same'));
    await clock.advance(100);
    const [l, f] = await Promise.all([leader, follower]);
    assertCode(l.error, 'DEADLINE_EXCEEDED');
    assert.equal(l.at, 50);
    assert.equal(f.response?.status, 200);
    assert.equal(f.at, 100);
    assert.equal(mock.calls.length, 1);
  });

  test("a follower's own shorter deadline is enforced (50 ms, the answer comes at 410 ms)", async () => {
    const { clock, mock, client, settle } = setup();
    mock.on('GET', '/same').reply(200, 'shared', { delay: 410 });
    const leader = settle(client.get('/same'));
    await clock.advance(5);
    const follower = settle(client.get('/same', { deadline: 50 }));
    await clock.advance(405);
    const [l, f] = await Promise.all([leader, follower]);
    assertCode(f.error, 'DEADLINE_EXCEEDED');
    assert.equal(f.at, 55, 'the follower waited exactly its own budget');
    assert.doesNotMatch(f.error.message, /aborted by the caller/);
    assert.equal(l.response?.status, 200);
    assert.equal(l.at, 410);
  });

  test("a follower's total timeout is its own, counted from its own start", async () => {
    const { clock, mock, client, settle } = setup({ attempt: 1_000, total: 1_000 });
    mock.on('GET', '/same').reply(200, 'shared', { delay: 900 });
    const leader = settle(client.get('/same'));
    await clock.advance(500);
    const follower = settle(client.get('/same'));
    await clock.advance(400);
    const [l, f] = await Promise.all([leader, follower]);
    assert.equal(l.response?.status, 200);
    assert.equal(f.response?.status, 200, 'the follower had 600 ms of its budget left');
    assert.equal(mock.calls.length, 1);
  });
});

describe('the shared request ends when no caller is left', () => {
  test('every caller aborts: the request is cancelled, and the next identical call starts afresh', async () => {
    const { clock, mock, client, settle } = setup();
    mock.on('GET', '/same').hang({ once: true }).reply(200, 'fresh');
    const a = new AbortController();
    const b = new AbortController();
    const first = settle(client.get('/same', { signal: a.signal }));
    const second = settle(client.get('/same', { signal: b.signal }));
    await clock.advance(10);
    a.abort();
    b.abort();
    const [x, y] = await Promise.all([first, second]);
    assertCode(x.error, 'ABORTED');
    assertCode(y.error, 'ABORTED');
    const third = await client.get('/same');
    assert.equal(await third.text(), 'fresh');
    assert.equal(mock.calls.length, 2, 'the abandoned flight was not joined');
  });

  test('over a real socket: the connection of the abandoned request is closed', async () => {
    const hole = await acceptNeverAnswer();
    const client = createClient({ baseUrl: hole.url, dedupe: true, retry: false });
    try {
      const a = new AbortController();
      const b = new AbortController();
      const first = client.get('/same', { signal: a.signal }).catch((e: unknown) => e);
      const second = client.get('/same', { signal: b.signal }).catch((e: unknown) => e);
      assert.ok(await eventually(() => hole.requests === 1));
      a.abort();
      assertCode(await first, 'ABORTED');
      assert.equal(poolTotals(client).running, 1, 'one caller is left: the request goes on');
      b.abort();
      assertCode(await second, 'ABORTED');
      assert.ok(
        await eventually(() => poolTotals(client).running === 0),
        JSON.stringify(client.inspect().pools),
      );
      assert.equal(hole.requests, 1);
    } finally {
      await client.close();
      await hole.close();
    }
  });
});
