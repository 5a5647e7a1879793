import { BulwarkError, isBulwarkError } from '../errors.js';

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
  return new BulwarkError(
    'NETWORK',
    `${method} ${url} failed: ${code === undefined ? detail : `${code} ${detail}`}`,
    {
      cause: error,
      method,
      url,
      sent,
    },
  );
}
