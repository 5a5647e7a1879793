/**
 * The instruments bulwark records, declared as data (name, kind, unit, description, attributes)
 * and created in one loop: the stable `http.client.request.duration` histogram and bulwark's
 * own counters and gauges for its policy decisions. Created once per meter and shared by every
 * client on it; each client's points carry `bulwark.client`.
 */

import type {
  Attributes,
  BatchObservableCallback,
  Counter,
  Histogram,
  Meter,
  ObservableCallback,
  ObservableGauge,
} from '@opentelemetry/api';
import { ATTR, METRIC, type MetricName } from './names.js';
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

/** One instrument, as declared. */
export interface InstrumentSpec {
  readonly name: MetricName;
  readonly kind: 'counter' | 'histogram' | 'gauge';
  readonly unit: string;
  readonly description: string;
  /** Every attribute a point may carry (the optional ones included). */
  readonly attributes: readonly string[];
  /** Histograms: the advised bucket boundaries. */
  readonly buckets?: readonly number[];
}

const KEYED = [ATTR.client, ATTR.key] as const;

/** Every instrument bulwark records. docs/observability.md lists the same table. */
export const INSTRUMENTS = {
  requestDuration: {
    name: METRIC.requestDuration,
    kind: 'histogram',
    unit: 's',
    description: 'Duration of HTTP client requests (one point per attempt).',
    attributes: [
      ATTR.httpMethod,
      ATTR.serverAddress,
      ATTR.serverPort,
      ATTR.httpStatus,
      ATTR.errorType,
      ATTR.networkProtocol,
      ATTR.client,
    ],
    buckets: HTTP_DURATION_BUCKETS,
  },
  retries: {
    name: METRIC.retries,
    kind: 'counter',
    unit: '{retry}',
    description: 'Retries scheduled after a failed attempt.',
    attributes: [...KEYED, ATTR.retryReason],
  },
  retryBudgetRejections: {
    name: METRIC.retryBudgetRejections,
    kind: 'counter',
    unit: '{retry}',
    description: 'Retries or hedges refused because the retry budget was spent.',
    attributes: KEYED,
  },
  hedges: {
    name: METRIC.hedges,
    kind: 'counter',
    unit: '{attempt}',
    description: 'Hedged attempts started.',
    attributes: KEYED,
  },
  circuitTransitions: {
    name: METRIC.circuitTransitions,
    kind: 'counter',
    unit: '{transition}',
    description: 'Circuit breaker state changes.',
    attributes: [...KEYED, ATTR.circuitFrom, ATTR.circuitTo],
  },
  circuitRejections: {
    name: METRIC.circuitRejections,
    kind: 'counter',
    unit: '{attempt}',
    description: 'Attempts refused by an open circuit (CIRCUIT_OPEN).',
    attributes: KEYED,
  },
  circuitState: {
    name: METRIC.circuitState,
    kind: 'gauge',
    unit: '1',
    description: 'Circuit breaker state: 0 closed, 1 half-open, 2 open.',
    attributes: KEYED,
  },
  rateLimitWaits: {
    name: METRIC.rateLimitWaits,
    kind: 'histogram',
    unit: 's',
    description: 'Time attempts waited for a rate-limit token.',
    attributes: KEYED,
    buckets: RATE_LIMIT_WAIT_BUCKETS,
  },
  rateLimitRejections: {
    name: METRIC.rateLimitRejections,
    kind: 'counter',
    unit: '{attempt}',
    description: 'Attempts refused by the rate limiter (RATE_LIMITED).',
    attributes: KEYED,
  },
  rateLimitStoreErrors: {
    name: METRIC.rateLimitStoreErrors,
    kind: 'counter',
    unit: '{decision}',
    description: 'Rate-limit decisions the shared store failed to make; onStoreError decided instead.',
    attributes: [...KEYED, ATTR.rateLimitFallback],
  },
  concurrencyLimit: {
    name: METRIC.concurrencyLimit,
    kind: 'gauge',
    unit: '{request}',
    description: 'Current concurrency limit.',
    attributes: KEYED,
  },
  concurrencyInflight: {
    name: METRIC.concurrencyInflight,
    kind: 'gauge',
    unit: '{request}',
    description: 'Requests holding a concurrency permit.',
    attributes: KEYED,
  },
  concurrencyRejections: {
    name: METRIC.concurrencyRejections,
    kind: 'counter',
    unit: '{attempt}',
    description: 'Attempts refused by the concurrency limiter (CONCURRENCY_LIMITED).',
    attributes: KEYED,
  },
} as const satisfies Record<keyof typeof METRIC, InstrumentSpec>;

/** The name of an instrument in {@link INSTRUMENTS}. */
export type InstrumentKey = keyof typeof INSTRUMENTS;

type InstrumentOf<K extends InstrumentSpec['kind']> = K extends 'counter'
  ? Counter
  : K extends 'histogram'
    ? Histogram
    : ObservableGauge;

/** @internal Every instrument of one meter, by its key in {@link INSTRUMENTS}. */
export type Instruments = { readonly [K in InstrumentKey]: InstrumentOf<(typeof INSTRUMENTS)[K]['kind']> };

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
  const made: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(INSTRUMENTS) as [InstrumentKey, InstrumentSpec][]) {
    const options = {
      description: spec.description,
      unit: spec.unit,
      ...(spec.buckets === undefined ? {} : { advice: { explicitBucketBoundaries: [...spec.buckets] } }),
    };
    made[key] =
      spec.kind === 'counter'
        ? meter.createCounter(spec.name, options)
        : spec.kind === 'histogram'
          ? meter.createHistogram(spec.name, options)
          : meter.createObservableGauge(spec.name, options);
  }
  return made as Instruments;
}

/** Adds `value` to a counter or records it in a histogram (a gauge is read at collection, never fed). */
export function recordValue(
  instruments: Instruments,
  key: InstrumentKey,
  value: number,
  attributes: Attributes,
): void {
  const kind = INSTRUMENTS[key].kind;
  if (kind === 'counter') (instruments[key] as Counter).add(value, attributes);
  else if (kind === 'histogram') (instruments[key] as Histogram).record(value, attributes);
}

/** Registers a circuit-state reader on the gauge; returns the function that removes it. */
export function observeCircuitState(
  instruments: Instruments,
  clientName: string,
  read: (report: ReportCircuit) => void,
): () => void {
  const callback: ObservableCallback = (result) => {
    read((key, state) => {
      result.observe(CIRCUIT_STATE_VALUE[state], { [ATTR.client]: clientName, [ATTR.key]: key });
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
      const attributes = { [ATTR.client]: clientName, [ATTR.key]: key };
      result.observe(instruments.concurrencyLimit, limit, attributes);
      result.observe(instruments.concurrencyInflight, inflight, attributes);
    });
  };
  meter.addBatchObservableCallback(callback, gauges);
  return () => {
    meter.removeBatchObservableCallback(callback, gauges);
  };
}
