/** Every OpenTelemetry name bulwark writes, in one place: span attributes, span events and metric instruments. */

/**
 * Attribute names, on spans, span events and metric points. The HTTP ones follow the stable
 * semantic conventions; the `bulwark.*` ones are bulwark's own (docs/observability.md lists them).
 */
export const ATTR = {
  httpMethod: 'http.request.method',
  httpMethodOriginal: 'http.request.method_original',
  httpResendCount: 'http.request.resend_count',
  httpStatus: 'http.response.status_code',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  urlFull: 'url.full',
  urlTemplate: 'url.template',
  errorType: 'error.type',
  networkProtocol: 'network.protocol.version',
  networkPeerAddress: 'network.peer.address',
  networkPeerPort: 'network.peer.port',
  client: 'bulwark.client',
  key: 'bulwark.key',
  correlationId: 'bulwark.correlation_id',
  attempt: 'bulwark.attempt',
  attempts: 'bulwark.attempts',
  cache: 'bulwark.cache',
  cacheAge: 'bulwark.cache.age',
  retryReason: 'bulwark.retry.reason',
  retryDelayMs: 'bulwark.retry.delay_ms',
  retryAfterMs: 'bulwark.retry_after_ms',
  hedge: 'bulwark.hedge',
  hedgeDelayMs: 'bulwark.hedge.delay_ms',
  hedgeWinner: 'bulwark.hedge.winner',
  hedges: 'bulwark.hedges',
  circuitFrom: 'bulwark.circuit.from',
  circuitTo: 'bulwark.circuit.to',
  rateLimitWaitMs: 'bulwark.rate_limit.wait_ms',
  rateLimitFallback: 'bulwark.rate_limit.fallback',
  concurrencyLimit: 'bulwark.concurrency.limit',
  concurrencyInflight: 'bulwark.concurrency.inflight',
  concurrencyQueued: 'bulwark.concurrency.queued',
  deadlinePhase: 'bulwark.deadline.phase',
  deadlineSource: 'bulwark.deadline.source',
  timeoutMs: 'bulwark.timeout_ms',
  redirectCount: 'bulwark.redirect.count',
} as const;

/** Names of the span events a policy decision adds to the call span (the timeout's to the attempt span). */
export const SPAN_EVENT = {
  retry: 'bulwark.retry',
  retryBudgetExhausted: 'bulwark.retry_budget.exhausted',
  hedge: 'bulwark.hedge',
  hedgeSettled: 'bulwark.hedge.settled',
  circuitRejected: 'bulwark.circuit.rejected',
  rateLimitWait: 'bulwark.rate_limit.wait',
  rateLimitRejected: 'bulwark.rate_limit.rejected',
  concurrencyQueued: 'bulwark.concurrency.queued',
  concurrencyRejected: 'bulwark.concurrency.rejected',
  deadlineExceeded: 'bulwark.deadline.exceeded',
  timeout: 'bulwark.timeout',
  redirect: 'bulwark.redirect',
} as const;

/** Metric instrument names. */
export const METRIC = {
  requestDuration: 'http.client.request.duration',
  retries: 'bulwark.retries',
  retryBudgetRejections: 'bulwark.retry_budget.rejections',
  hedges: 'bulwark.hedges',
  circuitTransitions: 'bulwark.circuit.transitions',
  circuitRejections: 'bulwark.circuit.rejections',
  circuitState: 'bulwark.circuit.state',
  rateLimitWaits: 'bulwark.rate_limit.wait.duration',
  rateLimitRejections: 'bulwark.rate_limit.rejections',
  rateLimitStoreErrors: 'bulwark.rate_limit.store_errors',
  concurrencyLimit: 'bulwark.concurrency.limit',
  concurrencyInflight: 'bulwark.concurrency.inflight',
  concurrencyRejections: 'bulwark.concurrency.rejections',
} as const;

/** The name of one metric instrument. */
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** The key of one metric instrument in {@link METRIC}. */
export type MetricKey = keyof typeof METRIC;
