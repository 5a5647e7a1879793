/**
 * Deadlines across two services. The caller gives the whole workflow a budget with
 * `withDeadline`; bulwark sends what is left in the `deadline` header on every attempt; each
 * server continues that budget with `deadlineFromRequest`, so its own outgoing calls inherit
 * it, and work nobody waits for any more is refused early instead of done.
 *
 * caller --(deadline: 2000)--> gateway --(deadline: ~1990)--> inventory
 *
 * Run: npx tsx examples/deadlines.ts
 * In your project, import from 'bulwark' and 'bulwark/policies' instead of '../src/...'.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, deadlineFromRequest, isBulwarkError, withDeadline } from '../src/index.js';
import { remainingTime } from '../src/policies/index.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Runs each request inside the budget its caller sent, when it sent one. */
async function listen(handler: Handler): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res) => {
    const deadline = deadlineFromRequest(req);
    void (deadline === undefined ? handler(req, res) : withDeadline(deadline, () => handler(req, res)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`,
    close: () => server.close(),
  };
}

/** What a stock check needs; with less time left, inventory refuses at once. */
const INVENTORY_NEEDS_MS = 500;
const inventory = await listen(async (req, res) => {
  const left = remainingTime();
  console.log(`inventory: received deadline ${String(req.headers.deadline)} ms`);
  if (left < INVENTORY_NEEDS_MS) {
    // The caller gives up before we could answer: refuse now instead of working for nobody.
    res.writeHead(504, { 'content-type': 'application/json' }).end('{"error":"not enough time"}');
    return;
  }
  await sleep(50);
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"inStock":3}');
});

// The gateway's client needs no deadline option: the ambient one set by `listen` applies.
const inventoryClient = createClient({ name: 'inventory', baseUrl: inventory.url, retry: false });
const gateway = await listen(async (req, res) => {
  console.log(`gateway: received deadline ${String(req.headers.deadline)} ms`);
  await sleep(Number(new URL(req.url ?? '/', 'http://x').searchParams.get('work') ?? 0)); // the gateway's own work
  const result = await inventoryClient.safe.get('/stock');
  if (!result.ok) {
    res.writeHead(504).end(result.error.code);
    return;
  }
  res
    .writeHead(result.response.status, { 'content-type': 'application/json' })
    .end(await result.response.text());
});

const gatewayClient = createClient({ name: 'gateway', baseUrl: gateway.url, retry: false });

const ok = await withDeadline(2_000, () => gatewayClient.get('/checkout'));
console.log(`caller: checkout answered ${String(ok.status)} ${await ok.text()}`);

const tight = await withDeadline(1_000, () => gatewayClient.get('/checkout', { query: { work: 600 } }));
console.log(`caller: tight budget answered ${String(tight.status)} ${await tight.text()}`);

try {
  await withDeadline(50, () => gatewayClient.get('/checkout', { query: { work: 100 } }));
} catch (error) {
  if (!isBulwarkError(error)) throw error;
  console.log(`caller: gave up with ${error.code}`);
}

await sleep(200); // let the abandoned gateway request finish before closing
await gatewayClient.close();
await inventoryClient.close();
gateway.close();
inventory.close();
