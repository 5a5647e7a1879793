/**
 * A client for policy tests: mock transport, virtual clock, fixed jitter, no retries and no
 * breaker unless `options` turns them on. Returns the three so a test drives time and replies.
 */
import { createClient } from '../../src/index.js';
import { createVirtualClock, mockTransport } from '../../src/testing/index.js';

export const ORIGIN = 'http://api.test';

export function virtualClient(options: Record<string, unknown>) {
  const clock = createVirtualClock();
  const mock = mockTransport();
  const client = createClient({
    baseUrl: ORIGIN,
    transport: mock,
    clock,
    random: () => 0.5,
    retry: false,
    circuitBreaker: false,
    ...options,
  } as never);
  return { clock, mock, client };
}
