/**
 * `bulwark/observability`: the diagnostics channel names and the message each carries, the
 * redactor the logs and spans use, and the logger contract `logging.logger` accepts.
 */
export { CHANNEL_NAMES } from './channels.js';
export type {
  RequestChannelContext,
  RetryMessage,
  CircuitMessage,
  RateLimitMessage,
  ConcurrencyMessage,
  DeadlineMessage,
  HedgeMessage,
  RedirectMessage,
  BudgetMessage,
  AttemptMessage,
} from './channels.js';
export { Redactor, defaultRedactor, type RedactorOptions } from './redact.js';
export type { Logger, LogLevelSetting } from './logger.js';
export type { SpanNameRequest } from './otel.js';
