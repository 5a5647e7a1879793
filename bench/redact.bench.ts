/**
 * Redaction cost. Run: `npx tsx bench/redact.bench.ts`. Measures, never gates: it prints
 * the best per-call time of several warmed rounds next to JSON.parse + JSON.stringify of the
 * same body, the cost any parse-based redactor pays before doing anything.
 */
import { correlationId } from '../src/observability/correlation.js';
import { defaultRedactor } from '../src/observability/redact.js';

function makeBody(targetBytes: number, withSecrets: boolean): string {
  const items: Record<string, unknown>[] = [];
  let i = 0;
  const body: Record<string, unknown> = { object: 'list', data: items, has_more: true };
  if (withSecrets)
    Object.assign(body, { password: 'hunter2', auth: { access_token: 'tok_abcdefghijklmnop' } });
  while (JSON.stringify(body).length < targetBytes) {
    items.push({
      id: `cus_${String(100000 + i)}`,
      name: `Customer ${i}`,
      email: `customer${i}@example.com`,
      created: 1_700_000_000 + i,
      balance: i * 125,
      livemode: false,
      address: { city: 'Paris', postal_code: '75001', line1: `${i} rue de Rivoli` },
      tags: ['gold', 'eu'],
      note:
        withSecrets && i % 10 === 3 ? 'paid with 4111 1111 1111 1111 cvv=123' : 'lorem ipsum dolor sit amet',
    });
    i++;
  }
  return JSON.stringify(body);
}

function measure(name: string, fn: () => unknown, iterations = 2000): number {
  for (let i = 0; i < iterations; i++) fn();
  let best = Infinity;
  for (let round = 0; round < 9; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / iterations / 1000);
  }
  console.log(`${name.padEnd(52)} ${best.toFixed(2).padStart(8)} µs`);
  return best;
}

const clean = makeBody(10_240, false);
const dirty = makeBody(10_240, true);
const dirtyValue: unknown = JSON.parse(dirty);
console.log(`bodies: ${clean.length} and ${dirty.length} chars`);
const baseline = measure('JSON.parse + JSON.stringify (baseline), 10 KB', () =>
  JSON.stringify(JSON.parse(dirty)),
);
measure('JSON.parse alone, 10 KB', () => JSON.parse(dirty));
const none = measure('body(json text, no secrets), 10 KB', () =>
  defaultRedactor.body(clean, 'application/json'),
);
const some = measure('body(json text, 2 keys + 6 cards + 6 cvv), 10 KB', () =>
  defaultRedactor.body(dirty, 'application/json'),
);
console.log(
  `JSON text redaction: ${(none / baseline).toFixed(2)}x and ${(some / baseline).toFixed(2)}x the baseline`,
);
measure('body(parsed value, same secrets), 10 KB', () => defaultRedactor.body(dirtyValue));
measure('body(text/plain), 10 KB', () => defaultRedactor.body(dirty, 'text/plain'));
measure('url(with userinfo and 3 query params)', () =>
  defaultRedactor.url('https://u:p@api.example.com/v1/users/42?api_key=abc&page=2&sort=asc'),
);
measure('headers(6 headers)', () =>
  defaultRedactor.headers({
    authorization: 'Bearer abc',
    accept: 'application/json',
    'content-type': 'application/json',
    'user-agent': 'bulwark/0.1',
    'x-request-id': 'req_0123456789abcdef',
    cookie: 'a=b',
  }),
);
measure('correlationId()', () => correlationId(), 100_000);
