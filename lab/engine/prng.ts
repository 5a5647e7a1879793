/**
 * A seeded pseudo-random generator, so a lab run with the same seed injects the same faults
 * in the same order and sends the same arrival schedule: two runs of a scenario differ only
 * by what the client under test does.
 */
import type { Latency } from './scenario.js';

/** Returns a number in [0, 1). */
export type Prng = () => number;

/**
 * mulberry32: 32-bit state, full period over 2^32, good enough for fault injection and far
 * cheaper than a cryptographic source.
 * @param seed any integer; equal seeds give equal sequences
 */
export function createPrng(seed: number): Prng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Derives an independent stream from a seed and a label, e.g. one per upstream or per load generator. */
export function deriveSeed(seed: number, label: string): number {
  let hash = seed >>> 0 || 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** A uniform draw in [min, max]. */
export function uniform(random: Prng, min: number, max: number): number {
  return min + (max - min) * random();
}

/** An exponential draw with the given mean: the gaps between arrivals of a Poisson process. */
export function exponential(random: Prng, mean: number): number {
  return -Math.log(1 - random()) * mean;
}

/** A latency draw in ms: the fixed value, or uniform over `[min, max]`. */
export function sampleLatency(latency: Latency, random: Prng): number {
  return typeof latency === 'number' ? latency : uniform(random, latency[0], latency[1]);
}
