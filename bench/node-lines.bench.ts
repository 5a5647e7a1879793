/**
 * What a newer Node line would change on bulwark's per-call primitives, to decide whether to use
 * a newer API when present. Run on each line: `npx tsx bench/node-lines.bench.ts` (or with a
 * binary from `npm run test:node-lines`'s cache). Measures, never gates.
 *
 * - linking a call to the caller's signal: bulwark adds one `abort` listener and removes it when
 *   the call ends; the alternative is `AbortSignal.any([caller, own])` per call;
 * - a call's timer: `setTimeout` + `clearTimeout` (what the system clock does for each attempt
 *   timeout and backoff), against an `AbortSignal.timeout` per call.
 *
 * Each figure is the median of 7 rounds in ns per operation, with the spread (min–max).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function measure(name: string, fn: () => void, iterations: number): void {
  for (let i = 0; i < iterations; i++) fn();
  const rounds: number[] = [];
  for (let round = 0; round < 7; round++) {
    gc();
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    gc(); // what the operation leaves to collect is part of its cost
    rounds.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  rounds.sort((a, b) => a - b);
  const f = (n: number): string => n.toFixed(0);
  console.log(`${name.padEnd(58)} ${f(rounds[3]!).padStart(6)} ns  (${f(rounds[0]!)}–${f(rounds[6]!)})`);
}

const caller = new AbortController().signal;
const noop = (): void => undefined;

console.log(`Node ${process.version}`);
measure(
  'listener: add + remove on the caller signal',
  () => {
    caller.addEventListener('abort', noop, { once: true });
    caller.removeEventListener('abort', noop);
  },
  200_000,
);
measure(
  'AbortSignal.any([caller, own]) per call',
  () => {
    AbortSignal.any([caller, new AbortController().signal]);
  },
  50_000,
);
measure(
  'setTimeout + clearTimeout',
  () => {
    clearTimeout(setTimeout(noop, 10_000));
  },
  50_000,
);
measure(
  'AbortSignal.timeout per call',
  () => {
    AbortSignal.timeout(10_000);
  },
  50_000,
);
