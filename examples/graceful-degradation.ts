/**
 * Graceful degradation: `safe.*` never rejects, so every outcome is a value to branch on.
 * An open circuit serves the last known answer, a rate limit says when to come back, and
 * anything else falls back to a default.
 *
 * Run: npx tsx examples/graceful-degradation.ts
 * In your project, import from 'bulwark' instead of '../src/index.js'.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, type Client } from '../src/index.js';

let up = true;
const server = createServer((req, res) => {
  if (!up) {
    res.writeHead(500).end();
    return;
  }
  const sku = req.url?.split('/').pop() ?? '';
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sku, price: 10 }));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const baseUrl = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;

const lastKnown = new Map<string, number>();

type Price = { price: number; source: 'live' | 'cached' | 'default'; why?: string };

async function priceOf(client: Client, sku: string): Promise<Price> {
  const result = await client.safe.get('/prices/:sku', { params: { sku } });
  if (!result.ok) {
    switch (result.error.code) {
      case 'CIRCUIT_OPEN': // the upstream is down: do not wait for it, serve what we have
      case 'RATE_LIMITED': // our quota is spent: the error says when a slot frees
        return fallback(sku, `${result.error.code}, retry in ${String(result.error.retryAfterMs)} ms`);
      default:
        return fallback(sku, result.error.code);
    }
  }
  if (!result.response.ok) {
    result.response.dump(); // a body we will not read: free the connection
    return fallback(sku, `status ${String(result.response.status)}`);
  }
  const { price } = await result.response.json<{ price: number }>();
  lastKnown.set(sku, price);
  return { price, source: 'live' };
}

function fallback(sku: string, why: string): Price {
  const cached = lastKnown.get(sku);
  return cached === undefined
    ? { price: 0, source: 'default', why }
    : { price: cached, source: 'cached', why };
}

const show = (sku: string, p: Price): void => {
  console.log(`price of ${sku}: ${String(p.price)} (${p.source}${p.why === undefined ? '' : `: ${p.why}`})`);
};

// A catalogue client whose breaker opens after 2 failures in its last 4 calls.
const catalogue = createClient({
  name: 'catalogue',
  baseUrl,
  retry: false,
  circuitBreaker: { window: { calls: 4 }, failureThreshold: 2, failureRatio: false, openDuration: 30_000 },
});
show('A', await priceOf(catalogue, 'A'));
up = false;
for (let i = 0; i < 3; i++) show('A', await priceOf(catalogue, 'A'));
show('B', await priceOf(catalogue, 'B'));

// A client allowed 2 requests a minute, refusing instead of waiting.
up = true;
const limited = createClient({
  name: 'limited',
  baseUrl,
  rateLimit: { requests: 2, per: 'minute', strategy: 'error' },
});
for (let i = 0; i < 3; i++) show('C', await priceOf(limited, 'C'));

await catalogue.close();
await limited.close();
server.close();
