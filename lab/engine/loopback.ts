/**
 * Small pieces shared by the lab's loopback servers and its run loop: listening on 127.0.0.1,
 * closing for good, resetting a connection, and waiting for a promise no longer than a bound.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Listens on `127.0.0.1:port` (0 picks a free port); rejects if the port is taken. */
export function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Listens again on the port a refusing outage closed, retrying briefly while the OS releases it. */
export async function relisten(server: Server, port: number, stopped: () => boolean): Promise<void> {
  for (let i = 0; i < 40 && !stopped(); i++) {
    try {
      await listen(server, port);
      return;
    } catch {
      await sleep(25);
    }
  }
}

/** Drops every connection and stops listening. */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Resets a connection: a TCP RST (`ECONNRESET` at the client), not a polite FIN. */
export function resetSocket(socket: Socket): void {
  if (!socket.destroyed) socket.resetAndDestroy();
}

/** Resolves when `promise` settles or after `ms`, whichever comes first; never rejects. */
export async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  const timeout = new AbortController();
  await Promise.race([
    promise.catch(() => undefined),
    sleep(ms, undefined, { signal: timeout.signal }).catch(() => undefined),
  ]);
  timeout.abort();
}
