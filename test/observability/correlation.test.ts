import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  correlationId,
  correlationIdFrom,
  isValidCorrelationId,
  MAX_CORRELATION_ID_LENGTH,
} from '../../src/observability/correlation.js';

describe('correlationId', () => {
  test('is req_ followed by 16 lowercase hex characters', () => {
    for (let i = 0; i < 2000; i++) assert.match(correlationId(), /^req_[0-9a-f]{16}$/);
  });

  test('does not repeat across several refills of the random pool', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5000; i++) ids.add(correlationId());
    assert.equal(ids.size, 5000);
  });

  test('uses every hex digit (the ids are random, not a counter)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) for (const ch of correlationId().slice(4)) seen.add(ch);
    assert.equal(seen.size, 16);
  });
});

describe('isValidCorrelationId', () => {
  test('accepts visible ASCII tokens up to 128 characters', () => {
    for (const id of ['req_0123456789abcdef', 'a', '9f1c-4e/2b:7a', 'x'.repeat(MAX_CORRELATION_ID_LENGTH)]) {
      assert.equal(isValidCorrelationId(id), true, id);
    }
  });

  test('refuses ids that could split a header, pollute logs or grow without bound', () => {
    for (const id of [
      '',
      'x'.repeat(129),
      'a\r\nx-admin: 1',
      'a\nb',
      'with space',
      'tab\there',
      'é',
      '\u0000',
      'a\u007f',
    ]) {
      assert.equal(isValidCorrelationId(id), false, JSON.stringify(id));
    }
    for (const id of [undefined, null, 42, ['req_1'], {}]) assert.equal(isValidCorrelationId(id), false);
  });
});

describe('correlationIdFrom', () => {
  test('reuses a sane incoming x-request-id', () => {
    assert.equal(correlationIdFrom('upstream-id-42'), 'upstream-id-42');
    assert.equal(correlationIdFrom(['first', 'second']), 'first');
  });

  test('makes a fresh id when the incoming one is missing or unsafe', () => {
    for (const incoming of [undefined, null, '', 'a\r\nb', 'y'.repeat(200), [] as string[], ['bad id']]) {
      assert.match(correlationIdFrom(incoming), /^req_[0-9a-f]{16}$/);
    }
  });
});
