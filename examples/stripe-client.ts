/**
 * A per-service client for a payment API (Stripe-like): the `paymentProcessing` preset, a
 * 100 requests/second limit, and idempotency keys so a charge can be retried safely.
 *
 * Run: npx tsx examples/stripe-client.ts
 * In your project, import from 'bulwark' instead of '../src/index.js'.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, presets } from '../src/index.js';

// A fake payment API: the first attempt of every idempotency key fails with a 503 (a blip),
// the retry succeeds, and a repeated key returns the charge already made instead of a new one.
const charges = new Map<string, { id: string; amount: number }>();
const seenKeys = new Set<string>();
let created = 0;
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    const key = req.headers['idempotency-key'];
    if (typeof key === 'string' && !seenKeys.has(key)) {
      seenKeys.add(key);
      res.writeHead(503, { 'retry-after': '0' }).end();
      return;
    }
    if (key === undefined) {
      res.writeHead(503).end();
      return;
    }
    let charge = charges.get(String(key));
    if (charge === undefined) {
      const { amount } = JSON.parse(body) as { amount: number };
      charge = { id: `ch_${String(++created)}`, amount };
      charges.set(String(key), charge);
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(charge));
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const baseUrl = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;

const stripe = createClient({
  ...presets.paymentProcessing,
  name: 'stripe',
  baseUrl,
  headers: { authorization: `Bearer ${process.env.STRIPE_API_KEY ?? 'sk_test_example'}` },
  rateLimit: { requests: 100, per: 'second', strategy: 'wait', maxWait: 2_000 },
});

/** One key per logical charge: every retry of it carries the same key. */
async function charge(amount: number): Promise<{ id: string; amount: number; attempts: number }> {
  const res = await stripe.post('/v1/charges', {
    json: { amount, currency: 'eur' },
    headers: { 'idempotency-key': randomUUID() },
    throwHttpErrors: true,
  });
  return { ...(await res.json<{ id: string; amount: number }>()), attempts: res.attempts };
}

const first = await charge(1_500);
console.log(`charge ${first.id} of ${String(first.amount)} created after ${String(first.attempts)} attempts`);

// Without a key a POST is never retried: the 503 comes straight back.
const unkeyed = await stripe.post('/v1/charges', { json: { amount: 700 } });
console.log(
  `without an idempotency key: status ${String(unkeyed.status)} after ${String(unkeyed.attempts)} attempt`,
);
unkeyed.dump();

console.log(`charges created on the server: ${String(created)}`);
await stripe.close();
server.close();
