/**
 * A client for policy tests: mock transport, virtual clock, fixed jitter, no retries and no
 * breaker unless `options` turns them on. Returns the three so a test drives time and replies.
 */
import { createClient } from '../../src/index.js';
import { createVirtualClock, mockTransport } from '../../src/testing/index.js';
import type { Transport } from '../../src/transport/attempt.js';

export const ORIGIN = 'http://api.test';

export function virtualClient(options: Record<string, unknown>) {
  const { clock, transport: mock, client } = virtualClientOver(mockTransport(), options);
  return { clock, mock, client };
}

/** {@link virtualClient} over a transport of the test's own (one whose every attempt fails, say). */
export function virtualClientOver<T extends Transport>(transport: T, options: Record<string, unknown>) {
  const clock = createVirtualClock();
  const client = createClient({
    baseUrl: ORIGIN,
    transport,
    clock,
    random: () => 0.5,
    retry: false,
    circuitBreaker: false,
    ...options,
  } as never);
  return { clock, transport, client };
}
