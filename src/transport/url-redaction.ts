// The redacted URL the transport puts in its errors: userinfo, secret query values and secret-looking path segments.
import { defaultRedactor } from '../observability/redact.js';

/**
 * A URL as errors and events may show it: userinfo, secret query values and secret-looking
 * path segments redacted by the default lists (DESIGN §3), so no error message carries one.
 */
export function redactUrlString(url: string): string {
  return defaultRedactor.url(url);
}
