/**
 * The three sinks of policy events, each reading the event table: the diagnostics channel, the
 * OpenTelemetry span and metrics, and the log. `wants` is the check made before an event is
 * built, so a kind nobody observes costs a few property reads and allocates nothing.
 */

import { levelEnabled, logEvent, type Logger, type LogInput, type LogLevelSetting } from './logger.js';
import {
  EVENT_TABLE,
  type CallRecord,
  type EventRow,
  type PolicyEvent,
  type PolicyEventKind,
} from './policy-events.js';
import type { Redactor } from './redact.js';
import type { AttemptSpan, CallSpan, Telemetry } from './telemetry.js';

/** Logging settings of a client. */
export interface LogSettings {
  readonly logger: Logger | undefined;
  readonly level: LogLevelSetting;
  readonly logHeaders: boolean;
  readonly logBody: boolean;
  /** Longest body written in a line, characters (after redaction). */
  readonly bodyLimit: number;
}

/** A span handle, as the telemetry hands them out. */
type SpanHandle = CallSpan | AttemptSpan | undefined;

/** The call-level fields every call-bound payload and line starts with. */
const CALL_FIELDS: ReadonlySet<string> = new Set(['client', 'correlationId', 'method', 'url']);

/** Where one client's policy events go. */
export class EventSinks {
  readonly #client: string;
  readonly #telemetry: Telemetry;
  readonly #redactor: Redactor;
  readonly #log: LogSettings;

  constructor(client: string, telemetry: Telemetry, redactor: Redactor, log: LogSettings) {
    this.#client = client;
    this.#telemetry = telemetry;
    this.#redactor = redactor;
    this.#log = log;
  }

  /** True when some sink would take an event of `kind` (check it before building the event). */
  wants(kind: PolicyEventKind, span: SpanHandle): boolean {
    const row = EVENT_TABLE[kind];
    if (row.channel !== false && row.channel.channel.hasSubscribers) return true;
    const telemetry = this.#telemetry;
    if (
      telemetry.enabled &&
      ((row.metric !== false && telemetry.metering) || (row.span !== false && span !== undefined))
    ) {
      return true;
    }
    return row.log !== false && levelEnabled(this.#log.logger, row.log.level, this.#log.level);
  }

  /**
   * Hands `event` to the three sinks; `call` is undefined for an event that belongs to no one
   * call. `quiet` leaves the log out (a repeat of what was just logged: counted, not written).
   */
  emit(call: CallRecord | undefined, span: SpanHandle, event: PolicyEvent, quiet = false): void {
    const row = EVENT_TABLE[event.event] as EventRow<PolicyEvent>;
    this.#publish(row, call, event);
    this.#telemetry.record(span, event);
    if (!quiet) this.#write(row, call, event);
  }

  /** The channel sink: the call's fields (URL redacted), the row's `type`, then the event's own. */
  #publish(row: EventRow<PolicyEvent>, call: CallRecord | undefined, event: PolicyEvent): void {
    if (row.channel === false || !row.channel.channel.hasSubscribers) return;
    const message: Record<string, unknown> = { client: this.#client };
    if (call !== undefined) {
      message['correlationId'] = call.correlationId;
      message['method'] = call.method;
      message['url'] = this.#redactor.url(call.origin + call.path);
    }
    if (row.channel.type !== undefined) message['type'] = row.channel.type;
    const fields = event as unknown as Record<string, unknown>;
    for (const name in fields) {
      if (name === 'event') continue;
      const value = fields[name];
      // An event's `url` (already redacted) replaces the call's only when it has one.
      if (value !== undefined || !CALL_FIELDS.has(name)) message[name] = value;
    }
    row.channel.channel.publish(message);
  }

  /** The log sink: one line at the row's level, redacted by `logEvent`. */
  #write(row: EventRow<PolicyEvent>, call: CallRecord | undefined, event: PolicyEvent): void {
    const log = row.log;
    if (log === false) return;
    const level = log.levelOf?.(event) ?? log.level;
    if (!levelEnabled(this.#log.logger, level, this.#log.level)) return;
    const line = log.line(event);
    if (line === undefined) return;
    const input: LogInput =
      call === undefined
        ? { client: this.#client, ...line }
        : {
            client: this.#client,
            correlationId: call.correlationId,
            method: call.method,
            url: call.origin + call.path,
            key: call.key,
            ...line,
          };
    logEvent(this.#log.logger, this.#log.level, input, this.#redactor, level);
  }
}
