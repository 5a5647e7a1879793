/**
 * The peer of an attempt's connection (address, port, HTTP version), for the `network.*`
 * attributes of the HTTP semantic conventions. undici hands a dispatch handler no socket, but
 * publishes `undici:client:sendHeaders` with it synchronously right after the handler's
 * `onConnect`: the handler says which attempt it is there, and the message names its socket.
 * Subscribed only while a client with telemetry is open, so no listener outlives `close()`.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import type { NetworkPeer } from '../observability/telemetry.js';
import type { Attempt } from './attempt.js';

const SEND_HEADERS = 'undici:client:sendHeaders';

let watchers = 0;
/** The attempt whose `onConnect` just ran, until undici publishes its headers. */
let awaiting: Attempt | undefined;

interface SendHeadersMessage {
  readonly request?: { readonly method?: unknown; readonly path?: unknown };
  readonly socket?: Socket & { readonly alpnProtocol?: string | false | null };
}

function onSendHeaders(message: unknown): void {
  const attempt = awaiting;
  awaiting = undefined;
  if (attempt === undefined) return;
  const { request, socket } = message as SendHeadersMessage;
  // Another undici user in the process, after an attempt that never got this far: not ours.
  if (request?.method !== attempt.method || request.path !== attempt.path || socket === undefined) return;
  attempt.network = {
    protocolVersion: socket.alpnProtocol === 'h2' ? '2' : '1.1',
    peerAddress: socket.remoteAddress,
    peerPort: socket.remotePort,
  } satisfies NetworkPeer;
}

/**
 * Starts watching connections for one transport; the returned function stops (once, however
 * often it is called). The channel is subscribed while at least one transport watches.
 */
export function watchPeers(): () => void {
  if (watchers++ === 0) subscribe(SEND_HEADERS, onSendHeaders);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--watchers === 0) {
      unsubscribe(SEND_HEADERS, onSendHeaders);
      awaiting = undefined;
    }
  };
}

/** Called from the handler's `onConnect`: the next `sendHeaders` message is this attempt's. */
export function expectPeer(attempt: Attempt): void {
  awaiting = attempt;
}
