/**
 * How the client keys a policy's state (`rateLimit.key`, `circuitBreaker.key`): the call's key
 * (its origin, or the request's `key`) by default, a fixed string, or a function of the request.
 * One resolver so both options accept and check the same thing.
 */
import { callbackFailed, invalidOption } from '../errors.js';
import type { CallContext } from './types.js';

/** What a key function is given: the request's method, origin, path (with query) and default key. */
export interface PolicyKeyRequest {
  readonly method: string;
  readonly origin: string;
  readonly path: string;
  /** The origin, or the request's `key` option when it has one. */
  readonly key: string;
}

/** A policy's key: a fixed string, or a function of the request returning a non-empty string. */
export type PolicyKey = string | ((request: PolicyKeyRequest) => string);

/** Checks a `<section>.key` option; `undefined` keeps the call's key. */
export function checkPolicyKey(option: string, value: unknown): PolicyKey | undefined {
  if (value === undefined || typeof value === 'function') return value as PolicyKey | undefined;
  if (typeof value === 'string' && value !== '') return value;
  throw invalidOption(option, value, 'a non-empty string or a function of the request returning one');
}

/** The key of this call for a policy configured with `key`. */
export function policyKeyOf(ctx: CallContext, key: PolicyKey | undefined, option: string): string {
  if (key === undefined) return ctx.key;
  if (typeof key === 'string') return key;
  let value: unknown;
  try {
    value = key({ method: ctx.method, origin: ctx.origin, path: ctx.path, key: ctx.key });
  } catch (thrown) {
    throw callbackFailed(option, thrown);
  }
  if (typeof value !== 'string' || value === '') {
    throw invalidOption(`${option}()`, value, 'the key function to return a non-empty string');
  }
  return value;
}
