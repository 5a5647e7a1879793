/**
 * Monitoring circuit state: react to every transition on the `bulwark:circuit` diagnostics
 * channel, and poll `inspect()` for dashboards and health checks (HTTPower's
 * `CircuitBreaker.get_state`, without knowing the keys in advance).
 *
 * Run: npx tsx examples/circuit-monitoring.ts
 * In your project, import from 'bulwark', 'bulwark/observability' and 'bulwark/policies' instead of '../src/...'.
 */
import diagnostics_channel from 'node:diagnostics_channel';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, isBulwarkError } from '../src/index.js';
import type { CircuitMessage } from '../src/observability/index.js';
import type { CircuitSnapshot } from '../src/policies/index.js';

// An upstream that fails until it is "repaired".
let healthy = false;
const server = createServer((_req, res) => {
  res.writeHead(healthy ? 200 : 500).end(healthy ? 'ok' : 'boom');
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const baseUrl = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;

// 1. Push: every transition, from every client in the process. Keep subscribers short.
const onCircuit = (message: unknown): void => {
  const m = message as CircuitMessage;
  if (m.type === 'transition') console.log(`[bulwark:circuit] ${m.client} ${m.key}: ${m.from} -> ${m.to}`);
  else
    console.log(
      `[bulwark:circuit] ${m.client} refused ${m.method} ${m.url} (retry in ${String(m.retryAfterMs)} ms)`,
    );
};
diagnostics_channel.subscribe('bulwark:circuit', onCircuit);

const orders = createClient({
  name: 'orders',
  baseUrl,
  retry: false,
  // HTTPower's profile: 3 failures among the last 10 calls open it (200 ms here, for the demo).
  circuitBreaker: { window: { calls: 10 }, failureThreshold: 3, failureRatio: false, openDuration: 200 },
});

// 2. Pull: what a periodic health check or a /debug endpoint reads.
function checkCircuits(): void {
  const circuits = orders.inspect().circuits as CircuitSnapshot[];
  for (const c of circuits) {
    const level = c.state === 'open' ? 'WARN' : 'INFO';
    console.log(
      `${level} circuit ${c.key}: ${c.state} (${String(c.failures)} failures in ${String(c.calls)} calls)`,
    );
  }
}

for (let i = 0; i < 4; i++) {
  const result = await orders.safe.get('/orders');
  if (result.ok) result.response.dump();
  else if (isBulwarkError(result.error, 'CIRCUIT_OPEN')) console.log('call refused: CIRCUIT_OPEN');
}
checkCircuits();

healthy = true;
await sleep(250); // the open period ends; the next call is the probe
const probe = await orders.get('/orders');
console.log(`probe answered ${String(probe.status)}`);
await probe.text();
checkCircuits();

diagnostics_channel.unsubscribe('bulwark:circuit', onCircuit);
await orders.close();
server.close();
