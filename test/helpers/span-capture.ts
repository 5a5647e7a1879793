/**
 * Spans as an operator's backend would get them: a tracer provider of the real OpenTelemetry SDK
 * exporting to memory, and the finished spans of one kind (INTERNAL for calls, CLIENT for attempts).
 */
import type { SpanKind } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';

export interface SpanCapture {
  readonly exporter: InMemorySpanExporter;
  readonly provider: BasicTracerProvider;
  /** The finished spans of `kind`, in the order they ended. */
  readonly ofKind: (kind: SpanKind) => ReadableSpan[];
}

export function spanCapture(): SpanCapture {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const ofKind = (kind: SpanKind): ReadableSpan[] =>
    exporter.getFinishedSpans().filter((span) => span.kind === kind);
  return { exporter, provider, ofKind };
}
