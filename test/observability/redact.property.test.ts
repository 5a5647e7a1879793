import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DEFAULT_REDACT_BODY_FIELDS,
  DEFAULT_REDACT_QUERY_PARAMS,
  defaultRedactor as r,
} from '../../src/observability/redact.js';

// Planted values use letters g-z only, so no marker can look like a card number or a token.
const marker = (prefix: string): fc.Arbitrary<string> =>
  fc
    .string({ unit: fc.constantFrom(...Array.from('ghijklmnopqrstuvwxyz')), minLength: 10, maxLength: 14 })
    .map((s) => prefix + s);
const secretValue = marker('sv');
const keptValue = marker('kv');

/** A secret name in random case with random separators (`API_KEY`, `apiKey`, `a-pi_key`). */
const secretName = fc
  .tuple(
    fc.constantFrom(...DEFAULT_REDACT_BODY_FIELDS),
    fc.infiniteStream(fc.tuple(fc.boolean(), fc.constantFrom('', '', '', '_', '-'))),
  )
  .map(([name, noise]) => {
    const chars = Array.from(name.replace(/[^a-z0-9]/g, ''));
    const it = noise[Symbol.iterator]();
    return chars
      .map((ch, i) => {
        const [upper, sep] = it.next().value as [boolean, string];
        return (i > 0 ? sep : '') + (upper ? ch.toUpperCase() : ch);
      })
      .join('');
  });

// Near misses on purpose: they contain secret words but are not secret names.
const safeName = fc.constantFrom(
  'name',
  'city',
  'items',
  'note',
  'description',
  'count',
  'user',
  'id',
  'passport',
  'spin',
  'company',
  'panel',
  'tokenizer',
  'user_token',
  'keyword',
  'tokens_remaining',
);

/** How cards of each length are printed (ISO/IEC 7812 issuers' groupings), for wide separators. */
const PRINTED_GROUPS: Record<number, readonly number[]> = {
  13: [4, 3, 3, 3],
  14: [4, 6, 4],
  15: [4, 6, 5],
  16: [4, 4, 4, 4],
  17: [4, 4, 4, 5],
  18: [4, 4, 4, 6],
  19: [4, 4, 4, 4, 3],
};

function printed(digits: string, sep: string): string {
  if (sep === '') return digits;
  if (sep.length === 1) return (digits.match(/.{1,4}/g) ?? []).join(sep);
  const parts: string[] = [];
  let at = 0;
  for (const size of PRINTED_GROUPS[digits.length] ?? [digits.length]) {
    parts.push(digits.slice(at, at + size));
    at += size;
  }
  return parts.join(sep);
}

/**
 * A Luhn-valid card number of 13-19 digits, written plain, in groups of 4 with a space or a
 * dash, or as printed with double spaces or spaced dashes.
 */
const cardNumber = fc
  .tuple(
    fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 12, maxLength: 18 }),
    fc.constantFrom('', ' ', '-', '  ', ' - ', '- ', ' -'),
    fc.integer({ min: 2, max: 6 }),
  )
  .map(([body, sep, first]) => {
    const digits = [first, ...body.slice(1)];
    let sum = 0;
    for (let i = 0; i < digits.length; i++) {
      let d = digits[digits.length - 1 - i]!;
      if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    return printed([...digits, (10 - (sum % 10)) % 10].join(''), sep);
  });

interface Planted {
  value: unknown;
  secrets: string[];
  kept: string[];
}

const leaf: fc.Arbitrary<Planted> = fc.oneof(
  keptValue.map((v) => ({ value: v, secrets: [], kept: [v] })),
  fc.integer({ min: -1000, max: 1000 }).map((v) => ({ value: v, secrets: [], kept: [] })),
  fc.boolean().map((v) => ({ value: v, secrets: [], kept: [] })),
  fc
    .tuple(cardNumber, keptValue)
    .map(([card, k]) => ({ value: `${k} paid with ${card} today`, secrets: [card], kept: [k] })),
);

/** Everything under a secret key is secret, whatever its shape. */
const underSecretKey = (inner: Planted): Planted => ({
  value: inner.value,
  secrets: [...inner.secrets, ...inner.kept],
  kept: [],
});

const tree = fc.letrec<{ node: Planted }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('node'), { maxLength: 4 }).map((items) => ({
      value: items.map((i) => i.value),
      secrets: items.flatMap((i) => i.secrets),
      kept: items.flatMap((i) => i.kept),
    })),
    fc
      .array(
        fc.oneof(
          fc.tuple(safeName, tie('node')).map(([k, v]) => ({ key: k, planted: v })),
          fc
            .tuple(
              secretName,
              fc.oneof(
                secretValue.map((v) => ({ value: v, secrets: [v], kept: [] })),
                tie('node'),
              ),
            )
            .map(([k, v]) => ({
              key: k,
              planted: underSecretKey(v),
            })),
        ),
        { maxLength: 5 },
      )
      .map((entries) => {
        const value: Record<string, unknown> = {};
        const planted: Planted = { value, secrets: [], kept: [] };
        for (const { key, planted: p } of entries) {
          if (Object.hasOwn(value, key)) continue;
          value[key] = p.value;
          planted.secrets.push(...p.secrets);
          planted.kept.push(...p.kept);
        }
        return planted;
      }),
  ),
})).node;

function assertRedacted(output: string, planted: Planted): void {
  const digitsOnly = output.replace(/[ -]/g, '');
  for (const secret of planted.secrets) {
    assert.ok(!output.includes(secret), `secret ${secret} leaked in ${output}`);
    if (/^[\d -]+$/.test(secret))
      assert.ok(!digitsOnly.includes(secret.replace(/[ -]/g, '')), `card ${secret} leaked`);
  }
  for (const kept of planted.kept) assert.ok(output.includes(kept), `kept value ${kept} lost in ${output}`);
}

describe('redaction properties', () => {
  test('JSON values: no planted secret survives, every other value does', () => {
    fc.assert(
      fc.property(tree, (planted) => {
        const snapshot = JSON.stringify(planted.value);
        assertRedacted(JSON.stringify(r.body(planted.value)), planted);
        assert.equal(JSON.stringify(planted.value), snapshot, 'input mutated');
      }),
      { numRuns: 400 },
    );
  });

  test('JSON text (compact, pretty, nested in a string): same, and the output is still JSON', () => {
    fc.assert(
      fc.property(tree, fc.constantFrom('compact', 'pretty', 'nested'), (planted, form) => {
        const text =
          form === 'compact'
            ? JSON.stringify(planted.value)
            : form === 'pretty'
              ? JSON.stringify(planted.value, null, 2)
              : JSON.stringify({ wrapped: JSON.stringify(planted.value) });
        const out = r.body(text, 'application/json') as string;
        const decoded = form === 'nested' ? (JSON.parse(out) as { wrapped: string }).wrapped : out;
        JSON.parse(decoded);
        assertRedacted(decoded, planted);
      }),
      { numRuns: 400 },
    );
  });

  test('form bodies: secret fields and card numbers are gone, other fields kept', () => {
    const field = fc.oneof(
      fc
        .tuple(secretName, secretValue)
        .map(([k, v]) => ({ pair: [k, v], secrets: [v], kept: [] as string[] })),
      fc.tuple(safeName, keptValue).map(([k, v]) => ({ pair: [k, v], secrets: [] as string[], kept: [v] })),
      fc.tuple(safeName, cardNumber).map(([k, c]) => ({ pair: [k, c], secrets: [c], kept: [] as string[] })),
    );
    fc.assert(
      fc.property(fc.array(field, { minLength: 1, maxLength: 8 }), (fields) => {
        const body = new URLSearchParams(fields.map((f) => f.pair as [string, string])).toString();
        const out = r.body(body, 'application/x-www-form-urlencoded') as string;
        const decoded = decodeURIComponent(out.replace(/\+/g, ' '));
        assertRedacted(decoded, {
          value: null,
          secrets: fields.flatMap((f) => f.secrets),
          kept: fields.flatMap((f) => f.kept),
        });
      }),
      { numRuns: 300 },
    );
  });

  test('URLs: userinfo and secret query values are gone, other parameters kept', () => {
    const queryName = fc
      .tuple(fc.constantFrom(...DEFAULT_REDACT_QUERY_PARAMS), fc.boolean())
      .map(([name, upper]) => (upper ? name.toUpperCase() : name));
    const param = fc.oneof(
      fc
        .tuple(queryName, secretValue)
        .map(([k, v]) => ({ pair: `${k}=${v}`, secrets: [v], kept: [] as string[] })),
      fc
        .tuple(fc.constantFrom('page', 'sort', 'q', 'limit'), keptValue)
        .map(([k, v]) => ({ pair: `${k}=${v}`, secrets: [] as string[], kept: [v] })),
    );
    fc.assert(
      fc.property(
        fc.option(fc.tuple(secretValue, secretValue)),
        fc.array(param, { maxLength: 6 }),
        (userinfo, params) => {
          const auth = userinfo === null ? '' : `${userinfo[0]}:${userinfo[1]}@`;
          const url = `https://${auth}api.test/v1/items${params.length > 0 ? '?' : ''}${params.map((p) => p.pair).join('&')}`;
          const secrets = [...(userinfo ?? []), ...params.flatMap((p) => p.secrets)];
          assertRedacted(r.url(url), { value: null, secrets, kept: params.flatMap((p) => p.kept) });
        },
      ),
      { numRuns: 300 },
    );
  });

  test('headers: credentials in any case are gone, bearer tokens anywhere too', () => {
    const caseOf = (name: string): fc.Arbitrary<string> =>
      fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map((flags) =>
        Array.from(name)
          .map((c, i) => (flags[i] ? c.toUpperCase() : c))
          .join(''),
      );
    const sensitive = fc
      .constantFrom(
        'authorization',
        'proxy-authorization',
        'cookie',
        'set-cookie',
        'x-api-key',
        'api-key',
        'x-auth-token',
      )
      .chain(caseOf);
    fc.assert(
      fc.property(
        sensitive,
        secretValue,
        secretValue,
        keptValue,
        fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Basic'),
        (name, v, token, kept, scheme) => {
          const out = JSON.stringify(
            r.headers([
              [name, `Bearer ${v}`],
              ['X-Trace', kept],
              ['X-Debug', `${kept} ${scheme} ${token}`],
            ]),
          );
          assertRedacted(out, { value: null, secrets: [v, token], kept: [kept] });
        },
      ),
      { numRuns: 300 },
    );
  });
});
