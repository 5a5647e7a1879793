import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isBulwarkError } from '../../src/errors.js';
import { nextRedirect, type RedirectInput } from '../../src/transport/redirects.js';

function input(overrides: Partial<RedirectInput> = {}): RedirectInput {
  return {
    status: 302,
    location: '/next',
    method: 'GET',
    url: new URL('https://api.example.com/start?x=1'),
    headers: { accept: 'application/json' },
    bodyReplayable: true,
    hasBody: false,
    redirectCount: 0,
    allowDowngrade: false,
    ...overrides,
  };
}

function follow(overrides: Partial<RedirectInput> = {}) {
  const decision = nextRedirect(input(overrides));
  assert.equal(decision.follow, true, 'expected the redirect to be followed');
  return decision;
}

function refused(overrides: Partial<RedirectInput>, message: RegExp): void {
  assert.throws(
    () => nextRedirect(input(overrides)),
    (e: unknown) => isBulwarkError(e, 'REDIRECT') && message.test(e.message),
  );
}

const CREDENTIALS = { authorization: 'Bearer secret', cookie: 'sid=1', 'proxy-authorization': 'Basic cA==' };
const FOLLOWED = [301, 302, 303, 307, 308] as const;

describe('nextRedirect: what is followed', () => {
  test('statuses that are not followed are handed back', () => {
    for (const status of [200, 204, 300, 304, 305, 306, 400, 500]) {
      assert.deepEqual(nextRedirect(input({ status })), { follow: false, reason: 'not-a-redirect' });
    }
  });

  test('maxRedirects 0 hands every redirect back', () => {
    assert.deepEqual(nextRedirect(input({ maxRedirects: 0 })), { follow: false, reason: 'disabled' });
  });

  test('a missing or empty Location hands the 3xx back', () => {
    for (const location of [undefined, '', '   ']) {
      assert.deepEqual(nextRedirect(input({ location })), { follow: false, reason: 'no-location' });
    }
  });

  test('relative locations resolve against the current URL', () => {
    assert.equal(follow({ location: 'other?y=2' }).url.href, 'https://api.example.com/other?y=2');
    assert.equal(follow({ location: '/abs' }).url.href, 'https://api.example.com/abs');
  });

  test('the 6th redirect is refused by default; the 5th is followed', () => {
    assert.equal(follow({ redirectCount: 4 }).url.pathname, '/next');
    refused({ redirectCount: 5 }, /too many redirects \(maxRedirects is 5\)/);
    refused({ redirectCount: 2, maxRedirects: 2 }, /maxRedirects is 2/);
  });
});

describe('nextRedirect: refused targets', () => {
  test('a Location that is not a URL is an error', () => {
    refused({ location: 'http://[localhost]/admin' }, /is not a valid URL/);
    refused({ location: 'http://exa mple.com:99999/' }, /is not a valid URL/);
  });

  test('only http and https are followed', () => {
    for (const location of [
      'file:///etc/passwd',
      'data:text/plain,hi',
      'javascript:alert(1)',
      'ftp://x/',
      'unix:/run/docker.sock',
    ]) {
      refused({ location }, /only http: and https: are followed/);
    }
  });

  test('https → http is refused unless allowDowngrade', () => {
    refused({ location: 'http://api.example.com/next' }, /set allowDowngrade/);
    const d = follow({
      location: 'http://api.example.com/next',
      allowDowngrade: true,
      headers: { ...CREDENTIALS },
    });
    assert.equal(d.url.protocol, 'http:');
    assert.equal(d.crossOrigin, true);
    assert.deepEqual({ ...d.headers }, {});
  });

  test('the error names method and a redacted URL, not credentials', () => {
    try {
      nextRedirect(input({ url: new URL('https://user:pw@api.example.com/a'), location: 'ftp://x/' }));
      assert.fail('expected a throw');
    } catch (e) {
      assert.ok(isBulwarkError(e, 'REDIRECT'));
      assert.equal(e.method, 'GET');
      assert.ok(!JSON.stringify(e.toJSON()).includes('pw'));
      assert.ok(!e.message.includes('pw'));
    }
  });
});

describe('nextRedirect: methods and bodies', () => {
  test('301 and 302 turn POST into GET, drop the body and content-* headers', () => {
    for (const status of [301, 302]) {
      const d = follow({
        status,
        method: 'POST',
        hasBody: true,
        headers: { 'content-type': 'application/json', 'content-length': '2', 'x-trace': '1' },
      });
      assert.equal(d.method, 'GET');
      assert.equal(d.dropBody, true);
      assert.deepEqual({ ...d.headers }, { 'x-trace': '1' });
    }
  });

  test('301 and 302 keep other methods with their body', () => {
    const d = follow({
      status: 301,
      method: 'PUT',
      hasBody: true,
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(d.method, 'PUT');
    assert.equal(d.dropBody, false);
    assert.equal(d.headers['content-type'], 'text/plain');
  });

  test('303 turns every method but GET and HEAD into GET', () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const d = follow({ status: 303, method, hasBody: true, bodyReplayable: false });
      assert.equal(d.method, 'GET');
      assert.equal(d.dropBody, true);
    }
    assert.equal(follow({ status: 303, method: 'HEAD' }).method, 'HEAD');
    assert.equal(follow({ status: 303, method: 'GET' }).dropBody, false);
  });

  test('307 and 308 keep method and a replayable body', () => {
    for (const status of [307, 308]) {
      const d = follow({
        status,
        method: 'POST',
        hasBody: true,
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(d.method, 'POST');
      assert.equal(d.dropBody, false);
      assert.equal(d.headers['content-type'], 'application/json');
    }
  });

  test('a stream body is never replayed: 307/308 (and 301 PUT) are refused', () => {
    for (const [status, method] of [
      [307, 'POST'],
      [308, 'PUT'],
      [301, 'PUT'],
    ] as const) {
      refused(
        { status, method, hasBody: true, bodyReplayable: false },
        /body is a stream and cannot be sent again/,
      );
    }
    assert.equal(follow({ status: 307, method: 'GET', hasBody: false, bodyReplayable: false }).method, 'GET');
  });
});

describe('nextRedirect: headers across origins', () => {
  const crossOrigin = [
    ['another host', 'https://evil.example/x'],
    ['another port', 'https://api.example.com:8443/x'],
    ['http → https upgrade', 'https://api.example.com/x', 'http://api.example.com/start'],
    ['a protocol-relative Location', '//evil.example/x'],
    ['a backslash Location', '/\\evil.example/x'],
  ] as const;

  for (const [what, location, from] of crossOrigin) {
    test(`credentials are dropped on ${what}, for every followed status`, () => {
      for (const status of FOLLOWED) {
        const d = follow({
          status,
          location,
          url: new URL(from ?? 'https://api.example.com/start'),
          headers: { ...CREDENTIALS, accept: '*/*' },
        });
        assert.equal(d.crossOrigin, true, `${status} ${location}`);
        assert.deepEqual({ ...d.headers }, { accept: '*/*' });
      }
    });
  }

  test('credentials stay on the same origin (default port spelled out included)', () => {
    const d = follow({ location: 'https://api.example.com:443/other', headers: { ...CREDENTIALS } });
    assert.equal(d.crossOrigin, false);
    assert.deepEqual({ ...d.headers }, CREDENTIALS);
  });

  test('credential names are matched in any case', () => {
    const d = follow({
      location: 'https://evil.example/',
      headers: { Authorization: 'x', 'ProXy-AuthoriZation': 'y', COOKIE: 'z' },
    });
    assert.deepEqual({ ...d.headers }, {});
  });

  test('sensitiveHeaders extend the list across origins only', () => {
    const headers = { 'x-api-key': 'k', 'x-other': 'o' };
    const cross = follow({ location: 'https://evil.example/', headers, sensitiveHeaders: ['X-Api-Key'] });
    assert.deepEqual({ ...cross.headers }, { 'x-other': 'o' });
    const same = follow({ headers, sensitiveHeaders: ['x-api-key'] });
    assert.deepEqual({ ...same.headers }, headers);
  });

  test('host is always recomputed; the caller headers are not mutated', () => {
    const headers = { host: 'api.example.com', authorization: 'a' };
    const d = follow({ location: 'https://evil.example/', headers });
    assert.equal(d.headers.host, undefined);
    assert.deepEqual(headers, { host: 'api.example.com', authorization: 'a' });
  });

  test('a header named __proto__ stays a plain header', () => {
    const headers = JSON.parse('{"__proto__":"x","accept":"y"}') as Record<string, string>;
    const d = follow({ headers });
    assert.equal(Object.getOwnPropertyDescriptor(d.headers, '__proto__')?.value, 'x');
  });

  test('userinfo in Location is removed; the fragment is inherited when absent', () => {
    const d = follow({
      location: 'https://u:p@evil.example/x',
      url: new URL('https://api.example.com/a#frag'),
    });
    assert.equal(d.url.username, '');
    assert.equal(d.url.password, '');
    assert.equal(d.url.hash, '#frag');
    assert.equal(
      follow({ location: '/y#own', url: new URL('https://api.example.com/a#frag') }).url.hash,
      '#own',
    );
  });

  test('property: across origins no credential survives, whatever the status, method or casing', () => {
    const casing = (name: string) =>
      fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map((upper) =>
        name
          .split('')
          .map((ch, i) => (upper[i] === true ? ch.toUpperCase() : ch))
          .join(''),
      );
    fc.assert(
      fc.property(
        fc.constantFrom(...FOLLOWED),
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
        casing('authorization'),
        casing('cookie'),
        casing('proxy-authorization'),
        fc.constantFrom('https://evil.example/', 'https://api.example.com:444/', '//other.example/p'),
        (status, method, a, c, p, location) => {
          const d = nextRedirect(
            input({ status, method, location, headers: { [a]: '1', [c]: '2', [p]: '3', keep: '4' } }),
          );
          assert.ok(d.follow);
          assert.deepEqual({ ...d.headers }, { keep: '4' });
        },
      ),
    );
  });
});
