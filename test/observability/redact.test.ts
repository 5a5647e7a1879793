import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BulwarkError, isBulwarkError } from '../../src/errors.js';
import { Redactor, defaultRedactor as r } from '../../src/observability/redact.js';
import { isCardNumberValue, luhnValid } from '../../src/observability/luhn.js';

const CARD = '4111111111111111';

describe('headers', () => {
  test('redacts sensitive headers in any case and keeps the others, names lowercased', () => {
    const out = r.headers({
      AUTHORIZATION: 'Bearer abc',
      'Proxy-Authorization': 'Basic dXNlcjpwYXNz',
      cookie: 'sid=1',
      'X-API-Key': 'k',
      'api-key': 'k',
      'x-AUTH-token': 't',
      'X-Vault-Token': 'hint-matched',
      Accept: 'application/json',
      'Content-Length': 12,
    });
    assert.deepEqual(out, {
      authorization: '[REDACTED]',
      'proxy-authorization': '[REDACTED]',
      cookie: '[REDACTED]',
      'x-api-key': '[REDACTED]',
      'api-key': '[REDACTED]',
      'x-auth-token': '[REDACTED]',
      'x-vault-token': '[REDACTED]',
      accept: 'application/json',
      'content-length': '12',
    });
  });

  test('reads pairs, undici flat raw arrays with Buffers, Headers and Map, merging repeats', () => {
    assert.deepEqual(
      r.headers([
        ['Set-Cookie', 'a=1'],
        ['set-cookie', 'b=2'],
        ['x-a', '1'],
        ['X-A', '2'],
      ]),
      {
        'set-cookie': '[REDACTED]',
        'x-a': ['1', '2'],
      },
    );
    assert.deepEqual(
      r.headers([
        Buffer.from('Authorization'),
        Buffer.from('Bearer s3cret'),
        Buffer.from('via'),
        Buffer.from('1.1 x'),
      ]),
      {
        authorization: '[REDACTED]',
        via: '1.1 x',
      },
    );
    assert.deepEqual(r.headers(new Headers({ Authorization: 'Bearer x', 'x-id': '7' })), {
      authorization: '[REDACTED]',
      'x-id': '7',
    });
    assert.deepEqual(
      r.headers(
        new Map<string, unknown>([
          ['Cookie', 'a'],
          ['x-list', ['1', '2']],
        ]),
      ),
      { cookie: '[REDACTED]', 'x-list': ['1', '2'] },
    );
    assert.deepEqual(r.headers(null), {});
    assert.deepEqual(r.headers({ 'x-gone': undefined, 'set-cookie': ['a=1', 'b=2'] }), {
      'set-cookie': '[REDACTED]',
    });
  });

  test('scrubs credentials inside other headers and URLs in location headers', () => {
    const out = r.headers({
      'x-forwarded-authorization-copy': 'Bearer eyJhbGciOiJI.eyJzdWIiOiIx.c2lnbmF0dXJl',
      'x-debug': 'key sk_live_abcdefgh12345678 used',
      location: 'https://u:p@api.test/cb?code=1&access_token=tok',
      referer: 'https://app.test/?page=2',
    });
    assert.equal(out['x-forwarded-authorization-copy'], '[REDACTED]');
    assert.equal(out['x-debug'], 'key [REDACTED] used');
    assert.equal(out.location, 'https://[REDACTED]@api.test/cb?code=1&access_token=[REDACTED]');
    assert.equal(out.referer, 'https://app.test/?page=2');
    assert.equal(r.headers({ 'x-note': 'Bearer abc.def' })['x-note'], 'Bearer [REDACTED]');
  });

  test('does not mutate the input, and a __proto__ header name stays data', () => {
    const input = { Authorization: 'Bearer a', Accept: 'x' };
    const out = r.headers(input);
    assert.deepEqual(input, { Authorization: 'Bearer a', Accept: 'x' });
    assert.notEqual(out, input);
    const tricky = r.headers(
      JSON.parse('{"__proto__":"polluted","authorization":"x"}') as Record<string, unknown>,
    );
    assert.equal(Object.getPrototypeOf(tricky), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(tricky, '__proto__')?.value, 'polluted');
  });

  test('extra header names extend the defaults', () => {
    const custom = new Redactor({ headers: ['X-Tenant-Secret-Id', 'x-signed'] });
    assert.deepEqual(
      custom.headers({ 'x-tenant-secret-id': '1', 'X-Signed': '2', authorization: '3', a: '4' }),
      {
        'x-tenant-secret-id': '[REDACTED]',
        'x-signed': '[REDACTED]',
        authorization: '[REDACTED]',
        a: '4',
      },
    );
  });
});

describe('url', () => {
  test('removes userinfo, redacts secret query values and drops the fragment', () => {
    assert.equal(
      r.url(
        'https://user:pa%40ss@api.test:8443/v1/items?API_KEY=abc&page=2&Signature=s&X-Amz-Credential=c#access_token=t',
      ),
      'https://[REDACTED]@api.test:8443/v1/items?API_KEY=[REDACTED]&page=2&Signature=[REDACTED]&X-Amz-Credential=[REDACTED]',
    );
    assert.equal(
      r.url(new URL('https://a:b@x.test/p?token=1')),
      'https://[REDACTED]@x.test/p?token=[REDACTED]',
    );
    assert.equal(
      r.url('https://x.test/p?access-token=1&next_page_token=2&sort=asc'),
      'https://x.test/p?access-token=[REDACTED]&next_page_token=[REDACTED]&sort=asc',
    );
  });

  test('keeps ordinary URLs byte for byte', () => {
    for (const url of [
      'https://api.github.com/repos/a/b',
      'http://h/',
      '/relative/path?q=a%20b&x=',
      'https://h/a?flag&x=1',
    ]) {
      assert.equal(r.url(url), url);
    }
  });

  test('redacts credential-looking path segments and card numbers in paths', () => {
    const cases: [string, string][] = [
      ['https://h/keys/sk_live_4eC39HqLyjWDarjtT1zdp7dc/x', 'https://h/keys/[REDACTED]/x'],
      ['https://h/keys/sk_test_4eC39HqLyjWDarjt', 'https://h/keys/[REDACTED]'],
      ['https://h/keys/rk_live_4eC39HqLyjWDarjt/', 'https://h/keys/[REDACTED]/'],
      ['https://h/t/ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789', 'https://h/t/[REDACTED]'],
      ['https://h/t/gho_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789', 'https://h/t/[REDACTED]'],
      ['https://h/t/github_pat_11ABCDEFG0123456789_abcdefghijklmnop', 'https://h/t/[REDACTED]'],
      ['https://h/aws/AKIAIOSFODNN7EXAMPLE/list', 'https://h/aws/[REDACTED]/list'],
      ['https://hooks.test/xoxb-123456789012-abcdefABCDEF', 'https://hooks.test/[REDACTED]'],
      ['https://hooks.test/xoxp-123456789012-abcdefABCDEF', 'https://hooks.test/[REDACTED]'],
      [
        'https://h/s/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk',
        'https://h/s/[REDACTED]',
      ],
      [`https://h/cards/${CARD}/charges`, 'https://h/cards/[REDACTED]/charges'],
    ];
    for (const [input, expected] of cases) assert.equal(r.url(input), expected, input);
  });

  test('never throws on malformed input', () => {
    assert.equal(r.url('http://h/?password=%E0%A4%A&q=%zz'), 'http://h/?password=[REDACTED]&q=%zz');
    assert.equal(r.url(''), '');
    assert.equal(r.url('not a url at all'), 'not a url at all');
    assert.ok(r.url(`https://h/?q=${'a'.repeat(100_000)}`).length < 20_000);
  });

  test('extra query params extend the defaults; body field names count as query secrets', () => {
    const custom = new Redactor({ queryParams: ['session'] });
    assert.equal(
      custom.url('https://h/?Session=1&ssn=2&page=3&key=4'),
      'https://h/?Session=[REDACTED]&ssn=[REDACTED]&page=3&key=[REDACTED]',
    );
  });
});

describe('error', () => {
  test('scrubs messages, stacks and causes, keeping only safe fields', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443 token=abc'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
      port: 443,
    });
    const err = Object.assign(
      new Error('Request cannot be constructed from a URL that includes credentials: https://u:p@h/?sig=1', {
        cause,
      }),
      {
        config: { headers: { Authorization: 'Bearer leaked' } },
        request: { _header: 'GET / HTTP/1.1\r\nAuthorization: Bearer leaked' },
      },
    );
    const out = r.error(err);
    const text = JSON.stringify(out);
    assert.ok(!text.includes('leaked') && !text.includes('u:p@') && !text.includes('abc'), text);
    assert.equal(
      out.message,
      'Request cannot be constructed from a URL that includes credentials: https://[REDACTED]@h/?sig=[REDACTED]',
    );
    assert.deepEqual(
      { ...(out.cause as object), stack: undefined },
      {
        name: 'Error',
        message: 'connect ECONNREFUSED 10.0.0.1:443 token=[REDACTED]',
        code: 'ECONNREFUSED',
        syscall: 'connect',
        port: 443,
        stack: undefined,
      },
    );
    assert.equal(out.config, undefined);
  });

  test('keeps BulwarkError fields, scrubbing its URL', () => {
    const err = new BulwarkError('CIRCUIT_OPEN', 'open', {
      method: 'GET',
      url: 'https://h/?token=t',
      key: 'https://h',
      retryAfterMs: 5,
    });
    const out = r.error(err);
    assert.ok(isBulwarkError(err));
    assert.equal(out.name, 'BulwarkError');
    assert.equal(out.code, 'CIRCUIT_OPEN');
    assert.equal(out.url, 'https://h/?token=[REDACTED]');
    assert.equal(out.retryAfterMs, 5);
  });

  test('handles AggregateError, non-errors and hostile error objects', () => {
    const agg = r.error(new AggregateError([new Error('a password=1'), 'b'], 'all failed'));
    assert.deepEqual(
      agg.errors?.map((e) => e.message),
      ['a password=[REDACTED]', 'b'],
    );
    assert.deepEqual(r.error('token=x'), { name: 'Error', message: 'token=[REDACTED]' });
    assert.deepEqual(r.error(undefined), { name: 'Error', message: 'undefined' });
    const hostile = {
      get message(): string {
        throw new Error('no');
      },
      name: 'Weird',
    };
    assert.equal(r.error(hostile).name, 'Weird');
    let chain: Error = new Error('root');
    for (let i = 0; i < 10; i++) chain = new Error(`level ${i}`, { cause: chain });
    assert.ok(JSON.stringify(r.error(chain)).includes('[Truncated]'));
  });
});

describe('value and options', () => {
  test('value() dispatches on the input', () => {
    assert.equal(r.value('https://a:b@h/'), 'https://[REDACTED]@h/');
    assert.equal(r.value('{"pin":"1"}'), '{"pin":"[REDACTED]"}');
    assert.equal(r.value(new URL('https://h/?key=1')), 'https://h/?key=[REDACTED]');
    assert.equal((r.value(new Error('secret: s')) as { message: string }).message, 'secret: [REDACTED]');
    assert.deepEqual(r.value(new Headers({ cookie: 'c' })), { cookie: '[REDACTED]' });
    assert.deepEqual(r.value({ ssn: '1' }), { ssn: '[REDACTED]' });
    assert.equal(r.value(42), 42);
  });

  test('a custom replacement and extra body fields are used everywhere', () => {
    const custom = new Redactor({ replacement: '***', bodyFields: ['merchantRef'] });
    assert.equal(
      custom.body('{"merchant_ref":"m","password":"p"}'),
      '{"merchant_ref":"***","password":"***"}',
    );
    assert.deepEqual(custom.body({ MERCHANT_REF: 1 }), { MERCHANT_REF: '***' });
    assert.equal(custom.url('https://u@h/?token=1'), 'https://***@h/?token=***');
    assert.equal(custom.isSecretField('merchant-ref'), true);
    assert.equal(custom.isSecretHeader('x-session-id'), true);
  });

  test('bad options name the option, the value and what is allowed', () => {
    assert.throws(() => new Redactor({ replacement: 'a"b' }), /`logging\.redact\.replacement`.*"a\\"b"/);
    assert.throws(() => new Redactor({ replacement: '' }), /logging\.redact\.replacement/);
    assert.throws(() => new Redactor({ bodyFields: ['ok', '--'] }), /`logging\.redact\.bodyFields\[1\]`/);
    assert.throws(
      () => new Redactor({ headers: 'authorization' as unknown as string[] }),
      /`logging\.redact\.headers`/,
    );
    assert.throws(() => new Redactor({ maxBodyLength: 1 }), /`logging\.redact\.maxBodyLength`/);
  });

  test('hostile input completes (no regex backtracking blow-up)', () => {
    const hostile = [
      'eyJ-'.repeat(50_000),
      'a'.repeat(200_000) + '=',
      '1 '.repeat(100_000),
      'Bearer '.repeat(30_000),
      '"password"'.repeat(20_000),
      '\\'.repeat(100_000) + '"',
    ];
    for (const text of hostile) {
      assert.equal(typeof r.body(text, 'text/plain'), 'string');
      assert.equal(typeof r.body(text, 'application/json'), 'string');
      assert.equal(typeof r.url(`https://h/${text.slice(0, 10_000)}`), 'string');
      assert.equal(typeof r.headers({ 'x-h': text }), 'object');
    }
  });
});

describe('card numbers with wide separators', () => {
  const redacted = (text: string): string => r.body(text, 'text/plain') as string;

  test('double spaces, spaced dashes and mixed spacing are redacted', () => {
    for (const card of [
      '4111  1111  1111  1111',
      '4111 - 1111 - 1111 - 1111',
      '4111- 1111 -1111 - 1111',
      '5555  5555  5555  4444',
      '3782  822463  10005',
      '3782 - 822463 - 10005',
      '4222  222  222  222',
    ]) {
      const out = redacted(`card: ${card} thanks`);
      assert.equal(out, 'card: [REDACTED] thanks', card);
    }
    assert.equal(redacted('pay 4111  1111  1111  1111 - 2024 now'), 'pay [REDACTED] - 2024 now');
  });

  test('ordinary numbers with the same separators are kept', () => {
    for (const text of [
      // Luhn-invalid: a typo'd card is not a card.
      'ref 4111  1111  1111  1112',
      'ref 4111 - 1111 - 1111 - 1112',
      // Date ranges and timestamps: 2-digit groups are no card's.
      'valid 2019-01-01 - 2020-12-31',
      'from 2024-03-05  10 30 - 2024-03-06  11 45',
      // Phone numbers, prices, versions, too short to be a card.
      'call +1 555  123  4567',
      'total 1 299  99',
      // A list of small numbers joined by spaced dashes.
      'pages 1200 - 12 - 13 - 14 - 15 - 16 - 17',
      'scores 10  20  30  40  50  60  70  80',
    ]) {
      assert.equal(redacted(text), text, text);
    }
  });

  test('a spaced-dash date range that passes Luhn when its digits are joined is still kept', () => {
    // 2019-01-01 - 2020-12-31 → 2019010120201231; find a range whose digits pass Luhn.
    let kept = 0;
    for (let day = 1; day <= 28; day++) {
      const text = `2019-01-${String(day).padStart(2, '0')} - 2020-12-31`;
      if (!luhnValid(text.replace(/[ -]/g, ''))) continue;
      assert.equal(redacted(text), text);
      kept++;
    }
    assert.ok(kept > 0, 'at least one Luhn-valid date range was tried');
  });
});

describe('luhn', () => {
  test('checks digits and numbers', () => {
    assert.equal(luhnValid(CARD), true);
    assert.equal(luhnValid('4111111111111112'), false);
    assert.equal(luhnValid(''), false);
    assert.equal(luhnValid('41x1'), false);
    assert.equal(isCardNumberValue(4111111111111111), true);
    assert.equal(isCardNumberValue(4111111111111112), false);
    assert.equal(isCardNumberValue(12.5), false);
    assert.equal(isCardNumberValue(2 ** 60), true);
    assert.equal(isCardNumberValue(-4111111111111111n), false);
  });
});
