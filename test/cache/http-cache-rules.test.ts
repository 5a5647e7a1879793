import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CacheRules, type CacheRequest } from '../../src/policies/http-cache.js';
import { createVirtualClock } from '../../src/testing/index.js';

const GET: CacheRequest = { method: 'GET', url: 'http://api.test/r?q=1', headers: {} };
const DATE = 'Tue, 01 Dec 2026 12:00:00 GMT';

function setup(options: { shared?: boolean; staleIfError?: number } = {}) {
  const clock = createVirtualClock({ now: Date.parse(DATE) });
  return { clock, rules: new CacheRules({ clock, ...options }) };
}

function res(headers: Record<string, string>, status = 200) {
  return { status, headers: { date: DATE, ...headers } };
}

describe('cache rules (RFC 9111 / RFC 5861) on the virtual clock', () => {
  it('max-age: fresh until its last millisecond, then revalidate', async () => {
    const { clock, rules } = setup();
    const p = rules.policyOf(GET, res({ 'cache-control': 'max-age=10' }));
    assert.equal(rules.decide(p, GET, 'default').use, 'fresh');
    await clock.advance(9_999);
    assert.equal(rules.decide(p, GET, 'default').use, 'fresh');
    await clock.advance(1);
    assert.equal(rules.decide(p, GET, 'default').use, 'revalidate');
  });

  it('max-age=0 is never reused without validation, not even in the same millisecond', () => {
    const { rules } = setup();
    const p = rules.policyOf(GET, res({ 'cache-control': 'max-age=0' }));
    assert.equal(rules.decide(p, GET, 'default').use, 'revalidate');
  });

  it('an upstream Age counts against max-age; Expires without max-age counts from Date', async () => {
    const { clock, rules } = setup();
    const aged = rules.policyOf(GET, res({ 'cache-control': 'max-age=60', age: '50' }));
    await clock.advance(9_000);
    assert.equal(rules.decide(aged, GET, 'default').use, 'fresh');
    await clock.advance(1_000);
    assert.equal(rules.decide(aged, GET, 'default').use, 'revalidate');
    const expires = rules.policyOf(GET, res({ expires: 'Tue, 01 Dec 2026 12:01:00 GMT' }));
    assert.equal(rules.decide(expires, GET, 'default').use, 'fresh');
    const invalid = rules.policyOf(GET, res({ expires: '0' }));
    assert.equal(rules.decide(invalid, GET, 'default').use, 'revalidate');
  });

  it('heuristic freshness only without explicit expiry: 10 % of the time since Last-Modified', async () => {
    const { clock, rules } = setup();
    // Modified 1000 s before Date: 100 s of heuristic freshness.
    const p = rules.policyOf(GET, res({ 'last-modified': 'Tue, 01 Dec 2026 11:43:20 GMT' }));
    await clock.advance(99_000);
    assert.equal(rules.decide(p, GET, 'default').use, 'fresh');
    await clock.advance(2_000);
    assert.equal(rules.decide(p, GET, 'default').use, 'revalidate');
    // A status that is not heuristically cacheable gets none (RFC 9111 §4.2.2).
    const created = rules.policyOf(GET, res({ 'last-modified': 'Tue, 01 Dec 2026 11:43:20 GMT' }, 201));
    assert.equal(rules.storable(created), false);
  });

  it('must-revalidate: reused while fresh, never served stale, not even for an error', async () => {
    const { clock, rules } = setup({ staleIfError: 3_600_000 });
    const p = rules.policyOf(
      GET,
      res({ 'cache-control': 'max-age=10, must-revalidate, stale-if-error=600' }),
    );
    assert.equal(rules.decide(p, GET, 'default').use, 'fresh');
    await clock.advance(11_000);
    assert.equal(rules.decide(p, GET, 'default').use, 'revalidate');
    assert.equal(rules.mayServeOnError(p), false);
  });

  it('no-cache: always revalidated, and never stands in for an error (§5.2.2.4)', () => {
    const { rules } = setup({ staleIfError: 3_600_000 });
    const p = rules.policyOf(GET, res({ 'cache-control': 'no-cache, stale-if-error=600', etag: '"a"' }));
    assert.equal(rules.storable(p), true);
    assert.equal(rules.decide(p, GET, 'default').use, 'revalidate');
    assert.equal(rules.mayServeOnError(p), false);
  });

  it('stale-if-error: within the window of the response, or of the client, whichever is longer', async () => {
    const { clock, rules } = setup({ staleIfError: 120_000 });
    const own = rules.policyOf(GET, res({ 'cache-control': 'max-age=10, stale-if-error=300' }));
    const none = rules.policyOf(GET, res({ 'cache-control': 'max-age=10' }));
    await clock.advance(10_000 + 119_000);
    assert.equal(rules.mayServeOnError(own), true);
    assert.equal(rules.mayServeOnError(none), true);
    await clock.advance(2_000);
    assert.equal(rules.mayServeOnError(own), true);
    assert.equal(rules.mayServeOnError(none), false);
    await clock.advance(180_000);
    assert.equal(rules.mayServeOnError(own), false);
  });

  it('stale-while-revalidate: stale answers served within the window, then revalidated', async () => {
    const { clock, rules } = setup();
    const p = rules.policyOf(GET, res({ 'cache-control': 'max-age=10, stale-while-revalidate=20' }));
    await clock.advance(15_000);
    assert.equal(rules.decide(p, GET, 'default').use, 'stale-while-revalidate');
    await clock.advance(15_000);
    assert.equal(rules.decide(p, GET, 'default').use, 'revalidate');
  });

  it('request directives: no-cache and max-age=0 revalidate, max-stale and min-fresh move the line', async () => {
    const { clock, rules } = setup();
    const p = rules.policyOf(GET, res({ 'cache-control': 'max-age=60' }));
    const ask = (cc: string): string =>
      rules.decide(p, { ...GET, headers: { 'cache-control': cc } }, 'default').use;
    assert.equal(ask('no-cache'), 'revalidate');
    assert.equal(rules.decide(p, { ...GET, headers: { pragma: 'no-cache' } }, 'default').use, 'revalidate');
    await clock.advance(30_000);
    assert.equal(ask('max-age=10'), 'revalidate');
    assert.equal(ask('min-fresh=40'), 'revalidate');
    assert.equal(ask('min-fresh=20'), 'fresh');
    await clock.advance(40_000);
    assert.equal(ask('max-stale=5'), 'revalidate');
    assert.equal(ask('max-stale=20'), 'stale');
    assert.equal(ask('max-stale'), 'stale');
  });

  it('shared cache: s-maxage wins, private is not stored, authorised answers only when allowed', () => {
    const shared = setup({ shared: true }).rules;
    const priv = setup().rules;
    const s = shared.policyOf(GET, res({ 'cache-control': 'max-age=0, s-maxage=60' }));
    assert.equal(shared.decide(s, GET, 'default').use, 'fresh');
    const p = priv.policyOf(GET, res({ 'cache-control': 'max-age=0, s-maxage=60' }));
    assert.equal(priv.decide(p, GET, 'default').use, 'revalidate');
    assert.equal(
      shared.storable(shared.policyOf(GET, res({ 'cache-control': 'private, max-age=60' }))),
      false,
    );
    assert.equal(priv.storable(priv.policyOf(GET, res({ 'cache-control': 'private, max-age=60' }))), true);
    const authed: CacheRequest = { ...GET, headers: { authorization: 'Bearer x' } };
    assert.equal(shared.storable(shared.policyOf(authed, res({ 'cache-control': 'max-age=60' }))), false);
    assert.equal(
      shared.storable(shared.policyOf(authed, res({ 'cache-control': 'public, max-age=60' }))),
      true,
    );
    assert.equal(shared.storable(shared.policyOf(authed, res({ 'cache-control': 's-maxage=60' }))), true);
  });

  it('a private cache keeps private="field" headers on its answers', () => {
    const { rules } = setup();
    const p = rules.policyOf(GET, res({ 'cache-control': 'private="x-user", max-age=60', 'x-user': 'ada' }));
    assert.equal(p.headers['x-user'], 'ada');
  });

  it('Vary: only a request with the same values matches; Vary: * matches nothing', () => {
    const { rules } = setup();
    const fr: CacheRequest = { ...GET, headers: { 'accept-language': 'fr' } };
    const p = rules.policyOf(fr, res({ 'cache-control': 'max-age=60', vary: 'Accept-Language' }));
    assert.equal(rules.matches(p, fr), true);
    assert.equal(rules.matches(p, { ...GET, headers: { 'accept-language': 'de' } }), false);
    assert.equal(rules.matches(p, GET), false);
    const star = rules.policyOf(fr, res({ 'cache-control': 'max-age=60', vary: '*' }));
    assert.equal(rules.matches(star, fr), false);
  });

  it('a 304 refreshes the stored headers and the age; the stored Age does not carry over', async () => {
    const { clock, rules } = setup();
    const p = rules.policyOf(GET, res({ 'cache-control': 'max-age=10', etag: '"1"', age: '5', 'x-v': 'a' }));
    await clock.advance(20_000);
    assert.deepEqual(rules.validators(p, GET), { 'if-none-match': '"1"' });
    const q = rules.refreshed(p, GET, {
      status: 304,
      headers: { 'cache-control': 'max-age=30', 'x-v': 'b', 'content-length': '0' },
    });
    assert.equal(rules.decide(q, GET, 'default').use, 'fresh');
    assert.equal(rules.ageOf(q), 0);
    assert.equal(q.headers['x-v'], 'b');
    assert.equal(q.headers['content-length'], undefined);
  });

  it('nothing of the request reaches the stored rules in the clear: URL, tokens and Vary values are digests', () => {
    const { rules } = setup({ shared: true });
    const req: CacheRequest = {
      method: 'GET',
      url: 'http://api.test/r?access_token=SECRET1',
      headers: { authorization: 'Bearer SECRET2', 'x-tenant': 'SECRET3' },
    };
    const p = rules.policyOf(
      req,
      res({ 'cache-control': 'public, max-age=60', vary: 'x-tenant', 'set-cookie': 'sid=SECRET4' }),
    );
    const text = JSON.stringify(p.toObject());
    for (const secret of ['SECRET1', 'SECRET2', 'SECRET3', 'SECRET4'])
      assert.ok(!text.includes(secret), secret);
    assert.equal(rules.matches(p, req), true);
  });

  it('keepFor: life plus the longest stale window, and at least a day past it', async () => {
    const { clock, rules } = setup({ staleIfError: 2 * 86_400_000 });
    const day = 86_400_000;
    const plain = setup();
    assert.equal(
      plain.rules.keepFor(plain.rules.policyOf(GET, res({ 'cache-control': 'max-age=10' }))),
      10_000 + day,
    );
    assert.equal(
      plain.rules.keepFor(
        plain.rules.policyOf(GET, res({ 'cache-control': 'max-age=10, stale-if-error=172800' })),
      ),
      10_000 + 2 * day,
    );
    const p = rules.policyOf(GET, res({ 'cache-control': 'max-age=10' }));
    assert.equal(rules.keepFor(p), 10_000 + 2 * day);
    await clock.advance(10_000 + 2 * day);
    assert.equal(rules.keepFor(p), 0);
  });
});
