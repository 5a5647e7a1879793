/**
 * Type tests, checked by `npm run typecheck` (tsc): the public surface keeps its shapes.
 */
import { expectTypeOf } from 'expect-type';
import {
  createClient,
  isBulwarkError,
  withDeadline,
  type BulwarkError,
  type BulwarkErrorCode,
  type BulwarkErrorOf,
  type BulwarkResponse,
  type ClientOptions,
  type SafeResult,
} from '../../src/index.js';

const client = createClient({ baseUrl: 'https://api.example.com' });

expectTypeOf(client.get('/x')).resolves.toEqualTypeOf<BulwarkResponse>();
expectTypeOf(client.safe.post('/x', { json: {} })).resolves.toEqualTypeOf<SafeResult>();
expectTypeOf<BulwarkResponse['status']>().toEqualTypeOf<number>();
expectTypeOf(client.get('/x').then((r) => r.json<{ id: number }>())).resolves.toEqualTypeOf<{ id: number }>();
expectTypeOf(withDeadline(100, () => 42)).toEqualTypeOf<number>();

declare const unknownError: unknown;
if (isBulwarkError(unknownError)) {
  expectTypeOf(unknownError).toEqualTypeOf<BulwarkErrorOf>();
  expectTypeOf(unknownError).toExtend<BulwarkError>();
  expectTypeOf(unknownError.code).toEqualTypeOf<BulwarkErrorCode>();
}

declare const result: SafeResult;
if (!result.ok) expectTypeOf(result.error).toEqualTypeOf<BulwarkErrorOf>();
else expectTypeOf(result.response).toEqualTypeOf<BulwarkResponse>();

// Policy options are typed on ClientOptions.
expectTypeOf<ClientOptions>().toExtend<{ retry?: { maxRetries?: number } | false }>();
// @ts-expect-error jitter takes a known name only
createClient({ retry: { jitter: 'sometimes' } });
// @ts-expect-error per-request retry overrides take no budget
void client.get('/x', { retry: { budget: false } });
// @ts-expect-error timeouts are numbers or false
createClient({ timeout: { attempt: '10s' } });
