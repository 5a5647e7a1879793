// NETWORK errors from socket and undici errors, with whether any byte of the request reached the wire.
import { asError, BulwarkError, bulwarkError, isBulwarkError } from '../errors.js';

/** Socket error codes raised before any byte of the request could reach the server. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

/**
 * undici's refusals of the request itself (a header value with a control or non-Latin-1
 * character, `upgrade`/`expect`/`transfer-encoding` set by hand, a `content-length` that does
 * not match the body, CONNECT): the caller's input, not the network. As `NETWORK` they would be
 * retried (nothing was sent, so even a POST) and counted against the upstream's circuit.
 */
const REQUEST_REFUSED_CODES = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
]);

/** The `code` of an error or of its cause chain (undici wraps socket errors). */
export function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && !code.startsWith('UND_ERR_SOCKET')) return code;
    current = (current as { cause?: unknown }).cause;
  }
  const top = (error as { code?: unknown } | null)?.code;
  return typeof top === 'string' ? top : undefined;
}

/**
 * Maps an undici or socket error to `NETWORK`, keeping the original as `cause`.
 * `sent` is false only when the failure provably happened before the request was written,
 * which is what makes a retry safe for any method.
 */
export function networkError(
  error: unknown,
  method: string,
  url: string,
  wroteRequest: boolean,
): BulwarkError {
  if (isBulwarkError(error)) return error;
  const code = errorCode(error);
  const sent = wroteRequest && !(code !== undefined && NOT_SENT_CODES.has(code));
  const detail = error instanceof Error ? error.message : String(error);
  if (code !== undefined && REQUEST_REFUSED_CODES.has(code)) {
    // undici names the header, never its value: "invalid x-token header".
    const header =
      code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'
        ? 'content-length'
        : (/^invalid (\S+) header$/.exec(detail)?.[1] ?? /^(\S+) header not supported$/.exec(detail)?.[1]);
    return bulwarkError('INVALID_REQUEST', `Invalid request to ${method} ${url}: ${detail} (${code}).`, {
      cause: error,
      method,
      url,
      sent,
      path: header === undefined ? 'request' : `headers.${header}`,
    });
  }
  return bulwarkError(
    'NETWORK',
    `${method} ${url} failed: ${code === undefined ? detail : `${code} ${detail}`}`,
    {
      cause: asError(error),
      method,
      url,
      sent,
    },
  );
}
