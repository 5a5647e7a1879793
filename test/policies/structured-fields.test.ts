/**
 * The Structured Field List parser against the public httpwg structured-field-tests corpus
 * (the vectors a List parser can be held to, in fixtures/structured-field-corpus.json): every
 * vector that must fail yields `undefined`, so the RateLimit fields built on it are ignored
 * whole; every valid one parses to the corpus's members and parameters.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseSfList, SfDecimal, type SfValue } from '../../src/policies/structured-fields.js';
import { rateLimitStateFromHeaders, retryHintFromHeaders } from '../../src/policies/server-hints.js';

interface CorpusVector {
  file: string;
  name: string;
  raw: string;
  must_fail?: true;
  expected?: [unknown, [string, unknown][]][];
}

const corpus = JSON.parse(
  readFileSync(new URL('./fixtures/structured-field-corpus.json', import.meta.url), 'utf8'),
) as { tests: CorpusVector[] };

/** The corpus's JSON form of a bare item as the parser keeps it: tokens as strings, the rest unread. */
function bare(value: unknown): SfValue {
  if (typeof value === 'object' && value !== null && '__type' in value) {
    const typed = value as { __type: string; value: unknown };
    return typed.__type === 'token' ? (typed.value as string) : null;
  }
  return value as SfValue;
}

/** Integers and Decimals alike as numbers, as the corpus writes both. */
function number(value: SfValue): SfValue {
  return value instanceof SfDecimal ? value.value : value;
}

describe('parseSfList: the httpwg structured-field-tests corpus', () => {
  const failing = corpus.tests.filter((t) => t.must_fail === true);
  const valid = corpus.tests.filter((t) => t.must_fail !== true);

  test(`the ${failing.length} vectors that must fail are refused`, () => {
    assert.ok(failing.length > 80);
    const accepted = failing
      .filter((t) => parseSfList(t.raw) !== undefined)
      .map((t) => `${t.file}: ${t.name}`);
    assert.deepEqual(accepted, []);
  });

  test(`the ${valid.length} valid vectors parse to the corpus's members and parameters`, () => {
    assert.ok(valid.length > 70);
    for (const t of valid) {
      const parsed = parseSfList(t.raw);
      assert.ok(parsed !== undefined, `${t.file}: ${t.name} was refused`);
      const got = parsed.map((item) => [
        number(item.value),
        [...item.params].map(([k, v]) => [k, number(v)]),
      ]);
      const want = (t.expected ?? []).map(([value, params]) => [
        bare(value),
        params.map(([k, v]) => [k, bare(v)]),
      ]);
      assert.deepEqual(got, want, `${t.file}: ${t.name}`);
    }
  });

  test('the cases the issue names: misplaced padding, decimal dates, bad display strings', () => {
    for (const raw of [
      ':=aGVsbG8=:',
      ':a=GVsbG8=:',
      ':aGVsbG8===:',
      '@1659578233.12',
      '%"f%C3%BC%C3%BC"',
      '%"%c3%28"',
      '%"%c3(%bc"',
      '%"%a0%a1"',
      '%"%g0%1w"',
      '%"%"',
    ]) {
      assert.equal(parseSfList(raw), undefined, raw);
    }
    assert.deepEqual(parseSfList(':aGVsbG8=:;a=@1659578233;b=%"f%c3%bc";c=1.0;d=1'), [
      {
        value: null,
        params: new Map<string, SfValue>([
          ['a', null],
          ['b', null],
          ['c', new SfDecimal(1)],
          ['d', 1],
        ]),
      },
    ]);
  });
});

describe('RateLimit fields built on a malformed structured field are ignored', () => {
  const NOW = Date.UTC(2025, 0, 1);

  test('a member carrying a value the corpus refuses voids the whole field', () => {
    for (const ratelimit of [
      '"default";r=0;t=30;x=:=aGVsbG8=:',
      '"default";r=0;t=30;x=@1.5',
      '"default";r=0;t=30;x=%"%C3%BC"',
      '"default";r=0;t=30, "other";r=0;t=5;x=%"%c3%28"',
    ]) {
      assert.equal(retryHintFromHeaders({ ratelimit }, NOW), undefined, ratelimit);
      assert.equal(rateLimitStateFromHeaders({ ratelimit }, NOW), undefined, ratelimit);
    }
  });

  test('r and t must be non-negative integers: a decimal, a string or a boolean voids the field', () => {
    for (const ratelimit of [
      '"default";r=0.5;t=30',
      '"default";r=0;t=1.5',
      '"default";r="0";t=30',
      '"default";r=0;t=?1',
      '"default";r=0;t=30, "burst";r=1.0;t=1',
      '"default";r=-1;t=30',
    ]) {
      assert.equal(retryHintFromHeaders({ ratelimit }, NOW), undefined, ratelimit);
      assert.equal(rateLimitStateFromHeaders({ ratelimit }, NOW), undefined, ratelimit);
    }
    assert.deepEqual(retryHintFromHeaders({ ratelimit: '"default";r=0;t=30' }, NOW), {
      delayMs: 30_000,
      source: 'ratelimit',
    });
  });

  test('RateLimit-Policy with a non-integer q or w is ignored, the RateLimit field still read', () => {
    assert.deepEqual(
      rateLimitStateFromHeaders({ ratelimit: '"p";r=4;t=2', 'ratelimit-policy': '"p";q=1.5;w=60' }, NOW),
      { remaining: 4, resetMs: 2_000, limit: undefined, windowMs: undefined, source: 'ratelimit' },
    );
    assert.deepEqual(
      rateLimitStateFromHeaders({ ratelimit: '"p";r=4;t=2', 'ratelimit-policy': '"p";q=100;w=60' }, NOW),
      { remaining: 4, resetMs: 2_000, limit: 100, windowMs: 60_000, source: 'ratelimit' },
    );
  });
});
