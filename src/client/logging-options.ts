/**
 * The client's `logging` option: its type (the logger, its level, what lines carry, the redaction
 * lists), its key list checked against the type, and its parse into the log settings and the
 * client's redactor (which telemetry and errors use too).
 */
import { invalidOption } from '../errors.js';
import type { LogSettings } from '../observability/event-sinks.js';
import { parseLogLevel, type Logger, type LogLevelSetting } from '../observability/logger.js';
import {
  defaultRedactor,
  REDACTOR_OPTION_KEYS,
  Redactor,
  type RedactorOptions,
} from '../observability/redact.js';
import { checkBoolean, checkKeys, checkNumber, checkObject, optionKeys } from '../validate.js';

/**
 * Logging settings.
 * @example logging: { logger: pino(), level: 'warn', redact: { headers: ['x-api-key'] } }
 */
export interface LoggingOptions {
  /** A pino-compatible logger (`info`, `warn`, `error`, `debug`, `child`...). @default none: silent */
  logger?: Logger;
  /** Lowest level written. @default 'info' when a logger is given */
  level?: LogLevelSetting;
  /** Log request and response headers (redacted). @default false */
  logHeaders?: boolean;
  /**
   * Log bodies, redacted, as HTTPower's `log_body`: the request body (given as `json`, `form` or a
   * string `body`) on its `→` line, and the final response body on a `body` line once the caller
   * reads it with `text()`, `json()` or `arrayBuffer()` (a streamed `body` is not logged). A
   * diagnostic switch: keep it off in production and for payment or identity services.
   * @default false
   */
  logBody?: boolean;
  /**
   * Longest body written in a line, in characters, counted after redaction; the rest is cut and
   * the line says how much was dropped. Integer 0–1_048_576.
   * @default 4_096
   */
  bodyLimit?: number;
  /** Extra names to redact; lists extend the defaults. @default the built-in header, body-field and query lists */
  redact?: RedactorOptions;
}

const LOGGING_KEYS = optionKeys<LoggingOptions>()([
  'logger',
  'level',
  'logHeaders',
  'logBody',
  'bodyLimit',
  'redact',
]);

/** The client's `logging`, parsed: what the log sink writes, and the redactor of every sink. */
export interface LoggingSettings {
  readonly log: LogSettings;
  readonly redactor: Redactor;
}

/** Parses `logging`; silent without a logger. */
export function parseLogging(value: unknown): LoggingSettings {
  const section = checkObject('options', 'logging', value) ?? {};
  checkKeys('options', 'logging', section, LOGGING_KEYS);
  const logger = checkLogger(section.logger);
  const log: LogSettings = {
    logger,
    level:
      section.level === undefined ? (logger === undefined ? 'silent' : 'info') : parseLogLevel(section.level),
    logHeaders: checkBoolean('options', 'logging.logHeaders', section.logHeaders) ?? false,
    logBody: checkBoolean('options', 'logging.logBody', section.logBody) ?? false,
    bodyLimit: checkNumber('options', 'logging.bodyLimit', section.bodyLimit, 0, 1_048_576, true) ?? 4_096,
  };
  return { log, redactor: parseRedact(section.redact) };
}

function checkLogger(value: unknown): Logger | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || typeof (value as Partial<Logger>).info !== 'function') {
    throw invalidOption(
      'logging.logger',
      value,
      'a pino-compatible logger (info, warn, error, debug... methods)',
    );
  }
  return value as Logger;
}

function parseRedact(value: unknown): Redactor {
  const redact = checkObject('options', 'logging.redact', value);
  if (redact === undefined) return defaultRedactor;
  checkKeys('options', 'logging.redact', redact, REDACTOR_OPTION_KEYS);
  return new Redactor(redact);
}
