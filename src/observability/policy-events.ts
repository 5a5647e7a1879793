/**
 * Policy events as data: one typed record per decision, and one table row per kind saying what
 * each of the three sinks (diagnostics channel, OpenTelemetry, log) makes of it. Every row states
 * all three, so a new kind does not compile until each sink has decided.
 */

import type { Channel } from 'node:diagnostics_channel';
import type { BulwarkErrorCode, CodeWhere } from '../errors.js';
import {
  budgetChannel,
  cacheChannel,
  circuitChannel,
  concurrencyChannel,
  deadlineChannel,
  hedgeChannel,
  rateLimitChannel,
  redirectChannel,
  retryChannel,
  type CacheStatus,
  type CallMessageFields,
  type CircuitMessage,
  type CircuitState,
  type RetryMessage,
} from './channels.js';
import type { LogInput, LogLevel } from './logger.js';
import { ATTR, SPAN_EVENT } from './names.js';
import type { MetricKey } from './names.js';

/** Attributes of a span event or metric point (a subset of OpenTelemetry's, so no type from the API leaks out). */
export type TelemetryAttributes = Record<string, string | number | boolean | undefined>;

/** The timeout that fired, as its error code: recorded as `error.type` on the `bulwark.timeout` event. */
export type TimeoutCode = CodeWhere<'timeout', true>;

/**
 * One policy decision. `event` names the kind; the other fields are the decision's own (the
 * call's identity travels beside it, as a {@link CallRecord}). A `url` or `location` given here
 * is already redacted.
 */
export type PolicyEvent =
  | ({ readonly event: 'retry' } & Omit<RetryMessage, keyof CallMessageFields>)
  | { readonly event: 'budget-exhausted'; readonly key: string; readonly kind: 'retry' | 'hedge' }
  | {
      readonly event: 'hedge-spawned';
      readonly key: string;
      readonly hedge: number;
      readonly delayMs: number;
    }
  | {
      readonly event: 'hedge-settled';
      readonly key: string;
      readonly winner: number;
      readonly hedges: number;
    }
  | ({ readonly event: 'circuit-transition' } & Omit<
      Extract<CircuitMessage, { type: 'transition' }>,
      'type' | 'client'
    >)
  | {
      readonly event: 'circuit-rejected';
      readonly key: string;
      readonly retryAfterMs: number;
      readonly url: string | undefined;
    }
  | { readonly event: 'rate-limit-wait'; readonly key: string; readonly waitMs: number }
  | { readonly event: 'rate-limit-rejected'; readonly key: string; readonly retryAfterMs: number }
  | {
      readonly event: 'rate-limit-hint';
      readonly key: string;
      readonly remaining: number | undefined;
      readonly resetMs: number;
    }
  | {
      readonly event: 'rate-limit-store-error';
      readonly key: string;
      readonly fallback: 'local' | 'open' | 'closed';
      readonly code: string | undefined;
    }
  | {
      readonly event: 'concurrency-queued';
      readonly key: string;
      readonly limit: number;
      readonly inflight: number;
      readonly queued: number;
    }
  | {
      readonly event: 'concurrency-rejected';
      readonly key: string;
      readonly limit: number;
      readonly inflight: number;
    }
  | {
      readonly event: 'concurrency-limit';
      readonly key: string;
      readonly limit: number;
      readonly previousLimit: number;
      readonly inflight: number;
    }
  | {
      readonly event: 'deadline-exceeded';
      readonly deadline: number;
      readonly phase: 'before-send' | 'in-flight' | 'before-retry';
      readonly source: 'timeout' | 'deadline';
    }
  | {
      readonly event: 'redirect';
      readonly url: string;
      readonly status: number;
      readonly location: string;
      readonly count: number;
      readonly droppedHeaders: readonly string[];
    }
  | {
      readonly event: 'cache';
      readonly status: CacheStatus;
      readonly age: number;
      readonly reason: string | undefined;
    }
  | { readonly event: 'timeout'; readonly code: TimeoutCode; readonly timeoutMs: number | undefined };

/** The kind of a policy event. */
export type PolicyEventKind = PolicyEvent['event'];

/** The event of one kind. */
export type PolicyEventOf<K extends PolicyEventKind> = Extract<PolicyEvent, { event: K }>;

/** The call an event belongs to: a pipeline call context satisfies it as is. */
export interface CallRecord {
  readonly correlationId: string;
  readonly method: string;
  readonly origin: string;
  readonly path: string;
  readonly key: string;
}

/** What a log line of an event says beyond the call's own fields (raw: the log sink redacts). */
export type EventLogLine = Omit<LogInput, 'client' | 'correlationId' | 'method' | 'url'>;

/** One kind's row: `false` where a sink takes nothing of it. */
export interface EventRow<E extends PolicyEvent> {
  /** The point channel and the payload's `type`; the payload is the call's fields plus the event's. */
  readonly channel: false | { readonly channel: Channel; readonly type: string | undefined };
  /**
   * The span event added to the call span (`on: 'attempt'`: the attempt span), or with `name`
   * undefined, attributes set on it. A `url.full` attribute passes the telemetry's URL redactor.
   */
  readonly span:
    | false
    | {
        readonly name: string | undefined;
        readonly on: 'call' | 'attempt';
        attributes(e: E): TelemetryAttributes;
      };
  /** The counter or histogram fed (never a gauge: those are read, not fed); `bulwark.client` is added to `attributes`. */
  readonly metric:
    false | { readonly instrument: MetricKey; value(e: E): number; attributes(e: E): TelemetryAttributes };
  /**
   * The log line: written at `level`, or at `levelOf(e)` when given, which may only lower it
   * (`level` is the most severe the row writes: the check made before building the event).
   * `line` returns undefined for an event that writes none.
   */
  readonly log:
    false | { readonly level: LogLevel; levelOf?(e: E): LogLevel; line(e: E): EventLogLine | undefined };
}

/** Every kind's row. */
export type EventTable = { readonly [K in PolicyEventKind]: EventRow<PolicyEventOf<K>> };

const one = (): number => 1;
const keyed = (e: { readonly key: string }): TelemetryAttributes => ({ [ATTR.key]: e.key });
const rejectedLine =
  (code: BulwarkErrorCode) =>
  (e: { readonly key: string }): EventLogLine => ({ event: 'rejected', key: e.key, code });

/** The gauge's name for a state: an isolated circuit counts as open. */
export function gaugeState(state: CircuitState): 'closed' | 'half-open' | 'open' {
  return state === 'isolated' ? 'open' : state;
}

/** `bulwark.retry.reason`: the failed attempt's status as a string, or its error code. */
export function retryReason(e: PolicyEventOf<'retry'>): string {
  return e.status !== undefined ? String(e.status) : (e.errorCode ?? 'error');
}

const retryRow: EventRow<PolicyEventOf<'retry'>> = {
  channel: { channel: retryChannel, type: undefined },
  span: {
    name: SPAN_EVENT.retry,
    on: 'call',
    attributes: (e) => ({
      [ATTR.key]: e.key,
      [ATTR.retryReason]: retryReason(e),
      [ATTR.attempt]: e.attempt,
      [ATTR.retryDelayMs]: e.delayMs,
    }),
  },
  metric: {
    instrument: 'retries',
    value: one,
    attributes: (e) => ({ [ATTR.key]: e.key, [ATTR.retryReason]: retryReason(e) }),
  },
  log: {
    level: 'warn',
    line: (e) => ({
      event: 'retry',
      attempt: e.attempt,
      delayMs: e.delayMs,
      key: e.key,
      ...(e.status === undefined ? {} : { status: e.status }),
      ...(e.errorCode === undefined ? {} : { code: e.errorCode }),
    }),
  },
};

const circuitRows: Pick<EventTable, 'circuit-transition' | 'circuit-rejected'> = {
  'circuit-transition': {
    channel: { channel: circuitChannel, type: 'transition' },
    span: false,
    metric: {
      instrument: 'circuitTransitions',
      value: one,
      attributes: (e) => ({
        [ATTR.key]: e.key,
        [ATTR.circuitFrom]: gaugeState(e.from),
        [ATTR.circuitTo]: gaugeState(e.to),
      }),
    },
    log: { level: 'warn', line: (e) => ({ event: 'circuit', key: e.key, from: e.from, to: e.to }) },
  },
  'circuit-rejected': {
    channel: { channel: circuitChannel, type: 'rejected' },
    span: {
      name: SPAN_EVENT.circuitRejected,
      on: 'call',
      attributes: (e) => ({ [ATTR.key]: e.key, [ATTR.retryAfterMs]: e.retryAfterMs }),
    },
    metric: { instrument: 'circuitRejections', value: one, attributes: keyed },
    log: { level: 'warn', line: rejectedLine('CIRCUIT_OPEN') },
  },
};

const rateLimitRows: Pick<
  EventTable,
  'rate-limit-wait' | 'rate-limit-rejected' | 'rate-limit-hint' | 'rate-limit-store-error'
> = {
  'rate-limit-wait': {
    channel: { channel: rateLimitChannel, type: 'wait' },
    span: {
      name: SPAN_EVENT.rateLimitWait,
      on: 'call',
      attributes: (e) => ({ [ATTR.key]: e.key, [ATTR.rateLimitWaitMs]: e.waitMs }),
    },
    metric: { instrument: 'rateLimitWaits', value: (e) => e.waitMs / 1000, attributes: keyed },
    log: false,
  },
  'rate-limit-rejected': {
    channel: { channel: rateLimitChannel, type: 'rejected' },
    span: {
      name: SPAN_EVENT.rateLimitRejected,
      on: 'call',
      attributes: (e) => ({ [ATTR.key]: e.key, [ATTR.retryAfterMs]: e.retryAfterMs }),
    },
    metric: { instrument: 'rateLimitRejections', value: one, attributes: keyed },
    log: { level: 'warn', line: rejectedLine('RATE_LIMITED') },
  },
  'rate-limit-hint': {
    channel: { channel: rateLimitChannel, type: 'hint' },
    span: false,
    metric: false,
    // Many APIs send a hint on every answer: a line each is detail, not news.
    log: {
      level: 'debug',
      line: (e) => ({
        event: 'rate-limit-hint',
        key: e.key,
        resetMs: e.resetMs,
        ...(e.remaining === undefined ? {} : { remaining: e.remaining }),
      }),
    },
  },
  'rate-limit-store-error': {
    channel: { channel: rateLimitChannel, type: 'store-error' },
    span: false,
    metric: {
      instrument: 'rateLimitStoreErrors',
      value: one,
      attributes: (e) => ({ [ATTR.key]: e.key, [ATTR.rateLimitFallback]: e.fallback }),
    },
    log: {
      level: 'warn',
      line: (e) => ({
        event: 'rate-limit-store-error',
        key: e.key,
        fallback: e.fallback,
        ...(e.code === undefined ? {} : { code: e.code }),
      }),
    },
  },
};

const concurrencyRows: Pick<EventTable, 'concurrency-queued' | 'concurrency-rejected' | 'concurrency-limit'> =
  {
    'concurrency-queued': {
      channel: { channel: concurrencyChannel, type: 'queued' },
      span: {
        name: SPAN_EVENT.concurrencyQueued,
        on: 'call',
        attributes: (e) => ({
          [ATTR.key]: e.key,
          [ATTR.concurrencyLimit]: e.limit,
          [ATTR.concurrencyInflight]: e.inflight,
          [ATTR.concurrencyQueued]: e.queued,
        }),
      },
      metric: false,
      log: {
        level: 'debug',
        line: (e) => ({
          event: 'concurrency-queued',
          key: e.key,
          limit: e.limit,
          inflight: e.inflight,
          queued: e.queued,
        }),
      },
    },
    'concurrency-rejected': {
      channel: { channel: concurrencyChannel, type: 'rejected' },
      span: {
        name: SPAN_EVENT.concurrencyRejected,
        on: 'call',
        attributes: (e) => ({
          [ATTR.key]: e.key,
          [ATTR.concurrencyLimit]: e.limit,
          [ATTR.concurrencyInflight]: e.inflight,
        }),
      },
      metric: { instrument: 'concurrencyRejections', value: one, attributes: keyed },
      log: { level: 'warn', line: rejectedLine('CONCURRENCY_LIMITED') },
    },
    'concurrency-limit': {
      channel: { channel: concurrencyChannel, type: 'limit' },
      // The limit's gauges already carry the value; an adaptive limit moves on most samples.
      span: false,
      metric: false,
      log: {
        level: 'debug',
        line: (e) => ({
          event: 'concurrency-limit',
          key: e.key,
          limit: e.limit,
          previousLimit: e.previousLimit,
          inflight: e.inflight,
        }),
      },
    },
  };

const otherRows: Pick<
  EventTable,
  | 'budget-exhausted'
  | 'hedge-spawned'
  | 'hedge-settled'
  | 'deadline-exceeded'
  | 'redirect'
  | 'cache'
  | 'timeout'
> = {
  'budget-exhausted': {
    channel: { channel: budgetChannel, type: 'exhausted' },
    span: { name: SPAN_EVENT.retryBudgetExhausted, on: 'call', attributes: keyed },
    metric: { instrument: 'retryBudgetRejections', value: one, attributes: keyed },
    log: false,
  },
  'hedge-spawned': {
    channel: { channel: hedgeChannel, type: 'spawned' },
    span: {
      name: SPAN_EVENT.hedge,
      on: 'call',
      attributes: (e) => ({ [ATTR.key]: e.key, [ATTR.hedge]: e.hedge, [ATTR.hedgeDelayMs]: e.delayMs }),
    },
    metric: { instrument: 'hedges', value: one, attributes: keyed },
    log: false,
  },
  'hedge-settled': {
    channel: { channel: hedgeChannel, type: 'settled' },
    span: {
      name: SPAN_EVENT.hedgeSettled,
      on: 'call',
      attributes: (e) => ({ [ATTR.key]: e.key, [ATTR.hedgeWinner]: e.winner, [ATTR.hedges]: e.hedges }),
    },
    metric: false,
    log: {
      level: 'debug',
      line: (e) => ({ event: 'hedge-settled', key: e.key, winner: e.winner, hedges: e.hedges }),
    },
  },
  'deadline-exceeded': {
    channel: { channel: deadlineChannel, type: 'exceeded' },
    span: {
      name: SPAN_EVENT.deadlineExceeded,
      on: 'call',
      attributes: (e) => ({ [ATTR.deadlinePhase]: e.phase, [ATTR.deadlineSource]: e.source }),
    },
    metric: false,
    // In flight, the attempt's own `error` line already says DEADLINE_EXCEEDED; before sending
    // or before a retry nothing else is written, so that line is a warning.
    log: {
      level: 'warn',
      levelOf: (e) => (e.phase === 'in-flight' ? 'debug' : 'warn'),
      line: (e) => ({ event: 'deadline', phase: e.phase, source: e.source }),
    },
  },
  redirect: {
    channel: { channel: redirectChannel, type: undefined },
    span: {
      name: SPAN_EVENT.redirect,
      on: 'call',
      attributes: (e) => ({
        [ATTR.httpStatus]: e.status,
        [ATTR.urlFull]: e.location,
        [ATTR.redirectCount]: e.count,
      }),
    },
    metric: false,
    log: false,
  },
  cache: {
    channel: { channel: cacheChannel, type: undefined },
    span: {
      name: undefined,
      on: 'call',
      attributes: (e) =>
        e.status === 'miss' ? { [ATTR.cache]: e.status } : { [ATTR.cache]: e.status, [ATTR.cacheAge]: e.age },
    },
    metric: false,
    // A miss is logged by its attempt's own lines; what the cache answered is logged here.
    log: {
      level: 'info',
      line: (e) =>
        e.status === 'miss'
          ? undefined
          : {
              event: 'cache',
              cache: e.status,
              age: e.age,
              ...(e.reason === undefined ? {} : { reason: e.reason }),
            },
    },
  },
  timeout: {
    channel: false,
    // A deadline has no duration of its own: the attribute is left out rather than reading 0.
    span: {
      name: SPAN_EVENT.timeout,
      on: 'attempt',
      attributes: (e) =>
        e.timeoutMs === undefined
          ? { [ATTR.errorType]: e.code }
          : { [ATTR.errorType]: e.code, [ATTR.timeoutMs]: e.timeoutMs },
    },
    metric: false,
    log: false,
  },
};

/** What each sink makes of each kind of event. */
export const EVENT_TABLE: EventTable = {
  retry: retryRow,
  ...circuitRows,
  ...rateLimitRows,
  ...concurrencyRows,
  ...otherRows,
};
