/**
 * The cassette file: its format, how exchanges are redacted into it, and how recorded answers
 * become responses again.
 */
import { readFileSync } from 'node:fs';
import { BodySource } from '../http/body.js';
import { BulwarkResponse, type ResponseHeaders } from '../http/response.js';
import { bulwarkError } from '../errors.js';
import type { Redactor } from '../observability/redact.js';
import type { Attempt } from '../transport/attempt.js';

/** A request as written to the cassette (redacted). */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[]>;
  body?: string;
  bodyEncoding?: 'base64';
}

/** A response as written to the cassette (redacted, decoded). */
export interface RecordedResponse {
  status: number;
  statusText?: string;
  headers: Record<string, string | string[]>;
  body: string;
  bodyEncoding?: 'base64';
}

/** One exchange: a response, or the network error the request met. */
export interface RecordedInteraction {
  request: RecordedRequest;
  response?: RecordedResponse;
  error?: { code: string; message: string; sent: boolean };
}

/** The file format, version 1. */
export interface CassetteFile {
  version: 1;
  name: string;
  recordedAt: string;
  interactions: RecordedInteraction[];
}

/** Never written, whatever the redactor says: credentials and session state. */
const NEVER_WRITTEN = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);
/** Change on every call and say nothing of what was asked. */
const VOLATILE = new Set(['x-request-id', 'deadline', 'traceparent', 'tracestate', 'baggage']);
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding']);

/** Reads a cassette file for replay; a missing or broken file fails with `INVALID_OPTIONS`. */
export function load(name: string, file: string): RecordedInteraction[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const missing = (error as { code?: unknown }).code === 'ENOENT';
    throw bulwarkError(
      'INVALID_OPTIONS',
      missing
        ? `Cassette "${name}" has no recording at ${file}: record it first (mode 'record' or 'auto').`
        : `Cassette "${name}" at ${file} is not valid JSON: ${(error as Error).message}`,
      { path: 'cassette', cause: error },
    );
  }
  const interactions: unknown = (parsed as Partial<CassetteFile> | null)?.interactions;
  if (!Array.isArray(interactions)) {
    throw bulwarkError('INVALID_OPTIONS', `Cassette "${name}" at ${file} has no \`interactions\` array.`, {
      path: 'cassette',
    });
  }
  return interactions as RecordedInteraction[];
}

/** Matching: method, redacted URL and redacted body; headers are not compared. */
export function sameRequest(a: RecordedRequest, b: RecordedRequest): boolean {
  return a.method === b.method && a.url === b.url && (a.body ?? '') === (b.body ?? '');
}

/** The redacted record of an attempt's request (also the key it is matched by). */
export function describeRequest(
  attempt: Attempt,
  body: Buffer | undefined,
  redactor: Redactor,
): RecordedRequest {
  const headers = recordHeaders(attempt.headers, redactor, attempt.ctx.correlationId);
  const request: RecordedRequest = {
    method: attempt.method,
    url: redactor.url(attempt.origin + attempt.path),
    headers,
  };
  if (body !== undefined && body.length > 0)
    Object.assign(request, encodeBody(body, contentType(headers), redactor));
  return request;
}

/** Headers as written: credentials, cookies, per-call and hop-by-hop headers dropped, the rest redacted. */
export function recordHeaders(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
  redactor: Redactor,
  correlationId: string | undefined,
): Record<string, string | string[]> {
  const kept: Record<string, string | readonly string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || NEVER_WRITTEN.has(lower) || VOLATILE.has(lower) || HOP_BY_HOP.has(lower))
      continue;
    if (correlationId !== undefined && value === correlationId) continue;
    kept[lower] = value;
  }
  return redactor.headers(kept);
}

/** The `content-type` of a header record. */
export function contentType(
  headers: Record<string, string | readonly string[] | undefined>,
): string | undefined {
  const value = headers['content-type'];
  return typeof value === 'string' ? value : value?.[0];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
// eslint-disable-next-line no-control-regex -- controls other than tab, LF and CR mark binary content
const BINARY = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;

/** A body as written: redacted UTF-8 text, or base64 when it is binary (not redacted). */
export function encodeBody(
  bytes: Buffer,
  type: string | undefined,
  redactor: Redactor,
): { body: string; bodyEncoding?: 'base64' } {
  if (bytes.length === 0) return { body: '' };
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { body: bytes.toString('base64'), bodyEncoding: 'base64' };
  }
  if (BINARY.test(text)) return { body: bytes.toString('base64'), bodyEncoding: 'base64' };
  return { body: redactor.body(text, type) as string };
}

/** The bytes of a request body (a stream is read whole). */
export async function bytesOf(body: Attempt['body']): Promise<Buffer | undefined> {
  if (body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array | string>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** A response whose body is already complete. */
export function responseOf(
  status: number,
  statusText: string,
  url: string,
  headers: ResponseHeaders,
  bytes: Buffer,
): BulwarkResponse {
  const body = new BodySource(undefined);
  if (bytes.length > 0) body.push(bytes);
  body.end();
  return new BulwarkResponse({ status, statusText, url, headers, body });
}
