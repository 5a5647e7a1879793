import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redactor, defaultRedactor as r } from '../../src/observability/redact.js';

const CARD = '4111111111111111';
const AMEX = '378282246310005';

describe('body: JSON', () => {
  test('redacts secret keys at any depth, in any case and with any separator, as valid JSON', () => {
    const input = JSON.stringify({
      user: 'bob',
      Password: 'hunter2',
      profile: {
        apiKey: 'k1',
        'api-key': 'k2',
        API_KEY: 'k3',
        nested: [{ client_secret: { a: [1, '}'] } }, { otp: 123456 }],
      },
      card_number: null,
      passport: 'P123',
      tokens_remaining: 5,
    });
    const out = r.body(input, 'application/json') as string;
    assert.deepEqual(JSON.parse(out), {
      user: 'bob',
      Password: '[REDACTED]',
      profile: {
        apiKey: '[REDACTED]',
        'api-key': '[REDACTED]',
        API_KEY: '[REDACTED]',
        nested: [{ client_secret: '[REDACTED]' }, { otp: '[REDACTED]' }],
      },
      card_number: '[REDACTED]',
      passport: 'P123',
      tokens_remaining: 5,
    });
  });

  test('handles pretty-printed JSON and JSON nested inside JSON strings', () => {
    const pretty = JSON.stringify({ a: { password: 'p', keep: 'k' } }, null, 2);
    assert.deepEqual(JSON.parse(r.body(pretty, 'application/json') as string), {
      a: { password: '[REDACTED]', keep: 'k' },
    });
    const nested = JSON.stringify({
      payload: JSON.stringify({ token: 't', inner: JSON.stringify({ secret: 's', n: 1 }) }),
    });
    const out = r.body(nested, 'application/json') as string;
    const payload = JSON.parse((JSON.parse(out) as { payload: string }).payload) as {
      token: string;
      inner: string;
    };
    assert.equal(payload.token, '[REDACTED]');
    assert.deepEqual(JSON.parse(payload.inner), { secret: '[REDACTED]', n: 1 });
  });

  test('redacts Luhn-valid card numbers in strings and as numbers, and keeps everything else', () => {
    const input = JSON.stringify({
      note: `paid with ${CARD.replace(/(\d{4})/g, '$1 ').trim()} and ${AMEX}`,
      dashed: '5500-0000-0000-0004',
      n: 4111111111111111,
      invalid: '4111111111111112',
      long_id: '41111111111111111111111',
      phone: '+1 555 123 4567',
    });
    const out = JSON.parse(r.body(input, 'application/json') as string) as Record<string, unknown>;
    assert.deepEqual(out, {
      note: 'paid with [REDACTED] and [REDACTED]',
      dashed: '[REDACTED]',
      n: '[REDACTED]',
      invalid: '4111111111111112',
      long_id: '41111111111111111111111',
      phone: '+1 555 123 4567',
    });
  });

  test('sniffs JSON without a content type, and redacts fragments inside string values', () => {
    const out = r.body('  {"note":"cvv=123, pin: 9876","url":"https://a:b@h/?sig=x"}') as string;
    assert.deepEqual(JSON.parse(out), {
      note: 'cvv=[REDACTED], pin: [REDACTED]',
      url: 'https://[REDACTED]@h/?sig=[REDACTED]',
    });
  });

  test('truncated JSON still loses its secrets', () => {
    assert.equal(r.body('{"a":1,"password":"hunter', 'application/json'), '{"a":1,"password":"[REDACTED]"');
    assert.equal(r.body('{"secret":{"a":[1,2', 'application/json'), '{"secret":"[REDACTED]"');
  });
});

describe('body: values', () => {
  test('copies objects and arrays, redacting at any depth without touching the input', () => {
    const input = {
      a: { Password: 'x', list: [{ TOKEN: 't' }, `card ${CARD}`], n: 4111111111111111 },
      keep: [1, true, null],
    };
    const snapshot = structuredClone(input);
    assert.deepEqual(r.body(input), {
      a: { Password: '[REDACTED]', list: [{ TOKEN: '[REDACTED]' }, 'card [REDACTED]'], n: '[REDACTED]' },
      keep: [1, true, null],
    });
    assert.deepEqual(input, snapshot);
  });

  test('survives cycles, throwing getters, throwing toJSON and hostile shapes', () => {
    const cyclic: Record<string, unknown> = { name: 'c' };
    cyclic.self = cyclic;
    Object.defineProperty(cyclic, 'boom', {
      enumerable: true,
      get: () => {
        throw new Error('getter');
      },
    });
    assert.deepEqual(r.body(cyclic), { name: 'c', self: '[Circular]', boom: '[Unreadable]' });
    assert.equal(
      r.body({
        toJSON: () => {
          throw new Error('x');
        },
      }),
      '[Unreadable]',
    );
    const proxy = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('trap');
        },
      },
    );
    assert.equal(r.body(proxy), '[Unreadable]');
    const shared = { v: 1 };
    assert.deepEqual(r.body({ a: shared, b: shared }), { a: { v: 1 }, b: { v: 1 } });
  });

  test('bounds depth and size instead of overflowing the stack', () => {
    let deep: unknown = { password: 'bottom' };
    for (let i = 0; i < 5000; i++) deep = { d: deep };
    const out = JSON.stringify(r.body(deep));
    assert.ok(out.includes('[Truncated]'));
    assert.ok(!out.includes('bottom'));
    const wide = Array.from({ length: 30_000 }, (_, i) => ({ i }));
    const result = r.body(wide) as unknown[];
    assert.ok(result.length < 12_000);
    assert.equal(result.at(-1), '[Truncated]');
  });

  test('converts non-JSON values to safe forms', () => {
    const out = r.body({
      when: new Date(0),
      bad: new Date(NaN),
      big: 12n,
      bigCard: 4111111111111111n,
      link: new URL('https://u:p@h/?token=1'),
      map: new Map<string, unknown>([
        ['secret', 's'],
        ['ok', 1],
      ]),
      set: new Set(['a']),
      fn: () => 1,
      re: /x/g,
      err: new Error('password=abc'),
      form: new URLSearchParams({ password: 'x', a: 'b' }),
    });
    assert.deepEqual(out, {
      when: '1970-01-01T00:00:00.000Z',
      bad: 'Invalid Date',
      big: '12',
      bigCard: '[REDACTED]',
      link: 'https://[REDACTED]@h/?token=[REDACTED]',
      map: { secret: '[REDACTED]', ok: 1 },
      set: ['a'],
      fn: '[Function]',
      re: '/x/g',
      err: { name: 'Error', message: 'password=[REDACTED]' },
      form: 'password=[REDACTED]&a=b',
    });
  });

  test('a __proto__ key stays data and never pollutes', () => {
    const input = JSON.parse('{"__proto__":{"password":"x","polluted":true}}') as object;
    const out = r.body(input) as Record<string, unknown>;
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.keys(out), ['__proto__']);
    assert.deepEqual(JSON.stringify(out), '{"__proto__":{"password":"[REDACTED]","polluted":true}}');
  });
});

describe('body: forms, text and binary', () => {
  test('form bodies: secret fields by decoded name, cards in any field', () => {
    assert.equal(
      r.body(
        'user=bob&Pass%77ord=x&card=4111+1111+1111+1111&user_token=keep&note=hi',
        'application/x-www-form-urlencoded',
      ),
      'user=bob&Pass%77ord=[REDACTED]&card=[REDACTED]&user_token=keep&note=hi',
    );
    assert.equal(r.body('a=1&cvv=123'), 'a=1&cvv=[REDACTED]');
  });

  test('text: card numbers, cvv-like fragments, credentials and header lines', () => {
    const text = [
      `Card 4111 1111 1111 1111 exp 12/29 cvv: 123, CVC=456 cid="789"`,
      'Authorization: Bearer abc.def.ghi',
      'cookie: a=b; c=d',
      'see https://u:p@h.test/x?api_key=k and order 12345',
    ].join('\n');
    assert.equal(
      r.body(text, 'text/plain'),
      [
        'Card [REDACTED] exp 12/29 cvv: [REDACTED], CVC=[REDACTED] cid="[REDACTED]"',
        'Authorization: [REDACTED]',
        'cookie: [REDACTED]',
        'see https://[REDACTED]@h.test/x?api_key=[REDACTED] and order 12345',
      ].join('\n'),
    );
    assert.equal(r.body('user_token=x tokenizer: y', 'text/plain'), 'user_token=x tokenizer: y');
  });

  test('text bodies over maxBodyLength are cut without leaving half a card', () => {
    const small = new Redactor({ maxBodyLength: 100 });
    const text = 'x'.repeat(90) + ' 4111 1111 1111 1111';
    const out = small.body(text, 'text/plain') as string;
    assert.ok(!/4111|1111/.test(out), out);
    assert.match(out, /…\[truncated \d+ chars\]$/);
  });

  test('binary bodies are decoded only when small and textual', () => {
    assert.equal(r.body(Buffer.from('{"token":"t"}'), 'application/json'), '{"token":"[REDACTED]"}');
    assert.equal(r.body(new TextEncoder().encode('cvv=123').buffer), 'cvv=[REDACTED]');
    assert.equal(r.body(Buffer.from([0, 1, 2, 255])), '[binary 4 bytes]');
    assert.equal(r.body(Buffer.from('plain text'), 'image/png'), '[binary 10 bytes]');
    assert.equal(r.body(Buffer.alloc(70_000, 97)), '[binary 70000 bytes]');
    assert.equal(r.body(new Uint8Array([0xc3, 0x28])), '[binary 2 bytes]');
  });
});

describe('edge cases', () => {
  test('a card inside a longer grouped digit run is still found', () => {
    assert.equal(r.body('ref 1234 4111 1111 1111 1111 end', 'text/plain'), 'ref 1234 [REDACTED] end');
    assert.equal(r.body('ids 1234-5678-9012-3456-7890', 'text/plain'), 'ids 1234-5678-9012-3456-7890');
  });

  test('escaped quotes inside a secret string do not end it early', () => {
    assert.equal(
      r.body('{"password":"a\\"b\\"c","x":1}', 'application/json'),
      '{"password":"[REDACTED]","x":1}',
    );
  });

  test('a bare card number in JSON that cannot be parsed is still redacted', () => {
    const out = r.body('{"a": 4111111111111111, "b": ', 'application/json') as string;
    assert.ok(!out.includes('4111111111111111'), out);
  });

  test('percent-encoded card numbers in query values are caught', () => {
    assert.equal(r.url('https://h/?card=4111%201111%201111%201111&a=1'), 'https://h/?card=[REDACTED]&a=1');
  });

  test('wide objects are cut at the node budget', () => {
    const wide: Record<string, unknown> = {};
    for (let i = 0; i < 12_000; i++) wide[`k${i}`] = { i };
    const out = r.body(wide) as Record<string, unknown>;
    assert.equal(out['…'], '[Truncated]');
    assert.deepEqual(r.body({ s: Symbol('x') }), { s: 'Symbol(x)' });
  });

  test('headers from any iterable of pairs', () => {
    function* pairs(): Generator<[string, string]> {
      yield ['Cookie', 'c'];
      yield ['x-a', 'b'];
    }
    assert.deepEqual(r.headers(pairs()), { cookie: '[REDACTED]', 'x-a': 'b' });
  });

  test('fails closed: input that throws from everywhere yields the replacement', () => {
    const hostile = new Proxy(
      {},
      {
        get: () => {
          throw new Error('get');
        },
        getPrototypeOf: () => {
          throw new Error('proto');
        },
        ownKeys: () => {
          throw new Error('keys');
        },
      },
    );
    assert.equal(r.url(hostile as unknown as string), '[REDACTED]');
    assert.equal(r.body(hostile), '[REDACTED]');
    assert.deepEqual(r.headers(hostile as Record<string, string>), { '[headers]': '[REDACTED]' });
    assert.equal(r.error(hostile).message, '[Unreadable]');
    assert.deepEqual(r.error(Object.assign(new Error('x'), { cause: hostile })), {
      name: 'Error',
      message: '[REDACTED]',
    });
    assert.equal(r.text('token=abc'), 'token=[REDACTED]');
  });
});
