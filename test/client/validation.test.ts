import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, isBulwarkError } from '../../src/index.js';
import { CircuitBreaker, RateLimiter } from '../../src/policies/index.js';
import { mockTransport } from '../../src/testing/index.js';

function rejectsOption(fn: () => unknown, path: string, allowed: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isBulwarkError(error, 'INVALID_OPTIONS'), String(error));
    assert.equal(error.path, path);
    assert.match(error.message, allowed);
    assert.ok(error.message.includes(`\`${path}\``), error.message);
    return true;
  });
}

describe('client options are validated at createClient', () => {
  test('wrong types, ranges and combinations name the option, the value and what is allowed', () => {
    rejectsOption(
      () => createClient({ timeout: { attempt: 40_000, total: 30_000 } }),
      'timeout.attempt',
      /at most timeout.total \(30000 ms\)/,
    );
    rejectsOption(
      () => createClient({ timeout: { attempt: -1 } }),
      'timeout.attempt',
      /got -1, expected a duration in ms/,
    );
    rejectsOption(
      () => createClient({ timeout: { attempt: 'fast' as never } }),
      'timeout.attempt',
      /got "fast"/,
    );
    rejectsOption(() => createClient({ baseUrl: 'ftp://x' }), 'baseUrl', /http: or https:/);
    rejectsOption(() => createClient({ baseUrl: 'not a url' }), 'baseUrl', /absolute http\(s\) URL/);
    rejectsOption(
      () => createClient({ headers: { 'x-a': 'b\r\nInjected: 1' } }),
      'headers.x-a',
      /without CR, LF or NUL/,
    );
    rejectsOption(() => createClient({ headers: { 'bad name': 'x' } }), 'headers', /token characters/);
    rejectsOption(
      () => createClient({ pool: { connections: 0 } }),
      'pool.connections',
      /an integer from 1 to 10000/,
    );
    rejectsOption(
      () => createClient({ pool: { origins: { nope: {} } } }),
      'pool.origins["nope"]',
      /an origin/,
    );
    rejectsOption(() => createClient({ maxResponseBytes: 1.5 }), 'maxResponseBytes', /an integer/);
    rejectsOption(() => createClient({ use: [42 as never] }), 'use', /middleware functions/);
    rejectsOption(
      () => createClient({ deadline: { header: 'bad header' } }),
      'deadline.header',
      /valid header name/,
    );
  });

  test('nested option objects refuse unknown keys too, with the closest known name', () => {
    rejectsOption(
      () => createClient({ retry: { budget: { ratoi: 0.1 } as never } }),
      'retry.budget.ratoi',
      /did you mean `ratio`/,
    );
    rejectsOption(
      () => createClient({ circuitBreaker: { window: { ms: 1_000, bucket: 5 } as never } }),
      'circuitBreaker.window.bucket',
      /did you mean `buckets`/,
    );
    rejectsOption(
      () => createClient({ concurrency: { maxQueu: 1 } as never }),
      'concurrency.maxQueu',
      /did you mean `maxQueue`/,
    );
    rejectsOption(
      () => createClient({ concurrency: { clock: 5 } as never }),
      'concurrency.clock',
      /allowed: algorithm, initialLimit/,
    );
    rejectsOption(() => createClient({ timeout: { attempt: 0.5 } }), 'timeout.attempt', /from 1 to/);
    rejectsOption(
      () =>
        createClient({ clock: { now: () => 0, setTimeout: () => ({ clear: () => undefined }) } as never }),
      'clock',
      /now, setTimeout, sleep/,
    );
  });

  test('an unknown option is refused with the closest known name', () => {
    rejectsOption(() => createClient({ timeot: {} } as never), 'timeot', /did you mean `timeout`/);
    rejectsOption(
      () => createClient({ timeout: { attempts: 5 } } as never),
      'timeout.attempts',
      /did you mean `attempt`/,
    );
  });

  test('a URL with credentials in baseUrl is refused without echoing them', () => {
    assert.throws(
      () => createClient({ baseUrl: 'https://user:hunter2@api.example.com' }),
      (e: unknown) => {
        assert.ok(isBulwarkError(e, 'INVALID_OPTIONS'));
        assert.ok(!e.message.includes('hunter2'));
        return true;
      },
    );
  });
});

describe("a policy section refuses an unknown name once, in the policy's own words", () => {
  /** The message up to the list of known names (which differs: the client adds and supplies some). */
  const refusal = (fn: () => unknown): string => {
    try {
      fn();
    } catch (error) {
      assert.ok(isBulwarkError(error, 'INVALID_OPTIONS'), String(error));
      return error.message.replace(/; known: .*$/, '');
    }
    return assert.fail('did not throw');
  };

  test('circuitBreaker: the client and a standalone breaker say the same, with the closest name', () => {
    const client = refusal(() => createClient({ circuitBreaker: { failureTreshold: 5 } as never }));
    assert.equal(
      client,
      refusal(() => new CircuitBreaker({ failureTreshold: 5 } as never)),
    );
    assert.match(
      client,
      /`circuitBreaker\.failureTreshold`.*no such option \(did you mean `failureThreshold`\?\)$/,
    );
  });

  test('rateLimit: the client and a standalone limiter say the same, with the closest name', () => {
    const options = { requests: 10, per: 'second', maxWiat: 10 } as never;
    const client = refusal(() => createClient({ rateLimit: options }));
    assert.equal(
      client,
      refusal(() => new RateLimiter(options)),
    );
    assert.match(client, /`rateLimit\.maxWiat`.*no such option \(did you mean `maxWait`\?\)$/);
  });

  test('the client lists its own names and refuses the ones it supplies', () => {
    assert.throws(
      () => createClient({ circuitBreaker: { clock: { now: () => 0 } } as never }),
      /`circuitBreaker\.clock`.*no such option; known: .*idleTimeout, isFailure, store/,
    );
    assert.throws(
      () => createClient({ rateLimit: { requests: 1, per: 'second', onEvent: () => undefined } as never }),
      /`rateLimit\.onEvent`.*no such option; known: requests, per, burst, strategy, maxWait, store, key/,
    );
  });
});

describe('request options are validated before anything is sent', () => {
  const mock = mockTransport();
  mock.on('*', '*').reply(200, 'ok');
  const client = createClient({ baseUrl: 'http://api.test', transport: mock });

  const cases: [string, () => Promise<unknown>, string, RegExp][] = [
    ['both json and body', () => client.post('/x', { json: {}, body: 'x' }), 'body', /only one of/],
    [
      'a per-request retry out of range (the client-level check, reported as a request error)',
      () => client.get('/x', { retry: { maxRetries: 101 } }),
      'retry.maxRetries',
      /^Invalid request `retry.maxRetries`: got 101/,
    ],
    [
      'a per-request jitter that does not exist',
      () => client.get('/x', { retry: { jitter: 'some' as never } }),
      'retry.jitter',
      /'full', 'equal', 'none'/,
    ],
    [
      'a per-request isFailure that is not a function',
      () => client.get('/x', { circuitBreaker: { isFailure: 5 as never } }),
      'circuitBreaker.isFailure',
      /a function/,
    ],
    [
      'a per-request throwHttpErrors that is not a boolean',
      () => client.get('/x', { throwHttpErrors: 'yes' as never }),
      'throwHttpErrors',
      /expected true or false/,
    ],
    [
      'an empty per-request rate-limit key',
      () => client.get('/x', { rateLimit: { key: '' } }),
      'rateLimit.key',
      /a non-empty string/,
    ],
    [
      'a per-request rateLimit that is neither an object nor false',
      () => client.get('/x', { rateLimit: true as never }),
      'rateLimit',
      /got true, expected an object or false/,
    ],
    [
      'a per-request timeout under 1 ms',
      () => client.get('/x', { timeout: { attempt: 0.5 } }),
      'timeout.attempt',
      /from 1 to/,
    ],
    [
      'CR/LF in a header value',
      () => client.get('/x', { headers: { 'x-a': 'v\nx' } }),
      'headers.x-a',
      /CR, LF/,
    ],
    [
      'an absolute path with a base',
      () => client.get('https://evil.example/steal'),
      'path',
      /relative to baseUrl/,
    ],
    ['a protocol-relative path', () => client.get('//evil.example/steal'), 'path', /relative to baseUrl/],
    ['a missing path param', () => client.get('/users/:id', { params: {} }), 'params.id', /for `:id`/],
    [
      'an unused path param',
      () => client.get('/users', { params: { id: 1 } }),
      'params.id',
      /appears in the path/,
    ],
    ['a bad method', () => client.request({ method: 'GE T', path: '/x' }), 'method', /method token/],
    ['a space in the path', () => client.get('/a b'), 'path', /no spaces or control/],
    ['a bad query value', () => client.get('/x', { query: { a: {} as never } }), 'query.a', /string, number/],
    [
      'a bad per-request timeout',
      () => client.get('/x', { timeout: { attempt: 0 } }),
      'timeout.attempt',
      /duration/,
    ],
    [
      'attempt above total per request',
      () => client.get('/x', { timeout: { attempt: 50, total: 10 } }),
      'timeout.attempt',
      /at most timeout.total/,
    ],
    [
      'a bad deadline',
      () => client.get('/x', { deadline: 'soon' as never }),
      'deadline',
      /ms from now or a Date/,
    ],
    [
      'an unknown request option',
      () => client.get('/x', { qeury: {} } as never),
      'qeury',
      /did you mean `query`\?/,
    ],
    [
      'a non-serialisable json body',
      () => client.post('/x', { json: { n: 1n } }),
      'json',
      /JSON-serialisable/,
    ],
    [
      'an object body',
      () => client.post('/x', { body: { a: 1 } as never }),
      'body',
      /use `json` for objects/,
    ],
  ];
  for (const [name, call, path, allowed] of cases) {
    test(name, async () => {
      const before = mock.calls.length;
      await assert.rejects(call(), (error: unknown) => {
        assert.ok(isBulwarkError(error, 'INVALID_REQUEST'), String(error));
        assert.equal(error.path, path);
        assert.match(error.message, allowed);
        return true;
      });
      assert.equal(mock.calls.length, before, 'nothing was sent');
    });
  }

  test('a relative path without baseUrl is refused', async () => {
    const bare = createClient({ transport: mock });
    await assert.rejects(
      bare.get('/x'),
      (e: unknown) => isBulwarkError(e, 'INVALID_REQUEST') && /baseUrl/.test(e.message),
    );
    const res = await bare.request({ url: 'http://api.test/x' });
    assert.equal(res.status, 200);
  });

  test('credentials in `url` become an authorization header and never appear in the URL', async () => {
    const bare = createClient({ transport: mock });
    await bare.request({ url: 'http://u:p%40ss@api.test/x' });
    const call = mock.calls.at(-1)!;
    assert.equal(call.headers.authorization, `Basic ${Buffer.from('u:p@ss').toString('base64')}`);
    assert.ok(!call.url.includes('p%40ss'));
  });
});
