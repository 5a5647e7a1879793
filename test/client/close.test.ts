/**
 * What close() and destroy() do to calls in flight. close(): a call with nothing on the wire
 * (waiting to retry) ends ABORTED at once, an attempt on the wire finishes and its answer is
 * the call's (no retry after close), and close() resolves only once nothing of the client is
 * left. destroy(): every call in flight, and a body being read, fails ABORTED whatever the
 * retry settings.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createClient, type BulwarkError } from '../../src/index.js';
import { createVirtualClock, mockTransport } from '../../src/testing/index.js';
import { assertCode } from '../helpers/assert-error.js';
import { acceptNeverAnswer, countingServer, stallMidBody } from '../helpers/hostile-server.js';
import { chaosClient, eventually } from '../chaos/fixtures/chaos.js';

/** Settles `p` into a value or an error, and says whether it has settled yet. */
function watch<T>(p: Promise<T>): {
  readonly settled: boolean;
  readonly result: Promise<{ value?: T; error?: BulwarkError }>;
} {
  const state = { settled: false };
  const result = p.then(
    (value) => {
      state.settled = true;
      return { value };
    },
    (error: unknown) => {
      state.settled = true;
      return { error: error as BulwarkError };
    },
  );
  return {
    get settled() {
      return state.settled;
    },
    result,
  };
}

describe('close() while a call waits to retry', () => {
  test('the call ends ABORTED before close() resolves, and its backoff timer is gone', async () => {
    const clock = createVirtualClock();
    const mock = mockTransport();
    mock.on('GET', '/busy').reply(503, 'busy', { headers: { 'retry-after': '2' } });
    const client = createClient({ baseUrl: 'http://api.test', transport: mock, clock });
    const call = watch(client.get('/busy'));
    await clock.flush();
    assert.equal(mock.calls.length, 1, 'the first attempt was sent');
    assert.ok(clock.pending() > 0, 'the call waits on its Retry-After');
    await client.close();
    assert.equal(call.settled, true, 'close() resolved while the call was still waiting');
    const { error } = await call.result;
    assertCode(error, 'ABORTED');
    assert.match(error.message, /client "default" closed \(close\(\) was called before it sent an attempt\)/);
    assert.equal(error.attempts, 1);
    assert.equal(clock.pending(), 0, 'a timer of the call outlived close()');
    await clock.advance(5_000);
    assert.equal(mock.calls.length, 1, 'nothing was sent after close()');
  });

  test('over real sockets: a 503 with Retry-After: 2, then close()', async () => {
    const server = await countingServer((_req, res) => {
      res.writeHead(503, { 'retry-after': '2' });
      res.end('busy');
    });
    const client = chaosClient(server.url);
    try {
      let scheduled = 0;
      const onRetry = (): void => {
        scheduled++;
      };
      subscribe('bulwark:retry', onRetry);
      const call = watch(client.get('/busy'));
      try {
        // The 503 is in and the retry is scheduled: the call now waits, nothing on the wire.
        assert.ok(await eventually(() => scheduled === 1));
      } finally {
        unsubscribe('bulwark:retry', onRetry);
      }
      await client.close();
      assert.equal(call.settled, true, 'close() resolved while the call was still waiting');
      assertCode((await call.result).error, 'ABORTED');
      assert.equal(server.requests, 1);
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe('close() while an attempt is on the wire', () => {
  test('the attempt finishes and its answer is the call’s: no retry after close()', async () => {
    const server = await countingServer((_req, res) => {
      setTimeout(() => {
        res.writeHead(503, { 'retry-after': '0' });
        res.end('busy');
      }, 100);
    });
    const client = chaosClient(server.url);
    try {
      const call = watch(client.get('/slow'));
      assert.ok(await eventually(() => server.requests === 1));
      const closing = client.close();
      const { value, error } = await call.result;
      assert.equal(error, undefined, String(error));
      assert.equal(value?.status, 503);
      assert.equal(value.attempts, 1);
      assert.equal(await value.text(), 'busy');
      await closing;
      assert.equal(server.requests, 1, 'a retry was sent after close()');
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe('destroy() gives ABORTED whatever the retry settings', () => {
  for (const retry of [false, { maxRetries: 2, baseDelay: 1, maxDelay: 5, budget: false }] as const) {
    test(`retry ${retry === false ? 'off' : 'on'}: a call waiting for headers`, async () => {
      const server = await acceptNeverAnswer();
      const client = chaosClient(server.url, { retry });
      try {
        const call = watch(client.get('/hang'));
        assert.ok(await eventually(() => server.requests === 1));
        await client.destroy();
        const { error } = await call.result;
        assertCode(error, 'ABORTED');
        assert.match(error.message, /destroy\(\) was called/);
        assert.equal(server.requests, 1, 'nothing was retried');
      } finally {
        await server.close();
      }
    });
  }

  test('a body being read fails ABORTED', async () => {
    const server = await stallMidBody();
    const client = chaosClient(server.url);
    try {
      const res = await client.get('/stall');
      const reading = watch(res.text());
      await client.destroy();
      const { error } = await reading.result;
      assertCode(error, 'ABORTED');
    } finally {
      await server.close();
    }
  });
});
