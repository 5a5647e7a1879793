/**
 * Conformance cases on freshness: Cache-Control max-age / s-maxage, Age, Expires and Date,
 * heuristic freshness, cacheable statuses, and the request's own directives.
 */
import { CT, HCS, HIT, MISS, STALE, pair, statusPair, type ConformanceCase } from './conformance-table.js';

const MA = { 'cache-control': 'max-age=3600' };

const explicit: ConformanceCase[] = [
  pair(`${CT}: freshness-none`, {}, 0, MISS),
  pair(`${CT}: freshness-max-age`, MA, 10, { ...HIT, headers: { age: '10' } }),
  pair(`${CT}: freshness-max-age-stale`, { 'cache-control': 'max-age=1' }, 2, MISS),
  {
    ...pair(`${CT}: freshness-max-age-0`, { 'cache-control': 'max-age=0' }, 0, MISS),
    deviation: 'max-age=0 reused within the same millisecond',
  },
  {
    ...pair(
      `${CT}: freshness-max-age-0 (with must-revalidate)`,
      { 'cache-control': 'max-age=0, must-revalidate' },
      0,
      MISS,
    ),
    deviation: 'must-revalidate with max-age=0 reused within the same millisecond',
  },
  pair(`${CT}: freshness-max-age-max-minus-1`, { 'cache-control': 'max-age=2147483647' }, 10, HIT),
  pair(`${CT}: freshness-max-age-max`, { 'cache-control': 'max-age=2147483648' }, 10, HIT),
  pair(`${CT}: freshness-max-age-max-plus-1`, { 'cache-control': 'max-age=2147483649' }, 10, HIT),
  pair(`${CT}: freshness-max-age-max-plus`, { 'cache-control': 'max-age=99999999999' }, 10, HIT),
  pair(`${CT}: freshness-max-age-age`, { ...MA, age: '7200' }, 0, MISS),
  pair(`${CT}: freshness-max-age-date`, { ...MA, date: '@-7200' }, 10, HIT),
  pair(`${CT}: freshness-max-age-expires`, { ...MA, expires: '@-7200' }, 10, HIT),
  pair(`${CT}: freshness-max-age-expires-invalid`, { ...MA, expires: '0' }, 10, HIT),
  pair(`${CT}: freshness-max-age-0-expires`, { 'cache-control': 'max-age=0', expires: '@+3600' }, 0, MISS),
  pair(`${CT}: freshness-max-age-extension`, { 'cache-control': 'max-age=3600, foo=bar' }, 10, HIT),
  pair(`${CT}: freshness-max-age-case-insenstive`, { 'cache-control': 'MAX-AGE=3600' }, 10, HIT),
  pair(`${CT}: freshness-max-age-negative`, { 'cache-control': 'max-age=-3600' }, 0, MISS),
  pair(`${CT}: freshness-max-age-s-maxage-private`, { 'cache-control': 'max-age=1, s-maxage=3600' }, 2, MISS),
  pair(`${CT}: freshness-s-maxage-shared`, { 'cache-control': 's-maxage=3600' }, 10, HIT, { shared: true }),
  pair(
    `${CT}: freshness-max-age-s-maxage-shared-longer`,
    { 'cache-control': 'max-age=1, s-maxage=3600' },
    2,
    HIT,
    { shared: true },
  ),
  pair(
    `${CT}: freshness-max-age-s-maxage-shared-longer-reversed`,
    { 'cache-control': 's-maxage=3600, max-age=1' },
    2,
    HIT,
    { shared: true },
  ),
  pair(
    `${CT}: freshness-max-age-s-maxage-shared-shorter`,
    { 'cache-control': 'max-age=3600, s-maxage=1' },
    2,
    MISS,
    { shared: true },
  ),
  pair(
    `${CT}: freshness-max-age-s-maxage-shared-shorter-expires`,
    { 'cache-control': 's-maxage=1', expires: '@+3600' },
    2,
    MISS,
    { shared: true },
  ),
  pair(
    `${HCS}: okhttp max age preferred over lower shared max age`,
    { 'cache-control': 's-maxage=60, max-age=180' },
    120,
    HIT,
  ),
  pair(`${HCS}: response simple hit`, { 'cache-control': 'public, max-age=999999' }, 10, HIT),
  pair(`${HCS}: response weird syntax`, { 'cache-control': ',,,,max-age =  456      ,' }, 10, HIT),
  pair(`${HCS}: response quoted syntax`, { 'cache-control': '  max-age = "678"      ' }, 10, HIT),
  pair(`${HCS}: response immutable simple hit`, { 'cache-control': 'immutable, max-age=999999' }, 10, HIT),
  pair(`${HCS}: response immutable can expire`, { 'cache-control': 'immutable, max-age=1' }, 2, MISS),
  pair(`${HCS}: response miss max-age=0`, { 'cache-control': 'public, max-age=0' }, 0, MISS),
];

/** `Age` (cache-tests age-parse): only a non-negative integer counts; the first value of a list. */
const age: ConformanceCase[] = [
  pair(`${CT}: age-parse-nonnumeric`, { ...MA, age: 'abc' }, 0, HIT),
  pair(`${CT}: age-parse-negative`, { ...MA, age: '-7200' }, 0, HIT),
  pair(`${CT}: age-parse-float`, { ...MA, age: '7200.0' }, 0, HIT),
  pair(`${CT}: age-parse-large-minus-one`, { ...MA, age: '2147483647' }, 0, MISS),
  pair(`${CT}: age-parse-large`, { ...MA, age: '2147483648' }, 0, MISS),
  pair(`${CT}: age-parse-larger`, { ...MA, age: '2147483649' }, 0, MISS),
  pair(`${CT}: age-parse-suffix`, { ...MA, age: '7200, 0' }, 0, MISS),
  pair(`${CT}: age-parse-prefix`, { ...MA, age: '0, 7200' }, 0, HIT),
  pair(`${CT}: age-parse-suffix-twoline`, { ...MA, age: ['7200', '0'] }, 0, MISS),
  pair(`${CT}: age-parse-prefix-twoline`, { ...MA, age: ['0', '7200'] }, 0, HIT),
  pair(`${CT}: age-parse-dup-0`, { ...MA, age: '0, 0' }, 0, HIT),
  pair(`${HCS}: response Ages`, { 'cache-control': 'max-age=100', age: '50' }, 40, {
    ...HIT,
    headers: { age: '90' },
  }),
  pair(`${HCS}: response Age can make stale`, { 'cache-control': 'max-age=100', age: '101' }, 0, MISS),
  pair(`${HCS}: response Bogus age ignored`, { 'cache-control': 'max-age=100', age: 'golden' }, 10, HIT),
];

/** `Expires` and `Date` (cache-tests expires-freshness). */
const expires: ConformanceCase[] = [
  pair(`${CT}: freshness-expires-future`, { expires: '@+3600' }, 10, HIT),
  pair(`${CT}: freshness-expires-past`, { expires: '@-3600' }, 0, MISS),
  pair(`${CT}: freshness-expires-present`, { expires: '@0' }, 0, MISS),
  pair(`${CT}: freshness-expires-invalid`, { expires: '0' }, 0, MISS),
  pair(`${CT}: freshness-expires-invalid-date`, { expires: 'Sun Oct 15 2023 00:00:00 GMT' }, 0, MISS),
  pair(`${HCS}: response cache with expires relative to date`, { date: '@-30', expires: '@0' }, 10, HIT),
  pair(`${HCS}: response cache expires no date`, { date: '', expires: '@+3600' }, 10, HIT),
  pair(
    `${HCS}: response max-age wins over future expires`,
    { 'cache-control': 'max-age=1', expires: '@+3600' },
    2,
    MISS,
  ),
  pair(
    `${HCS}: response expired expires cached with s-maxage`,
    { 'cache-control': 's-maxage=3600', expires: '@-10' },
    10,
    HIT,
    {
      shared: true,
    },
  ),
];

const LM = { 'last-modified': '@-100000' };
/** Heuristic freshness (cache-tests heuristic-freshness): 10 % of the time since Last-Modified, for these statuses only. */
const heuristicCached = [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501];
const heuristicNot = [201, 202, 302, 303, 307, 400, 403, 500, 502, 503, 599];
const heuristic: ConformanceCase[] = [
  ...heuristicCached.map((code) => statusPair(`${CT}: heuristic-${code}-cached`, code, LM, 10, HIT)),
  ...heuristicNot.map((code) => statusPair(`${CT}: heuristic-${code}-not_cached`, code, LM, 10, MISS)),
  pair(
    `${HCS}: okhttp default expiration date fully cached for less than24 hours`,
    { 'last-modified': '@-7200' },
    60,
    HIT,
  ),
  pair(
    `${HCS}: okhttp max age in the past with date header but no last modified header`,
    { date: '@-120', 'cache-control': 'max-age=60' },
    0,
    HIT,
  ),
];

/** Explicit freshness makes any status the cache understands reusable (cache-tests status). */
const statusCodes = [200, 203, 204, 299, 400, 404, 410, 500, 502, 503, 504];
/** Statuses whose meaning the cache does not know: never stored, so an error never replaces a last good answer. */
const notUnderstood = new Set([299, 400, 500, 502, 503, 504]);
const status: ConformanceCase[] = [
  ...statusCodes.map((code) =>
    notUnderstood.has(code)
      ? {
          ...statusPair(`${CT}: status-${code}-fresh`, code, MA, 10, MISS),
          reading:
            'a status the cache does not understand is not stored, even with explicit freshness (RFC 9111 §3: MAY store)',
        }
      : statusPair(`${CT}: status-${code}-fresh`, code, MA, 10, HIT),
  ),
  ...statusCodes.map((code) =>
    statusPair(`${CT}: status-${code}-stale`, code, { 'cache-control': 'max-age=1' }, 2, MISS),
  ),
  statusPair(
    `${CT}: status-599-must-understand`,
    599,
    { 'cache-control': 'max-age=3600, no-store, must-understand' },
    0,
    MISS,
  ),
  statusPair(
    `${CT}: status-200-must-understand`,
    200,
    { 'cache-control': 'max-age=3600, no-store, must-understand' },
    10,
    HIT,
  ),
  statusPair(`${HCS}: response uncacheable 503`, 503, {}, 0, MISS),
  statusPair(`${HCS}: response cacheable 301`, 301, { 'last-modified': '@-100000' }, 10, HIT),
  statusPair(`${HCS}: response uncacheable 303`, 303, { 'last-modified': '@-100000' }, 10, MISS),
  statusPair(`${HCS}: response cacheable 303`, 303, { 'cache-control': 'max-age=1000' }, 10, HIT),
  statusPair(`${HCS}: okhttp do not cache partial response`, 206, MA, 10, MISS),
];

/** The request's Cache-Control (cache-tests cc-request) and the per-request modes. */
const request: ConformanceCase[] = [
  pair(`${CT}: ccreq-ma0`, MA, 0, MISS, { second: { headers: { 'cache-control': 'max-age=0' } } }),
  pair(`${CT}: ccreq-ma1`, MA, 2, MISS, { second: { headers: { 'cache-control': 'max-age=1' } } }),
  pair(`${CT}: ccreq-magreaterage`, MA, 2, HIT, { second: { headers: { 'cache-control': 'max-age=5' } } }),
  pair(`${CT}: ccreq-max-stale`, { 'cache-control': 'max-age=1' }, 3, STALE, {
    second: { headers: { 'cache-control': 'max-stale=1000' } },
  }),
  pair(`${CT}: ccreq-max-stale-age`, { 'cache-control': 'max-age=1', age: '2000' }, 0, MISS, {
    second: { headers: { 'cache-control': 'max-stale=1000' } },
  }),
  pair(`${CT}: ccreq-min-fresh`, { 'cache-control': 'max-age=1500' }, 0, MISS, {
    second: { headers: { 'cache-control': 'min-fresh=2000' } },
  }),
  pair(`${CT}: ccreq-min-fresh-age`, { 'cache-control': 'max-age=1500', age: '1000' }, 0, MISS, {
    second: { headers: { 'cache-control': 'min-fresh=1000' } },
  }),
  pair(`${CT}: ccreq-no-cache`, MA, 0, MISS, { second: { headers: { 'cache-control': 'no-cache' } } }),
  pair(
    `${CT}: ccreq-no-cache-lm`,
    { ...MA, 'last-modified': '@-3600' },
    0,
    { ...MISS, conditional: { 'if-modified-since': '@-3600' } },
    {
      second: { headers: { 'cache-control': 'no-cache' } },
    },
  ),
  pair(
    `${CT}: ccreq-no-cache-etag`,
    { ...MA, etag: '"abc"' },
    0,
    { ...MISS, conditional: { 'if-none-match': '"abc"' } },
    {
      second: { headers: { 'cache-control': 'no-cache' } },
    },
  ),
  pair(`${CT}: ccreq-no-store`, MA, 0, MISS, { first: { 'cache-control': 'no-store' } }),
  pair(`${CT}: ccreq-oic`, MA, 10, HIT, { second: { headers: { 'cache-control': 'only-if-cached' } } }),
  {
    ...pair(`${CT}: ccreq-oic (stale entry)`, { 'cache-control': 'max-age=1' }, 10, STALE, {
      second: { mode: 'only-if-cached' },
    }),
    deviation: 'only-if-cached with a stale entry goes to the network',
  },
  {
    follows: `${CT}: ccreq-oic (nothing stored)`,
    steps: [{ mode: 'only-if-cached', expect: { cache: 'miss', status: 504, body: '', sent: false } }],
  },
  pair(
    `${HCS}: okhttp request max stale not honored with must revalidate`,
    { 'cache-control': 'max-age=1, must-revalidate' },
    3,
    MISS,
    {
      second: { headers: { 'cache-control': 'max-stale=1000' } },
    },
  ),
  pair(`${HCS}: satisfy not when no-cache requesting`, MA, 0, MISS, {
    second: { headers: { 'cache-control': 'fine, no-cache' } },
  }),
  pair(`${CT}: pragma-request-no-cache`, MA, 0, MISS, { second: { headers: { pragma: 'no-cache' } } }),
  pair(`${CT}: pragma-request-extension`, MA, 10, HIT, { second: { headers: { pragma: 'whatever' } } }),
  pair('Fetch standard: request cache mode "force-cache"', { 'cache-control': 'max-age=1' }, 100, STALE, {
    second: { mode: 'force-cache' },
  }),
  pair(
    'Fetch standard: request cache mode "no-cache"',
    { ...MA, etag: '"n"' },
    0,
    { ...MISS, conditional: { 'if-none-match': '"n"' } },
    {
      second: { mode: 'no-cache' },
    },
  ),
  pair(
    'Fetch standard: request cache mode "no-store" (bulwark: cache: false)',
    MA,
    0,
    { ...MISS, cache: null },
    { second: { mode: false } },
  ),
];

export const freshnessCases: readonly ConformanceCase[] = [
  ...explicit,
  ...age,
  ...expires,
  ...heuristic,
  ...status,
  ...request,
];
