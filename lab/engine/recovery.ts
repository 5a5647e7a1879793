/**
 * Time to detect and time to recover, per configuration, for each phase in which the upstream
 * stops serving (an outage, a black hole): how long a client kept sending to a dead API before
 * its breaker opened, and how long after the API was back its calls succeeded again.
 */
import type { CallRecord } from './load.js';
import type { BreakerTransition } from './sampler.js';
import type { Phase } from './scenario.js';

/** The faults after which detection and recovery are measured. */
export const DOWN_FAULTS: ReadonlySet<Phase['fault']> = new Set(['outage', 'blackhole']);

/** A configuration's share of calls that must succeed again, relative to before the fault. */
const RECOVERED_SHARE = 0.9;

/** Detection and recovery of one configuration in one phase. */
export interface Recovery {
  readonly config: string;
  /**
   * ms from the phase start to the first breaker opening, null when none opened before the
   * phase ended. `hasBreaker: false` means the configuration has none to open.
   */
  readonly detectMs: number | null;
  readonly hasBreaker: boolean;
  /**
   * ms from the phase end to the start of the first window (one bucket long) of calls started in
   * it of which at least 90 % of the pre-fault success rate succeeded; null when none did by the
   * end of the run.
   */
  readonly recoverMs: number | null;
}

/** What a configuration's run offers to the measure. */
export interface RecoveryInput {
  readonly name: string;
  readonly calls: readonly CallRecord[];
  readonly transitions: readonly BreakerTransition[];
  /** Whether a breaker was ever seen in `inspect()` or on the channel. */
  readonly hasBreaker: boolean;
}

/** Measures detection and recovery for `phase` (a phase of {@link DOWN_FAULTS}). */
export function measureRecovery(
  phase: Pick<Phase, 'from' | 'to'>,
  input: RecoveryInput,
  bucket: number,
  duration: number,
): Recovery {
  const opened = input.transitions.find((t) => t.to === 'open' && t.at >= phase.from && t.at < phase.to);
  const detectMs = opened === undefined ? null : Math.max(0, opened.at - phase.from);
  const before = input.calls.filter((c) => c.start < phase.from && !c.cutOff);
  const baseline = before.length === 0 ? 1 : before.filter((c) => c.ok).length / before.length;
  const target = RECOVERED_SHARE * baseline;
  let recoverMs: number | null = null;
  for (let w = phase.to; w < duration; w += bucket) {
    const started = input.calls.filter((c) => c.start >= w && c.start < w + bucket);
    if (started.length === 0) continue;
    if (started.filter((c) => c.ok).length / started.length >= target) {
      recoverMs = w - phase.to;
      break;
    }
  }
  return { config: input.name, detectMs, hasBreaker: input.hasBreaker, recoverMs };
}
