/**
 * The client's `telemetry` option: its type, its key list checked against the type, and its
 * parse into the client's {@link Telemetry} (a no-op with `telemetry: false`).
 */
import type { Clock } from '../clock.js';
import { createTelemetry, type TelemetryOptions } from '../observability/otel.js';
import type { Redactor } from '../observability/redact.js';
import { NOOP_TELEMETRY, type Telemetry } from '../observability/telemetry.js';
import { checkKeys, checkObject, optionKeys } from '../validate.js';

/**
 * OpenTelemetry settings.
 * @example telemetry: { tracerProvider, okStatuses: [404] }
 */
export interface TelemetryClientOptions {
  /** Inject W3C trace context into requests. @default true */
  propagate?: boolean;
  /** A tracer provider. @default the global one */
  tracerProvider?: TelemetryOptions['tracerProvider'];
  /** A meter provider. @default the global one */
  meterProvider?: TelemetryOptions['meterProvider'];
  /**
   * Names the call and attempt spans (Hardhat's `span_name`); a throw or an empty result keeps the default.
   * @default `{METHOD} {url.template}`, or `{METHOD}` without a template
   */
  spanName?: TelemetryOptions['spanName'];
  /**
   * Statuses (400–599) spans count as a success (Hardhat's `mark_status_ok`): no ERROR, no `error.type`.
   * @default []
   */
  okStatuses?: readonly number[];
  /**
   * The span status a success sets: `'unset'` (the HTTP semantic conventions) or `'ok'`.
   * @default 'unset'
   */
  successStatus?: 'unset' | 'ok';
}

const TELEMETRY_KEYS = optionKeys<TelemetryClientOptions>()([
  'propagate',
  'tracerProvider',
  'meterProvider',
  'spanName',
  'okStatuses',
  'successStatus',
]);

/** The client's telemetry; each value is checked by `createTelemetry`, naming `telemetry.<option>`. */
export function parseTelemetry(
  value: unknown,
  client: { readonly name: string; readonly clock: Clock; readonly redactor: Redactor },
): Telemetry {
  if (value === false) return NOOP_TELEMETRY;
  const section = checkObject('options', 'telemetry', value) ?? {};
  checkKeys('options', 'telemetry', section, TELEMETRY_KEYS);
  const { redactor } = client;
  return createTelemetry({
    clientName: client.name,
    ...(section as Omit<TelemetryOptions, 'clientName'>),
    redactUrl: (url) => redactor.url(url),
    clock: client.clock,
  });
}
