/**
 * This node's presence beats and what they say of the fleet: how many nodes share each limit.
 * A decision carries a beat for its limit at most once per third of the presence window, so the
 * count costs Redis a few set operations per limit per second, not per decision. Two
 * generations of entries, swapped once per window as beats go, keep only the limits used lately.
 */
import type { Clock } from '../clock.js';

interface Seen {
  beatAt: number;
  nodes: number;
}

/** Beats and node counts per limiter key. */
export class Presence {
  readonly #clock: Clock;
  readonly #windowMs: number;
  #current = new Map<string, Seen>();
  #previous = new Map<string, Seen>();
  #swappedAt: number;

  /** @param windowMs how long a node counts as present after its last beat */
  constructor(clock: Clock, windowMs: number) {
    this.#clock = clock;
    this.#windowMs = windowMs;
    this.#swappedAt = clock.now();
  }

  /** Whether the decision being sent for `key` should carry a beat (marked as sent if so). */
  due(key: string): boolean {
    const now = this.#clock.now();
    if (now - this.#swappedAt >= this.#windowMs) {
      this.#previous = this.#current;
      this.#current = new Map();
      this.#swappedAt = now;
    }
    let seen = this.#current.get(key);
    if (seen === undefined) {
      seen = this.#previous.get(key) ?? { beatAt: Number.NEGATIVE_INFINITY, nodes: 0 };
      this.#current.set(key, seen);
    }
    if (now - seen.beatAt < this.#windowMs / 3) return false;
    seen.beatAt = now;
    return true;
  }

  /** Records the nodes a beat found sharing `key`. */
  saw(key: string, nodes: number): void {
    const seen = this.#current.get(key) ?? this.#previous.get(key);
    if (seen !== undefined) seen.nodes = nodes;
  }

  /** The nodes last seen sharing `key`, or undefined when no beat has told. */
  nodes(key: string): number | undefined {
    const seen = this.#current.get(key) ?? this.#previous.get(key);
    return seen === undefined || seen.nodes === 0 ? undefined : seen.nodes;
  }
}
