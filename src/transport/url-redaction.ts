/** Placeholder until the redactor lands: strips userinfo so credentials never reach an error. */
export function redactUrlString(url: string): string {
  const at = url.indexOf('@');
  if (at === -1) return url;
  const scheme = url.indexOf('://');
  const slash = url.indexOf('/', scheme + 3);
  if (scheme === -1 || (slash !== -1 && at > slash)) return url;
  return url.slice(0, scheme + 3) + '[REDACTED]@' + url.slice(at + 1);
}
