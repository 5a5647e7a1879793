/**
 * Conformance cases on what the cache does with what it holds: Vary, response directives,
 * revalidation and 304 updates, stale-while-revalidate / stale-if-error, invalidation by unsafe
 * methods, Authorization, and the headers a hit carries.
 */
import {
  CT,
  HCS,
  HIT,
  MISS,
  STALE,
  pair,
  revalidation,
  type ConformanceCase,
  type Step,
} from './conformance-table.js';

const MA = { 'cache-control': 'max-age=3600' };

function vary(
  follows: string,
  names: string,
  first: Record<string, string>,
  second: Record<string, string>,
  hit: boolean,
): ConformanceCase {
  return pair(follows, { ...MA, vary: names }, 0, hit ? HIT : MISS, { first, second: { headers: second } });
}

const varyCases: ConformanceCase[] = [
  vary(`${CT}: vary-match`, 'foo', { foo: '1' }, { foo: '1' }, true),
  vary(`${CT}: vary-no-match`, 'foo', { foo: '1' }, { foo: '2' }, false),
  vary(`${CT}: vary-omit-stored`, 'foo', {}, { foo: '1' }, false),
  vary(`${CT}: vary-omit`, 'foo', { foo: '1' }, {}, false),
  vary(`${CT}: vary-2-match`, 'foo, bar', { foo: '1', bar: 'a' }, { foo: '1', bar: 'a' }, true),
  vary(`${CT}: vary-2-no-match`, 'foo, bar', { foo: '1', bar: 'a' }, { foo: '1', bar: 'b' }, false),
  vary(`${CT}: vary-2-match-omit`, 'foo, bar', { foo: '1' }, { foo: '1' }, true),
  vary(
    `${CT}: vary-3-match`,
    'foo, bar, baz',
    { foo: '1', bar: 'a', baz: 'z' },
    { foo: '1', bar: 'a', baz: 'z' },
    true,
  ),
  vary(
    `${CT}: vary-3-no-match`,
    'foo, bar, baz',
    { foo: '1', bar: 'a', baz: 'z' },
    { foo: '2', bar: 'a', baz: 'z' },
    false,
  ),
  vary(
    `${CT}: vary-3-order`,
    'foo, bar, baz',
    { baz: 'z', bar: 'a', foo: '1' },
    { foo: '1', bar: 'a', baz: 'z' },
    true,
  ),
  vary(`${CT}: vary-3-omit`, 'foo, bar, baz', { foo: '1', baz: 'z' }, { foo: '1', baz: 'z' }, true),
  vary(`${CT}: vary-star`, '*', { foo: '1' }, { foo: '1' }, false),
  vary(`${HCS}: vary Vary header names are case-insensitive`, 'Foo', { foo: '1' }, { foo: '1' }, true),
  {
    follows: `${CT}: vary-cache-key (issue #19: another accept-language is another entry)`,
    steps: [
      {
        headers: { 'accept-language': 'fr' },
        reply: { headers: { ...MA, vary: 'accept-language' } },
        expect: { sent: true },
      },
      {
        headers: { 'accept-language': 'de' },
        reply: { headers: { ...MA, vary: 'accept-language' } },
        expect: MISS,
      },
      { headers: { 'accept-language': 'fr' }, expect: HIT },
      { headers: { 'accept-language': 'de' }, expect: { ...HIT, body: 'B' } },
    ],
  },
];

const NO_CACHE_MA = { 'cache-control': 'no-cache, max-age=3600' };
const response: ConformanceCase[] = [
  pair(`${CT}: cc-resp-private-shared`, { 'cache-control': 'private, max-age=3600' }, 0, MISS, {
    shared: true,
  }),
  pair(`${CT}: cc-resp-private-private`, { 'cache-control': 'private, max-age=3600' }, 10, HIT),
  pair(`${CT}: cc-resp-no-store`, { 'cache-control': 'no-store' }, 0, MISS),
  pair(`${CT}: cc-resp-no-store-case-insensitive`, { 'cache-control': 'max-age=3600, NO-STORE' }, 0, MISS),
  pair(`${CT}: cc-resp-no-store-fresh`, { 'cache-control': 'max-age=10000, no-store' }, 0, MISS),
  {
    follows: `${CT}: cc-resp-no-store-old-new`,
    steps: [
      { reply: { headers: { 'cache-control': 'max-age=10000' } }, expect: { sent: true } },
      {
        headers: { 'cache-control': 'no-cache' },
        reply: { headers: { 'cache-control': 'no-store' } },
        expect: MISS,
      },
      { reply: { headers: {} }, expect: { cache: 'miss', body: 'C', sent: true } },
    ],
  },
  pair(`${CT}: cc-resp-no-cache`, { 'cache-control': 'no-cache' }, 0, MISS),
  pair(`${CT}: cc-resp-no-cache-case-insensitive`, { 'cache-control': 'max-age=3600, NO-CACHE' }, 0, MISS),
  revalidation(
    `${CT}: cc-resp-no-cache-revalidate`,
    { 'cache-control': 'no-cache', etag: '"abc"' },
    0,
    { status: 304, headers: {} },
    {
      cache: 'revalidated',
      body: 'A',
      conditional: { 'if-none-match': '"abc"' },
    },
  ),
  revalidation(
    `${CT}: cc-resp-no-cache-revalidate-fresh`,
    { ...NO_CACHE_MA, etag: '"abc"' },
    0,
    { status: 304, headers: {} },
    {
      cache: 'revalidated',
      body: 'A',
      conditional: { 'if-none-match': '"abc"' },
    },
  ),
  pair(
    `${CT}: headers-omit-headers-listed-in-Cache-Control-no-cache-single`,
    { 'cache-control': 'no-cache="a", max-age=3600', a: '1' },
    0,
    MISS,
  ),
  pair(
    `${CT}: cc-resp-must-revalidate-fresh`,
    { 'cache-control': 'max-age=10000, must-revalidate' },
    10,
    HIT,
  ),
  pair(`${CT}: cc-resp-must-revalidate-stale`, { 'cache-control': 'max-age=1, must-revalidate' }, 2, MISS),
  pair(`${CT}: cc-resp-immutable-fresh`, { 'cache-control': 'max-age=10000, immutable' }, 10, HIT),
  pair(`${CT}: cc-resp-immutable-stale`, { 'cache-control': 'max-age=1, immutable' }, 2, MISS),
  {
    ...pair(
      `${CT}: cc-resp-private-private (private="field")`,
      { 'cache-control': 'private="x-user", max-age=3600', 'x-user': 'alice' },
      10,
      {
        ...HIT,
        headers: { 'x-user': 'alice' },
      },
    ),
    deviation: 'private="field" stripped from hits of a private cache',
  },
  pair(
    `${CT}: cc-resp-private-shared (private="field")`,
    { 'cache-control': 'private="x-user", max-age=3600', 'x-user': 'alice' },
    0,
    MISS,
    {
      shared: true,
    },
  ),
  pair(`${CT}: pragma-response-no-cache`, { ...MA, pragma: 'no-cache' }, 10, HIT),
  pair(`${CT}: pragma-response-extension`, { ...MA, pragma: 'whatever' }, 10, HIT),
  pair(`${HCS}: response pragma: no-cache`, { pragma: 'no-cache', 'last-modified': '@-100000' }, 0, MISS),
  pair(
    `${HCS}: response blank cache-control and pragma: no-cache`,
    { 'cache-control': '', pragma: 'no-cache', 'last-modified': '@-100000' },
    10,
    HIT,
  ),
  pair(
    `${HCS}: response pre-check tolerated`,
    { 'cache-control': 'pre-check=0, post-check=0, no-store, no-cache, max-age=100' },
    0,
    MISS,
  ),
];

const STALE_ETAG = { 'cache-control': 'max-age=1', etag: '"v1"', 'x-test': 'A' };
const R304 = (headers: Record<string, string> = {}) => ({ status: 304, headers });
const REVALIDATED = { cache: 'revalidated' as const, body: 'A', conditional: { 'if-none-match': '"v1"' } };
const freshAfter: Step = { expect: HIT };

const update: ConformanceCase[] = [
  {
    ...revalidation(
      `${CT}: 304-etag-update-response-Cache-Control`,
      STALE_ETAG,
      2,
      R304({ 'cache-control': 'max-age=3600' }),
      REVALIDATED,
      {
        then: { advance: 100, expect: { ...HIT, headers: { age: '100' } } },
      },
    ),
    deviation: 'a 304 carrying Cache-Control deletes the entry',
  },
  revalidation(
    `${CT}: 304-etag-update-response-Expires`,
    { expires: '@+1', etag: '"v1"' },
    2,
    R304({ expires: '@+3600' }),
    REVALIDATED,
    {
      then: { advance: 100, expect: HIT },
    },
  ),
  {
    ...revalidation(
      `${CT}: 304-etag-update-response-X-Test`,
      STALE_ETAG,
      2,
      R304({ 'x-test': 'B' }),
      { ...REVALIDATED, headers: { 'x-test': 'B' } },
      {
        then: { expect: { ...HIT, headers: { 'x-test': 'B' } } },
      },
    ),
    deviation: 'a 304 neither refreshes the age nor updates the stored headers',
  },
  revalidation(
    `${CT}: 304-etag-update-response-Content-Foo`,
    { ...STALE_ETAG, 'content-foo': 'A' },
    2,
    R304({ 'content-foo': 'B' }),
    {
      ...REVALIDATED,
      headers: { 'content-foo': 'B' },
    },
  ),
  revalidation(
    `${CT}: 304-lm-use-stored-X-Test`,
    STALE_ETAG,
    2,
    R304(),
    { ...REVALIDATED, headers: { 'x-test': 'A' } },
    { then: freshAfter },
  ),
  {
    ...revalidation(
      `${CT}: 304-etag-update-response-Age (revalidated answer's Age)`,
      { ...STALE_ETAG, age: '30' },
      5,
      R304(),
      {
        ...REVALIDATED,
        headers: { age: '0' },
      },
    ),
    deviation: 'a revalidated answer reports its old Age',
  },
  revalidation(
    `${HCS}: update Matching weak etags are updated`,
    { 'cache-control': 'max-age=1', etag: 'W/"w1"' },
    2,
    R304(),
    {
      cache: 'revalidated',
      body: 'A',
      conditional: { 'if-none-match': 'W/"w1"' },
    },
  ),
  revalidation(
    `${HCS}: update Matching lastmod are updated`,
    { 'cache-control': 'max-age=1', 'last-modified': '@-3600' },
    2,
    R304(),
    {
      cache: 'revalidated',
      body: 'A',
      conditional: { 'if-modified-since': '@-3602', 'if-none-match': undefined },
    },
  ),
  revalidation(
    `${HCS}: update Both matching are updated`,
    { 'cache-control': 'max-age=1', etag: '"b"', 'last-modified': '@-3600' },
    2,
    R304(),
    {
      cache: 'revalidated',
      body: 'A',
      conditional: { 'if-none-match': '"b"', 'if-modified-since': '@-3602' },
    },
  ),
  revalidation(
    `${CT}: conditional-etag-strong-generate (200 replaces the entry)`,
    STALE_ETAG,
    2,
    { headers: { 'cache-control': 'max-age=3600', etag: '"v2"' } },
    {
      ...MISS,
      conditional: { 'if-none-match': '"v1"' },
    },
    { then: { expect: { ...HIT, body: 'B' } } },
  ),
  revalidation(
    `${CT}: conditional-lm-stale`,
    { 'cache-control': 'max-age=1', 'last-modified': '@-100' },
    2,
    R304(),
    {
      cache: 'revalidated',
      body: 'A',
      conditional: { 'if-modified-since': '@-102' },
    },
  ),
  pair(
    `${CT}: conditional-etag-forward`,
    MA,
    0,
    { ...MISS, cache: null, conditional: { 'if-none-match': '"abc"' } },
    {
      second: { headers: { 'if-none-match': '"abc"' } },
    },
  ),
];

const SIE = { 'cache-control': 'max-age=1, stale-if-error=60' };
const stale: ConformanceCase[] = [
  pair(
    `${CT}: stale-close`,
    { 'cache-control': 'max-age=1' },
    2,
    { error: 'NETWORK' },
    { second: { reply: 'close' } },
  ),
  pair(
    `${CT}: stale-503`,
    { 'cache-control': 'max-age=1' },
    2,
    { ...MISS, status: 503 },
    { second: { reply: { status: 503 } } },
  ),
  {
    ...pair(`${CT}: stale-sie-close`, SIE, 2, { ...STALE, sent: true }, { second: { reply: 'close' } }),
    deviation: 'stale-if-error is not used on a dropped connection',
  },
  {
    ...pair(
      `${CT}: stale-sie-close (attempt timeout)`,
      SIE,
      2,
      { ...STALE, sent: true },
      { second: { reply: 'hang' }, attemptTimeout: 1_000 },
    ),
    deviation: 'stale-if-error is not used on a timeout',
  },
  pair(
    `${CT}: stale-sie-503`,
    SIE,
    2,
    { ...STALE, sent: true, status: 200 },
    { second: { reply: { status: 503 } } },
  ),
  ...[500, 502, 504, 429].map((code) =>
    pair(
      `${CT}: stale-sie-503 (with ${code})`,
      SIE,
      2,
      { ...STALE, sent: true },
      { second: { reply: { status: code } } },
    ),
  ),
  pair(
    `${HCS}: okhttp stale-if-error timetolive (window over)`,
    SIE,
    100,
    { ...MISS, status: 503 },
    { second: { reply: { status: 503 } } },
  ),
  {
    ...pair(
      `${CT}: stale-sie-503 (no-cache)`,
      { 'cache-control': 'no-cache, stale-if-error=60' },
      2,
      { ...MISS, status: 503 },
      {
        second: { reply: { status: 503 } },
      },
    ),
    deviation: 'with no-cache and stale-if-error, a 503 on revalidation returns the stored body',
  },
  pair(
    `${CT}: stale-sie-503 (must-revalidate)`,
    { 'cache-control': 'max-age=1, must-revalidate, stale-if-error=60' },
    2,
    { ...MISS, status: 503 },
    {
      second: { reply: { status: 503 } },
    },
  ),
  pair(
    `${CT}: stale-503 (client staleIfError)`,
    {},
    60,
    { ...STALE, sent: true },
    { staleIfError: 600_000, second: { reply: { status: 503 } } },
  ),
  {
    follows: `${CT}: stale-while-revalidate`,
    steps: [
      {
        reply: { headers: { 'cache-control': 'max-age=1, stale-while-revalidate=60', etag: '"s"' } },
        expect: { sent: true },
      },
      { advance: 2, reply: R304({ 'cache-control': 'max-age=3600' }), expect: STALE, background: true },
      { advance: 10, expect: HIT },
    ],
  },
  pair(
    `${CT}: stale-while-revalidate-window`,
    { 'cache-control': 'max-age=1, stale-while-revalidate=5', etag: '"s"' },
    10,
    {
      cache: 'revalidated',
      body: 'A',
      conditional: { 'if-none-match': '"s"' },
    },
    { second: { reply: R304() } },
  ),
  pair(
    `${HCS}: okhttp stale-while-revalidate does not satisfy when stale and must-revalidate`,
    {
      'cache-control': 'max-age=1, stale-while-revalidate=60, must-revalidate',
    },
    2,
    MISS,
  ),
];

function invalidation(method: string): ConformanceCase[] {
  const stored: Step = { reply: { headers: MA }, expect: { sent: true } };
  const moved: Step = { path: '/moved', reply: { headers: MA }, expect: { sent: true } };
  const unsafe = (headers: Record<string, string>, status = 200): Step => ({
    method,
    reply: { status, headers },
    expect: { cache: null, body: 'B', sent: true },
  });
  return [
    {
      follows: `${CT}: invalidate-${method}`,
      steps: [stored, unsafe({}), { reply: {}, expect: { cache: 'miss', body: 'C' } }],
    },
    { follows: `${CT}: invalidate-${method}-failed`, steps: [stored, unsafe({}, 500), { expect: HIT }] },
    {
      follows: `${CT}: invalidate-${method}-location`,
      steps: [
        moved,
        unsafe({ location: '~/moved' }),
        { path: '/moved', reply: {}, expect: { cache: 'miss', body: 'C' } },
      ],
    },
    {
      follows: `${CT}: invalidate-${method}-cl`,
      steps: [
        moved,
        unsafe({ 'content-location': '~/moved' }),
        { path: '/moved', reply: {}, expect: { cache: 'miss', body: 'C' } },
      ],
    },
  ];
}

const methods: ConformanceCase[] = [
  ...['POST', 'PUT', 'DELETE', 'PATCH'].flatMap(invalidation),
  {
    follows: `${HCS}: okhttp request method options is not cached`,
    steps: [
      { method: 'OPTIONS', reply: { headers: MA }, expect: { cache: null, sent: true } },
      { method: 'OPTIONS', reply: { headers: MA }, expect: { cache: null, body: 'B', sent: true } },
    ],
  },
  {
    follows: `${CT}: method-POST`,
    steps: [
      { method: 'POST', reply: { headers: MA }, expect: { cache: null, sent: true } },
      { reply: { headers: MA }, expect: MISS },
    ],
  },
  {
    follows: `${HCS}: satisfy when methods match HEAD`,
    steps: [
      { reply: { headers: { ...MA, 'x-test': 'A' } }, expect: { sent: true } },
      { method: 'HEAD', expect: { ...HIT, body: '', headers: { 'x-test': 'A' } } },
    ],
  },
];

const AUTH = { authorization: 'Basic dXNlcjpwYXNz' };
const authorization: ConformanceCase[] = [
  pair(`${CT}: other-authorization`, MA, 0, MISS, { shared: true, first: AUTH, second: { headers: AUTH } }),
  pair(`${CT}: other-authorization-public`, { 'cache-control': 'public, max-age=3600' }, 10, HIT, {
    shared: true,
    first: AUTH,
    second: { headers: AUTH },
  }),
  pair(
    `${CT}: other-authorization-must-revalidate`,
    { 'cache-control': 'max-age=3600, must-revalidate' },
    10,
    HIT,
    {
      shared: true,
      first: AUTH,
      second: { headers: AUTH },
    },
  ),
  pair(`${CT}: other-authorization-smaxage`, { 'cache-control': 's-maxage=3600' }, 10, HIT, {
    shared: true,
    first: AUTH,
    second: { headers: AUTH },
  }),
  pair(`${CT}: other-authorization (private cache, same credentials)`, MA, 10, HIT, {
    first: AUTH,
    second: { headers: AUTH },
  }),
  pair(`${CT}: other-authorization (private cache, other credentials)`, MA, 0, MISS, {
    first: AUTH,
    second: { headers: { authorization: 'Basic b3RoZXI6cGFzcw==' } },
  }),
];

const headers: ConformanceCase[] = [
  pair(
    `${CT}: headers-omit-headers-listed-in-Connection`,
    { ...MA, connection: 'a, keep-alive', a: '1' },
    10,
    { ...HIT, headers: { a: undefined } },
  ),
  pair(
    `${HCS}: response remove hop headers`,
    { ...MA, 'keep-alive': 'timeout=5', te: 'deflate', 'x-kept': '1' },
    10,
    {
      ...HIT,
      headers: { 'keep-alive': undefined, te: undefined, 'x-kept': '1' },
    },
  ),
  pair(
    `${HCS}: response cache explicitly public cookie`,
    { 'cache-control': 'public, max-age=3600', 'set-cookie': 'id=1' },
    10,
    {
      ...HIT,
      headers: { 'set-cookie': undefined },
    },
    { shared: true },
  ),
  pair(`${CT}: freshness-max-age (Age on a hit)`, MA, 30, { ...HIT, headers: { age: '30' } }),
];

export const behaviourCases: readonly ConformanceCase[] = [
  ...varyCases,
  ...response,
  ...update,
  ...stale,
  ...methods,
  ...authorization,
  ...headers,
];
