/**
 * The instruments bulwark records: the stable `http.client.request.duration` histogram and
 * bulwark's own counters and gauges for its policy decisions. Created once per meter and
 * shared by every client on it; each client's points carry `bulwark.client`.
 */

import type {
  BatchObservableCallback,
  Counter,
  Histogram,
  Meter,
  ObservableCallback,
  ObservableGauge,
} from '@opentelemetry/api';
import type { CircuitStateName, ReportCircuit, ReportConcurrency } from './telemetry.js';

/** The buckets the HTTP semantic conventions advise for `http.client.request.duration`, in seconds. */
export const HTTP_DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** Buckets of `bulwark.rate_limit.wait.duration`, in seconds: waits run from a few ms to `maxWait`. */
export const RATE_LIMIT_WAIT_BUCKETS: readonly number[] = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/** Values of the `bulwark.circuit.state` gauge. */
export const CIRCUIT_STATE_VALUE: Readonly<Record<CircuitStateName, number>> = {
  closed: 0,
  'half-open': 1,
  open: 2,
};

/** @internal Every instrument of one meter. */
export interface Instruments {
  readonly requestDuration: Histogram;
  readonly retries: Counter;
  readonly retryBudgetRejections: Counter;
  readonly hedges: Counter;
  readonly circuitTransitions: Counter;
  readonly circuitRejections: Counter;
  readonly circuitState: ObservableGauge;
  readonly rateLimitWaits: Histogram;
  readonly rateLimitRejections: Counter;
  readonly concurrencyLimit: ObservableGauge;
  readonly concurrencyInflight: ObservableGauge;
  readonly concurrencyRejections: Counter;
}

const byMeter = new WeakMap<Meter, Instruments>();

/** The instruments of `meter`, created on first use so two clients never register a name twice. */
export function instrumentsFor(meter: Meter): Instruments {
  let found = byMeter.get(meter);
  if (found === undefined) {
    found = createInstruments(meter);
    byMeter.set(meter, found);
  }
  return found;
}

function createInstruments(meter: Meter): Instruments {
  return {
    requestDuration: meter.createHistogram('http.client.request.duration', {
      description: 'Duration of HTTP client requests (one point per attempt).',
      unit: 's',
      advice: { explicitBucketBoundaries: [...HTTP_DURATION_BUCKETS] },
    }),
    retries: meter.createCounter('bulwark.retries', {
      description: 'Retries scheduled after a failed attempt.',
      unit: '{retry}',
    }),
    retryBudgetRejections: meter.createCounter('bulwark.retry_budget.rejections', {
      description: 'Retries or hedges refused because the retry budget was spent.',
      unit: '{retry}',
    }),
    hedges: meter.createCounter('bulwark.hedges', {
      description: 'Hedged attempts started.',
      unit: '{attempt}',
    }),
    circuitTransitions: meter.createCounter('bulwark.circuit.transitions', {
      description: 'Circuit breaker state changes.',
      unit: '{transition}',
    }),
    circuitRejections: meter.createCounter('bulwark.circuit.rejections', {
      description: 'Attempts refused by an open circuit (CIRCUIT_OPEN).',
      unit: '{attempt}',
    }),
    circuitState: meter.createObservableGauge('bulwark.circuit.state', {
      description: 'Circuit breaker state: 0 closed, 1 half-open, 2 open.',
      unit: '1',
    }),
    rateLimitWaits: meter.createHistogram('bulwark.rate_limit.wait.duration', {
      description: 'Time attempts waited for a rate-limit token.',
      unit: 's',
      advice: { explicitBucketBoundaries: [...RATE_LIMIT_WAIT_BUCKETS] },
    }),
    rateLimitRejections: meter.createCounter('bulwark.rate_limit.rejections', {
      description: 'Attempts refused by the rate limiter (RATE_LIMITED).',
      unit: '{attempt}',
    }),
    concurrencyLimit: meter.createObservableGauge('bulwark.concurrency.limit', {
      description: 'Current concurrency limit.',
      unit: '{request}',
    }),
    concurrencyInflight: meter.createObservableGauge('bulwark.concurrency.inflight', {
      description: 'Requests holding a concurrency permit.',
      unit: '{request}',
    }),
    concurrencyRejections: meter.createCounter('bulwark.concurrency.rejections', {
      description: 'Attempts refused by the concurrency limiter (CONCURRENCY_LIMITED).',
      unit: '{attempt}',
    }),
  };
}

/** Registers a circuit-state reader on the gauge; returns the function that removes it. */
export function observeCircuitState(
  instruments: Instruments,
  clientName: string,
  read: (report: ReportCircuit) => void,
): () => void {
  const callback: ObservableCallback = (result) => {
    read((key, state) => {
      result.observe(CIRCUIT_STATE_VALUE[state], { 'bulwark.client': clientName, 'bulwark.key': key });
    });
  };
  instruments.circuitState.addCallback(callback);
  return () => {
    instruments.circuitState.removeCallback(callback);
  };
}

/** Registers a reader for both concurrency gauges in one batch; returns the function that removes it. */
export function observeConcurrency(
  meter: Meter,
  instruments: Instruments,
  clientName: string,
  read: (report: ReportConcurrency) => void,
): () => void {
  const gauges = [instruments.concurrencyLimit, instruments.concurrencyInflight];
  const callback: BatchObservableCallback = (result) => {
    read((key, limit, inflight) => {
      const attributes = { 'bulwark.client': clientName, 'bulwark.key': key };
      result.observe(instruments.concurrencyLimit, limit, attributes);
      result.observe(instruments.concurrencyInflight, inflight, attributes);
    });
  };
  meter.addBatchObservableCallback(callback, gauges);
  return () => {
    meter.removeBatchObservableCallback(callback, gauges);
  };
}
