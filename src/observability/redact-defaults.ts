/**
 * The default secret lists of the redactor. User lists extend these; nothing replaces them.
 * Names are compared after lowercasing and dropping every character other than a-z and 0-9.
 */

/** Headers whose values are always redacted (matched case- and separator-insensitively). */
export const DEFAULT_REDACT_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'x-auth-token',
  'x-csrf-token',
  'x-xsrf-token',
  'x-amz-security-token',
  'www-authenticate',
  'proxy-authenticate',
];

/** Body, form and text field names whose values are always redacted, at any depth. */
export const DEFAULT_REDACT_BODY_FIELDS: readonly string[] = [
  'password',
  'passwd',
  'pwd',
  'new_password',
  'old_password',
  'current_password',
  'password_confirmation',
  'secret',
  'client_secret',
  'api_secret',
  'secret_key',
  'private_key',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'auth_token',
  'session_token',
  'csrf_token',
  'api_key',
  'apikey',
  'access_key',
  'secret_access_key',
  'credit_card',
  'creditcard',
  'card_number',
  'cardnumber',
  'pan',
  'cvv',
  'cvc',
  'cvv2',
  'cvn',
  'cid',
  'card_cvv',
  'security_code',
  'ssn',
  'social_security',
  'social_security_number',
  'tax_id',
  'drivers_license',
  'driver_license',
  'drivers_license_number',
  'passport_number',
  'account_number',
  'routing_number',
  'iban',
  'pin',
  'otp',
];

/** Query parameters whose values are always redacted (besides any name containing `token`, `secret`, `password`, `signature`, `credential` or `apikey`). */
export const DEFAULT_REDACT_QUERY_PARAMS: readonly string[] = [
  'api_key',
  'apikey',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'sig',
  'signature',
  'X-Amz-Signature',
  'X-Amz-Credential',
  'X-Amz-Security-Token',
  'X-Goog-Signature',
  'X-Goog-Credential',
  'AWSAccessKeyId',
  'key',
  'client_secret',
  'password',
  'secret',
  'auth',
];

/** @internal Header names containing one of these are secret whatever the configured list says. */
export const HEADER_HINTS: readonly string[] = [
  'authorization',
  'token',
  'secret',
  'passw',
  'apikey',
  'cookie',
  'credential',
  'signature',
  'session',
];

/** @internal Headers that carry URLs: their values are scrubbed as URLs. */
export const URL_HEADERS: ReadonlySet<string> = new Set([
  'location',
  'content-location',
  'referer',
  'referrer',
]);
