/**
 * Hot-path cost of the breaker and the rate limiter, and the memory of the in-process rate-limit
 * store. Run: `npx tsx bench/policies.bench.ts`. Measures, never gates.
 *
 * Timings are the best of several warmed rounds, in ns per operation, on the system clock (so
 * every `now()` is a real `performance.now()`). The memory part fills a MemoryStore with 100,000
 * keys, lets time pass on a virtual clock, and shows the heap after the lazy sweep, after
 * `prune()` and after the background sweep with no call; then the same for 100,000 circuit
 * breakers (one success each): bytes a key, and the heap once the idle sweep has run. Each heap
 * figure is taken after a forced full GC.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CircuitBreaker } from '../src/policies/circuit-breaker.js';
import { CircuitBreakers } from '../src/policies/circuit-breakers.js';
import { RateLimiter } from '../src/policies/rate-limiter.js';
import { MemoryStore } from '../src/policies/memory-store.js';
import { createVirtualClock } from '../src/testing/virtual-clock.js';
import type { GcraParams } from '../src/policies/store-contract.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const rows: { measure: string; value: string }[] = [];

function measure(name: string, fn: () => void, iterations = 1_000_000): void {
  for (let i = 0; i < iterations; i++) fn();
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 7; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / iterations);
  }
  rows.push({ measure: name, value: `${best.toFixed(1)} ns/op` });
}

// A rate no loop can exhaust: the limiter always has a slot, so this is its happy path.
const unlimited = { requests: 1_000_000_000, per: 'second' } as const;

const timeBreaker = new CircuitBreaker();
const countBreaker = new CircuitBreaker({ window: { calls: 100 } });
const limiter = new RateLimiter(unlimited);
const keys = Array.from({ length: 1_000 }, (_, i) => `https://host-${i}.example`);
let k = 0;

measure('breaker tryAcquire + onSuccess (time window)', () => {
  const permit = timeBreaker.tryAcquire();
  if (permit.allowed) timeBreaker.onSuccess(permit);
});
measure('breaker tryAcquire + onSuccess (count window)', () => {
  const permit = countBreaker.tryAcquire();
  if (permit.allowed) countBreaker.onSuccess(permit);
});
measure('rate limiter acquire (1 key, free slot)', () => {
  if (limiter.acquire('https://api.example') !== undefined) throw new Error('unexpected wait');
});
measure('rate limiter acquire (1,000 keys, free slot)', () => {
  k = (k + 1) % keys.length;
  if (limiter.acquire(keys[k] ?? '') !== undefined) throw new Error('unexpected wait');
});
measure('breaker pair + limiter acquire (the attempt path)', () => {
  const permit = timeBreaker.tryAcquire();
  if (limiter.acquire('https://api.example') !== undefined) throw new Error('unexpected wait');
  if (permit.allowed) timeBreaker.onSuccess(permit);
});

function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

const clock = createVirtualClock();
const store = new MemoryStore({ clock });
const params: GcraParams = { emissionIntervalMs: 1_000, burst: 10 };
const KEYS = 100_000;
const names = Array.from({ length: KEYS }, (_, i) => `https://tenant-${i}.api.example.com`);
const baseline = heapMb();
for (const key of names) store.take({ key, params, maxWaitMs: 0 });
const filled = heapMb();
const sizeFilled = store.size();
// Every bucket is full again 1 s later; traffic on one key sweeps the rest, two per call.
await clock.advance(1_000);
for (let i = 0; i < KEYS / 2 + 10; i++) store.take({ key: 'hot', params, maxWaitMs: 0 });
const swept = heapMb();
const sizeSwept = store.size();
for (const key of names) store.take({ key, params, maxWaitMs: 0 });
await clock.advance(1_000);
store.prune();
const pruned = heapMb();

for (const key of names) store.take({ key, params, maxWaitMs: 0 });
// No call at all: the store's background sweep frees each bucket within 1 s of its refilling.
await clock.advance(2_000);
const background = heapMb();
const sizeBackground = store.size();

// Breakers: one per key, one success each, then idle past 1.25 × idleTimeout with no call.
const IDLE_MS = 300_000;
const breakers = new CircuitBreakers({ idleTimeout: IDLE_MS, clock });
const breakersBase = heapMb();
for (const key of names) {
  const breaker = breakers.get(key);
  const permit = breaker.tryAcquire();
  if (permit.allowed) breaker.onSuccess(permit);
}
const breakersFilled = heapMb();
const breakersSize = breakers.size;
await clock.advance(IDLE_MS * 1.25);
const breakersSwept = heapMb();

const delta = (mb: number, base = baseline): string =>
  `${mb.toFixed(1)} MB (${mb >= base ? '+' : ''}${(mb - base).toFixed(1)})`;
const perKey = (mb: number, base: number): string => `${(((mb - base) * 1024 * 1024) / KEYS).toFixed(0)} B`;
rows.push(
  { measure: `heap: baseline (${names.length} key strings held)`, value: `${baseline.toFixed(1)} MB` },
  { measure: `heap: ${sizeFilled} buckets`, value: delta(filled) },
  { measure: 'bytes a bucket', value: perKey(filled, baseline) },
  { measure: `heap: 1 s later, calls on one key (${sizeSwept} left)`, value: delta(swept) },
  { measure: `heap: refilled, then prune() (${store.size()} left)`, value: delta(pruned) },
  { measure: `heap: refilled, then 2 s with no call (${sizeBackground} left)`, value: delta(background) },
  { measure: `heap: ${breakersSize} breakers`, value: delta(breakersFilled, breakersBase) },
  { measure: 'bytes a breaker (closed, idle)', value: perKey(breakersFilled, breakersBase) },
  {
    measure: `heap: 1.25 × idleTimeout with no call (${breakers.size} left)`,
    value: delta(breakersSwept, breakersBase),
  },
);
console.table(rows);
