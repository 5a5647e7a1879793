import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MAX_HINT_MS,
  parseHttpDate,
  parseResetValue,
  parseRetryAfter,
  rateLimitStateFromHeaders,
  retryHintFromHeaders,
  type HeaderRecord,
} from '../../src/policies/server-hints.js';
import { parseSfList, SfDecimal } from '../../src/policies/structured-fields.js';

// Wed, 21 Oct 2015 07:27:00 GMT: one minute before the RFC example date.
const NOW = Date.UTC(2015, 9, 21, 7, 27, 0);

describe('parseRetryAfter: delay-seconds', () => {
  const cases: [string | undefined, number | undefined][] = [
    ['120', 120_000],
    ['0', 0],
    [' 5 ', 5_000],
    ['1.5', 1_500],
    ['0.0001', 1],
    ['007', 7_000],
    ['-1', undefined],
    ['1e3', undefined],
    ['1.', undefined],
    ['.5', undefined],
    ['5 s', undefined],
    ['', undefined],
    ['   ', undefined],
    ['NaN', undefined],
    ['Infinity', undefined],
    [undefined, undefined],
    [String(366 * 86_400), MAX_HINT_MS],
    // Further than 366 days is read as 366 days: far past any maxRetryAfter, so the caller gets
    // the answer at once instead of a retry a backoff later.
    [String(366 * 86_400 + 1), MAX_HINT_MS],
    [String(365 * 86_400 * 100), MAX_HINT_MS],
    ['9'.repeat(40), MAX_HINT_MS],
  ];
  for (const [value, expected] of cases) {
    test(`${JSON.stringify(value)} → ${expected}`, () => {
      assert.equal(parseRetryAfter(value, NOW), expected);
    });
  }
});

describe('parseRetryAfter: HTTP-date in the three RFC 9110 forms', () => {
  test('IMF-fixdate, RFC 850 and asctime name the same instant', () => {
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', NOW), 60_000);
    assert.equal(parseRetryAfter('Wednesday, 21-Oct-15 07:28:00 GMT', NOW), 60_000);
    assert.equal(parseRetryAfter('Wed Oct 21 07:28:00 2015', NOW), 60_000);
  });

  test('asctime pads a one-digit day with a space', () => {
    const now = Date.UTC(1994, 10, 6, 8, 49, 0);
    assert.equal(parseRetryAfter('Sun Nov  6 08:49:37 1994', now), 37_000);
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now), 37_000);
  });

  test('a date in the past means retry now (0), not "no hint"', () => {
    assert.equal(parseRetryAfter('Tue, 20 Oct 2015 07:28:00 GMT', NOW), 0);
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW), 0);
  });

  test('an RFC 850 year more than 50 years ahead is read as the previous century', () => {
    const now = Date.UTC(2030, 0, 1);
    // As 2094 it would be more than a year away (undefined); as 1994 it is past (0).
    assert.equal(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', now), 0);
    assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', now), Date.UTC(1994, 10, 6, 8, 49, 37));
    assert.equal(parseHttpDate('Monday, 06-Nov-79 08:49:37 GMT', now), Date.UTC(2079, 10, 6, 8, 49, 37));
  });

  test('names are matched without regard to case', () => {
    assert.equal(parseRetryAfter('wed, 21 oct 2015 07:28:00 gmt', NOW), 60_000);
  });

  const garbage = [
    'Wed, 31 Feb 2015 07:28:00 GMT',
    'Wed, 21 Foo 2015 07:28:00 GMT',
    'Xyz, 21 Oct 2015 07:28:00 GMT',
    'Wed, 21 Oct 2015 25:28:00 GMT',
    'Wed, 21 Oct 2015 07:61:00 GMT',
    'Wed, 21 Oct 2015 07:28:00 UTC',
    'Wed, 21 Oct 2015 07:28:00',
    'Wedday, 21-Oct-15 07:28:00 GMT',
    'Wed Oct 21 07:28:00 15',
    'Wed, 00 Oct 2015 07:28:00 GMT',
    '2015-10-21T07:28:00Z',
  ];
  test('a date more than 366 days ahead is read as 366 days, not as garbage', () => {
    assert.equal(parseRetryAfter('Wed, 21 Oct 2099 07:28:00 GMT', NOW), MAX_HINT_MS);
    assert.equal(parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT', NOW), MAX_HINT_MS);
  });
  for (const value of garbage) {
    test(`refuses ${JSON.stringify(value)}`, () => {
      assert.equal(parseRetryAfter(value, NOW), undefined);
    });
  }
});

describe('parseResetValue', () => {
  const now = 1_700_000_000_000;
  test('small values are seconds from now, large ones epoch seconds, larger ones epoch ms', () => {
    assert.equal(parseResetValue('30', now), 30_000);
    assert.equal(parseResetValue(String(now / 1000 + 42), now), 42_000);
    assert.equal(parseResetValue(String(now + 1_500), now), 1_500);
    assert.equal(parseResetValue(String(now / 1000 - 10), now), 0);
    assert.equal(parseResetValue('500000000', now), MAX_HINT_MS);
    assert.equal(parseResetValue('-3', now), undefined);
    assert.equal(parseResetValue(undefined, now), undefined);
  });
});

describe('retryHintFromHeaders', () => {
  const now = 1_700_000_000_000;
  const hint = (headers: HeaderRecord) => retryHintFromHeaders(headers, now);

  test('Retry-After wins over every RateLimit field', () => {
    assert.deepEqual(
      hint({
        'retry-after': '3',
        ratelimit: '"default";r=0;t=30',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': '99',
      }),
      { delayMs: 3_000, source: 'retry-after' },
    );
  });

  test('a garbage Retry-After falls through to RateLimit', () => {
    assert.deepEqual(hint({ 'retry-after': 'soon', ratelimit: '"default";r=0;t=30' }), {
      delayMs: 30_000,
      source: 'ratelimit',
    });
  });

  test('a RateLimit reset is a hint only when nothing remains', () => {
    assert.equal(hint({ ratelimit: '"default";r=5;t=30' }), undefined);
    assert.equal(hint({ ratelimit: '"default";r=0' }), undefined);
  });

  test('with several exhausted policies, the latest reset is the hint', () => {
    assert.equal(hint({ ratelimit: '"burst";r=0;t=10, "daily";r=0;t=3600' })?.delayMs, 3_600_000);
    assert.equal(hint({ ratelimit: '"burst";r=0;t=10, "daily";r=50;t=3600' })?.delayMs, 10_000);
  });

  test('repeated field lines are combined, as a list', () => {
    assert.equal(hint({ ratelimit: ['"a";r=5;t=1', '"b";r=0;t=9'] })?.delayMs, 9_000);
  });

  test('a malformed RateLimit field is ignored whole', () => {
    for (const value of ['"default";r=0;t=30,', 'r=0;t=30', '"default";R=0;t=30', '"default";r=0;t=30 x']) {
      assert.equal(hint({ ratelimit: value }), undefined, value);
    }
  });

  test('the older draft: RateLimit-Remaining 0 with RateLimit-Reset', () => {
    assert.deepEqual(hint({ 'ratelimit-remaining': '0', 'ratelimit-reset': '12' }), {
      delayMs: 12_000,
      source: 'ratelimit',
    });
    assert.equal(hint({ 'ratelimit-remaining': '1', 'ratelimit-reset': '12' }), undefined);
  });

  test('X-RateLimit-Reset as epoch seconds (GitHub), epoch ms or delta seconds', () => {
    const exhausted = (reset: string) => hint({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset });
    assert.deepEqual(exhausted(String(now / 1000 + 42)), { delayMs: 42_000, source: 'x-ratelimit-reset' });
    assert.deepEqual(exhausted(String(now + 700)), { delayMs: 700, source: 'x-ratelimit-reset' });
    assert.deepEqual(exhausted('5'), { delayMs: 5_000, source: 'x-ratelimit-reset' });
    assert.equal(hint({ 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': '5' }), undefined);
    assert.equal(hint({ 'x-ratelimit-reset': '5' }), undefined);
  });

  test('an array value uses its first line for plain headers', () => {
    assert.deepEqual(hint({ 'retry-after': ['2', '9'] }), { delayMs: 2_000, source: 'retry-after' });
  });

  test('no headers, no hint', () => {
    assert.equal(hint({}), undefined);
  });
});

describe('rateLimitStateFromHeaders', () => {
  const now = 1_700_000_000_000;
  const state = (headers: HeaderRecord) => rateLimitStateFromHeaders(headers, now);

  test('RateLimit with its RateLimit-Policy', () => {
    assert.deepEqual(state({ ratelimit: '"default";r=0;t=30', 'ratelimit-policy': '"default";q=100;w=60' }), {
      remaining: 0,
      resetMs: 30_000,
      limit: 100,
      windowMs: 60_000,
      source: 'ratelimit',
    });
  });

  test('the most restrictive member is reported, with the policy of the same name', () => {
    assert.deepEqual(
      state({
        ratelimit: '"daily";r=900;t=80000, "burst";r=2;t=1',
        'ratelimit-policy': '"daily";q=1000;w=86400, "burst";q=10;w=1',
      }),
      { remaining: 2, resetMs: 1_000, limit: 10, windowMs: 1_000, source: 'ratelimit' },
    );
  });

  test('an unnamed or unknown member falls back to the first policy; no policy leaves the quota unknown', () => {
    assert.deepEqual(state({ ratelimit: 'x;r=4', 'ratelimit-policy': '"p";q=50' }), {
      remaining: 4,
      resetMs: undefined,
      limit: 50,
      windowMs: undefined,
      source: 'ratelimit',
    });
    assert.deepEqual(state({ ratelimit: '"p";r=4;t=2', 'ratelimit-policy': 'garbage;;' }), {
      remaining: 4,
      resetMs: 2_000,
      limit: undefined,
      windowMs: undefined,
      source: 'ratelimit',
    });
  });

  test('the older draft, including a quota-policy list in RateLimit-Limit', () => {
    assert.deepEqual(
      state({ 'ratelimit-limit': '100, 100;w=60', 'ratelimit-remaining': '7', 'ratelimit-reset': '20' }),
      { remaining: 7, resetMs: 20_000, limit: 100, windowMs: 60_000, source: 'ratelimit-legacy' },
    );
    assert.deepEqual(state({ 'ratelimit-remaining': '7' }), {
      remaining: 7,
      resetMs: undefined,
      limit: undefined,
      windowMs: undefined,
      source: 'ratelimit-legacy',
    });
  });

  test('X-RateLimit-* as GitHub sends them', () => {
    assert.deepEqual(
      state({
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '4999',
        'x-ratelimit-reset': String(now / 1000 + 3600),
      }),
      { remaining: 4999, resetMs: 3_600_000, limit: 5000, windowMs: undefined, source: 'x-ratelimit' },
    );
  });

  test('nothing about remaining quota, no state', () => {
    assert.equal(state({ 'x-ratelimit-limit': '5000' }), undefined);
    assert.equal(state({ ratelimit: '"p";t=3' }), undefined);
  });
});

describe('structured field lists', () => {
  test('parses every bare item type and keeps parameters', () => {
    const items = parseSfList('"a\\"b";r=1, tok/en:x;ok, ?1;n=-2, 1.25, :aGk=:;b, @1700000000, %"caf%c3%a9"');
    assert.ok(items !== undefined);
    assert.deepEqual(
      items.map((i) => i.value),
      ['a"b', 'tok/en:x', true, new SfDecimal(1.25), null, null, null],
    );
    assert.equal(items[0]?.params.get('r'), 1);
    assert.equal(items[1]?.params.get('ok'), true);
    assert.equal(items[2]?.params.get('n'), -2);
  });

  test('refuses what RFC 9651 refuses', () => {
    const bad = [
      '"open',
      '"bad\\q"',
      '1.2345',
      '1234567890123456',
      '1234567890123.5',
      '?2',
      ':abc',
      ':a$b:',
      '(a b)',
      'a;B=1',
      'a,,b',
      'a,',
      'a b',
      '"\u00e9"',
      '%x',
      '@x',
      'a;r=',
    ];
    for (const value of bad) assert.equal(parseSfList(value), undefined, value);
    assert.deepEqual(parseSfList('   '), []);
  });
});

describe('untrusted input (property)', () => {
  const fragments = [
    '"',
    'default',
    ';',
    'r=',
    't=',
    'q=',
    'w=',
    '0',
    '30',
    '-1',
    '1.5',
    ',',
    ' ',
    '?1',
    ':',
    '@',
    '%',
    '(',
    'GMT',
    'Wed, ',
    '21 Oct 2015 ',
    '07:28:00',
    '-Oct-',
    '\\',
    'e9',
    '\t',
  ];
  const headerValue = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.array(fc.constantFrom(...fragments), { maxLength: 30 }).map((parts) => parts.join('')),
    fc.double().map(String),
    fc.bigInt().map(String),
  );
  const isDelay = (v: number | undefined): boolean =>
    v === undefined || (Number.isInteger(v) && v >= 0 && v <= MAX_HINT_MS);
  const isCount = (v: number | undefined): boolean => v === undefined || (Number.isFinite(v) && v >= 0);

  test('parseRetryAfter: any string gives a non-negative whole number of ms or undefined, never a throw', () => {
    fc.assert(
      fc.property(headerValue, fc.integer({ min: 0, max: 4_102_444_800_000 }), (value, now) => {
        assert.ok(isDelay(parseRetryAfter(value, now)));
        assert.ok(isDelay(parseResetValue(value, now)));
      }),
      { numRuns: 5_000 },
    );
  });

  test('header records of garbage give a bounded hint and a sane state, never a throw', () => {
    const names = [
      'retry-after',
      'ratelimit',
      'ratelimit-policy',
      'ratelimit-limit',
      'ratelimit-remaining',
      'ratelimit-reset',
      'x-ratelimit-limit',
      'x-ratelimit-remaining',
      'x-ratelimit-reset',
    ] as const;
    const value = fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 }), fc.constant(undefined));
    const record = fc.record(
      Object.fromEntries(names.map((n) => [n, value])) as Record<(typeof names)[number], typeof value>,
      {
        requiredKeys: [],
      },
    );
    fc.assert(
      fc.property(record, fc.integer({ min: 0, max: 4_102_444_800_000 }), (headers, now) => {
        const h = retryHintFromHeaders(headers, now);
        if (h !== undefined) assert.ok(isDelay(h.delayMs));
        const s = rateLimitStateFromHeaders(headers, now);
        if (s !== undefined) {
          assert.ok(isCount(s.remaining));
          assert.ok(isDelay(s.resetMs) && isDelay(s.windowMs) && isCount(s.limit));
        }
      }),
      { numRuns: 3_000 },
    );
  });

  test('10 KB hostile values are refused or parsed in one pass', () => {
    const big = 10 * 1024;
    const hostile = [
      '1'.repeat(big),
      ' '.repeat(big) + '5',
      'Wed, ' + '1'.repeat(big),
      '"' + 'a'.repeat(big),
      '"default";r=0;t=30, '.repeat(big / 20).slice(0, -2),
      'a;' + 'b;'.repeat(big / 2),
      '\\'.repeat(big),
    ];
    // Hundreds of passes over 10 KB inputs: a backtracking parser would never finish these.
    for (let round = 0; round < 50; round++) {
      for (const value of hostile) {
        assert.ok(isDelay(parseRetryAfter(value, NOW)));
        const headers = {
          'retry-after': value,
          ratelimit: value,
          'x-ratelimit-reset': value,
          'x-ratelimit-remaining': '0',
        };
        const h = retryHintFromHeaders(headers, NOW);
        assert.ok(h === undefined || h.source === 'ratelimit');
        rateLimitStateFromHeaders(headers, NOW);
      }
    }
    // Under the 4 KB cap a long list is parsed in full; over it, refused unread.
    const list = '"p";r=1;t=5, '.repeat(300) + '"last";r=0;t=30';
    assert.ok(list.length < 4_096);
    assert.equal(retryHintFromHeaders({ ratelimit: list }, NOW)?.delayMs, 30_000);
    assert.equal(retryHintFromHeaders({ ratelimit: hostile[4] }, NOW), undefined);
    assert.equal(parseSfList('a,'.repeat(2_048) + 'a'), undefined);
  });
});
